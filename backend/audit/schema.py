"""Query fields of the audit log (authority only)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.connection import Connection
from backend.api.context import Info
from backend.audit import service
from backend.audit.types import AuditEventType


@strawberry.type
class Query:
    @strawberry.field(
        description="The audit log, newest first; optionally of one object. Authority only."
    )
    async def audit_events(
        self,
        info: Info,
        object_type: str | None = None,
        object_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
        action: Annotated[
            str | None,
            strawberry.argument(description="An action, or a dotted prefix such as 'market'."),
        ] = None,
        actor_id: str | None = None,
    ) -> Connection[AuditEventType]:
        page = await service.list_events(
            actor=info.context.actor,
            object_type=object_type,
            object_id=object_id,
            first=first,
            after=after,
            action=action,
            actor_id=actor_id,
        )
        return Connection[AuditEventType].from_page(page, AuditEventType.from_row)
