"""GraphQL types of accounts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from backend.accounts import errors, models
from backend.accounts.login import CodeSent, IssuedSession
from backend.accounts.phones import mask
from backend.api.context import Info
from backend.api.errors import Error, error_type

# The models' enums are the API's (strawberry.enum registers the class itself).
OrganisationKind = models.OrganisationKind
OrganisationStatus = models.OrganisationStatus
MembershipStatus = models.MembershipStatus
strawberry.enum(OrganisationKind, name="OrganisationKind")
strawberry.enum(OrganisationStatus, name="OrganisationStatus")
strawberry.enum(MembershipStatus, name="MembershipStatus")


@strawberry.type(name="Organisation", description="A registered organisation or a household.")
class OrganisationType(relay.Node):
    id: relay.NodeID[str]
    kind: OrganisationKind
    name: str
    status: OrganisationStatus

    @classmethod
    def from_row(cls, row: models.Organisation) -> OrganisationType:
        return cls(id=str(row.public_id), kind=row.kind, name=row.name, status=row.status)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        from backend.accounts import queries

        rows = await queries.organisations_by_public_ids(
            actor=info.context.actor, public_ids=list(node_ids)
        )
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(name="Membership", description="A person's role in an organisation or household.")
class MembershipType:
    id: strawberry.ID
    organisation: OrganisationType
    role: str
    status: MembershipStatus

    @classmethod
    def from_row(cls, row: models.Membership) -> MembershipType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            organisation=OrganisationType.from_row(row.organisation),
            role=row.role,
            status=row.status,
        )


@strawberry.type(name="Person", description="The signed-in person.")
class PersonType:
    id: strawberry.ID
    phone_masked: str = strawberry.field(description="The login number, masked: 138****5678.")
    second_factor_enabled: bool

    @strawberry.field(description="Organisations and households, with open invitations.")
    async def memberships(self, info: Info) -> list[MembershipType]:
        from backend.accounts import organisations

        rows = await organisations.my_memberships(actor=info.context.actor)
        return [MembershipType.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: models.Person) -> PersonType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            phone_masked=mask(row.phone),
            second_factor_enabled=row.totp_confirmed_at is not None,
        )


@strawberry.type
class LoginCodeSent:
    expires_at: datetime
    resend_after_seconds: int

    @classmethod
    def from_result(cls, sent: CodeSent) -> LoginCodeSent:
        return cls(expires_at=sent.expires_at, resend_after_seconds=sent.resend_after_seconds)


@strawberry.type(description="Tokens of a session: send the access token as 'Bearer'.")
class SessionTokens:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    acting_for: strawberry.ID | None = strawberry.field(
        description="The organisation this session acts for (its global id), if any."
    )

    @classmethod
    def from_result(cls, issued: IssuedSession) -> SessionTokens:
        acting_for = (
            strawberry.ID(relay.to_base64("Organisation", issued.organisation_id))
            if issued.organisation_id
            else None
        )
        return cls(
            access_token=issued.access_token,
            access_token_expires_at=issued.access_token_expires_at,
            refresh_token=issued.refresh_token,
            refresh_token_expires_at=issued.refresh_token_expires_at,
            acting_for=acting_for,
        )


@strawberry.type
class LoggedOut:
    sessions_ended: int


@strawberry.type
class TotpEnrolment:
    secret: str
    otpauth_uri: str


@strawberry.type
class TotpConfirmed:
    second_factor_enabled: bool


@strawberry.type(description="Shown once: store the secret now; only its hash is kept.")
class PlatformCredentialIssued:
    client_id: str
    client_secret: str


@error_type(errors.InvalidPhone)
@strawberry.type
class InvalidPhoneError(Error):
    pass


@error_type(errors.RateLimited)
@strawberry.type
class RateLimitedError(Error):
    retry_after_seconds: int


@error_type(errors.LoginCodeRejected)
@strawberry.type(description="LOGIN_CODE_WRONG, _EXPIRED, _USED or _EXHAUSTED.")
class LoginCodeError(Error):
    attempts_left: int | None


@error_type(errors.RefreshTokenRejected)
@strawberry.type(description="REFRESH_TOKEN_INVALID or REFRESH_TOKEN_REUSED: sign in again.")
class RefreshTokenError(Error):
    pass


@error_type(errors.SecondFactorRejected)
@strawberry.type(description="SECOND_FACTOR_REQUIRED or SECOND_FACTOR_INVALID.")
class SecondFactorError(Error):
    pass


@error_type(errors.NotAMember)
@strawberry.type
class NotAMemberError(Error):
    pass


@error_type(errors.OrganisationSuspended)
@strawberry.type
class OrganisationSuspendedError(Error):
    pass


@error_type(errors.InvitationInvalid)
@strawberry.type
class InvitationInvalidError(Error):
    pass
