"""Query and Mutation fields of accounts: thin, one service call each."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.accounts import login, organisations, platforms, queries
from backend.accounts.models import Person
from backend.accounts.types import (
    InvalidPhoneError,
    InvitationInvalidError,
    LoggedOut,
    LoginCodeError,
    LoginCodeSent,
    MembershipType,
    NotAMemberError,
    OrganisationKind,
    OrganisationSuspendedError,
    OrganisationType,
    PersonType,
    PlatformCredentialIssued,
    RateLimitedError,
    RefreshTokenError,
    SecondFactorError,
    SessionTokens,
    TotpConfirmed,
    TotpEnrolment,
)
from backend.api.connection import Connection
from backend.api.context import Info, client_address
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.api.node import public_id_of
from backend.kit.errors import Forbidden, Unauthenticated


@strawberry.input
class RequestLoginCodeInput:
    phone: str = strawberry.field(description="A mainland China mobile number.")


@strawberry.input
class LogInInput:
    phone: str
    code: str = strawberry.field(description="The 6-digit code of the SMS.")


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class LogOutInput:
    everywhere: bool = strawberry.field(
        default=False, description="End every session, not just this one."
    )


@strawberry.input
class SelectOrganisationInput:
    organisation_id: strawberry.ID
    totp_code: str | None = strawberry.field(
        default=None, description="Required for authority and verifier organisations."
    )


@strawberry.input
class ConfirmTotpInput:
    code: str


@strawberry.input
class CreateHouseholdInput:
    name: str


@strawberry.input
class InviteMemberInput:
    organisation_id: strawberry.ID
    phone: str
    role: str = strawberry.field(
        description="AUTHORITY: admin, operator; VERIFIER: owner, reviewer; SMALL_BUSINESS: owner, "
        "manager, staff; MERCHANT: owner, manager, cashier; DATA_PLATFORM: owner, developer; "
        "HOUSEHOLD: owner, member."
    )


@strawberry.input
class AcceptInvitationInput:
    membership_id: strawberry.ID


@strawberry.input
class RegisterOrganisationInput:
    kind: OrganisationKind
    name: str


@strawberry.input
class IssuePlatformCredentialInput:
    platform_id: strawberry.ID


@strawberry.input
class SuspendOrganisationInput:
    organisation_id: strawberry.ID
    reason: str


@strawberry.input
class ReinstateOrganisationInput:
    organisation_id: strawberry.ID


RequestLoginCodePayload = Annotated[
    LoginCodeSent | InvalidPhoneError | RateLimitedError,
    strawberry.union("RequestLoginCodePayload"),
]
LogInPayload = Annotated[
    SessionTokens | InvalidPhoneError | LoginCodeError, strawberry.union("LogInPayload")
]
RefreshSessionPayload = Annotated[
    SessionTokens | RefreshTokenError, strawberry.union("RefreshSessionPayload")
]
SelectOrganisationPayload = Annotated[
    SessionTokens
    | NotAMemberError
    | OrganisationSuspendedError
    | SecondFactorError
    | InvalidInputError,
    strawberry.union("SelectOrganisationPayload"),
]
ConfirmTotpPayload = Annotated[
    TotpConfirmed | SecondFactorError, strawberry.union("ConfirmTotpPayload")
]
EnrolTotpPayload = Annotated[
    TotpEnrolment | InvalidInputError, strawberry.union("EnrolTotpPayload")
]
MembershipPayload = Annotated[
    MembershipType
    | InvalidInputError
    | NotFoundError
    | OrganisationSuspendedError
    | InvitationInvalidError,
    strawberry.union("MembershipPayload"),
]
OrganisationPayload = Annotated[
    OrganisationType | InvalidInputError | NotFoundError, strawberry.union("OrganisationPayload")
]
IssuePlatformCredentialPayload = Annotated[
    PlatformCredentialIssued | NotFoundError | InvalidInputError,
    strawberry.union("IssuePlatformCredentialPayload"),
]


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in person; null for anonymous callers and platforms.")
    async def me(self, info: Info) -> PersonType | None:
        actor = info.context.actor
        if not actor.is_person:
            return None
        person = await Person.get_or_none(public_id=actor.id)
        return PersonType.from_row(person) if person else None

    @strawberry.field(description="Registered organisations, newest first. Authority only.")
    async def organisations(
        self,
        info: Info,
        kind: OrganisationKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OrganisationType]:
        page = await queries.list_organisations(
            actor=info.context.actor, kind=kind.value if kind else None, first=first, after=after
        )
        return Connection[OrganisationType].from_page(page, OrganisationType.from_row)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Send a login code by SMS; the answer never tells whether the number is registered."
    )
    @returns_errors
    async def request_login_code(
        self, info: Info, input: RequestLoginCodeInput
    ) -> RequestLoginCodePayload:
        sent = await login.request_login_code(
            phone=input.phone,
            client_ip=client_address(info.context.request),
            settings=info.context.settings,
        )
        return LoginCodeSent.from_result(sent)

    @strawberry.mutation(
        description="Exchange a login code for a session; the first login registers."
    )
    @returns_errors
    async def log_in(self, info: Info, input: LogInInput) -> LogInPayload:
        issued = await login.log_in(
            phone=input.phone, code=input.code, settings=info.context.settings
        )
        return SessionTokens.from_result(issued)

    @strawberry.mutation(description="Rotate the refresh token: the old one is spent.")
    @returns_errors
    async def refresh_session(
        self, info: Info, input: RefreshSessionInput
    ) -> RefreshSessionPayload:
        issued = await login.refresh(
            refresh_token=input.refresh_token, settings=info.context.settings
        )
        return SessionTokens.from_result(issued)

    @strawberry.mutation(description="End this session, or every session of yours.")
    async def log_out(self, info: Info, input: LogOutInput) -> LoggedOut:
        actor = info.context.actor
        if actor.is_anonymous:
            raise Unauthenticated()
        if not actor.is_person:
            raise Forbidden()
        return LoggedOut(
            sessions_ended=await login.log_out(actor=actor, everywhere=input.everywhere)
        )

    @strawberry.mutation(description="A session acting for one of your organisations.")
    @returns_errors
    async def select_organisation(
        self, info: Info, input: SelectOrganisationInput
    ) -> SelectOrganisationPayload:
        issued = await organisations.select_organisation(
            actor=info.context.actor,
            organisation_id=public_id_of(
                input.organisation_id, "Organisation", field="organisationId"
            ),
            totp_code=input.totp_code,
            settings=info.context.settings,
        )
        return SessionTokens.from_result(issued)

    @strawberry.mutation(description="Start setting up an authenticator app (TOTP).")
    @returns_errors
    async def enrol_totp(self, info: Info) -> EnrolTotpPayload:
        enrolment = await organisations.enrol_totp(actor=info.context.actor)
        return TotpEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)

    @strawberry.mutation(description="Finish setting up the authenticator with one of its codes.")
    @returns_errors
    async def confirm_totp(self, info: Info, input: ConfirmTotpInput) -> ConfirmTotpPayload:
        await organisations.confirm_totp(actor=info.context.actor, code=input.code)
        return TotpConfirmed(second_factor_enabled=True)

    @strawberry.mutation(description="Form a household (社区家庭) and become its owner.")
    @returns_errors
    async def create_household(self, info: Info, input: CreateHouseholdInput) -> MembershipPayload:
        membership = await organisations.create_household(actor=info.context.actor, name=input.name)
        return MembershipType.from_row(membership)

    @strawberry.mutation(
        description="Invite a person, by phone, into an organisation or household."
    )
    @returns_errors
    async def invite_member(self, info: Info, input: InviteMemberInput) -> MembershipPayload:
        membership = await organisations.invite_member(
            actor=info.context.actor,
            organisation_id=public_id_of(
                input.organisation_id, "Organisation", field="organisationId"
            ),
            phone=input.phone,
            role=input.role,
        )
        return MembershipType.from_row(membership)

    @strawberry.mutation(description="Accept an invitation addressed to you.")
    @returns_errors
    async def accept_invitation(
        self, info: Info, input: AcceptInvitationInput
    ) -> MembershipPayload:
        membership = await organisations.accept_invitation(
            actor=info.context.actor, membership_id=str(input.membership_id)
        )
        return MembershipType.from_row(membership)

    @strawberry.mutation(
        description="Register a business, merchant, data platform or verifier. Authority only."
    )
    @returns_errors
    async def register_organisation(
        self, info: Info, input: RegisterOrganisationInput
    ) -> OrganisationPayload:
        organisation = await organisations.register_organisation(
            actor=info.context.actor, kind=input.kind.value, name=input.name
        )
        return OrganisationType.from_row(organisation)

    @strawberry.mutation(
        description="A new client id and secret for a data platform; the old stop working. Authority only."
    )
    @returns_errors
    async def issue_platform_credential(
        self, info: Info, input: IssuePlatformCredentialInput
    ) -> IssuePlatformCredentialPayload:
        issued = await platforms.issue_credential(
            actor=info.context.actor,
            platform_id=public_id_of(input.platform_id, "Organisation", field="platformId"),
        )
        return PlatformCredentialIssued(
            client_id=issued.client_id, client_secret=issued.client_secret
        )

    @strawberry.mutation(
        description="Suspend an organisation: its next request is refused. Authority only."
    )
    @returns_errors
    async def suspend_organisation(
        self, info: Info, input: SuspendOrganisationInput
    ) -> OrganisationPayload:
        organisation = await organisations.set_suspended(
            actor=info.context.actor,
            organisation_id=public_id_of(
                input.organisation_id, "Organisation", field="organisationId"
            ),
            suspended=True,
            reason=input.reason,
        )
        return OrganisationType.from_row(organisation)

    @strawberry.mutation(description="Lift a suspension. Authority only.")
    @returns_errors
    async def reinstate_organisation(
        self, info: Info, input: ReinstateOrganisationInput
    ) -> OrganisationPayload:
        organisation = await organisations.set_suspended(
            actor=info.context.actor,
            organisation_id=public_id_of(
                input.organisation_id, "Organisation", field="organisationId"
            ),
            suspended=False,
            reason=None,
        )
        return OrganisationType.from_row(organisation)
