"""Public disclosure of the scheme (信息披露), the opt-in leaderboard and a citizen's own impact.

The totals are read from what the ledger and the registry hold: reductions from the daily totals
(by scenario and Shanghai month), points from the postings of the system accounts (earned ones
leave the issuance source, burned, expired and clawed-back ones reach their sinks), credits from
issued requests and blocks. The public field caches them in Redis for a minute.

The leaderboard ranks citizens who opted in, under a pseudonym, by the grams their behaviour
reduced. It is a Redis sorted set, rebuilt from the database by the job `rebuild-leaderboard` and
whenever Redis has lost it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from backend.certificates.models import Certificate, CertificateStatus, LeaderboardEntry
from backend.kit import clock, db
from backend.kit.actor import Actor, require_person
from backend.kit.errors import InvalidInput
from backend.kit.redis import get_redis
from backend.kit.validation import text
from backend.ledger.models import AccountKind

CACHE_KEY = "disclosure:totals"
CACHE_SECONDS = 60
BOARD = "leaderboard:reductions"
ALIASES = "leaderboard:aliases"


@dataclass
class Totals:
    reductions: list[dict[str, Any]] = field(default_factory=list)  # scenario, month, grams
    reduction_grams: int = 0
    points_earned: int = 0
    points_burned: int = 0
    points_expired: int = 0
    points_clawed_back: int = 0
    credits_issued_kg: int = 0
    credits_retired_kg: int = 0
    credits_exported_kg: int = 0
    active_grants: int = 0
    certificates: int = 0
    certificates_kg: int = 0
    as_of: str = ""


async def _sum(sql: str, *args: Any) -> int:
    rows = await db.fetch(sql, *args)
    return int(rows[0]["total"] or 0) if rows else 0


async def _system_total(kind: AccountKind) -> int:
    return await _sum(
        "SELECT COALESCE(SUM(p.amount), 0) AS total FROM ledger_posting p"
        " JOIN ledger_account a ON a.id = p.account_id WHERE a.kind = $1",
        kind.value,
    )


async def totals() -> Totals:
    """Computed now from the database."""
    reductions = await db.fetch(
        "SELECT scenario_code, substr(day, 1, 7) AS month, SUM(grams) AS grams"
        " FROM behaviour_daily_total GROUP BY scenario_code, substr(day, 1, 7)"
        " ORDER BY 2, 1"
    )
    result = Totals(
        reductions=[
            {"scenario": r["scenario_code"], "month": r["month"], "grams": int(r["grams"])}
            for r in reductions
        ],
        as_of=clock.now().isoformat(),
    )
    result.reduction_grams = sum(r["grams"] for r in result.reductions)
    result.points_earned = -await _system_total(AccountKind.ISSUANCE)
    result.points_burned = await _system_total(AccountKind.BURN)
    result.points_expired = await _system_total(AccountKind.EXPIRY)
    result.points_clawed_back = await _system_total(AccountKind.CLAWBACK)
    result.credits_issued_kg = await _sum(
        "SELECT COALESCE(SUM(serial_end - serial_start + 1), 0) AS total"
        " FROM credit_issuance_request WHERE status = 'ISSUED'"
    )
    for status, name in (("RETIRED", "credits_retired_kg"), ("EXPORTED", "credits_exported_kg")):
        setattr(
            result,
            name,
            await _sum(
                "SELECT COALESCE(SUM(serial_end - serial_start + 1), 0) AS total"
                " FROM credit_block WHERE status = $1",
                status,
            ),
        )
    result.active_grants = await _sum(
        "SELECT COUNT(*) AS total FROM data_grant WHERE status = 'AUTHORISED'"
    )
    result.certificates = await Certificate.filter(status=CertificateStatus.VALID).count()
    result.certificates_kg = await _sum(
        "SELECT COALESCE(SUM(total_kg), 0) AS total FROM carbon_certificate WHERE status = 'VALID'"
    )
    return result


async def cached_totals() -> Totals:
    redis = get_redis()
    cached = await redis.get(CACHE_KEY)
    if cached:
        return Totals(**json.loads(cached))
    fresh = await totals()
    await redis.set(CACHE_KEY, json.dumps(asdict(fresh)), ex=CACHE_SECONDS)
    return fresh


# --- the leaderboard ---------------------------------------------------------------------------


async def _grams_of(person_ids: list[str]) -> dict[str, int]:
    if not person_ids:
        return {}
    found: dict[str, int] = {}
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start : start + 500]
        marks = ", ".join(f"${n + 1}" for n in range(len(chunk)))
        rows = await db.fetch(
            "SELECT subject_id, SUM(grams) AS grams FROM behaviour_daily_total"
            f" WHERE subject_id IN ({marks}) GROUP BY subject_id",
            *[uuid.UUID(p) for p in chunk],
        )
        found.update({str(r["subject_id"]): int(r["grams"]) for r in rows})
    return found


async def rebuild_leaderboard() -> int:
    """Job `rebuild-leaderboard`: the sorted set again from the database (swapped in at once)."""
    entries = await LeaderboardEntry.all().values("id", "person_id", "alias")
    grams = await _grams_of([str(e["person_id"]) for e in entries])
    redis = get_redis()
    building = f"{BOARD}:building"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(building, f"{ALIASES}:building")
        if entries:
            pipe.zadd(building, {f"p{e['id']}": grams.get(str(e["person_id"]), 0) for e in entries})
            pipe.hset(f"{ALIASES}:building", mapping={f"p{e['id']}": e["alias"] for e in entries})
            pipe.rename(building, BOARD)
            pipe.rename(f"{ALIASES}:building", ALIASES)
        else:
            pipe.delete(BOARD, ALIASES)
        await pipe.execute()
    return len(entries)


async def leaderboard(first: int) -> list[tuple[int, str, int]]:
    """(rank, alias, grams) of the top `first`."""
    if not 1 <= first <= 100:
        raise InvalidInput(field="first", reason="1 to 100", reason_zh="须为 1 至 100")
    redis = get_redis()
    if not await redis.exists(BOARD) and await LeaderboardEntry.exists():
        await rebuild_leaderboard()
    top = await redis.zrevrange(BOARD, 0, first - 1, withscores=True)
    if not top:
        return []
    members = [m.decode() if isinstance(m, bytes) else m for m, _ in top]
    aliases = await redis.hmget(ALIASES, members)
    return [
        (n + 1, (a.decode() if isinstance(a, bytes) else a) or "?", int(score))
        for n, ((_, score), a) in enumerate(zip(top, aliases, strict=True))
    ]


async def opt_in(*, actor: Actor, alias: str | None, join: bool) -> LeaderboardEntry | None:
    """Join the leaderboard under `alias` (a pseudonym, never the phone or name we hold), or
    leave it."""
    person = require_person(actor)
    redis = get_redis()
    existing = await LeaderboardEntry.get_or_none(person_id=person)
    if not join:
        if existing is not None:
            async with db.transaction():
                await LeaderboardEntry.filter(id=existing.id).delete()
            await redis.zrem(BOARD, f"p{existing.id}")
            await redis.hdel(ALIASES, f"p{existing.id}")
        return None
    name = text(alias or "", field="alias", maximum=40)
    if any(c.isdigit() for c in name) and sum(c.isdigit() for c in name) >= 7:
        raise InvalidInput(
            field="alias", reason="looks like a phone number", reason_zh="昵称不能像手机号"
        )
    async with db.transaction():
        if existing is None:
            existing = await LeaderboardEntry.create(
                person_id=person, alias=name, opted_in_at=clock.now()
            )
        else:
            await LeaderboardEntry.filter(id=existing.id).update(alias=name)
    grams = (await _grams_of([person])).get(person, 0)
    if await redis.exists(BOARD):
        await redis.zadd(BOARD, {f"p{existing.id}": grams})
        await redis.hset(ALIASES, f"p{existing.id}", name)
    else:
        await rebuild_leaderboard()
    return await LeaderboardEntry.get(id=existing.id)


# --- a citizen's own impact --------------------------------------------------------------------


@dataclass
class Impact:
    reduction_grams: int
    points_earned: int
    points_balance: int
    certificates: int
    certificates_kg: int
    rank: int | None
    alias: str | None


async def impact(actor: Actor) -> Impact:
    person = require_person(actor)
    grams = (await _grams_of([person])).get(person, 0)
    owner = uuid.UUID(person)
    earned = await _sum(
        "SELECT COALESCE(SUM(p.amount), 0) AS total FROM ledger_posting p"
        " JOIN ledger_transaction t ON t.id = p.transaction_id"
        " WHERE p.owner_id = $1 AND t.kind = 'EARN' AND p.amount > 0",
        owner,
    )
    balance = await _sum(
        "SELECT COALESCE(SUM(balance), 0) AS total FROM ledger_account"
        " WHERE owner_id = $1 AND kind = 'PERSON'",
        owner,
    )
    mine: list[int] = [
        int(c.total_kg)
        for c in await Certificate.filter(holder_id=person, status=CertificateStatus.VALID)
    ]
    entry = await LeaderboardEntry.get_or_none(person_id=person)
    rank = None
    if entry is not None:
        redis = get_redis()
        if not await redis.exists(BOARD):
            await rebuild_leaderboard()
        position = await redis.zrevrank(BOARD, f"p{entry.id}")
        rank = None if position is None else int(position) + 1
    return Impact(
        reduction_grams=grams,
        points_earned=earned,
        points_balance=balance,
        certificates=len(mine),
        certificates_kg=sum(mine),
        rank=rank,
        alias=entry.alias if entry else None,
    )
