"""Organisations, households and memberships: who may act for whom, and with what role.

The authority registers organisations and invites their first members; an organisation's owners and
managers invite the rest; citizens form households (社区家庭) and invite their family. An invitation
is accepted by the invited person. Authority and verifier staff pass a TOTP second factor to act.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import pyotp

from backend.accounts.errors import (
    InvitationInvalid,
    NotAMember,
    OrganisationSuspended,
    SecondFactorRejected,
    SecondFactorRequired,
)
from backend.accounts.login import IssuedSession, start_session
from backend.accounts.models import (
    Membership,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Person,
)
from backend.accounts.phones import normalise_phone
from backend.accounts.sessions import revoke_sessions
from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind, require_person
from backend.kit.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.kit.ids import new_public_id, parse_public_id
from backend.settings import Settings

ROLES: dict[OrganisationKind, frozenset[str]] = {
    OrganisationKind.AUTHORITY: frozenset({"admin", "operator"}),
    OrganisationKind.VERIFIER: frozenset({"owner", "reviewer"}),
    OrganisationKind.SMALL_BUSINESS: frozenset({"owner", "manager", "staff"}),
    OrganisationKind.MERCHANT: frozenset({"owner", "manager", "cashier"}),
    OrganisationKind.DATA_PLATFORM: frozenset({"owner", "developer"}),
    OrganisationKind.HOUSEHOLD: frozenset({"owner", "member"}),
}
SECOND_FACTOR_KINDS = frozenset({OrganisationKind.AUTHORITY, OrganisationKind.VERIFIER})
# Roles that may invite others into their own organisation.
INVITING_ROLES = frozenset({"owner", "manager", "admin"})
REGISTRABLE_KINDS = frozenset(
    {
        OrganisationKind.SMALL_BUSINESS,
        OrganisationKind.MERCHANT,
        OrganisationKind.DATA_PLATFORM,
        OrganisationKind.VERIFIER,
    }
)


def require_authority(actor: Actor) -> None:
    require_kind(actor, "authority")


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 200:
        raise InvalidInput(
            field="name", reason="must be 1 to 200 characters", reason_zh="须为 1 至 200 个字符"
        )
    return name


async def _person_of(actor: Actor) -> Person:
    person = await Person.get_or_none(public_id=actor.id)
    if person is None:
        raise Unauthenticated()
    return person


async def _organisation(organisation_id: str) -> Organisation:
    public_id = parse_public_id(organisation_id)
    organisation = await Organisation.get_or_none(public_id=public_id) if public_id else None
    if organisation is None:
        raise NotFound(what="organisation", what_zh="机构")
    return organisation


async def _person_by_phone(phone: str) -> Person:
    number = normalise_phone(phone)
    if number is None:
        raise InvalidInput(
            field="phone",
            reason="not a mainland China mobile number",
            reason_zh="不是有效的手机号码",
        )
    person = await Person.get_or_none(phone=number)
    if person is None:
        # Invited before their first login: the person exists from now, and logs in by phone.
        person = await Person.create(
            public_id=new_public_id(), phone=number, created_at=clock.now()
        )
    return person


async def create_admin(*, phone: str) -> tuple[Person, str]:
    """`tanpuhui create-admin`: the authority's first administrator, with a TOTP secret.

    Returns the person and the otpauth URI for their authenticator app.
    """
    async with db.transaction():
        authority = await Organisation.filter(kind=OrganisationKind.AUTHORITY).first()
        if authority is None:
            authority = await Organisation.create(
                public_id=new_public_id(),
                kind=OrganisationKind.AUTHORITY,
                name="碳普惠主管部门",
                created_at=clock.now(),
            )
        person = await _person_by_phone(phone)
        secret = pyotp.random_base32()
        person.totp_secret = secret
        person.totp_confirmed_at = clock.now()
        await person.save(update_fields=["totp_secret", "totp_confirmed_at"])
        membership = await Membership.get_or_none(organisation=authority, person=person)
        if membership is None:
            membership = await Membership.create(
                public_id=new_public_id(),
                organisation=authority,
                person=person,
                role="admin",
                status=MembershipStatus.ACTIVE,
                created_at=clock.now(),
                accepted_at=clock.now(),
            )
        else:
            membership.role, membership.status = "admin", MembershipStatus.ACTIVE
            await membership.save(update_fields=["role", "status"])
        await audit.record(
            actor=Actor(kind="system", id="create-admin"),
            action="membership.admin_created",
            object_type="membership",
            object_id=str(membership.public_id),
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=person.phone, issuer_name="Tanpuhui")
    return person, uri


async def register_organisation(*, actor: Actor, kind: str, name: str) -> Organisation:
    require_authority(actor)
    try:
        org_kind = OrganisationKind(kind)
    except ValueError:
        org_kind = None
    if org_kind not in REGISTRABLE_KINDS:
        raise InvalidInput(
            field="kind",
            reason="not a kind the authority registers",
            reason_zh="不可登记的机构类型",
        )
    async with db.transaction():
        organisation = await Organisation.create(
            public_id=new_public_id(), kind=org_kind, name=_check_name(name), created_at=clock.now()
        )
        await audit.record(
            actor=actor,
            action="organisation.registered",
            object_type="organisation",
            object_id=str(organisation.public_id),
            details={"kind": org_kind.value, "name": organisation.name},
        )
    return organisation


async def create_household(*, actor: Actor, name: str) -> Membership:
    """A citizen forms a household and becomes its owner."""
    require_person(actor)
    async with db.transaction():
        person = await _person_of(actor)
        household = await Organisation.create(
            public_id=new_public_id(),
            kind=OrganisationKind.HOUSEHOLD,
            name=_check_name(name),
            created_at=clock.now(),
        )
        membership = await Membership.create(
            public_id=new_public_id(),
            organisation=household,
            person=person,
            role="owner",
            status=MembershipStatus.ACTIVE,
            created_at=clock.now(),
            accepted_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="household.created",
            object_type="organisation",
            object_id=str(household.public_id),
        )
    return membership


async def _may_invite(actor: Actor, organisation: Organisation, role: str) -> bool:
    if actor.kind == "authority":
        if organisation.kind == OrganisationKind.HOUSEHOLD:
            return False
        return organisation.kind != OrganisationKind.AUTHORITY or "admin" in actor.roles
    if organisation.kind == OrganisationKind.HOUSEHOLD:
        # Households are managed by their owners as citizens, without switching scope.
        inviter = await Membership.get_or_none(
            organisation=organisation, person__public_id=actor.id, status=MembershipStatus.ACTIVE
        )
        return inviter is not None and inviter.role == "owner"
    if actor.organisation_id != str(organisation.public_id):
        return False
    if not actor.roles & INVITING_ROLES:
        return False
    return role != "owner" or "owner" in actor.roles


async def invite_member(*, actor: Actor, organisation_id: str, phone: str, role: str) -> Membership:
    require_person(actor)
    async with db.transaction():
        organisation = await _organisation(organisation_id)
        if role not in ROLES[organisation.kind]:
            allowed = ", ".join(sorted(ROLES[organisation.kind]))
            raise InvalidInput(
                field="role", reason=f"one of {allowed}", reason_zh=f"须为 {allowed} 之一"
            )
        if not await _may_invite(actor, organisation, role):
            raise Forbidden()
        if organisation.status != OrganisationStatus.ACTIVE:
            raise OrganisationSuspended()
        person = await _person_by_phone(phone)
        membership = await Membership.get_or_none(organisation=organisation, person=person)
        if membership is None:
            membership = await Membership.create(
                public_id=new_public_id(),
                organisation=organisation,
                person=person,
                role=role,
                status=MembershipStatus.INVITED,
                created_at=clock.now(),
            )
        elif membership.status == MembershipStatus.ACTIVE:
            membership.role = role
            await membership.save(update_fields=["role"])
        else:
            membership.role, membership.status = role, MembershipStatus.INVITED
            await membership.save(update_fields=["role", "status"])
        await audit.record(
            actor=actor,
            action="membership.invited",
            object_type="membership",
            object_id=str(membership.public_id),
            details={"organisation": str(organisation.public_id), "role": role},
        )
    membership.organisation = organisation
    return membership


async def accept_invitation(*, actor: Actor, membership_id: str) -> Membership:
    require_person(actor)
    public_id = parse_public_id(membership_id)
    async with db.transaction():
        membership = (
            await Membership.filter(public_id=public_id, person__public_id=actor.id)
            .select_related("organisation")
            .first()
            if public_id
            else None
        )
        now = clock.now()
        # Conditional, so that an invitation is accepted once however many times it is sent.
        accepted = (
            await Membership.filter(id=membership.id, status=MembershipStatus.INVITED).update(
                status=MembershipStatus.ACTIVE, accepted_at=now
            )
            if membership
            else 0
        )
        if membership is None or not accepted:
            raise InvitationInvalid()
        membership.status, membership.accepted_at = MembershipStatus.ACTIVE, now
        await audit.record(
            actor=actor,
            action="membership.accepted",
            object_type="membership",
            object_id=str(membership.public_id),
        )
    return membership


async def select_organisation(
    *, actor: Actor, organisation_id: str, totp_code: str | None, settings: Settings
) -> IssuedSession:
    """A new session acting for one of the caller's organisations (a second factor where due)."""
    require_person(actor)
    public_id = parse_public_id(organisation_id)
    membership = (
        await Membership.filter(organisation__public_id=public_id, person__public_id=actor.id)
        .select_related("organisation", "person")
        .first()
        if public_id
        else None
    )
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        raise NotAMember()
    organisation = membership.organisation
    if organisation.kind == OrganisationKind.HOUSEHOLD:
        raise InvalidInput(
            field="organisationId",
            reason="households are managed as yourself, not selected",
            reason_zh="家庭无需切换身份",
        )
    if organisation.status != OrganisationStatus.ACTIVE:
        raise OrganisationSuspended()
    person = membership.person
    second_factor = False
    if organisation.kind in SECOND_FACTOR_KINDS:
        if not totp_code or person.totp_secret is None or person.totp_confirmed_at is None:
            raise SecondFactorRequired()
        if not await _take_totp(person, totp_code):
            raise SecondFactorRejected()
        second_factor = True
    async with db.transaction():
        return await start_session(
            person=person, membership=membership, second_factor=second_factor, settings=settings
        )


def _totp_step(secret: str, code: str) -> int | None:
    """The 30-second step `code` belongs to (now, or one step either side for clock drift)."""
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now()
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return int(totp.timecode(now)) + offset
    return None


async def _take_totp(person: Person, code: str) -> bool:
    """Accept a code once (RFC 6238 section 5.2): its step must be later than the last accepted,
    a conditional UPDATE that one of two concurrent uses of the same code wins."""
    assert person.totp_secret is not None
    step = _totp_step(person.totp_secret, code)
    if step is None:
        return False
    taken = await db.execute(
        "UPDATE person SET totp_last_step = $1"
        " WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        step,
        person.id,
    )
    return bool(taken)


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str


async def enrol_totp(*, actor: Actor) -> TotpEnrolment:
    """A new, unconfirmed authenticator secret (replacing an unconfirmed one)."""
    require_person(actor)
    async with db.transaction():
        person = await _person_of(actor)
        if person.totp_confirmed_at is not None:
            raise InvalidInput(
                field="totp",
                reason="an authenticator is already set up",
                reason_zh="已绑定动态验证码",
            )
        person.totp_secret = pyotp.random_base32()
        await person.save(update_fields=["totp_secret"])
    uri = pyotp.TOTP(person.totp_secret).provisioning_uri(name=person.phone, issuer_name="Tanpuhui")
    return TotpEnrolment(secret=person.totp_secret, otpauth_uri=uri)


async def confirm_totp(*, actor: Actor, code: str) -> None:
    require_person(actor)
    async with db.transaction():
        person = await _person_of(actor)
        if person.totp_secret is None or person.totp_confirmed_at is not None:
            raise SecondFactorRejected()
        if not await _take_totp(person, code):
            raise SecondFactorRejected()
        person.totp_confirmed_at = clock.now()
        await person.save(update_fields=["totp_confirmed_at"])
        await audit.record(
            actor=actor,
            action="person.totp_confirmed",
            object_type="person",
            object_id=actor.id or "",
        )


async def set_suspended(
    *, actor: Actor, organisation_id: str, suspended: bool, reason: str | None
) -> Organisation:
    """Suspend or reinstate; a suspended organisation's next request is refused."""
    require_authority(actor)
    async with db.transaction():
        organisation = await _organisation(organisation_id)
        if organisation.kind in (OrganisationKind.AUTHORITY, OrganisationKind.HOUSEHOLD):
            raise InvalidInput(
                field="organisationId", reason="cannot be suspended", reason_zh="不可暂停"
            )
        if suspended and not (reason and reason.strip()):
            raise InvalidInput(
                field="reason", reason="a suspension needs a reason", reason_zh="暂停须说明原因"
            )
        organisation.status = (
            OrganisationStatus.SUSPENDED if suspended else OrganisationStatus.ACTIVE
        )
        organisation.suspended_reason = reason.strip()[:500] if suspended and reason else None
        await organisation.save(update_fields=["status", "suspended_reason"])
        await audit.record(
            actor=actor,
            action="organisation.suspended" if suspended else "organisation.reinstated",
            object_type="organisation",
            object_id=str(organisation.public_id),
            details={"reason": organisation.suspended_reason},
        )
    if suspended:
        # Members' sessions acting for it end now, too.
        from backend.accounts.models import Session

        sessions = await Session.filter(
            membership__organisation_id=organisation.id, revoked_at__isnull=True
        )
        await revoke_sessions(sessions, reason="organisation_suspended", actor=actor)
    return organisation


async def my_memberships(*, actor: Actor) -> list[Membership]:
    require_person(actor)
    return (
        await Membership.filter(
            person__public_id=actor.id,
            status__in=[MembershipStatus.INVITED, MembershipStatus.ACTIVE],
        )
        .select_related("organisation")
        .order_by("created_at", "id")
    )
