"""GraphQL types of consent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from backend.api.context import Info
from backend.api.errors import Error, error_type
from backend.consent import errors, grants, models
from backend.consent.links import IssuedLinkCode
from backend.kit.errors import Forbidden, NotFound, Unauthenticated

DataCategory = models.DataCategory
GrantKind = models.GrantKind
GrantStatus = models.GrantStatus
strawberry.enum(DataCategory, name="DataCategory")
strawberry.enum(GrantKind, name="GrantKind")
strawberry.enum(GrantStatus, name="GrantStatus")


@strawberry.type(name="ConsentNotice", description="A published consent text; never changes.")
class ConsentNoticeType(relay.Node):
    id: relay.NodeID[str]
    purpose: str
    version: int
    kind: GrantKind
    categories: list[DataCategory]
    text_zh: str
    text_en: str
    sha256: str = strawberry.field(description="Of purpose, kind, categories and both texts.")
    published_at: datetime

    @classmethod
    def from_row(cls, row: models.ConsentNotice) -> ConsentNoticeType:
        return cls(
            id=str(row.public_id),
            purpose=row.purpose,
            version=row.version,
            kind=row.kind,
            categories=[DataCategory(c) for c in row.categories],
            text_zh=row.text_zh,
            text_en=row.text_en,
            sha256=row.sha256,
            published_at=row.published_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        from backend.kit.ids import parse_public_id

        wanted = [parse_public_id(n) for n in node_ids]
        rows = {
            r.public_id: r
            for r in await models.ConsentNotice.filter(public_id__in=[w for w in wanted if w])
        }
        return [cls.from_row(rows[w]) if w in rows else None for w in wanted]


@strawberry.type(name="GrantEvent")
class GrantEventType:
    event: str
    occurred_at: datetime
    reason: str | None


def _events_loader() -> DataLoader[int, list[GrantEventType]]:
    async def load(grant_ids: list[int]) -> list[list[GrantEventType]]:
        found = await grants.history(grant_ids=list(grant_ids))
        return [
            [
                GrantEventType(event=e.event, occurred_at=e.occurred_at, reason=e.reason)
                for e in found[g]
            ]
            for g in grant_ids
        ]

    return DataLoader(load_fn=load)


def _receipts_loader(info: Info) -> DataLoader[str, dict[str, Any]]:
    async def load(grant_ids: list[str]) -> list[dict[str, Any] | BaseException]:
        found = await grants.receipts(actor=info.context.actor, grant_ids=list(grant_ids))
        return [found[g] for g in grant_ids]

    return DataLoader(load_fn=load)


@strawberry.type(
    name="DataGrant", description="A data authorisation (数据授权) or delegation (委托)."
)
class DataGrantType(relay.Node):
    id: relay.NodeID[str]
    kind: GrantKind
    subject_kind: str
    purpose: str
    categories: list[DataCategory]
    meter_accounts: list[str]
    platform_id: strawberry.ID
    notice_id: strawberry.ID
    notice_sha256: str
    separate_consent: bool
    status: GrantStatus
    authorised_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    pk: strawberry.Private[int]

    @strawberry.field(description="Every change of this grant, oldest first.")
    async def history(self, info: Info) -> list[GrantEventType]:
        loader = info.context.loader("consent.grant_events", _events_loader)
        return await loader.load(self.pk)

    @strawberry.field(description="The consent receipt (Kantara Consent Receipt v1.1 fields).")
    async def receipt(self, info: Info) -> JSON:
        # one batch for all the grants a response asks about
        loader = info.context.loader("consent.receipts", lambda: _receipts_loader(info))
        return await loader.load(self.id)  # type: ignore[no-any-return]

    @classmethod
    def from_row(
        cls, row: models.DataGrant, platform_public_id: str, notice_public_id: str
    ) -> DataGrantType:
        return cls(
            id=str(row.public_id),
            kind=row.kind,
            subject_kind=row.subject_kind.value,
            purpose=row.purpose,
            categories=[DataCategory(c) for c in row.categories],
            meter_accounts=list(row.meter_accounts),
            platform_id=strawberry.ID(relay.to_base64("Organisation", platform_public_id)),
            notice_id=strawberry.ID(relay.to_base64("ConsentNotice", notice_public_id)),
            notice_sha256=row.notice_sha256,
            separate_consent=row.separate_consent,
            status=row.status,
            authorised_at=row.authorised_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
            end_reason=row.end_reason,
            pk=row.id,
        )

    @classmethod
    async def from_rows(cls, rows: list[models.DataGrant]) -> list[DataGrantType]:
        """Converted with two queries for any number of rows (platform and notice ids)."""
        from backend.accounts import queries as accounts

        platforms = await accounts.platform_public_ids(list({r.platform_id for r in rows}))
        notice_ids = list({r.notice_id for r in rows})  # type: ignore[attr-defined]
        notices = dict(
            await models.ConsentNotice.filter(id__in=notice_ids).values_list("id", "public_id")
        )
        return [
            cls.from_row(r, platforms[r.platform_id][0], str(notices[r.notice_id]))  # type: ignore[attr-defined]
            for r in rows
        ]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        results: list[Any] = []
        for node_id in node_ids:
            try:
                row = await grants.grant_of_subject(info.context.actor, node_id)
            except (NotFound, Unauthenticated, Forbidden):
                results.append(None)
                continue
            results.append((await cls.from_rows([row]))[0])
        return results


@strawberry.type(name="Notification")
class NotificationType:
    id: strawberry.ID
    kind: str
    created_at: datetime
    grant_id: strawberry.ID | None


@strawberry.type(
    name="LinkCode", description="Show it in the app; the subject types it in at the platform."
)
class LinkCodeType:
    code: str
    expires_at: datetime

    @classmethod
    def from_result(cls, issued: IssuedLinkCode) -> LinkCodeType:
        return cls(code=issued.code, expires_at=issued.expires_at)


@strawberry.type(name="LinkRequest")
class LinkRequestType:
    id: strawberry.ID
    status: str = strawberry.field(description="PENDING, APPROVED, DECLINED or EXPIRED.")
    subject_ref: str | None = strawberry.field(
        description="Once approved: the platform's id for the subject."
    )
    platform_name: str | None
    expires_at: datetime


@strawberry.type
class SubjectLinked:
    subject_ref: str


@strawberry.type
class SubjectAuthorisations:
    authorised: list[str] = strawberry.field(
        description="Those of the ids asked that authorise now."
    )


@error_type(errors.PlatformUnavailable)
@strawberry.type
class PlatformUnavailableError(Error):
    pass


@error_type(errors.NoticeUnknown)
@strawberry.type
class NoticeUnknownError(Error):
    pass


@error_type(errors.GrantEnded)
@strawberry.type
class GrantEndedError(Error):
    status: GrantStatus


@error_type(errors.LinkCodeRejected)
@strawberry.type
class LinkCodeError(Error):
    pass


@error_type(errors.UnknownSubjects)
@strawberry.type
class UnknownSubjectsError(Error):
    count: int
