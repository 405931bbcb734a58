"""The ledger's promises (RELIABILITY.md 1-7), each tried against its rule."""

from datetime import UTC, datetime, timedelta

import pytest

from backend import verify
from backend.kit import clock, db
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, IdempotencyKeyReused, InvalidInput
from backend.ledger import queries, service
from backend.ledger.errors import (
    AlreadyClawedBack,
    EarningNotFound,
    HoldNotFound,
    HoldResolved,
    InsufficientPoints,
)
from backend.ledger.models import Lot, Posting

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")
CAUSE = {"type": "test"}


async def earn(owner, amount, key, **kw):
    return await service.earn(owner=owner, amount=amount, idempotency_key=key, cause=CAUSE, **kw)


async def balance(owner):
    return (await queries.summary(owner)).balance


def test_lots_expire_at_the_end_of_the_24th_month_after_earning_in_shanghai():
    # Earned on 24 Nov 2026 (Shanghai): expires when December 2028 begins there.
    earned = datetime(2026, 11, 24, 3, tzinfo=UTC)
    assert service.default_expiry(earned) == datetime(2028, 11, 30, 16, tzinfo=UTC)
    # 31 Jan 2026 17:00 UTC is already 1 Feb in Shanghai: the month of earning is February.
    assert service.default_expiry(datetime(2026, 1, 31, 17, tzinfo=UTC)) == datetime(
        2028, 2, 29, 16, tzinfo=UTC
    )


async def test_earning_credits_a_lot_from_the_issuance_source(alice):
    movement = await earn(alice, 500, "e1")
    assert await balance(alice) == 500
    lot = await Lot.get(public_id=movement.lot_id)
    assert (lot.amount, lot.remaining) == (500, 500)
    postings = await Posting.all().values_list("amount", flat=True)
    assert sorted(postings) == [-500, 500]


async def test_a_replayed_earning_has_one_effect_and_the_same_answer(alice):
    first = await earn(alice, 500, "e1")
    again = await earn(alice, 500, "e1")
    assert again.replayed and (again.transaction_id, again.lot_id) == (
        first.transaction_id,
        first.lot_id,
    )
    assert await balance(alice) == 500
    with pytest.raises(IdempotencyKeyReused):
        await earn(alice, 501, "e1")
    assert await balance(alice) == 500


@pytest.mark.parametrize("amount", [0, -5, 10**13, True])
async def test_amounts_are_positive_integers(alice, amount):
    with pytest.raises(InvalidInput):
        await earn(alice, amount, "bad")
    assert await Posting.all().count() == 0


async def test_spending_takes_the_oldest_lots_first(alice):
    now = clock.now()
    late = await earn(alice, 100, "late", expires_at=now + timedelta(days=300))
    early = await earn(alice, 100, "early", expires_at=now + timedelta(days=10))
    await service.spend(owner=alice, amount=150, idempotency_key="s1", cause=CAUSE)
    assert (await Lot.get(public_id=early.lot_id)).remaining == 0
    assert (await Lot.get(public_id=late.lot_id)).remaining == 50
    assert await balance(alice) == 50


async def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing(alice):
    await earn(alice, 100, "e1")
    with pytest.raises(InsufficientPoints) as refused:
        await service.spend(owner=alice, amount=101, idempotency_key="s1", cause=CAUSE)
    assert refused.value.params == {"available": 100, "requested": 101}
    assert await balance(alice) == 100
    # The key was not used up by the failure.
    await service.spend(owner=alice, amount=100, idempotency_key="s1", cause=CAUSE)
    assert await balance(alice) == 0


async def test_one_persons_points_are_not_anothers(alice, bob):
    await earn(alice, 100, "e1")
    with pytest.raises(InsufficientPoints):
        await service.spend(owner=bob, amount=1, idempotency_key="s1", cause=CAUSE)
    assert await balance(alice) == 100


async def test_a_hold_sets_points_aside_and_posting_burns_exactly_them(alice):
    await earn(alice, 300, "e1")
    hold = await service.place_hold(
        owner=alice, amount=120, idempotency_key="h1", cause={"voucher": "v1"}
    )
    wallet = await queries.summary(alice)
    assert (wallet.balance, wallet.held) == (180, 120)
    with pytest.raises(InsufficientPoints):
        await service.spend(owner=alice, amount=181, idempotency_key="s1", cause=CAUSE)
    await service.post_hold(owner=alice, hold_id=str(hold.public_id))
    wallet = await queries.summary(alice)
    assert (wallet.balance, wallet.held) == (180, 0)
    # Posting twice is the same posting; voiding a posted hold is refused.
    again = await service.post_hold(owner=alice, hold_id=str(hold.public_id))
    assert again.replayed
    with pytest.raises(HoldResolved):
        await service.void_hold(owner=alice, hold_id=str(hold.public_id))
    assert await balance(alice) == 180


async def test_a_void_returns_points_to_the_lots_they_came_from(alice):
    movement = await earn(alice, 100, "e1")
    hold = await service.place_hold(owner=alice, amount=100, idempotency_key="h1", cause=CAUSE)
    assert (await Lot.get(public_id=movement.lot_id)).remaining == 0
    await service.void_hold(owner=alice, hold_id=str(hold.public_id))
    assert (await Lot.get(public_id=movement.lot_id)).remaining == 100
    assert await balance(alice) == 100
    with pytest.raises(HoldResolved):
        await service.post_hold(owner=alice, hold_id=str(hold.public_id))


async def test_holds_belong_to_their_owner(alice, bob):
    await earn(alice, 100, "e1")
    hold = await service.place_hold(owner=alice, amount=50, idempotency_key="h1", cause=CAUSE)
    with pytest.raises(HoldNotFound):
        await service.post_hold(owner=bob, hold_id=str(hold.public_id))
    with pytest.raises(HoldNotFound):
        await service.void_hold(owner=bob, hold_id="not-a-uuid")


async def test_a_replayed_hold_is_the_same_hold(alice):
    await earn(alice, 100, "e1")
    first = await service.place_hold(owner=alice, amount=60, idempotency_key="h1", cause=CAUSE)
    again = await service.place_hold(owner=alice, amount=60, idempotency_key="h1", cause=CAUSE)
    assert first.id == again.id
    assert (await queries.summary(alice)).held == 60
    with pytest.raises(IdempotencyKeyReused):
        await service.place_hold(owner=alice, amount=61, idempotency_key="h1", cause=CAUSE)


async def test_expiry_moves_what_is_left_to_the_expiry_account_once(alice):
    start = datetime(2026, 1, 10, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        await earn(alice, 100, "e1", expires_at=start + timedelta(days=30))
        await earn(alice, 50, "e2", expires_at=start + timedelta(days=90))
        await service.spend(owner=alice, amount=30, idempotency_key="s1", cause=CAUSE)
        frozen.advance(timedelta(days=31))
        # Before the job runs, the lot past expiry is not spendable.
        assert await balance(alice) == 50
        with pytest.raises(InsufficientPoints):
            await service.spend(owner=alice, amount=51, idempotency_key="s2", cause=CAUSE)
        # The refused spend changed nothing (its lazy expiry rolled back with it): the job expires.
        assert await service.expire_due_lots() == 70
        assert await balance(alice) == 50
        assert await service.expire_due_lots() == 0


async def test_the_expiry_job_expires_lots_of_idle_accounts(alice, bob):
    start = datetime(2026, 1, 10, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        await earn(alice, 100, "e1", expires_at=start + timedelta(days=30))
        await earn(bob, 70, "e1", expires_at=start + timedelta(days=30))
        frozen.advance(timedelta(days=31))
        assert await service.expire_due_lots() == 170
        assert await service.expire_due_lots() == 0
        months = await queries.monthly_totals(alice, months=3)
        assert sum(m.expired for m in months) == 100


async def test_held_points_of_a_lot_that_expired_meanwhile_expire_on_release(alice):
    start = datetime(2026, 1, 10, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        await earn(alice, 100, "e1", expires_at=start + timedelta(days=30))
        hold = await service.place_hold(owner=alice, amount=80, idempotency_key="h1", cause=CAUSE)
        frozen.advance(timedelta(days=31))
        await service.expire_due_lots()
        assert (await queries.summary(alice)).held == 80
        await service.void_hold(owner=alice, hold_id=str(hold.public_id))
        wallet = await queries.summary(alice)
        assert (wallet.balance, wallet.held) == (0, 0)


async def test_clawback_takes_what_remains_and_records_the_shortfall(alice):
    movement = await earn(alice, 100, "e1")
    await earn(alice, 40, "e2")
    await service.spend(owner=alice, amount=70, idempotency_key="s1", cause=CAUSE)
    done = await service.clawback(
        actor=AUTHORITY, earning_id=movement.transaction_id, reason="fraudulent records"
    )
    assert (done.taken, done.shortfall) == (30, 70)
    assert await balance(alice) == 40  # never negative: the other earning is untouched
    with pytest.raises(AlreadyClawedBack):
        await service.clawback(actor=AUTHORITY, earning_id=movement.transaction_id, reason="again")
    with pytest.raises(EarningNotFound):
        await service.clawback(
            actor=AUTHORITY, earning_id="00000000-0000-4000-8000-000000000000", reason="x"
        )
    with pytest.raises(Forbidden):
        await service.clawback(
            actor=Actor(kind="citizen", id=alice.id), earning_id=movement.transaction_id, reason="x"
        )


async def test_clawed_back_points_held_by_a_voucher_do_not_come_back(alice):
    movement = await earn(alice, 100, "e1")
    hold = await service.place_hold(owner=alice, amount=60, idempotency_key="h1", cause=CAUSE)
    done = await service.clawback(
        actor=AUTHORITY, earning_id=movement.transaction_id, reason="fraud"
    )
    assert (done.taken, done.shortfall) == (40, 60)
    await service.void_hold(owner=alice, hold_id=str(hold.public_id))
    assert await balance(alice) == 0


async def test_history_and_monthly_totals(alice):
    with clock.frozen(datetime(2026, 3, 31, 17, tzinfo=UTC)):  # 1 April in Shanghai
        await earn(alice, 100, "e1")
    with clock.frozen(datetime(2026, 4, 2, 2, tzinfo=UTC)):
        await service.spend(owner=alice, amount=30, idempotency_key="s1", cause={"offer": "tea"})
        page = await queries.history(alice, first=10, after=None)
        assert [(e.kind, e.amount) for e in page.items] == [("SPEND", -30), ("EARN", 100)]
        assert page.items[0].cause == {"offer": "tea"}
        months = await queries.monthly_totals(alice, months=2)
        assert [(m.month, m.earned, m.spent) for m in months] == [("2026-04", 100, 30)]


@pytest.mark.postgres_only
async def test_the_database_refuses_a_negative_citizen_balance(alice):
    await earn(alice, 10, "e1")
    with pytest.raises(Exception, match="ledger_account_subject_nonnegative"):
        await db.execute(
            "UPDATE ledger_account SET balance = -1 WHERE owner_id = $1",
            __import__("uuid").UUID(alice.id),
        )


@pytest.mark.postgres_only
async def test_the_database_refuses_postings_that_do_not_sum_to_zero(alice):
    await earn(alice, 10, "e1")
    posting = await Posting.first()
    with pytest.raises(Exception, match="does not balance"):
        async with db.transaction():
            await Posting.create(
                transaction_id=posting.transaction_id,
                account_id=posting.account_id,
                owner_id=posting.owner_id,
                amount=5,
                created_at=clock.now(),
            )
    assert await verify.verify_all() == []


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_posting SET amount = amount * 2", "DELETE FROM ledger_transaction"]
)
async def test_postings_and_transactions_are_append_only(alice, statement):
    await earn(alice, 10, "e1")
    with pytest.raises(Exception, match="append-only"):
        await db.execute(statement)


async def test_verify_ledger_reports_a_tampered_balance(alice):
    await earn(alice, 10, "e1")
    import uuid

    await db.execute(
        "UPDATE ledger_account SET balance = 11 WHERE owner_id = $1", uuid.UUID(alice.id)
    )
    findings = await verify.verify_all()
    assert any("balances = postings" in f for f in findings)
    assert any("balances = lots" in f for f in findings)
    await db.execute(
        "UPDATE ledger_account SET balance = 10 WHERE owner_id = $1", uuid.UUID(alice.id)
    )
