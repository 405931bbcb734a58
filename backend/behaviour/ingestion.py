"""Batch reporting of behaviour records by a data platform: one database transaction per batch.

Each record gets its own outcome: ACCEPTED (grams, points, capped or not), DUPLICATE (the first
outcome of the same (subject, platform, event id)) or REJECTED with a code. Records are applied in
order of occurrence time, then event id, so that the record reaching a daily cap earns the rest
and says it was capped. The daily totals of the batch's (subject, scenario, day) are locked in key
order before anything is credited, so two batches for the same subjects serialise instead of both
spending the same cap. The GraphQL mutation and the bulk route both call `report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.accounts import queries as accounts
from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour.models import BehaviourRecord, DailyTotal
from backend.consent import links, matching
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.errors import Busy, InvalidInput
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id
from backend.ledger import batch as ledger_batch
from backend.ledger import service as ledger
from backend.methodology import service as methodology
from backend.methodology.models import Scenario
from backend.settings import get_settings

MAX_BATCH = 1000
TOO_OLD = timedelta(days=30)
FUTURE_SLACK = timedelta(minutes=5)

ACCEPTED, DUPLICATE, REJECTED = "ACCEPTED", "DUPLICATE", "REJECTED"


@dataclass
class Outcome:
    event_id: str
    status: str
    code: str | None = None
    grams: int = 0
    points: int = 0
    capped: bool = False


@dataclass
class _Record:
    index: int
    event_id: str
    subject_ref: str
    scenario: str
    quantity: Decimal
    occurred_at: datetime
    meter_account: str | None
    outcome: Outcome | None = None
    subject_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _parse(index: int, raw: Any) -> tuple[_Record | None, Outcome | None]:
    """A well-formed record, or a REJECTED INVALID_RECORD outcome saying nothing more."""
    event_id = raw.get("eventId") if isinstance(raw, dict) else None
    label = event_id if isinstance(event_id, str) else f"#{index}"
    try:
        if not isinstance(raw, dict):
            raise ValueError
        subject_ref, scenario = raw.get("subjectId"), raw.get("scenario")
        if not (isinstance(event_id, str) and 1 <= len(event_id) <= 100):
            raise ValueError
        if not (isinstance(subject_ref, str) and isinstance(scenario, str) and len(scenario) <= 40):
            raise ValueError
        quantity = Decimal(str(raw.get("quantity")))
        if not quantity.is_finite():
            raise ValueError
        occurred = raw.get("occurredAt")
        occurred_at = (
            occurred if isinstance(occurred, datetime) else datetime.fromisoformat(str(occurred))
        )
        if occurred_at.tzinfo is None:
            raise ValueError
        meter = raw.get("meterAccount")
        if meter is not None and not (isinstance(meter, str) and 1 <= len(meter) <= 40):
            raise ValueError
    except (ValueError, TypeError, InvalidOperation):
        return None, Outcome(label, REJECTED, "INVALID_RECORD")
    return _Record(index, event_id, subject_ref, scenario, quantity, occurred_at, meter), None


class BatchGate:
    """At most `running` batches of a process at once (each holds a database connection and
    most of a core for its time), and at most `waiting` more queued behind them. A batch beyond
    both is refused with Busy after a second's wait, before anything is read or written: under
    256 senders the queue had grown to batches answered after 10 s, which their senders had
    given up on."""

    def __init__(self) -> None:
        self._running: asyncio.Semaphore | None = None
        self._size = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        settings = get_settings()
        if self._running is None or self._size != settings.ingest_running:
            self._running, self._size = (
                asyncio.Semaphore(settings.ingest_running),
                settings.ingest_running,
            )
        running = self._running
        if running.locked() and self.waiting >= settings.ingest_waiting:
            # A sender that does not honour Retry-After must not spin on refusals, each of
            # which costs its authentication and its body's parsing: it waits that long first,
            # then has one more chance.
            await asyncio.sleep(Busy.retry_after_seconds)
            if running.locked() and self.waiting >= settings.ingest_waiting:
                raise Busy()
        self.waiting += 1
        try:
            await running.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            running.release()


GATE = BatchGate()


async def report(*, actor: Actor, records: list[Any]) -> list[Outcome]:
    """Judge and credit a batch; returns an outcome per record, in the order sent. A deadlock
    or serialization failure with a concurrent batch is retried (the batch is idempotent), and so
    is a unique-index collision: the same event sent at once in two batches under different
    scenarios or days takes different locks, and the retry finds it committed (a duplicate).
    Busy when the process has as many batches in hand as it takes (BatchGate)."""
    async with GATE.slot():
        return await _report_with_retries(actor=actor, records=records)


async def _report_with_retries(*, actor: Actor, records: list[Any]) -> list[Outcome]:
    for attempt in range(3):
        try:
            return await db.with_retries(lambda: _report(actor=actor, records=records))
        except IntegrityError as exc:
            if db.sqlstate_of(exc) != "23505" or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _report(*, actor: Actor, records: list[Any]) -> list[Outcome]:
    platform_public_id = require_kind(actor, "platform")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH:
        raise InvalidInput(
            field="records",
            reason=f"1 to {MAX_BATCH} records",
            reason_zh=f"每批 1 至 {MAX_BATCH} 条",
        )
    platform = await accounts.data_platform(platform_public_id)
    outcomes: list[Outcome | None] = [None] * len(records)
    parsed: list[_Record] = []
    for index, raw in enumerate(records):
        record, bad = _parse(index, raw)
        if bad is not None:
            outcomes[index] = bad
        else:
            assert record is not None
            parsed.append(record)
    if platform is None or not platform[2]:
        for record in parsed:
            outcomes[record.index] = Outcome(record.event_id, REJECTED, "PLATFORM_SUSPENDED")
        await _count(platform[0] if platform else None, outcomes)
        return [o for o in outcomes if o is not None]
    platform_pk = platform[0]
    now = clock.now()
    async with db.transaction():
        await _judge(platform_pk, platform_public_id, parsed, now)
        await _credit(platform_pk, [r for r in parsed if r.outcome is None], now)
        for record in parsed:
            first = record.extra.get("first")
            if first is not None:  # the same event twice in one batch: the first's outcome
                assert first.outcome is not None
                record.outcome = (
                    Outcome(record.event_id, REJECTED, first.outcome.code)
                    if first.outcome.status == REJECTED
                    else Outcome(
                        record.event_id,
                        DUPLICATE,
                        None,
                        first.outcome.grams,
                        first.outcome.points,
                        first.outcome.capped,
                    )
                )
        for record in parsed:
            outcomes[record.index] = record.outcome
        await _count(platform_pk, outcomes)
        crash_point("behaviour.batch.before_commit")
    return [o for o in outcomes if o is not None]


async def _judge(
    platform_pk: int, platform_public_id: str, records: list[_Record], now: datetime
) -> None:
    """Every check that needs no lock: scenario, plausibility, time, consent, duplicates."""
    scenarios = {
        s.code: s for s in await Scenario.filter(code__in=list({r.scenario for r in records}))
    }
    # Records are unique per (subject, platform, event): within a batch, per (subject id, event).
    seen: dict[tuple[str, str], _Record] = {}
    claims = []
    for record in records:
        scenario = scenarios.get(record.scenario)
        identity = (record.subject_ref, record.event_id)
        if identity in seen:
            record.outcome = Outcome(record.event_id, DUPLICATE)  # filled from the first below
            record.extra["first"] = seen[identity]
            continue
        seen[identity] = record
        if (
            scenario is None
            or not scenario.active
            or (scenario.allowed_platforms and platform_public_id not in scenario.allowed_platforms)
        ):
            record.outcome = Outcome(record.event_id, REJECTED, "SCENARIO_NOT_ALLOWED")
        elif record.quantity <= 0 or record.quantity > Decimal(scenario.max_quantity_per_record):
            record.outcome = Outcome(record.event_id, REJECTED, "IMPLAUSIBLE_QUANTITY")
        elif record.occurred_at > now + FUTURE_SLACK:
            record.outcome = Outcome(record.event_id, REJECTED, "IN_FUTURE")
        elif record.occurred_at < now - TOO_OLD:
            record.outcome = Outcome(record.event_id, REJECTED, "TOO_OLD")
        else:
            record.extra["scenario"] = scenario
            claims.append(record)
    verdicts = await matching.judge(
        platform_pk=platform_pk,
        claims=[
            matching.RecordClaim(
                r.subject_ref, r.extra["scenario"].category, r.occurred_at, r.meter_account
            )
            for r in claims
        ],
        at=now,
    )
    for record, verdict in zip(claims, verdicts, strict=True):
        record.subject_id = verdict.subject_id
        if verdict.reason == matching.UNKNOWN_SUBJECT:
            record.outcome = Outcome(record.event_id, REJECTED, "UNKNOWN_SUBJECT")
        elif verdict.reason == matching.NOT_AUTHORISED:
            record.outcome = Outcome(record.event_id, REJECTED, verdict.why or "NO_GRANT")
        elif verdict.reason == matching.OUTSIDE_WINDOW:
            record.outcome = Outcome(record.event_id, REJECTED, "OUTSIDE_GRANT_WINDOW")
    # Duplicates of records credited before are found under the locks, in _credit.
    candidates = [r for r in claims if r.outcome is None]
    rates = await methodology.rates_for(
        list({r.extra["scenario"].methodology_code for r in candidates})
    )
    for record in candidates:
        record.extra["rates"] = rates
        if record.outcome is None:
            factor = rates.factor_at(record.extra["scenario"].methodology_code, record.occurred_at)
            if factor is None:
                record.outcome = Outcome(record.event_id, REJECTED, "SCENARIO_NOT_ALLOWED")
            else:
                record.extra["factor"] = factor


async def _credit(platform_pk: int, records: list[_Record], now: datetime) -> None:
    """Lock the daily totals, apply the caps in order and credit; in the caller's transaction."""
    ordered = sorted(records, key=lambda r: (r.occurred_at, r.event_id))
    if not ordered:
        return
    totals = await _lock_daily_totals(ordered)
    # Holding those locks, a concurrent batch with the same events has committed or waits for us:
    # what it committed is a duplicate now, with its first outcome.
    await _mark_duplicates(platform_pk, ordered)
    credited_records = []
    for record in ordered:
        if record.outcome is not None:
            continue
        scenario: Scenario = record.extra["scenario"]
        key = (record.subject_id or "", record.scenario, clock.shanghai_date(record.occurred_at))
        ratio = record.extra["rates"].ratio_at(record.occurred_at)
        grams, _ = methodology.grams_and_points(record.quantity, record.extra["factor"], ratio)
        credited = min(grams, max(0, scenario.daily_cap_grams - totals[key]))
        _, points = methodology.grams_and_points(Decimal(credited), Decimal(1), ratio)
        totals[key] += credited
        record.outcome = Outcome(
            record.event_id, ACCEPTED, None, credited, points, credited < grams
        )
        credited_records.append(record)
    if db.is_postgres():
        await _write_set_based(platform_pk, credited_records, now)
    else:
        for record in credited_records:
            await _write_one(platform_pk, record, now)
    await _store_daily_totals(totals)


async def _lock_daily_totals(ordered: list[_Record]) -> dict[tuple[str, str, str], int]:
    """Make and lock the (subject, scenario, day) totals of the batch, in key order, so two
    batches lock shared rows in the same order (no deadlock)."""
    keys = sorted(
        {(r.subject_id or "", r.scenario, clock.shanghai_date(r.occurred_at)) for r in ordered}
    )
    if db.is_postgres():
        subjects = [uuid.UUID(k[0]) for k in keys]
        scenarios = [k[1] for k in keys]
        days = [k[2] for k in keys]
        await db.execute(
            "INSERT INTO behaviour_daily_total (subject_id, scenario_code, day, grams)"
            " SELECT s, c, d, 0 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(s, c, d)"
            " ON CONFLICT (subject_id, scenario_code, day) DO NOTHING",
            subjects,
            scenarios,
            days,
        )
        rows = await db.fetch(
            "SELECT t.subject_id, t.scenario_code, t.day, t.grams FROM behaviour_daily_total t"
            " JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(s, c, d)"
            " ON t.subject_id = k.s AND t.scenario_code = k.c AND t.day = k.d"
            " ORDER BY t.subject_id, t.scenario_code, t.day FOR UPDATE OF t",
            subjects,
            scenarios,
            days,
        )
        return {(str(r["subject_id"]), r["scenario_code"], r["day"]): int(r["grams"]) for r in rows}
    totals: dict[tuple[str, str, str], int] = {}
    for subject_id, scenario_code, day in keys:
        await db.execute(
            "INSERT INTO behaviour_daily_total (subject_id, scenario_code, day, grams)"
            " VALUES ($1, $2, $3, 0) ON CONFLICT (subject_id, scenario_code, day) DO NOTHING",
            uuid.UUID(subject_id),
            scenario_code,
            day,
        )
        row = await DailyTotal.filter(
            subject_id=subject_id, scenario_code=scenario_code, day=day
        ).first()
        assert row is not None
        totals[(subject_id, scenario_code, day)] = row.grams
    return totals


async def _store_daily_totals(totals: dict[tuple[str, str, str], int]) -> None:
    keys = sorted(totals)
    if db.is_postgres():
        await db.execute(
            "UPDATE behaviour_daily_total t SET grams = k.g FROM unnest($1::uuid[], $2::text[],"
            " $3::text[], $4::bigint[]) AS k(s, c, d, g)"
            " WHERE t.subject_id = k.s AND t.scenario_code = k.c AND t.day = k.d",
            [uuid.UUID(k[0]) for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [totals[k] for k in keys],
        )
        return
    for subject_id, scenario_code, day in keys:
        await DailyTotal.filter(subject_id=subject_id, scenario_code=scenario_code, day=day).update(
            grams=totals[(subject_id, scenario_code, day)]
        )


async def _mark_duplicates(platform_pk: int, ordered: list[_Record]) -> None:
    if db.is_postgres():
        # pairs, joined: `subject_id = ANY(...) AND event_id = ANY(...)` probes the index for
        # every subject with every event, a thousand times more than there are records
        stored = await db.fetch(
            "SELECT b.subject_id, b.event_id, b.grams, b.points, b.capped FROM behaviour_record b"
            " JOIN unnest($2::uuid[], $3::text[]) AS k(s, e)"
            " ON b.subject_id = k.s AND b.event_id = k.e WHERE b.platform_id = $1",
            platform_pk,
            [uuid.UUID(r.subject_id or "") for r in ordered],
            [r.event_id for r in ordered],
        )
    else:
        stored = await BehaviourRecord.filter(
            platform_id=platform_pk,
            subject_id__in=list({uuid.UUID(r.subject_id or "") for r in ordered}),
            event_id__in=[r.event_id for r in ordered],
        ).values("subject_id", "event_id", "grams", "points", "capped")
    first = {(str(s["subject_id"]), s["event_id"]): s for s in stored}
    for record in ordered:
        hit = first.get((record.subject_id or "", record.event_id))
        if hit is not None:
            record.outcome = Outcome(
                record.event_id, DUPLICATE, None, hit["grams"], hit["points"], hit["capped"]
            )


def _cause(record: _Record) -> dict[str, Any]:
    assert record.outcome is not None
    return {
        "type": "behaviour_record",
        "scenario": record.scenario,
        "eventId": record.event_id,
        "grams": record.outcome.grams,
    }


async def _write_one(platform_pk: int, record: _Record, now: datetime) -> None:
    """The portable path (SQLite): the record, then its earning through the ledger service."""
    outcome = record.outcome
    assert outcome is not None
    scenario: Scenario = record.extra["scenario"]
    inserted = await db.fetch(
        "INSERT INTO behaviour_record (public_id, subject_id, platform_id, event_id, scenario_code,"
        " methodology_code, quantity, occurred_at, meter_account, grams, points, capped, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        new_public_id(),
        uuid.UUID(record.subject_id or ""),
        platform_pk,
        record.event_id,
        record.scenario,
        scenario.methodology_code,
        record.quantity,
        record.occurred_at,
        record.meter_account,
        outcome.grams,
        outcome.points,
        outcome.capped,
        now,
    )
    if outcome.points > 0:
        owner = Subject(
            SubjectKind(await links.subject_kind(record.subject_id or "")), record.subject_id or ""
        )
        movement = await ledger.earn(
            owner=owner,
            amount=outcome.points,
            idempotency_key=f"record:{platform_pk}:{record.event_id}",
            cause=_cause(record),
        )
        await db.execute(
            "UPDATE behaviour_record SET earning_id = $1 WHERE id = $2",
            uuid.UUID(movement.transaction_id),
            inserted[0]["id"],
        )


async def _write_set_based(platform_pk: int, records: list[_Record], now: datetime) -> None:
    """PostgreSQL: every record and every earning of the batch in a few statements. The records
    go first, so a unique-index collision with a concurrent batch stops the batch before any
    points move (report() retries it, and the retry sees a duplicate)."""
    if not records:
        return
    outcomes = [r.outcome for r in records if r.outcome is not None]
    assert len(outcomes) == len(records)
    inserted = await db.fetch(
        "INSERT INTO behaviour_record (public_id, subject_id, platform_id, event_id, scenario_code,"
        " methodology_code, quantity, occurred_at, meter_account, grams, points, capped, received_at)"
        " SELECT p, s, $3, e, c, m, q, t, a, g, n, k, $13 FROM unnest($1::uuid[], $2::uuid[],"
        " $4::text[], $5::text[], $6::text[], $7::numeric[], $8::timestamptz[], $9::text[],"
        " $10::bigint[], $11::bigint[], $12::boolean[]) AS r(p, s, e, c, m, q, t, a, g, n, k)"
        " RETURNING id, subject_id, event_id",
        [new_public_id() for _ in records],
        [uuid.UUID(r.subject_id or "") for r in records],
        platform_pk,
        [r.event_id for r in records],
        [r.scenario for r in records],
        [r.extra["scenario"].methodology_code for r in records],
        [r.quantity for r in records],
        [r.occurred_at for r in records],
        [r.meter_account for r in records],
        [o.grams for o in outcomes],
        [o.points for o in outcomes],
        [o.capped for o in outcomes],
        now,
    )
    row_of = {(str(row["subject_id"]), row["event_id"]): int(row["id"]) for row in inserted}
    earning = [r for r in records if r.outcome is not None and r.outcome.points > 0]
    if not earning:
        return
    kinds = await links.subject_kinds(list({r.subject_id or "" for r in earning}))
    earning_of = await ledger_batch.earn_many_set_based(
        [
            ledger_batch.Earning(
                owner=Subject(
                    SubjectKind(kinds.get(r.subject_id or "", "PERSON")), r.subject_id or ""
                ),
                amount=r.outcome.points,  # type: ignore[union-attr]
                idempotency_key=f"record:{platform_pk}:{r.event_id}",
                cause=_cause(r),
            )
            for r in earning
        ]
    )
    await db.execute(
        "UPDATE behaviour_record b SET earning_id = x.e FROM unnest($1::bigint[], $2::uuid[]) AS x(i, e)"
        " WHERE b.id = x.i",
        [row_of[(r.subject_id or "", r.event_id)] for r in earning],
        [uuid.UUID(earning_of[f"record:{platform_pk}:{r.event_id}"]) for r in earning],
    )


async def _count(platform_pk: int | None, outcomes: list[Outcome | None]) -> None:
    """Every outcome counted per platform, day and code, for supervision."""
    if platform_pk is None:
        return
    counts: dict[str, int] = {}
    for outcome in outcomes:
        if outcome is not None:
            code = outcome.code if outcome.status == REJECTED else outcome.status
            counts[code or outcome.status] = counts.get(code or outcome.status, 0) + 1
    day = clock.shanghai_date(clock.now())
    for code, count in sorted(counts.items()):
        await db.execute(
            "INSERT INTO behaviour_outcome_count (platform_id, day, code, count) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (platform_id, day, code) DO UPDATE SET count = behaviour_outcome_count.count + $4",
            platform_pk,
            day,
            code,
            count,
        )
