"""Reading organisations: the authority sees all; a person sees those they belong to."""

from __future__ import annotations

from backend.accounts.models import (
    Membership,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Person,
)
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


async def public_names(public_ids: set[str]) -> dict[str, str]:
    """The registry's public names for holders: an organisation's name, anyone else 'individual'
    (a citizen holder is never named)."""
    wanted = [p for p in (parse_public_id(i) for i in public_ids) if p is not None]
    rows = await Organisation.filter(public_id__in=wanted).values_list("public_id", "name")
    names = {str(public_id): name for public_id, name in rows}
    return {i: names.get(i, "individual") for i in public_ids}


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


async def active_role(*, person_id: str, organisation_id: str) -> tuple[str, str] | None:
    """(organisation kind, role) of a person's active membership of an active organisation."""
    row = (
        await Membership.filter(
            person__public_id=person_id,
            organisation__public_id=organisation_id,
            status=MembershipStatus.ACTIVE,
            organisation__status=OrganisationStatus.ACTIVE,
        )
        .first()
        .values("role", "organisation__kind")
    )
    if row is None:
        return None
    return str(row["organisation__kind"]), row["role"]


async def data_platform(public_id: str) -> tuple[int, str, bool] | None:
    """(row id, name, active) of a data platform, or None when there is no such platform."""
    parsed = parse_public_id(public_id)
    if parsed is None:
        return None
    row = await Organisation.filter(public_id=parsed, kind=OrganisationKind.DATA_PLATFORM).first()
    if row is None:
        return None
    return row.id, row.name, row.status == OrganisationStatus.ACTIVE


async def platform_public_ids(ids: list[int]) -> dict[int, tuple[str, str]]:
    """Row id -> (public id, name) of platforms."""
    rows = await Organisation.filter(id__in=ids).values("id", "public_id", "name")
    return {row["id"]: (str(row["public_id"]), row["name"]) for row in rows}


async def phone_of(*, person_id: str) -> str | None:
    person = await Person.get_or_none(public_id=person_id).values("phone")
    return str(person["phone"]) if person else None


async def person_exists(public_id: str) -> bool:
    return await Person.filter(public_id=public_id).exists()


async def is_active_organisation(public_id: str, kind: str) -> bool:
    return await Organisation.filter(
        public_id=public_id, kind=OrganisationKind(kind), status=OrganisationStatus.ACTIVE
    ).exists()


async def is_any_active_organisation(public_id: str) -> bool:
    """An active organisation of any kind but a household."""
    return (
        await Organisation.filter(public_id=public_id, status=OrganisationStatus.ACTIVE)
        .exclude(kind=OrganisationKind.HOUSEHOLD)
        .exists()
    )
