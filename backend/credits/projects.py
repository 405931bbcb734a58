"""Credit projects: created by their owner under a registered methodology, validated (审定) by the
verifier the owner names, registered (登记) or rejected by the authority. Every step is an event
with who, when and their comment, and an audit entry.

Owners are members acting for a data platform (an aggregating project over delegated citizens) or
for a small business (its own project).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from backend.accounts import queries as accounts
from backend.audit import service as audit
from backend.credits.errors import WrongProjectState
from backend.credits.models import (
    CalendarDay,
    CreditProject,
    ProjectDocument,
    ProjectEvent,
    ProjectKind,
    ProjectStatus,
)
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import text
from backend.methodology import service as methodology
from backend.methodology.errors import MethodologyUnknown

OWNER_ROLES = frozenset({"owner", "manager", "developer"})
VERIFIER_ROLES = frozenset({"owner", "reviewer"})
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KIND_OF_OWNER = {"DATA_PLATFORM": ProjectKind.AGGREGATION, "SMALL_BUSINESS": ProjectKind.OWN}


def owner_of(actor: Actor) -> tuple[str, ProjectKind]:
    require_kind(actor, "member")
    kind = _KIND_OF_OWNER.get(actor.organisation_kind or "")
    if kind is None or not actor.roles & OWNER_ROLES or not actor.organisation_id:
        raise Forbidden()
    return actor.organisation_id, kind


async def _event(
    project: CreditProject, event: str, actor: Actor, comment: str | None = None
) -> None:
    await ProjectEvent.create(
        project=project,
        event=event,
        actor=actor.audit_name,
        comment=comment,
        occurred_at=clock.now(),
    )
    await audit.record(
        actor=actor,
        action=f"project.{event.lower()}",
        object_type="credit_project",
        object_id=str(project.public_id),
        details={"comment": comment} if comment else {},
    )


async def _project(project_id: str) -> CreditProject:
    public_id = parse_public_id(project_id)
    project = await CreditProject.get_or_none(public_id=public_id) if public_id else None
    if project is None:
        raise NotFound(what="project", what_zh="项目")
    return project


async def create_project(
    *, actor: Actor, title_zh: str, title_en: str, description: str, methodology_code: str
) -> CreditProject:
    owner_id, kind = owner_of(actor)
    if await methodology.factor_at(methodology_code, clock.now()) is None:
        raise MethodologyUnknown(code=methodology_code)
    async with db.transaction():
        project = await CreditProject.create(
            public_id=new_public_id(),
            owner_id=owner_id,
            kind=kind,
            title_zh=text(title_zh, field="titleZh", maximum=200),
            title_en=text(title_en, field="titleEn", maximum=200),
            description=text(description, field="description", maximum=20000),
            methodology_code=methodology_code,
            status=ProjectStatus.DRAFT,
            created_at=clock.now(),
        )
        await _event(project, "CREATED", actor)
    return project


async def add_document(
    *, actor: Actor, project_id: str, title: str, url: str, sha256: str
) -> ProjectDocument:
    owner_id, _ = owner_of(actor)
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > 500:
        raise InvalidInput(field="url", reason="an https:// URL", reason_zh="须为 https:// 地址")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise InvalidInput(
            field="sha256", reason="64 lower-case hex digits", reason_zh="须为 64 位小写十六进制"
        )
    async with db.transaction():
        project = await _project(project_id)
        if str(project.owner_id) != owner_id:
            raise NotFound(what="project", what_zh="项目")
        if project.status not in (ProjectStatus.DRAFT, ProjectStatus.CHANGES_REQUESTED):
            raise WrongProjectState(status=project.status.value, step="add a document")
        document = await ProjectDocument.create(
            project=project,
            title=text(title, field="title", maximum=200),
            url=url,
            sha256=sha256,
            added_at=clock.now(),
        )
        await _event(project, "DOCUMENT_ADDED", actor, f"{document.title} sha256:{sha256}")
    return document


async def _move(
    project: CreditProject,
    *,
    actor: Actor,
    needed: set[ProjectStatus],
    to: ProjectStatus,
    event: str,
    comment: str | None,
    **changes: object,
) -> CreditProject:
    moved = await CreditProject.filter(id=project.id, status__in=list(needed)).update(
        status=to, **changes
    )
    if not moved:
        raise WrongProjectState(status=project.status.value, step=event.lower())
    await project.refresh_from_db()
    await _event(project, event, actor, comment)
    return project


async def submit(*, actor: Actor, project_id: str, verifier_id: str) -> CreditProject:
    """The owner submits to the verifier organisation they name."""
    owner_id, _ = owner_of(actor)
    verifier = parse_public_id(verifier_id)
    async with db.transaction():
        project = await _project(project_id)
        if str(project.owner_id) != owner_id:
            raise NotFound(what="project", what_zh="项目")
        if verifier is None or not await accounts.is_active_organisation(str(verifier), "VERIFIER"):
            raise InvalidInput(
                field="verifierId",
                reason="not an active verifier",
                reason_zh="不是有效的审定核查机构",
            )
        if not await ProjectDocument.filter(project=project).exists():
            raise InvalidInput(
                field="documents",
                reason="attach the project documents first",
                reason_zh="请先添加项目文件",
            )
        return await _move(
            project,
            actor=actor,
            needed={ProjectStatus.DRAFT, ProjectStatus.CHANGES_REQUESTED},
            to=ProjectStatus.SUBMITTED,
            event="SUBMITTED",
            comment=None,
            verifier_id=verifier,
        )


def _comment(comment: str) -> str:
    return text(comment, field="comment", maximum=2000)


async def validate(*, actor: Actor, project_id: str, approve: bool, comment: str) -> CreditProject:
    """The named verifier validates (审定), or asks the owner for changes."""
    require_kind(actor, "verifier")
    if not actor.roles & VERIFIER_ROLES:
        raise Forbidden()
    async with db.transaction():
        project = await _project(project_id)
        if str(project.verifier_id) != actor.organisation_id:
            raise NotFound(what="project", what_zh="项目")
        if approve:
            return await _move(
                project,
                actor=actor,
                needed={ProjectStatus.SUBMITTED},
                to=ProjectStatus.VALIDATED,
                event="VALIDATED",
                comment=_comment(comment),
            )
        return await _move(
            project,
            actor=actor,
            needed={ProjectStatus.SUBMITTED},
            to=ProjectStatus.CHANGES_REQUESTED,
            event="CHANGES_REQUESTED",
            comment=_comment(comment),
        )


async def register(*, actor: Actor, project_id: str, approve: bool, comment: str) -> CreditProject:
    """The authority registers (登记) a validated project, or rejects it with reasons."""
    require_kind(actor, "authority")
    async with db.transaction():
        project = await _project(project_id)
        if approve:
            if await methodology.factor_at(project.methodology_code, clock.now()) is None:
                raise MethodologyUnknown(code=project.methodology_code)
            return await _move(
                project,
                actor=actor,
                needed={ProjectStatus.VALIDATED},
                to=ProjectStatus.REGISTERED,
                event="REGISTERED",
                comment=_comment(comment),
                registered_at=clock.now(),
            )
        return await _move(
            project,
            actor=actor,
            needed={ProjectStatus.VALIDATED},
            to=ProjectStatus.REJECTED,
            event="REJECTED",
            comment=_comment(comment),
        )


async def public_projects(*, status: str | None) -> list[CreditProject]:
    queryset = CreditProject.all()
    if status is not None:
        queryset = queryset.filter(status=ProjectStatus(status))
    return await queryset.order_by("-created_at").limit(200)


async def events_of(project_ids: list[int]) -> dict[int, list[ProjectEvent]]:
    found: dict[int, list[ProjectEvent]] = {pid: [] for pid in project_ids}
    for event in await ProjectEvent.filter(project_id__in=project_ids).order_by(
        "occurred_at", "id"
    ):
        found[event.project_id].append(event)  # type: ignore[attr-defined]
    return found


# The working-day calendar of public notices (公示: 7 working days in Guangdong practice).


def parse_day(value: str, field: str = "day") -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            field=field, reason="a date as YYYY-MM-DD", reason_zh="日期格式须为 YYYY-MM-DD"
        ) from exc


async def set_calendar_day(*, actor: Actor, day: str, is_working: bool, note: str) -> CalendarDay:
    """Mark a holiday or a make-up workday; setting a day again replaces its entry."""
    require_kind(actor, "authority")
    parsed = parse_day(day).isoformat()
    async with db.transaction():
        entry = await CalendarDay.get_or_none(day=parsed)
        if entry is None:
            entry = await CalendarDay.create(
                day=parsed,
                is_working=is_working,
                note=text(note, field="note", maximum=200),
                set_at=clock.now(),
            )
        else:
            await CalendarDay.filter(id=entry.id).update(
                is_working=is_working,
                note=text(note, field="note", maximum=200),
                set_at=clock.now(),
            )
            await entry.refresh_from_db()
        await audit.record(
            actor=actor,
            action="calendar.day_set",
            object_type="calendar_day",
            object_id=parsed,
            details={"is_working": is_working, "note": note},
        )
    return entry


async def working_days_after(start: date, count: int) -> date:
    """The date on which the `count`-th working day after `start` ends (start itself not counted)."""
    if count < 1:
        raise ValueError("count must be positive")
    horizon = start + timedelta(days=count * 3 + 30)
    exceptions = {
        e.day: e.is_working
        for e in await CalendarDay.filter(day__gt=start.isoformat(), day__lte=horizon.isoformat())
    }
    current, seen = start, 0
    while seen < count:
        current += timedelta(days=1)
        default = current.weekday() < 5
        if exceptions.get(current.isoformat(), default):
            seen += 1
    return current
