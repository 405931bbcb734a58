"""What the authority sees of a platform's reporting: outcomes per day and code."""

from __future__ import annotations

from datetime import timedelta

from backend.accounts import queries as accounts
from backend.behaviour.models import OutcomeCount
from backend.kit import clock
from backend.kit.actor import Actor, require_kind


async def outcome_counts(*, actor: Actor, platform_id: str, days: int) -> list[OutcomeCount]:
    require_kind(actor, "authority")
    platform = await accounts.data_platform(platform_id)
    if platform is None:
        return []
    since = clock.shanghai_date(clock.now() - timedelta(days=max(1, min(days, 366))))
    return await OutcomeCount.filter(platform_id=platform[0], day__gt=since).order_by(
        "-day", "code"
    )
