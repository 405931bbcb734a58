"""Reserving accepted behaviour records for a credit issuance request: a record is counted in at
most one request that is not rejected, so in at most one ISSUED request, ever. The reservation is a
conditional UPDATE (`issuance_id IS NULL`): of two requests reserving the same records at once,
each record goes to one."""

from __future__ import annotations

import uuid
from datetime import datetime

from backend.behaviour.models import BehaviourRecord
from backend.kit import db

CHUNK = 1000


async def reserve(
    *,
    platform_pk: int,
    windows: dict[str, list[tuple[datetime, datetime]]],
    start: datetime,
    end: datetime,
    issuance_id: int,
) -> int:
    """Reserve the platform's unreserved records in [start, end) whose subject's windows cover
    them; returns their grams (inside the caller's transaction)."""
    candidates = await BehaviourRecord.filter(
        platform_id=platform_pk,
        occurred_at__gte=start,
        occurred_at__lt=end,
        issuance_id__isnull=True,
        subject_id__in=[uuid.UUID(s) for s in windows],
    ).values("id", "subject_id", "occurred_at")
    wanted = [
        row["id"]
        for row in candidates
        if any(a <= row["occurred_at"] < b for a, b in windows.get(str(row["subject_id"]), []))
    ]
    for offset in range(0, len(wanted), CHUNK):
        chunk = wanted[offset : offset + CHUNK]
        placeholders = ", ".join(f"${n}" for n in range(2, len(chunk) + 2))
        await db.execute(
            f"UPDATE behaviour_record SET issuance_id = $1 WHERE id IN ({placeholders})"
            " AND issuance_id IS NULL",
            issuance_id,
            *chunk,
        )
    rows = await db.fetch(
        "SELECT COALESCE(SUM(grams), 0) AS grams FROM behaviour_record WHERE issuance_id = $1",
        issuance_id,
    )
    return int(rows[0]["grams"])


async def release(*, issuance_id: int) -> int:
    """A rejected request frees its records; returns how many."""
    return await db.execute(
        "UPDATE behaviour_record SET issuance_id = NULL WHERE issuance_id = $1", issuance_id
    )
