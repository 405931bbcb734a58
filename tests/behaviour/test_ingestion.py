"""Batch reporting: outcomes per record, idempotency, consent at once, caps, supervision."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour import ingestion
from backend.behaviour.models import BehaviourRecord, OutcomeCount
from backend.consent import grants
from backend.kit import clock, db, faults
from backend.ledger import queries
from backend.ledger.models import LedgerTransaction
from backend.methodology import service as methodology
from tests.behaviour.conftest import AUTHORITY, citizen, link


def rec(world, event, quantity="10", scenario="METRO", at=None, ref=None, **extra):
    return {
        "eventId": event,
        "subjectId": ref or world.alice_ref,
        "scenario": scenario,
        "quantity": quantity,
        "occurredAt": (at or clock.now()).isoformat(),
        **extra,
    }


async def report(world, *records):
    return await ingestion.report(actor=world.platform, records=list(records))


async def balance(actor):
    return (await queries.summary(Subject(SubjectKind.PERSON, actor.id))).balance


async def test_an_accepted_record_earns_points_by_the_rounding_rule(world):
    [outcome] = await report(world, rec(world, "trip-1", "10.5"))  # 10.5 km x 46.7 = 490.35 g
    assert (outcome.status, outcome.grams, outcome.points, outcome.capped) == (
        "ACCEPTED",
        490,
        490,
        False,
    )
    assert await balance(world.alice) == 490
    stored = await BehaviourRecord.get(event_id="trip-1")
    earning = await LedgerTransaction.get(public_id=stored.earning_id)
    assert earning.cause["eventId"] == "trip-1" and earning.cause["scenario"] == "METRO"


async def test_the_same_batch_twice_credits_each_record_once(world):
    batch = [rec(world, "a", "1"), rec(world, "b", "2")]
    first = await report(world, *batch)
    again = await report(world, *batch)
    assert [o.status for o in again] == ["DUPLICATE", "DUPLICATE"]
    assert [(o.grams, o.points) for o in again] == [(o.grams, o.points) for o in first]
    assert await balance(world.alice) == 46 + 93


async def test_an_event_twice_in_one_batch_counts_once(world):
    outcomes = await report(world, rec(world, "a", "1"), rec(world, "a", "1"))
    assert [o.status for o in outcomes] == ["ACCEPTED", "DUPLICATE"]
    assert await balance(world.alice) == 46


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"scenario": "TELEPORT"}, "SCENARIO_NOT_ALLOWED"),
        ({"quantity": "0"}, "IMPLAUSIBLE_QUANTITY"),
        ({"quantity": "101"}, "IMPLAUSIBLE_QUANTITY"),
        ({"at": "future"}, "IN_FUTURE"),
        ({"at": "old"}, "TOO_OLD"),
        ({"at": "before_grant"}, "OUTSIDE_GRANT_WINDOW"),
        ({"ref": "00000000-0000-4000-8000-000000000000"}, "UNKNOWN_SUBJECT"),
        ({"ref": "bob"}, "NO_GRANT"),
        ({"scenario": "HOUSEHOLD_POWER", "quantity": "1"}, "NO_GRANT"),
        ({"quantity": "ten"}, "INVALID_RECORD"),
    ],
)
async def test_each_rejection_has_its_code_and_changes_nothing(world, record, code):
    at = {
        "future": clock.now() + timedelta(hours=1),
        "old": clock.now() - timedelta(days=31),
        "before_grant": world.alice_grant.authorised_at - timedelta(hours=1),
    }.get(record.pop("at", None))
    if record.get("ref") == "bob":
        record["ref"] = world.bob_ref
    [outcome] = await report(world, rec(world, "x-1", at=at, **record))
    assert (outcome.status, outcome.code) == ("REJECTED", code)
    assert await BehaviourRecord.all().count() == 0
    assert await balance(world.alice) == 0


async def test_a_withdrawal_refuses_the_next_record_at_once(world):
    await report(world, rec(world, "before"))
    await grants.withdraw(actor=world.alice, grant_id=str(world.alice_grant.public_id))
    [outcome] = await report(world, rec(world, "after", at=clock.now() - timedelta(seconds=1)))
    assert (outcome.status, outcome.code) == ("REJECTED", "GRANT_WITHDRAWN")


async def test_revoked_and_expired_grants_say_so(world):
    await grants.revoke(actor=AUTHORITY, grant_id=str(world.alice_grant.public_id), reason="fraud")
    [outcome] = await report(world, rec(world, "r"))
    assert outcome.code == "GRANT_REVOKED"


async def test_a_rejected_record_is_judged_again_when_resent(world):
    [refused] = await report(world, rec(world, "e", ref=world.bob_ref))
    assert refused.code == "NO_GRANT"
    await grants.grant(
        actor=world.bob,
        subject=Subject(SubjectKind.PERSON, world.bob.id),
        platform_id=world.platform_id,
        notice_id=world.notice_id,
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    [accepted] = await report(world, rec(world, "e", ref=world.bob_ref, at=clock.now()))
    assert accepted.status == "ACCEPTED"


async def test_the_daily_cap_across_batches_and_shanghai_midnight(world):
    # METRO caps at 5000 g a day. 15:30 UTC is 23:30 in Shanghai; 16:30 UTC is the next day there.
    # (Two days ahead, so that the seeded methodologies are in force.)
    ahead = clock.now() + timedelta(days=2)
    start = datetime(ahead.year, ahead.month, ahead.day, 15, 30, tzinfo=UTC)
    with clock.frozen(start + timedelta(hours=2)):
        await grants.grant(
            actor=world.alice,
            subject=Subject(SubjectKind.PERSON, world.alice.id),
            platform_id=world.platform_id,
            notice_id=world.notice_id,
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
    with clock.frozen(start - timedelta(hours=1)):
        await grants.grant(
            actor=world.alice,
            subject=Subject(SubjectKind.PERSON, world.alice.id),
            platform_id=world.platform_id,
            notice_id=world.notice_id,
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
    with clock.frozen(start + timedelta(hours=3)):
        first = await report(
            world,
            rec(world, "a", "60", at=start),
            rec(world, "b", "40", at=start + timedelta(minutes=10)),
        )
        # 60 km = 2802 g; 40 km = 1868 g: 4670 g so far that day.
        assert [(o.grams, o.capped) for o in first] == [(2802, False), (1868, False)]
        second = await report(
            world,
            rec(world, "d", "20", at=start + timedelta(minutes=40)),  # 00:10 the next day there
            rec(
                world, "c", "20", at=start + timedelta(minutes=20)
            ),  # 23:50 same day: reaches the cap
        )
        by_event = {o.event_id: o for o in second}
        assert (by_event["c"].grams, by_event["c"].capped) == (330, True)  # the remainder of 5000
        assert (by_event["d"].grams, by_event["d"].capped) == (934, False)  # a new day in Shanghai
        third = await report(world, rec(world, "e", "1", at=start + timedelta(minutes=25)))
        assert (third[0].status, third[0].grams, third[0].capped) == ("ACCEPTED", 0, True)


async def test_the_ratio_in_force_when_the_behaviour_happened(world):
    with clock.frozen(clock.now() + timedelta(days=1)) as frozen:
        await methodology.set_earning_ratio(
            actor=AUTHORITY, points_per_gram="0.5", effective_at=clock.now() + timedelta(hours=1)
        )
        frozen.advance(timedelta(hours=2))
        outcomes = await report(
            world,
            rec(world, "before", "1", at=clock.now() - timedelta(minutes=90)),
            rec(world, "after", "1", at=clock.now() - timedelta(minutes=30)),
        )
    assert [(o.grams, o.points) for o in outcomes] == [(46, 46), (46, 23)]


async def test_outcomes_are_counted_for_supervision(world):
    from backend.behaviour import supervision

    await report(
        world,
        rec(world, "a"),
        rec(world, "a"),
        rec(world, "b", ref=world.bob_ref),
        rec(world, "c", scenario="X"),
    )
    counts = {
        c.code: c.count
        for c in await supervision.outcome_counts(
            actor=AUTHORITY, platform_id=world.platform_id, days=7
        )
    }
    assert counts == {"ACCEPTED": 1, "DUPLICATE": 1, "NO_GRANT": 1, "SCENARIO_NOT_ALLOWED": 1}


async def test_a_failure_at_a_fault_point_mid_batch_leaves_nothing(world, monkeypatch):
    def fail(name):
        if name == "behaviour.batch.before_commit":
            raise RuntimeError("killed")

    monkeypatch.setattr(ingestion, "crash_point", fail)
    with pytest.raises(RuntimeError):
        await report(world, rec(world, "a"), rec(world, "b", "2"))
    assert await BehaviourRecord.all().count() == 0
    assert await LedgerTransaction.filter(kind="EARN").count() == 0
    assert await OutcomeCount.all().count() == 0
    monkeypatch.setattr(ingestion, "crash_point", faults.crash_point)
    assert [o.status for o in await report(world, rec(world, "a"), rec(world, "b", "2"))] == [
        "ACCEPTED",
        "ACCEPTED",
    ]


async def test_batches_are_one_to_a_thousand_records_from_a_platform(world):
    from backend.kit.errors import Forbidden, InvalidInput

    with pytest.raises(InvalidInput):
        await ingestion.report(actor=world.platform, records=[])
    with pytest.raises(InvalidInput):
        await ingestion.report(
            actor=world.platform, records=[rec(world, f"e{n}") for n in range(1001)]
        )
    with pytest.raises(Forbidden):
        await ingestion.report(actor=world.alice, records=[rec(world, "e")])


@pytest.mark.postgres_only
async def test_overlapping_batches_at_once_credit_each_record_once(world):
    batch_one = [rec(world, f"e{n}", "1") for n in range(0, 30)]
    batch_two = [rec(world, f"e{n}", "1") for n in range(15, 45)]
    results = await asyncio.gather(report(world, *batch_one), report(world, *batch_two))
    accepted = sum(1 for outcomes in results for o in outcomes if o.status == "ACCEPTED")
    assert accepted == 45
    assert await BehaviourRecord.all().count() == 45
    assert await balance(world.alice) == 45 * 46


async def test_a_renewal_keeps_records_of_the_expired_window_acceptable(world):
    # Alice's first grant runs out; she renews; a record from inside the first window still counts.
    start = clock.now()
    with clock.frozen(start + timedelta(days=2)):
        await grants.withdraw(actor=world.alice, grant_id=str(world.alice_grant.public_id))
    subject = Subject(SubjectKind.PERSON, world.alice.id)
    with clock.frozen(start + timedelta(days=3)):
        short = await grants.grant(
            actor=world.alice,
            subject=subject,
            platform_id=world.platform_id,
            notice_id=world.notice_id,
            categories=None,
            expires_at=clock.now() + timedelta(days=2),
            meter_accounts=None,
        )
    with clock.frozen(start + timedelta(days=6)):
        await grants.expire_due()
        await grants.grant(
            actor=world.alice,
            subject=subject,
            platform_id=world.platform_id,
            notice_id=world.notice_id,
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
        inside_expired = short.authorised_at + timedelta(hours=1)
        inside_withdrawn = start + timedelta(days=1)
        outcomes = await report(
            world,
            rec(world, "in-expired", "1", at=inside_expired),
            rec(world, "in-withdrawn", "1", at=inside_withdrawn),
        )
    assert [(o.status, o.code) for o in outcomes] == [
        ("ACCEPTED", None),
        ("REJECTED", "OUTSIDE_GRANT_WINDOW"),
    ]


async def test_an_expired_grant_says_so(world):
    start = clock.now()
    with clock.frozen(start + timedelta(days=366)):
        [outcome] = await report(world, rec(world, "late", at=clock.now() - timedelta(hours=1)))
    assert (outcome.status, outcome.code) == ("REJECTED", "GRANT_EXPIRED")


async def test_a_platform_suspended_meanwhile_has_every_record_refused(world):
    from backend.accounts import organisations

    await organisations.set_suspended(
        actor=AUTHORITY, organisation_id=world.platform_id, suspended=True, reason="audit"
    )
    outcomes = await report(world, rec(world, "a"), {"eventId": "broken"})
    assert [(o.status, o.code) for o in outcomes] == [
        ("REJECTED", "PLATFORM_SUSPENDED"),
        ("REJECTED", "INVALID_RECORD"),
    ]
    assert await BehaviourRecord.all().count() == 0


async def test_one_event_id_for_two_subjects_is_two_records(world):
    await grants.grant(
        actor=world.bob,
        subject=Subject(SubjectKind.PERSON, world.bob.id),
        platform_id=world.platform_id,
        notice_id=world.notice_id,
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    outcomes = await report(
        world, rec(world, "same", "1"), rec(world, "same", "1", ref=world.bob_ref, at=clock.now())
    )
    assert [o.status for o in outcomes] == ["ACCEPTED", "ACCEPTED"]
    assert await balance(world.alice) == await balance(world.bob) == 46


@pytest.mark.postgres_only
async def test_one_event_sent_at_once_under_two_scenarios_is_credited_once(world):
    results = await asyncio.gather(
        report(world, rec(world, "clash", "1", scenario="METRO")),
        report(world, rec(world, "clash", "1", scenario="BUS")),
    )
    statuses = sorted(outcomes[0].status for outcomes in results)
    assert statuses == ["ACCEPTED", "DUPLICATE"]
    assert await BehaviourRecord.all().count() == 1


async def test_a_batch_tells_every_wallet_it_changed_in_one_round_trip(world, monkeypatch):
    """walletChanged listeners hear of each wallet a batch credited, after the commit; on
    PostgreSQL's set-based path the batch sends them all to Redis in one pipeline, not one
    publish per earning (SQLite's portable path credits, and tells, record by record)."""
    from backend.kit import pubsub

    carol = await citizen("+8613900004444")
    carol_ref = await link(carol, world.platform_id, world.platform)
    await grants.grant(
        actor=carol,
        subject=Subject(SubjectKind.PERSON, carol.id),
        platform_id=world.platform_id,
        notice_id=world.notice_id,
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    sent: list[list[tuple[str, str]]] = []
    single: list[str] = []
    real = pubsub.publish_many

    async def spy(messages):
        sent.append(list(messages))
        await real(messages)

    async def one(channel, data):
        single.append(channel)
        await real([(channel, data)])

    monkeypatch.setattr(pubsub, "publish_many", spy)
    monkeypatch.setattr("backend.ledger.notify.publish_many", spy)
    monkeypatch.setattr("backend.ledger.notify.publish", one)
    await report(
        world,
        rec(world, "n1"),
        rec(world, "n2"),
        rec(world, "n3", ref=carol_ref),
    )
    expected = sorted([(f"wallet:{p.id}", p.id) for p in (world.alice, carol)])
    if db.is_postgres():
        assert single == []
        assert sent == [expected]
    else:
        assert sorted(set(single)) == [channel for channel, _ in expected]
