"""Issuance requests: filed for a monitoring period of a registered project, verified (核算/核查),
reviewed (审核), on public notice (公示) for 7 working days with objections, then issued (签发) as
one serial block of whole kilograms, or rejected (which frees the reserved records).

Quantity of an aggregating project: the accepted behaviour records of the platform in the period,
of subjects whose delegation grant covered the record's time, not reserved by another request;
floor(total grams / 1000) kg, the remainder not carried over. A small business's own project
declares its quantity with evidence.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from backend.accounts import queries as accounts
from backend.audit import service as audit
from backend.behaviour import reservation
from backend.consent import grants
from backend.credits import registry
from backend.credits.errors import (
    NothingToIssue,
    NoticeNotOver,
    OpenObjections,
    PeriodOverlaps,
    WrongIssuanceState,
)
from backend.credits.models import (
    CreditProject,
    IssuanceEvent,
    IssuanceRequest,
    IssuanceStatus,
    Objection,
    ProjectKind,
    ProjectStatus,
)
from backend.credits.projects import (
    VERIFIER_ROLES,
    owner_of,
    parse_day,
    working_days_after,
)
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int, text

NOTICE_WORKING_DAYS = 7
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FINAL = {IssuanceStatus.ISSUED, IssuanceStatus.REJECTED}


def _today() -> date:
    return clock.now().astimezone(clock.SHANGHAI).date()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in Shanghai time."""
    first = datetime(start.year, start.month, start.day, tzinfo=clock.SHANGHAI)
    after = datetime(end.year, end.month, end.day, tzinfo=clock.SHANGHAI) + timedelta(days=1)
    return first, after


async def _event(
    request: IssuanceRequest, event: str, actor: Actor, comment: str | None = None
) -> None:
    await IssuanceEvent.create(
        request=request,
        event=event,
        actor=actor.audit_name,
        comment=comment,
        occurred_at=clock.now(),
    )
    await audit.record(
        actor=actor,
        action=f"issuance.{event.lower()}",
        object_type="issuance_request",
        object_id=str(request.public_id),
        details={"comment": comment} if comment else {},
    )


async def _request(request_id: str) -> IssuanceRequest:
    public_id = parse_public_id(request_id)
    found = (
        await IssuanceRequest.get_or_none(public_id=public_id).select_related("project")
        if public_id
        else None
    )
    if found is None:
        raise NotFound(what="issuance request", what_zh="签发申请")
    return found


def _evidence(items: list[dict[str, str]] | None) -> list[dict[str, str]]:
    if not items or len(items) > 50:
        raise InvalidInput(
            field="evidence", reason="1 to 50 documents", reason_zh="须附 1 至 50 份证明文件"
        )
    for item in items:
        url, sha = item.get("url", ""), item.get("sha256", "")
        if not url.startswith("https://") or len(url) > 500 or not _SHA256.match(sha):
            raise InvalidInput(
                field="evidence",
                reason="each an https:// URL with its sha256",
                reason_zh="每份须有 https:// 地址及 sha256",
            )
    return [{"url": i["url"], "sha256": i["sha256"]} for i in items]


async def file_request(
    *,
    actor: Actor,
    project_id: str,
    period_start: str,
    period_end: str,
    declared_kg: int | None = None,
    evidence: list[dict[str, str]] | None = None,
) -> IssuanceRequest:
    owner_id, kind = owner_of(actor)
    start, end = parse_day(period_start, "periodStart"), parse_day(period_end, "periodEnd")
    if end < start or end >= _today() or (end - start).days > 366:
        raise InvalidInput(
            field="periodEnd",
            reason="a past period of at most a year",
            reason_zh="须为已结束且不超过一年的监测期",
        )
    public_id = parse_public_id(project_id)
    async with db.transaction():
        project = (
            await CreditProject.filter(public_id=public_id).select_for_update().first()
            if public_id
            else None
        )
        if project is None or str(project.owner_id) != owner_id:
            raise NotFound(what="project", what_zh="项目")
        if project.status != ProjectStatus.REGISTERED:
            raise WrongIssuanceState(
                status=f"project {project.status.value}", step="file a request"
            )
        # The project row lock serialises filings of one project: the overlap check holds.
        others = (
            await IssuanceRequest.filter(project=project)
            .exclude(status=IssuanceStatus.REJECTED)
            .values("period_start", "period_end")
        )
        if any(
            o["period_start"] <= end.isoformat() and start.isoformat() <= o["period_end"]
            for o in others
        ):
            raise PeriodOverlaps()
        request = await IssuanceRequest.create(
            public_id=new_public_id(),
            project=project,
            owner_id=owner_id,
            period_start=start.isoformat(),
            period_end=end.isoformat(),
            quantity_kg=0,
            status=IssuanceStatus.SUBMITTED,
            created_at=clock.now(),
        )
        if kind == ProjectKind.AGGREGATION:
            platform = await accounts.data_platform(owner_id)
            assert platform is not None
            first, after = _bounds(start, end)
            grams = await reservation.reserve(
                platform_pk=platform[0],
                windows=await grants.delegation_windows(platform_pk=platform[0]),
                start=first,
                end=after,
                issuance_id=request.id,
            )
            quantity = grams // 1000
            if quantity < 1:
                raise NothingToIssue()
            await IssuanceRequest.filter(id=request.id).update(
                quantity_kg=quantity, reserved_grams=grams
            )
        else:
            positive_int(declared_kg, field="declaredKg", maximum=10**9)
            await IssuanceRequest.filter(id=request.id).update(
                quantity_kg=declared_kg, evidence=_evidence(evidence)
            )
        await request.refresh_from_db()
        await _event(request, "FILED", actor)
    return request


async def _move(
    request: IssuanceRequest,
    *,
    actor: Actor,
    needed: IssuanceStatus,
    to: IssuanceStatus,
    event: str,
    comment: str | None,
    **changes: Any,
) -> IssuanceRequest:
    moved = await IssuanceRequest.filter(id=request.id, status=needed).update(status=to, **changes)
    if not moved:
        raise WrongIssuanceState(status=request.status.value, step=event.lower())
    await request.refresh_from_db()
    await _event(request, event, actor, comment)
    return request


def _require_project_verifier(actor: Actor, request: IssuanceRequest) -> None:
    require_kind(actor, "verifier")
    if not actor.roles & VERIFIER_ROLES:
        raise Forbidden()
    if str(request.project.verifier_id) != actor.organisation_id:
        raise NotFound(what="issuance request", what_zh="签发申请")


async def verify(*, actor: Actor, request_id: str, comment: str) -> IssuanceRequest:
    require_kind(actor, "verifier")
    async with db.transaction():
        request = await _request(request_id)
        _require_project_verifier(actor, request)
        return await _move(
            request,
            actor=actor,
            needed=IssuanceStatus.SUBMITTED,
            to=IssuanceStatus.VERIFIED,
            event="VERIFIED",
            comment=_comment_text(comment),
        )


async def review(*, actor: Actor, request_id: str, comment: str) -> IssuanceRequest:
    require_kind(actor, "authority")
    async with db.transaction():
        request = await _request(request_id)
        return await _move(
            request,
            actor=actor,
            needed=IssuanceStatus.VERIFIED,
            to=IssuanceStatus.REVIEWED,
            event="REVIEWED",
            comment=_comment_text(comment),
        )


async def start_notice(*, actor: Actor, request_id: str) -> IssuanceRequest:
    """Public notice from today for 7 working days of the authority's calendar."""
    require_kind(actor, "authority")
    today = _today()
    ends = await working_days_after(today - timedelta(days=1), NOTICE_WORKING_DAYS)
    async with db.transaction():
        request = await _request(request_id)
        return await _move(
            request,
            actor=actor,
            needed=IssuanceStatus.REVIEWED,
            to=IssuanceStatus.PUBLIC_NOTICE,
            event="NOTICE_STARTED",
            comment=None,
            notice_start=today.isoformat(),
            notice_end=ends.isoformat(),
        )


async def file_objection(*, request_id: str, text: str) -> Objection:
    """Anyone may object while the notice runs (nothing about the objector is kept)."""
    async with db.transaction():
        request = await _request(request_id)
        if request.status != IssuanceStatus.PUBLIC_NOTICE:
            raise WrongIssuanceState(status=request.status.value, step="file an objection")
        return await Objection.create(
            public_id=new_public_id(),
            request=request,
            text=_comment_text(text),
            filed_at=clock.now(),
        )


async def resolve_objection(*, actor: Actor, objection_id: str, resolution: str) -> Objection:
    require_kind(actor, "authority")
    public_id = parse_public_id(objection_id)
    async with db.transaction():
        objection = (
            await Objection.get_or_none(public_id=public_id).select_related("request")
            if public_id
            else None
        )
        if objection is None:
            raise NotFound(what="objection", what_zh="异议")
        changed = await Objection.filter(id=objection.id, resolved_at__isnull=True).update(
            resolution=_comment_text(resolution), resolved_at=clock.now()
        )
        if not changed:
            raise InvalidInput(
                field="objectionId", reason="already resolved", reason_zh="该异议已处理"
            )
        await objection.refresh_from_db()
        await _event(objection.request, "OBJECTION_RESOLVED", actor, objection.resolution)
    return objection


async def issue(*, actor: Actor, request_id: str) -> IssuanceRequest:
    """签发: after the notice and with every objection resolved; one serial block of the quantity."""
    require_kind(actor, "authority")
    async with db.transaction():
        request = await _request(request_id)
        project = await CreditProject.filter(id=request.project.id).select_for_update().first()
        assert project is not None
        if request.status != IssuanceStatus.PUBLIC_NOTICE:
            raise WrongIssuanceState(status=request.status.value, step="issue")
        if request.notice_end is None or _today().isoformat() <= request.notice_end:
            raise NoticeNotOver(ends_on=request.notice_end or "")
        open_objections = await Objection.filter(request=request, resolved_at__isnull=True).count()
        if open_objections:
            raise OpenObjections(count=open_objections)
        # Serials run on per project (locked above): this block follows the last one issued.
        last = (
            await IssuanceRequest.filter(project=project, status=IssuanceStatus.ISSUED)
            .order_by("-serial_end")
            .first()
        )
        start = (last.serial_end or 0) + 1 if last else 1
        issued = await _move(
            request,
            actor=actor,
            needed=IssuanceStatus.PUBLIC_NOTICE,
            to=IssuanceStatus.ISSUED,
            event="ISSUED",
            comment=None,
            serial_start=start,
            serial_end=start + request.quantity_kg - 1,
            issued_at=clock.now(),
        )
        await registry.issue_block(issued)
        return issued


async def reject(*, actor: Actor, request_id: str, comment: str) -> IssuanceRequest:
    """The authority (at any step) or the project's verifier (before verification) rejects; the
    reserved records are free again."""
    require_kind(actor, "authority", "verifier")
    async with db.transaction():
        request = await _request(request_id)
        if actor.kind == "verifier":
            _require_project_verifier(actor, request)
            allowed = {IssuanceStatus.SUBMITTED}
        else:
            require_kind(actor, "authority")
            allowed = set(IssuanceStatus) - FINAL
        if request.status not in allowed:
            raise WrongIssuanceState(status=request.status.value, step="reject")
        rejected = await _move(
            request,
            actor=actor,
            needed=request.status,
            to=IssuanceStatus.REJECTED,
            event="REJECTED",
            comment=_comment_text(comment),
        )
        await reservation.release(issuance_id=request.id)
    return rejected


async def public_requests(*, status: str | None) -> list[IssuanceRequest]:
    queryset = IssuanceRequest.all().select_related("project")
    if status is not None:
        queryset = queryset.filter(status=IssuanceStatus(status))
    return await queryset.order_by("-created_at").limit(200)


async def objections_of(request_ids: list[int]) -> dict[int, list[Objection]]:
    found: dict[int, list[Objection]] = {rid: [] for rid in request_ids}
    for objection in await Objection.filter(request_id__in=request_ids).order_by("filed_at", "id"):
        found[objection.request_id].append(objection)  # type: ignore[attr-defined]
    return found


def _comment_text(comment: str) -> str:
    return text(comment, field="comment", maximum=2000)
