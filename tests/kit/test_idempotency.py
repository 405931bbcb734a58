"""Idempotency keys (RELIABILITY.md 5): replays return the first answer; work runs once."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend.kit import clock, db, idempotency
from backend.kit.errors import IdempotencyKeyReused, InvalidInput


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    async def work(self) -> dict:
        self.runs += 1
        return {"run": self.runs}


async def once(owner: str, key: str, request: dict, counter: Counter, *, fail: bool = False):
    async with db.transaction():
        result = await idempotency.run_once(
            owner=owner,
            key=key,
            operation="test.op",
            request=request,
            work=counter.work,
            dump=lambda r: r,
            load=lambda r: r,
        )
        if fail:
            raise RuntimeError("the rest of the command failed")
        return result


async def test_a_replay_returns_the_stored_answer_without_running_again(settings):
    counter = Counter()
    first = await once("citizen:1", "key-00000001", {"amount": 5}, counter)
    again = await once("citizen:1", "key-00000001", {"amount": 5}, counter)
    assert first == again == {"run": 1}
    assert counter.runs == 1


async def test_the_same_key_with_a_different_request_is_refused(settings):
    counter = Counter()
    await once("citizen:1", "key-00000001", {"amount": 5}, counter)
    with pytest.raises(IdempotencyKeyReused):
        await once("citizen:1", "key-00000001", {"amount": 6}, counter)
    assert counter.runs == 1


async def test_keys_belong_to_their_owner(settings):
    counter = Counter()
    await once("citizen:1", "key-00000001", {"amount": 5}, counter)
    other = await once("citizen:2", "key-00000001", {"amount": 5}, counter)
    assert other == {"run": 2}


async def test_a_rolled_back_command_does_not_keep_its_key(settings):
    counter = Counter()
    with pytest.raises(RuntimeError):
        await once("citizen:1", "key-00000001", {"amount": 5}, counter, fail=True)
    # Nothing was written, so the retry really runs.
    assert await once("citizen:1", "key-00000001", {"amount": 5}, counter) == {"run": 2}
    rows = await db.fetch("SELECT owner FROM idempotency_key")
    assert len(rows) == 1


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space 1234", "ünïcode-key", ""])
async def test_malformed_keys_are_refused_before_anything_is_written(settings, bad):
    with pytest.raises(InvalidInput):
        await once("citizen:1", bad, {}, Counter())
    assert await db.fetch("SELECT id FROM idempotency_key") == []


async def test_keys_are_claimed_only_inside_the_works_transaction(settings):
    with pytest.raises(RuntimeError, match="inside"):
        await idempotency.run_once(
            owner="o",
            key="key-00000001",
            operation="op",
            request={},
            work=Counter().work,
            dump=lambda r: r,
            load=lambda r: r,
        )


@pytest.mark.postgres_only
async def test_two_concurrent_requests_with_one_key_run_once(settings):
    runs = 0
    started = asyncio.Event()

    async def slow_work() -> dict:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(0.2)  # the second request arrives while this one is uncommitted
        return {"n": runs}

    async def request() -> dict:
        async with db.transaction():
            return await idempotency.run_once(
                owner="citizen:1",
                key="key-concurrent",
                operation="op",
                request={"a": 1},
                work=slow_work,
                dump=lambda r: r,
                load=lambda r: r,
            )

    first = asyncio.create_task(request())
    await started.wait()
    second = await request()
    assert await first == second == {"n": 1}
    assert runs == 1


async def test_expired_keys_are_purged_and_fresh_ones_kept(settings):
    counter = Counter()
    start = datetime(2026, 5, 1, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        await once("citizen:1", "key-old-0001", {}, counter)
        frozen.advance(timedelta(hours=30))
        await once("citizen:1", "key-new-0001", {}, counter)
        # 24 hours after the first: both kept (retention is at least 24 hours).
        frozen.set(start + timedelta(hours=24))
        assert await idempotency.purge_expired() == 0
        frozen.set(start + timedelta(hours=49))
        assert await idempotency.purge_expired() == 1
    rows = await db.fetch("SELECT key FROM idempotency_key")
    assert [r["key"] for r in rows] == ["key-new-0001"]
