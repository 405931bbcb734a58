"""Writing and reading the audit log; every later state change calls `record` in its transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tortoise.expressions import Q

from backend.audit.models import AuditEvent
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.logging import current_request_id
from backend.kit.pagination import Page, keyset_page

_NAME = re.compile(r"^[a-z][a-z0-9_.]{1,79}$")


async def record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records, so that both
    commit together: a change without its audit entry never exists."""
    if not _NAME.match(action):
        raise ValueError(f"audit action must be a dotted lower-case name, got {action!r}")
    if not db.in_open_transaction():
        raise RuntimeError("audit events are recorded inside the transaction of their change")
    return await AuditEvent.create(
        public_id=new_public_id(),
        occurred_at=clock.now(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        organisation_id=actor.organisation_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=dict(details or {}),
        request_id=current_request_id(),
    )


async def history(*, object_type: str, object_id: str) -> list[AuditEvent]:
    """Every event of one object, oldest first."""
    return await AuditEvent.filter(object_type=object_type, object_id=object_id).order_by(
        "occurred_at", "id"
    )


async def list_events(
    *,
    actor: Actor,
    object_type: str | None,
    object_id: str | None,
    first: int | None,
    after: str | None,
    action: str | None = None,
    actor_id: str | None = None,
) -> Page[AuditEvent]:
    """A page of the log, newest first (supervision reads it; nobody else may). `action` matches
    a name or a dotted prefix ("market" finds market.paid, market.refunded ...)."""
    require_kind(actor, "authority")
    queryset = AuditEvent.all()
    if action is not None:
        prefix = action.rstrip(".")
        queryset = queryset.filter(Q(action__startswith=f"{prefix}.") | Q(action=prefix))
    if actor_id is not None:
        queryset = queryset.filter(actor_id=actor_id)
    if object_type is not None:
        queryset = queryset.filter(object_type=object_type)
    if object_id is not None:
        queryset = queryset.filter(object_id=object_id)
    return await keyset_page(
        queryset, scope="audit_events", first=first, after=after, key="occurred_at"
    )


async def events_by_public_ids(*, actor: Actor, public_ids: list[str]) -> list[AuditEvent | None]:
    """The events in the order asked; None for ids that are unknown or not visible to `actor`."""
    if actor.kind != "authority":
        return [None] * len(public_ids)
    parsed = [parse_public_id(p) for p in public_ids]
    wanted = [pid for pid in parsed if pid is not None]
    rows = {row.public_id: row for row in await AuditEvent.filter(public_id__in=wanted)}
    return [rows.get(pid) if pid is not None else None for pid in parsed]
