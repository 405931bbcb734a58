"""Reading organisations: the authority sees all; a person sees those they belong to."""

from __future__ import annotations

from backend.accounts.models import Membership, MembershipStatus, Organisation, OrganisationKind
from backend.accounts.organisations import require_authority
from backend.kit.actor import Actor
from backend.kit.ids import parse_public_id
from backend.kit.pagination import Page, keyset_page


async def organisations_by_public_ids(
    *, actor: Actor, public_ids: list[str]
) -> list[Organisation | None]:
    """In the order asked; None where unknown or not visible to `actor`."""
    parsed = [parse_public_id(p) for p in public_ids]
    wanted = [p for p in parsed if p is not None]
    if actor.kind == "authority":
        rows = await Organisation.filter(public_id__in=wanted)
    elif actor.is_person and actor.id:
        memberships = await Membership.filter(
            person__public_id=actor.id,
            organisation__public_id__in=wanted,
            status__in=[MembershipStatus.ACTIVE, MembershipStatus.INVITED],
        ).select_related("organisation")
        rows = [m.organisation for m in memberships]
    elif actor.kind == "platform" and actor.id:
        rows = await Organisation.filter(public_id__in=wanted).filter(public_id=actor.id)
    else:
        rows = []
    by_id = {row.public_id: row for row in rows}
    return [by_id.get(p) if p else None for p in parsed]


async def list_organisations(
    *, actor: Actor, kind: str | None, first: int | None, after: str | None
) -> Page[Organisation]:
    require_authority(actor)
    queryset = Organisation.all()
    if kind is not None:
        queryset = queryset.filter(kind=OrganisationKind(kind))
    return await keyset_page(
        queryset, scope="organisations", first=first, after=after, key="created_at"
    )
