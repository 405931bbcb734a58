"""Query and Mutation fields of consent: thin, one service call each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from backend.accounts import subjects
from backend.api.connection import Connection
from backend.api.context import Info
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.api.node import optional_organisation_id, public_id_of
from backend.consent import grants, links
from backend.consent.types import (
    ConsentNoticeType,
    DataCategory,
    DataGrantType,
    GrantEndedError,
    GrantKind,
    GrantStatus,
    LinkCodeError,
    LinkCodeType,
    LinkRequestType,
    NoticeUnknownError,
    NotificationType,
    PlatformUnavailableError,
    SubjectAuthorisations,
    SubjectLinked,
    UnknownSubjectsError,
)


@strawberry.input
class PublishConsentNoticeInput:
    purpose: str = strawberry.field(
        description="A code such as CARBON_POINTS; versions count per purpose."
    )
    kind: GrantKind
    categories: list[DataCategory]
    text_zh: str
    text_en: str


@strawberry.input
class GrantDataAuthorisationInput:
    platform_id: strawberry.ID
    notice_id: strawberry.ID = strawberry.field(
        description="The notice version shown to the subject."
    )
    categories: list[DataCategory] | None = strawberry.field(
        default=None, description="A subset of the notice's; all of them when omitted."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="At most one year away; one year when omitted."
    )
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="Consent for a household."
    )
    business_id: strawberry.ID | None = strawberry.field(
        default=None, description="Consent for a small business."
    )
    meter_accounts: list[str] | None = strawberry.field(
        default=None,
        description="The electricity meter accounts an ELECTRICITY_METER grant covers.",
    )


@strawberry.input
class WithdrawDataAuthorisationInput:
    grant_id: strawberry.ID


@strawberry.input
class RevokeDataAuthorisationInput:
    grant_id: strawberry.ID
    reason: str


@strawberry.input
class IssueLinkCodeInput:
    platform_id: strawberry.ID
    household_id: strawberry.ID | None = None
    business_id: strawberry.ID | None = None


@strawberry.input
class LinkSubjectInput:
    code: str


@strawberry.input
class RequestSubjectLinkInput:
    phone: str


@strawberry.input
class DecideLinkRequestInput:
    request_id: strawberry.ID
    approve: bool


PublishConsentNoticePayload = Annotated[
    ConsentNoticeType | InvalidInputError, strawberry.union("PublishConsentNoticePayload")
]
GrantPayload = Annotated[
    DataGrantType
    | InvalidInputError
    | PlatformUnavailableError
    | NoticeUnknownError
    | NotFoundError
    | GrantEndedError,
    strawberry.union("GrantPayload"),
]
IssueLinkCodePayload = Annotated[
    LinkCodeType | PlatformUnavailableError | InvalidInputError,
    strawberry.union("IssueLinkCodePayload"),
]
LinkSubjectPayload = Annotated[
    SubjectLinked | LinkCodeError | PlatformUnavailableError, strawberry.union("LinkSubjectPayload")
]
LinkRequestPayload = Annotated[
    LinkRequestType | InvalidInputError | NotFoundError | PlatformUnavailableError,
    strawberry.union("LinkRequestPayload"),
]
SubjectsAuthorisingPayload = Annotated[
    SubjectAuthorisations | UnknownSubjectsError | InvalidInputError,
    strawberry.union("SubjectsAuthorisingPayload"),
]


def _request(row, platform_name: str | None = None) -> LinkRequestType:  # type: ignore[no-untyped-def]
    return LinkRequestType(
        id=strawberry.ID(str(row.public_id)),
        status=row.status,
        subject_ref=str(row.subject_ref) if row.subject_ref else None,
        platform_name=platform_name,
        expires_at=row.expires_at,
    )


@strawberry.type
class Query:
    @strawberry.field(description="The current version of every consent notice (public).")
    async def consent_notices(self) -> list[ConsentNoticeType]:
        return [ConsentNoticeType.from_row(n) for n in await grants.current_notices()]

    @strawberry.field(
        description="Your grants and those of your households and businesses, newest first."
    )
    async def my_data_grants(
        self,
        info: Info,
        status: GrantStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DataGrantType]:
        page = await grants.list_grants(
            actor=info.context.actor,
            first=first,
            after=after,
            status=status.value if status else None,
        )
        converted = iter(await DataGrantType.from_rows(page.items))
        return Connection[DataGrantType].from_page(page, lambda _row: next(converted))

    @strawberry.field(description="Reminders for you, newest first.")
    async def my_notifications(self, info: Info) -> list[NotificationType]:
        rows = await grants.notifications(actor=info.context.actor)
        return [
            NotificationType(
                id=strawberry.ID(str(n.public_id)),
                kind=n.kind,
                created_at=n.created_at,
                grant_id=strawberry.ID(
                    strawberry.relay.to_base64("DataGrant", str(n.grant.public_id))
                )
                if n.grant
                else None,
            )
            for n in rows
        ]

    @strawberry.field(description="Platforms asking to link your account, still open.")
    async def my_link_requests(self, info: Info) -> list[LinkRequestType]:
        return [
            _request(r, name)
            for r, name in await links.pending_link_requests(actor=info.context.actor)
        ]

    @strawberry.field(description="A link request the calling platform made. Platforms only.")
    @returns_errors
    async def link_request(self, info: Info, id: strawberry.ID) -> LinkRequestPayload:
        return _request(
            await links.link_request_for_platform(actor=info.context.actor, request_id=str(id))
        )

    @strawberry.field(
        description="Which of your subject ids authorise you for a category now. Platforms only."
    )
    @returns_errors
    async def subjects_authorising(
        self, info: Info, subject_refs: list[str], category: DataCategory
    ) -> SubjectsAuthorisingPayload:
        authorised = await grants.subjects_authorising(
            actor=info.context.actor, subject_refs=subject_refs, category=category.value
        )
        return SubjectAuthorisations(authorised=authorised)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Publish the next version of a consent notice. Authority only."
    )
    @returns_errors
    async def publish_consent_notice(
        self, info: Info, input: PublishConsentNoticeInput
    ) -> PublishConsentNoticePayload:
        notice = await grants.publish_notice(
            actor=info.context.actor,
            purpose=input.purpose,
            kind=input.kind.value,
            categories=[c.value for c in input.categories],
            text_zh=input.text_zh,
            text_en=input.text_en,
        )
        return ConsentNoticeType.from_row(notice)

    @strawberry.mutation(
        description="Authorise a data platform (or delegate to it) under a notice."
    )
    @returns_errors
    async def grant_data_authorisation(
        self, info: Info, input: GrantDataAuthorisationInput
    ) -> GrantPayload:
        actor = info.context.actor
        subject = await subjects.subject_for(
            actor,
            household_id=optional_organisation_id(input.household_id, field="householdId"),
            business_id=optional_organisation_id(input.business_id, field="businessId"),
        )
        record = await grants.grant(
            actor=actor,
            subject=subject,
            platform_id=public_id_of(input.platform_id, "Organisation", field="platformId"),
            notice_id=public_id_of(input.notice_id, "ConsentNotice", field="noticeId"),
            categories=[c.value for c in input.categories]
            if input.categories is not None
            else None,
            expires_at=input.expires_at,
            meter_accounts=input.meter_accounts,
        )
        return (await DataGrantType.from_rows([record]))[0]

    @strawberry.mutation(description="Withdraw an authorisation, effective at once.")
    @returns_errors
    async def withdraw_data_authorisation(
        self, info: Info, input: WithdrawDataAuthorisationInput
    ) -> GrantPayload:
        record = await grants.withdraw(
            actor=info.context.actor,
            grant_id=public_id_of(input.grant_id, "DataGrant", field="grantId"),
        )
        return (await DataGrantType.from_rows([record]))[0]

    @strawberry.mutation(
        description="Revoke an authorisation with a reason. Authority, or the platform for its own."
    )
    @returns_errors
    async def revoke_data_authorisation(
        self, info: Info, input: RevokeDataAuthorisationInput
    ) -> GrantPayload:
        record = await grants.revoke(
            actor=info.context.actor,
            grant_id=public_id_of(input.grant_id, "DataGrant", field="grantId"),
            reason=input.reason,
        )
        return (await DataGrantType.from_rows([record]))[0]

    @strawberry.mutation(
        description="A one-time code to link your account at a platform (10 minutes)."
    )
    @returns_errors
    async def issue_link_code(self, info: Info, input: IssueLinkCodeInput) -> IssueLinkCodePayload:
        actor = info.context.actor
        subject = await subjects.subject_for(
            actor,
            household_id=optional_organisation_id(input.household_id, field="householdId"),
            business_id=optional_organisation_id(input.business_id, field="businessId"),
        )
        issued = await links.issue_link_code(
            actor=actor,
            subject=subject,
            platform_id=public_id_of(input.platform_id, "Organisation", field="platformId"),
        )
        return LinkCodeType.from_result(issued)

    @strawberry.mutation(
        description="Redeem a subject's link code; returns their id for you. Platforms only."
    )
    @returns_errors
    async def link_subject(self, info: Info, input: LinkSubjectInput) -> LinkSubjectPayload:
        return SubjectLinked(
            subject_ref=await links.link_with_code(actor=info.context.actor, code=input.code)
        )

    @strawberry.mutation(description="Ask a person, by a number you know, to link. Platforms only.")
    @returns_errors
    async def request_subject_link(
        self, info: Info, input: RequestSubjectLinkInput
    ) -> LinkRequestPayload:
        return _request(await links.request_link(actor=info.context.actor, phone=input.phone))

    @strawberry.mutation(description="Approve or decline a platform's link request.")
    @returns_errors
    async def decide_link_request(
        self, info: Info, input: DecideLinkRequestInput
    ) -> LinkRequestPayload:
        row = await links.decide_link_request(
            actor=info.context.actor, request_id=str(input.request_id), approve=input.approve
        )
        return _request(row)
