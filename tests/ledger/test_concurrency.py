"""Races on PostgreSQL: concurrent spends and holds never overdraw; expiry racing spending keeps
every invariant; replays run once (RELIABILITY.md 3, 5, 7)."""

import asyncio
from datetime import timedelta

import pytest

from backend.kit import clock
from backend.ledger import queries, service
from backend.ledger.errors import InsufficientPoints
from backend.ledger.models import LedgerTransaction

pytestmark = pytest.mark.postgres_only
CAUSE = {"type": "test"}


async def test_concurrent_spends_together_beyond_the_balance_never_overdraw(alice):
    await service.earn(owner=alice, amount=1000, idempotency_key="e", cause=CAUSE)

    async def attempt(n: int) -> bool:
        try:
            await service.spend(owner=alice, amount=150, idempotency_key=f"s{n}", cause=CAUSE)
            return True
        except InsufficientPoints:
            return False

    outcomes = await asyncio.gather(*(attempt(n) for n in range(16)))
    assert sum(outcomes) == 6
    assert (await queries.summary(alice)).balance == 100


async def test_concurrent_holds_on_the_last_points_one_wins(alice):
    await service.earn(owner=alice, amount=100, idempotency_key="e", cause=CAUSE)

    async def attempt(n: int) -> bool:
        try:
            await service.place_hold(owner=alice, amount=100, idempotency_key=f"h{n}", cause=CAUSE)
            return True
        except InsufficientPoints:
            return False

    assert sum(await asyncio.gather(*(attempt(n) for n in range(8)))) == 1
    wallet = await queries.summary(alice)
    assert (wallet.balance, wallet.held) == (0, 100)


async def test_one_key_sent_concurrently_runs_once(alice):
    await service.earn(owner=alice, amount=500, idempotency_key="e", cause=CAUSE)
    results = await asyncio.gather(
        *(
            service.spend(owner=alice, amount=100, idempotency_key="same", cause=CAUSE)
            for _ in range(6)
        )
    )
    assert len({r.transaction_id for r in results}) == 1
    assert (await queries.summary(alice)).balance == 400
    assert await LedgerTransaction.filter(kind="SPEND").count() == 1


async def test_expiry_racing_spends_keeps_the_ledger_whole(alice):
    start = clock.now()
    with clock.frozen(start) as frozen:
        for n in range(10):
            await service.earn(
                owner=alice,
                amount=100,
                idempotency_key=f"e{n}",
                cause=CAUSE,
                expires_at=start + timedelta(days=1 + n % 2),
            )
        frozen.advance(timedelta(days=1, seconds=1))  # half the lots are now due

        async def spend(n: int) -> int:
            try:
                await service.spend(owner=alice, amount=70, idempotency_key=f"s{n}", cause=CAUSE)
                return 70
            except InsufficientPoints:
                return 0

        results = await asyncio.gather(
            service.expire_due_lots(), *(spend(n) for n in range(10)), service.expire_due_lots()
        )
        spent = sum(results[1:-1])
        assert spent <= 500  # only the unexpired half could be spent
        assert (await queries.summary(alice)).balance == 500 - spent
