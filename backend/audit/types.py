"""GraphQL types of the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.api.context import Info
from backend.audit import service
from backend.audit.models import AuditEvent as AuditEventRow


@strawberry.type(name="AuditEvent", description="One state change: who, what, when, on what.")
class AuditEventType(relay.Node):
    id: relay.NodeID[str]
    occurred_at: datetime
    actor_kind: str
    actor_id: str | None
    organisation_id: str | None
    action: str
    object_type: str
    object_id: str
    details: JSON

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEventType:
        return cls(
            id=str(row.public_id),
            occurred_at=row.occurred_at,
            actor_kind=row.actor_kind,
            actor_id=row.actor_id,
            organisation_id=row.organisation_id,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            details=row.details,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        rows = await service.events_by_public_ids(
            actor=info.context.actor, public_ids=list(node_ids)
        )
        return [cls.from_row(row) if row else None for row in rows]
