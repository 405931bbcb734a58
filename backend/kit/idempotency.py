"""Idempotency keys: a replayed value-moving request returns its first answer (RELIABILITY.md 5).

The key is claimed with `INSERT ... ON CONFLICT DO NOTHING` inside the caller's transaction, so the
claim and the work commit together or not at all. A concurrent request with the same key waits on the
unique index until the first commits, then reads its answer; if the first rolled back, it runs itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from backend.kit import clock, db
from backend.kit.errors import IdempotencyKeyReused, InvalidInput
from backend.settings import get_settings

T = TypeVar("T")

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")


def request_hash(operation: str, request: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"operation": operation, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise InvalidInput(
            field="idempotencyKey",
            reason="must be 8 to 128 characters of letters, digits and _-:.",
            reason_zh="须为 8 至 128 个字母、数字或 _-:. 字符",
        )


async def run_once(
    *,
    owner: str,
    key: str,
    operation: str,
    request: Mapping[str, Any],
    work: Callable[[], Awaitable[T]],
    dump: Callable[[T], Any],
    load: Callable[[Any], T],
    retention: timedelta | None = None,
) -> T:
    """Run `work` once per (owner, key); a replay returns `load(stored answer)`.

    Must be called inside the transaction that does the work. Raises IdempotencyKeyReused when the
    key was used for a different request.
    """
    if not db.in_open_transaction():
        raise RuntimeError("idempotency keys are claimed inside the work's transaction")
    check_key(key)
    digest = request_hash(operation, request)
    if retention is None:
        retention = timedelta(hours=get_settings().idempotency_retention_hours)
    now = clock.now()
    claimed = await db.fetch(
        "INSERT INTO idempotency_key (owner, key, operation, request_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, key) DO NOTHING RETURNING id",
        owner,
        key,
        operation,
        digest,
        now,
        now + retention,
    )
    if not claimed:
        rows = await db.fetch(
            "SELECT request_hash, response FROM idempotency_key WHERE owner = $1 AND key = $2",
            owner,
            key,
        )
        if not rows:  # pragma: no cover - only if the row was purged between the two statements
            raise RuntimeError("idempotency key vanished while being read")
        if rows[0]["request_hash"] != digest:
            raise IdempotencyKeyReused()
        stored = rows[0]["response"]
        return load(json.loads(stored) if isinstance(stored, str) else stored)
    result = await work()
    await db.execute(
        "UPDATE idempotency_key SET response = $1 WHERE id = $2",
        json.dumps(dump(result), ensure_ascii=False, default=str),
        claimed[0]["id"],
    )
    return result


async def purge_expired() -> int:
    """Delete keys past their retention; returns how many went."""
    async with db.transaction():
        return await db.execute("DELETE FROM idempotency_key WHERE expires_at < $1", clock.now())


async def keyed_id(
    *,
    key: str | None,
    owner: str,
    operation: str,
    request: Mapping[str, Any],
    work: Callable[[], Awaitable[int]],
) -> int:
    """The id of the row `work` made, once per key: `run_once` for an API call, which always
    brings a key, or `work` alone for the service's own callers, which bring none. Inside the
    work's transaction."""
    if key is None:
        return await work()
    return await run_once(
        owner=owner, key=key, operation=operation, request=request, work=work, dump=int, load=int
    )
