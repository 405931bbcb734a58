"""Session revocation, checked on every request: a revoked session is refused at once.

The database is the truth; Redis caches each session's state for a minute so that a request costs
one Redis read. Revoking writes both, so every replica sees it on its next request; a lost Redis
falls back to the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.accounts.models import Session
from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor
from backend.kit.redis import get_redis, reader

CACHE_SECONDS = 60


def _key(session_id: str) -> str:
    return f"session:{session_id}"


async def cache_session_state(session_id: str, *, revoked: bool) -> None:
    # A revocation is remembered longer than any access token lives.
    ttl = 3600 if revoked else CACHE_SECONDS
    await get_redis().set(_key(session_id), "revoked" if revoked else "active", ex=ttl)


async def is_session_active(session_id: str) -> bool:
    cached = await reader().get(_key(session_id))
    if cached is not None:
        return bool(cached == "active")
    session = await Session.get_or_none(public_id=session_id).only("id", "revoked_at", "expires_at")
    active = session is not None and session.revoked_at is None and session.expires_at > clock.now()
    await cache_session_state(session_id, revoked=not active)
    return active


async def revoke_sessions(sessions: Sequence[Session], *, reason: str, actor: Actor) -> int:
    """End `sessions` (their refresh tokens and access tokens), audited; returns how many."""
    live = [s for s in sessions if s.revoked_at is None]
    if not live:
        return 0
    now = clock.now()
    async with db.transaction():
        await Session.filter(id__in=[s.id for s in live], revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        for session in live:
            await audit.record(
                actor=actor,
                action="session.revoked",
                object_type="session",
                object_id=str(session.public_id),
                details={"reason": reason},
            )
    for session in live:
        await cache_session_state(str(session.public_id), revoked=True)
    return len(live)
