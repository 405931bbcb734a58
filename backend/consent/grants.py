"""Consent notices and grants (RELIABILITY.md 18-22): publish, grant, withdraw, revoke, expire.

A subject is a person, a household (any active member consents for it) or a small business (an
owner or manager consents for it). Every change of a grant is an append-only event and an audit
entry, written in the change's transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from backend.accounts import queries as accounts
from backend.accounts.subjects import Subject, subjects_of
from backend.audit import service as audit
from backend.consent.errors import GrantEnded, NoticeUnknown, PlatformUnavailable
from backend.consent.models import (
    ConsentNotice,
    DataCategory,
    DataGrant,
    GrantEvent,
    GrantKind,
    GrantStatus,
    Notification,
    SubjectKind,
)
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind, require_person
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.pagination import Page, keyset_page

MAX_TERM = timedelta(days=365)
REMIND_BEFORE = timedelta(days=14)
JURISDICTION = "CN-44"  # Guangdong (ISO 3166-2)
_PURPOSE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")


def notice_digest(
    *, purpose: str, kind: str, categories: list[str], text_zh: str, text_en: str
) -> str:
    canonical = "\x1f".join([purpose, kind, ",".join(categories), text_zh, text_en])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _categories(values: list[str], field: str) -> list[str]:
    try:
        parsed = sorted({DataCategory(v).value for v in values})
    except ValueError as exc:
        raise InvalidInput(
            field=field, reason="unknown data category", reason_zh="未知的数据类别"
        ) from exc
    return parsed


async def publish_notice(
    *, actor: Actor, purpose: str, kind: str, categories: list[str], text_zh: str, text_en: str
) -> ConsentNotice:
    """The next version of the notice for `purpose`; published versions never change."""
    require_kind(actor, "authority")
    if not (2 <= len(purpose) <= 40 and set(purpose) <= _PURPOSE_CHARS):
        raise InvalidInput(
            field="purpose",
            reason="2 to 40 of A-Z, 0-9 and _",
            reason_zh="须为 2 至 40 个大写字母、数字或下划线",
        )
    grant_kind = GrantKind(kind)
    wanted = _categories(categories, "categories")
    if grant_kind == GrantKind.DATA and not wanted:
        raise InvalidInput(
            field="categories",
            reason="a data notice names at least one category",
            reason_zh="须至少包含一个数据类别",
        )
    for field, text in (("textZh", text_zh), ("textEn", text_en)):
        if not text or not text.strip() or len(text) > 20000:
            raise InvalidInput(
                field=field,
                reason="must be 1 to 20000 characters",
                reason_zh="须为 1 至 20000 个字符",
            )
    async with db.transaction():
        latest = await ConsentNotice.filter(purpose=purpose).order_by("-version").first()
        if latest is not None and latest.kind != grant_kind:
            raise InvalidInput(
                field="kind",
                reason="a purpose keeps its kind across versions",
                reason_zh="同一目的的告知书类型不可变",
            )
        notice = await ConsentNotice.create(
            public_id=new_public_id(),
            purpose=purpose,
            version=(latest.version + 1) if latest else 1,
            kind=grant_kind,
            categories=wanted,
            text_zh=text_zh,
            text_en=text_en,
            sha256=notice_digest(
                purpose=purpose,
                kind=grant_kind.value,
                categories=wanted,
                text_zh=text_zh,
                text_en=text_en,
            ),
            published_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="consent_notice.published",
            object_type="consent_notice",
            object_id=str(notice.public_id),
            details={"purpose": purpose, "version": notice.version, "sha256": notice.sha256},
        )
    return notice


async def current_notices() -> list[ConsentNotice]:
    """The latest version of every purpose (what the app shows before consent)."""
    notices = await ConsentNotice.all().order_by("purpose", "-version")
    latest: dict[str, ConsentNotice] = {}
    for notice in notices:
        latest.setdefault(notice.purpose, notice)
    return list(latest.values())


async def _event(grant: DataGrant, event: str, actor: Actor, reason: str | None = None) -> None:
    await GrantEvent.create(
        public_id=new_public_id(),
        grant=grant,
        subject_id=grant.subject_id,
        event=event,
        occurred_at=clock.now(),
        actor=actor.audit_name,
        reason=reason,
    )
    await audit.record(
        actor=actor,
        action=f"data_grant.{event.lower()}",
        object_type="data_grant",
        object_id=str(grant.public_id),
        details={"reason": reason} if reason else {},
    )


async def grant(
    *,
    actor: Actor,
    subject: Subject,
    platform_id: str,
    notice_id: str,
    categories: list[str] | None,
    expires_at: datetime | None,
    meter_accounts: list[str] | None,
) -> DataGrant:
    """Consent, under the notice version shown, until an expiry of at most one year."""
    now = clock.now()
    if expires_at is None:
        expires_at = now + MAX_TERM
    if expires_at.tzinfo is None:
        raise InvalidInput(field="expiresAt", reason="needs a UTC offset", reason_zh="须带时区")
    if expires_at <= now:
        raise InvalidInput(field="expiresAt", reason="is in the past", reason_zh="不能早于当前时间")
    if expires_at > now + MAX_TERM:
        raise InvalidInput(
            field="expiresAt", reason="is more than one year away", reason_zh="授权期限最长一年"
        )
    platform = await accounts.data_platform(platform_id)
    if platform is None or not platform[2]:
        raise PlatformUnavailable()
    notice_public_id = parse_public_id(notice_id)
    notice = (
        await ConsentNotice.get_or_none(public_id=notice_public_id) if notice_public_id else None
    )
    if notice is None:
        raise NoticeUnknown()
    wanted = _categories(
        categories if categories is not None else list(notice.categories), "categories"
    )
    if not set(wanted) <= set(notice.categories):
        raise InvalidInput(
            field="categories", reason="not all covered by the notice", reason_zh="超出告知书范围"
        )
    if notice.kind == GrantKind.DATA and not wanted:
        raise InvalidInput(
            field="categories",
            reason="name at least one category",
            reason_zh="须至少选择一个数据类别",
        )
    meters = sorted(set(meter_accounts or []))
    if (
        any(not m or len(m) > 40 or not m.replace("-", "").isalnum() for m in meters)
        or len(meters) > 20
    ):
        raise InvalidInput(
            field="meterAccounts",
            reason="up to 20 account numbers of letters, digits and -",
            reason_zh="最多 20 个由字母数字组成的户号",
        )
    if DataCategory.ELECTRICITY_METER.value in wanted:
        if subject.kind == SubjectKind.PERSON:
            raise InvalidInput(
                field="categories",
                reason="meter data is authorised by a household or a business",
                reason_zh="电表数据须由家庭或企业授权",
            )
        if not meters:
            raise InvalidInput(
                field="meterAccounts",
                reason="name the meter accounts the grant covers",
                reason_zh="须填写授权覆盖的电表户号",
            )
    elif meters:
        raise InvalidInput(
            field="meterAccounts",
            reason="only for electricity meter data",
            reason_zh="仅适用于电表数据",
        )
    async with db.transaction():
        record = await DataGrant.create(
            public_id=new_public_id(),
            subject_kind=subject.kind,
            subject_id=subject.id,
            platform_id=platform[0],
            kind=notice.kind,
            purpose=notice.purpose,
            categories=wanted,
            meter_accounts=meters,
            notice=notice,
            notice_sha256=notice.sha256,
            separate_consent=notice.kind == GrantKind.DELEGATION,
            status=GrantStatus.AUTHORISED,
            authorised_at=now,
            expires_at=expires_at,
            collection_method="tanpuhui-app",
            granted_by=actor.id,
        )
        await _event(record, "AUTHORISED", actor)
    return record


async def grant_of_subject(actor: Actor, grant_id: str) -> DataGrant:
    """A grant whose subject `actor` may act for; NotFound otherwise (existence does not leak)."""
    require_person(actor)
    public_id = parse_public_id(grant_id)
    record = await DataGrant.get_or_none(public_id=public_id) if public_id else None
    if record is None:
        raise NotFound(what="authorisation", what_zh="授权")
    visible = {s.id for s in await subjects_of(actor)}
    if str(record.subject_id) not in visible:
        raise NotFound(what="authorisation", what_zh="授权")
    return record


async def _end(
    record: DataGrant, status: GrantStatus, actor: Actor, reason: str | None
) -> DataGrant:
    now = clock.now()
    async with db.transaction():
        # Conditional: of two concurrent ends, one wins; the other sees GRANT_ENDED.
        changed = await DataGrant.filter(id=record.id, status=GrantStatus.AUTHORISED).update(
            status=status, ended_at=now, end_reason=reason
        )
        if not changed:
            current = await DataGrant.get(id=record.id)
            raise GrantEnded(status=current.status)
        record.status, record.ended_at, record.end_reason = status, now, reason
        await _event(record, status.value, actor, reason)
    return record


async def withdraw(*, actor: Actor, grant_id: str) -> DataGrant:
    """The subject withdraws, in one step, effective at once (撤回)."""
    record = await grant_of_subject(actor, grant_id)
    if record.status != GrantStatus.AUTHORISED:
        raise GrantEnded(status=record.status)
    return await _end(record, GrantStatus.WITHDRAWN, actor, None)


async def revoke(*, actor: Actor, grant_id: str, reason: str) -> DataGrant:
    """The operator, or the platform itself for its own grants, revokes with a reason."""
    require_kind(actor, "authority", "platform")
    if not reason or not reason.strip() or len(reason) > 500:
        raise InvalidInput(
            field="reason", reason="1 to 500 characters", reason_zh="须为 1 至 500 个字符"
        )
    public_id = parse_public_id(grant_id)
    record = await DataGrant.get_or_none(public_id=public_id) if public_id else None
    if record is not None and actor.kind == "platform":
        platform = await accounts.data_platform(actor.id or "")
        if platform is None or platform[0] != record.platform_id:
            record = None
    if record is None:
        raise NotFound(what="authorisation", what_zh="授权")
    if record.status != GrantStatus.AUTHORISED:
        raise GrantEnded(status=record.status)
    return await _end(record, GrantStatus.REVOKED, actor, reason.strip())


async def expire_due() -> int:
    """Job: grants past their expiry become EXPIRED (matching uses `expires_at` regardless)."""
    from backend.kit.actor import system_actor

    due = await DataGrant.filter(status=GrantStatus.AUTHORISED, expires_at__lte=clock.now())
    count = 0
    for record in due:
        try:
            await _end(record, GrantStatus.EXPIRED, system_actor("expire-grants"), None)
            count += 1
        except GrantEnded:
            continue
    return count


async def remind_expiring() -> int:
    """Job: one notification per person who consented, two weeks before a grant expires."""
    now = clock.now()
    due = await DataGrant.filter(
        status=GrantStatus.AUTHORISED, expires_at__lte=now + REMIND_BEFORE, expires_at__gt=now
    )
    created = 0
    for record in due:
        exists = await Notification.filter(
            person_id=record.granted_by, grant=record, kind="GRANT_EXPIRING"
        ).exists()
        if exists:
            continue
        async with db.transaction():
            await Notification.create(
                public_id=new_public_id(),
                person_id=record.granted_by,
                kind="GRANT_EXPIRING",
                grant=record,
                created_at=now,
            )
        created += 1
    return created


async def list_grants(
    *, actor: Actor, first: int | None, after: str | None, status: str | None
) -> Page[DataGrant]:
    """The grants of every subject the person may act for, newest first."""
    require_person(actor)
    subject_ids = [uuid.UUID(s.id) for s in await subjects_of(actor)]
    queryset = DataGrant.filter(subject_id__in=subject_ids)
    if status is not None:
        queryset = queryset.filter(status=GrantStatus(status))
    return await keyset_page(
        queryset, scope="grants", first=first, after=after, key="authorised_at"
    )


async def history(*, grant_ids: list[int]) -> dict[int, list[GrantEvent]]:
    """Events of several grants at once (one query), oldest first."""
    events: dict[int, list[GrantEvent]] = {grant_id: [] for grant_id in grant_ids}
    for event in await GrantEvent.filter(grant_id__in=grant_ids).order_by("occurred_at", "id"):
        events[event.grant_id].append(event)  # type: ignore[attr-defined]
    return events


async def notifications(*, actor: Actor) -> list[Notification]:
    require_person(actor)
    return (
        await Notification.filter(person_id=actor.id)
        .select_related("grant")
        .order_by("-created_at")[:100]
    )


async def receipt(*, actor: Actor, grant_id: str) -> dict[str, Any]:
    """The consent receipt (Kantara Consent Receipt Specification v1.1 fields) of a grant."""
    found = (await receipts(actor=actor, grant_ids=[grant_id]))[grant_id]
    if isinstance(found, NotFound):
        raise found
    return found


async def receipts(*, actor: Actor, grant_ids: list[str]) -> dict[str, dict[str, Any] | NotFound]:
    """The receipts of several grants in four queries, by grant id; NotFound for a grant the
    actor may not act for (as `grant_of_subject`: existence does not leak)."""
    require_person(actor)
    wanted = {grant_id: parse_public_id(grant_id) for grant_id in grant_ids}
    public_ids = [p for p in wanted.values() if p is not None]
    rows = await DataGrant.filter(public_id__in=public_ids) if public_ids else []
    visible = {s.id for s in await subjects_of(actor)} if rows else set()
    records = {str(r.public_id): r for r in rows if str(r.subject_id) in visible}
    notices = {
        n.id: n
        for n in await ConsentNotice.filter(
            id__in=list({r.notice_id for r in records.values()})  # type: ignore[attr-defined]
        )
    }
    platforms = await accounts.platform_public_ids(list({r.platform_id for r in records.values()}))
    found: dict[str, dict[str, Any] | NotFound] = {}
    for grant_id, public_id in wanted.items():
        record = records.get(str(public_id)) if public_id else None
        if record is None:
            found[grant_id] = NotFound(what="authorisation", what_zh="授权")
            continue
        found[grant_id] = _receipt(
            record,
            notices[record.notice_id],  # type: ignore[attr-defined]
            *platforms[record.platform_id],
        )
    return found


def _receipt(
    record: DataGrant, notice: ConsentNotice, platform_public_id: str, platform_name: str
) -> dict[str, Any]:
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": JURISDICTION,
        "consentTimestamp": int(record.authorised_at.timestamp()),
        "collectionMethod": record.collection_method,
        "consentReceiptID": str(record.public_id),
        "language": "zh-CN",
        "piiPrincipalId": str(record.subject_id),
        "piiControllers": [
            {
                "piiController": platform_name,
                "piiControllerId": platform_public_id,
                "onBehalf": False,
            }
        ],
        "policyUrl": f"urn:tanpuhui:consent-notice:{notice.purpose}:{notice.version}:sha256:{notice.sha256}",
        "services": [
            {
                "service": "碳普惠 Tanpuhui",
                "purposes": [
                    {
                        "purpose": record.purpose,
                        "consentType": "EXPLICIT",
                        "purposeCategory": [record.kind.value],
                        "piiCategory": list(record.categories),
                        "primaryPurpose": True,
                        "termination": record.expires_at.isoformat(),
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": record.separate_consent,
        "spiCat": [],
        "status": record.status.value,
        "meterAccounts": list(record.meter_accounts),
    }


async def subjects_authorising(
    *, actor: Actor, subject_refs: list[str], category: str
) -> list[str]:
    """Which of the platform's own subject references authorise it for `category` now."""
    from backend.consent.errors import UnknownSubjects
    from backend.consent.matching import authorised_refs

    platform_public_id = require_kind(actor, "platform")
    if not 1 <= len(subject_refs) <= 1000:
        raise InvalidInput(
            field="subjectRefs", reason="1 to 1000 ids", reason_zh="须为 1 至 1000 个标识"
        )
    platform = await accounts.data_platform(platform_public_id)
    if platform is None:
        raise Forbidden()
    authorised, unknown = await authorised_refs(
        platform_pk=platform[0],
        subject_refs=subject_refs,
        category=DataCategory(category).value,
        at=clock.now(),
    )
    if unknown:
        raise UnknownSubjects(count=len(unknown))
    return authorised


async def delegation_windows(*, platform_pk: int) -> dict[str, list[tuple[datetime, datetime]]]:
    """Subject id -> windows [authorised_at, expires_at) of delegation grants (委托) to the
    platform that were not withdrawn or revoked: whose reductions the platform may bundle."""
    rows = await DataGrant.filter(
        platform_id=platform_pk,
        kind=GrantKind.DELEGATION,
        status__in=[GrantStatus.AUTHORISED, GrantStatus.EXPIRED],
    ).values("subject_id", "authorised_at", "expires_at")
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for row in rows:
        windows.setdefault(str(row["subject_id"]), []).append(
            (row["authorised_at"], row["expires_at"])
        )
    return windows
