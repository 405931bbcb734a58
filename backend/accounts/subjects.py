"""Subjects (主体): who consents and earns points, a person, a household or a small business, and
which of them a caller may act for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backend.kit.actor import Actor, require_person
from backend.kit.errors import Forbidden, InvalidInput

# Roles of a small business that may act for it in consent and see its wallet.
BUSINESS_ROLES = ("owner", "manager")


class SubjectKind(StrEnum):
    PERSON = "PERSON"
    HOUSEHOLD = "HOUSEHOLD"
    BUSINESS = "BUSINESS"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str


async def subject_for(
    actor: Actor, *, household_id: str | None = None, business_id: str | None = None
) -> Subject:
    """The subject `actor` acts for: themselves, a household they belong to, or a business they
    own or manage (by default the business a session acts for)."""
    from backend.accounts.queries import active_role

    person_id = require_person(actor)
    if household_id and business_id:
        raise InvalidInput(field="subject", reason="name a household or a business, not both")
    if (
        not household_id
        and not business_id
        and actor.kind == "member"
        and actor.organisation_kind == "SMALL_BUSINESS"
    ):
        business_id = actor.organisation_id
    if household_id:
        role = await active_role(person_id=person_id, organisation_id=household_id)
        if role is None or role[0] != "HOUSEHOLD":
            raise Forbidden()
        return Subject(SubjectKind.HOUSEHOLD, household_id)
    if business_id:
        role = await active_role(person_id=person_id, organisation_id=business_id)
        if role is None or role[0] != "SMALL_BUSINESS" or role[1] not in BUSINESS_ROLES:
            raise Forbidden()
        return Subject(SubjectKind.BUSINESS, business_id)
    return Subject(SubjectKind.PERSON, person_id)


async def subjects_of(actor: Actor) -> list[Subject]:
    """Every subject `actor` may act for: themselves, their households and businesses."""
    from backend.accounts.organisations import my_memberships

    subjects = [Subject(SubjectKind.PERSON, require_person(actor))]
    for membership in await my_memberships(actor=actor):
        if membership.status != "ACTIVE":
            continue
        kind = membership.organisation.kind.value
        if kind == "HOUSEHOLD":
            subjects.append(Subject(SubjectKind.HOUSEHOLD, str(membership.organisation.public_id)))
        elif kind == "SMALL_BUSINESS" and membership.role in BUSINESS_ROLES:
            subjects.append(Subject(SubjectKind.BUSINESS, str(membership.organisation.public_id)))
    return subjects
