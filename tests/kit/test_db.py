"""Migrations, transactions, retries and portable SQL."""

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from backend.kit import db


async def test_the_models_have_no_changes_without_a_migration(settings):
    # A model changed without `tortoise makemigrations` fails here.
    config = db.tortoise_config(settings)["apps"]
    detector = MigrationAutodetector(Tortoise.apps, config)
    writers = await detector.changes()
    assert writers == [], f"model changes need a migration: {[w.name for w in writers]}"


async def test_the_test_database_was_built_by_the_migrations(settings):
    rows = await db.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    assert [r["name"] for r in rows][:2] == ["0001_initial", "0002_audit_append_only"]


async def test_migrate_again_applies_nothing(settings):
    assert await db.migrate(settings) == []
    await Tortoise.close_connections()
    await db.init_db(settings)


async def test_a_failure_inside_a_transaction_leaves_nothing(settings):
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute(
                "INSERT INTO idempotency_key (owner, key, operation, request_hash, created_at,"
                " expires_at) VALUES ($1, $2, $3, $4, $5, $5)",
                "o",
                "k-12345678",
                "op",
                "h",
                datetime(2026, 1, 1, tzinfo=UTC),
            )
            raise RuntimeError("boom")
    assert await db.fetch("SELECT id FROM idempotency_key") == []


async def test_inner_commands_join_the_callers_transaction(settings):
    async def inner() -> None:
        async with db.transaction():
            assert db.in_open_transaction()
            await db.execute(
                "INSERT INTO idempotency_key (owner, key, operation, request_hash, created_at,"
                " expires_at) VALUES ($1, $2, $3, $4, $5, $5)",
                "o",
                "inner-123",
                "op",
                "h",
                datetime(2026, 1, 1, tzinfo=UTC),
            )

    with pytest.raises(RuntimeError):
        async with db.transaction():
            await inner()
            raise RuntimeError("the outer command fails after the inner one succeeded")
    assert await db.fetch("SELECT id FROM idempotency_key") == []


def test_portable_sql_reorders_values_for_sqlite():
    from types import SimpleNamespace

    sqlite = SimpleNamespace(capabilities=SimpleNamespace(dialect="sqlite"))
    postgres = SimpleNamespace(capabilities=SimpleNamespace(dialect="postgres"))
    sql, values = db.portable("SELECT $2, $1, $2", ["a", "b"], sqlite)  # type: ignore[arg-type]
    assert sql == "SELECT ?, ?, ?"
    assert values == ["b", "a", "b"]
    sql, values = db.portable("SELECT $2, $1, $2", ["a", "b"], postgres)  # type: ignore[arg-type]
    assert (sql, values) == ("SELECT $2, $1, $2", ["a", "b"])


class _Retryable(Exception):
    sqlstate = "40001"


class _Wrapped(Exception):
    pass


async def test_serialization_failures_are_retried_a_bounded_number_of_times():
    calls = 0

    async def always_conflicts() -> None:
        nonlocal calls
        calls += 1
        raise _Wrapped("wrapped") from _Retryable()

    with pytest.raises(_Wrapped):
        await db.with_retries(always_conflicts, attempts=3, base_delay=0.001)
    assert calls == 3


async def test_other_errors_are_not_retried():
    calls = 0

    async def fails() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("not a conflict")

    with pytest.raises(ValueError):
        await db.with_retries(fails, attempts=5)
    assert calls == 1


@pytest.mark.postgres_only
async def test_a_real_deadlock_is_retried_until_both_commit(settings):
    await db.conn().execute_script(
        "CREATE TABLE deadlock_probe (id int primary key, n int);"
        "INSERT INTO deadlock_probe VALUES (1, 0), (2, 0);"
    )
    try:
        barrier = asyncio.Barrier(2)
        attempts = {"a": 0, "b": 0}

        def transfer(name: str, first: int, second: int):
            async def work() -> None:
                attempts[name] += 1
                async with db.transaction():
                    await db.execute("UPDATE deadlock_probe SET n = n + 1 WHERE id = $1", first)
                    if attempts[name] == 1:
                        await barrier.wait()  # both hold one row: opposite order deadlocks
                    await db.execute("UPDATE deadlock_probe SET n = n + 1 WHERE id = $1", second)

            return work

        await asyncio.gather(
            db.with_retries(transfer("a", 1, 2), base_delay=0.001),
            db.with_retries(transfer("b", 2, 1), base_delay=0.001),
        )
        rows = await db.fetch("SELECT id, n FROM deadlock_probe ORDER BY id")
        assert [r["n"] for r in rows] == [2, 2]
        assert attempts["a"] + attempts["b"] == 3  # exactly one of them was chosen as the victim
    finally:
        await db.conn().execute_script("DROP TABLE deadlock_probe")


async def test_after_commit_work_runs_only_once_everything_committed(settings):
    ran = []

    async def note(name):
        ran.append(name)

    async with db.transaction():
        db.after_commit(lambda: note("outer"))
        with pytest.raises(RuntimeError):
            async with db.transaction():
                db.after_commit(lambda: note("rolled-back savepoint"))
                raise RuntimeError("inner fails")
        async with db.transaction():
            db.after_commit(lambda: note("inner"))
        assert ran == []
    assert ran == ["outer", "inner"]
    with pytest.raises(RuntimeError):
        async with db.transaction():
            db.after_commit(lambda: note("never"))
            raise RuntimeError("all rolled back")
    assert ran == ["outer", "inner"]
    with pytest.raises(RuntimeError, match="inside a transaction"):
        db.after_commit(lambda: note("nowhere"))


def test_no_code_leaves_session_state_on_a_pooled_connection():
    """The pool returns connections without asyncpg's RESET ALL / UNLISTEN / CLOSE ALL /
    advisory unlock round trip (db.keep_session): nothing may create what those would undo."""
    import re
    from pathlib import Path

    session_state = re.compile(
        r"pg_advisory_lock|pg_advisory_lock_shared|pg_try_advisory_lock\b|\bLISTEN\s"
        r"|SET\s+SESSION|[\"';]\s*SET\s+(?!LOCAL\b)\w+\s*(=|TO)\s|set_config\([^)]*false"
        r"|WITH\s+HOLD|CREATE\s+TEMP|add_listener",
        re.IGNORECASE,
    )
    root = Path(db.__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in root.rglob("*.py")
        if path.name != "db.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if session_state.search(line) and ('"' in line or "'" in line)
    ]
    assert found == []


@pytest.mark.postgres_only
async def test_a_pooled_connection_comes_back_without_an_open_transaction(settings):
    from tortoise import connections

    client = connections.get("default")
    pool = client._pool
    assert pool._reset is db.keep_session
    connection = await pool.acquire()
    try:
        await connection.execute("BEGIN")
        await connection.execute(
            "INSERT INTO idempotency_key (owner, key, operation, request_hash, created_at,"
            " expires_at) VALUES ('pool', 'k-pool-0001', 'op', 'h', now(), now())"
        )
    finally:
        await pool.release(connection)  # asyncpg rolls the open transaction back
    again = await pool.acquire()
    try:
        assert not again.is_in_transaction()
        assert (
            await again.fetchval("SELECT count(*) FROM idempotency_key WHERE owner = 'pool'") == 0
        )
    finally:
        await pool.release(again)


@pytest.mark.postgres_only
async def test_the_database_pool_serves_its_waiters_in_the_order_they_came(settings):
    """asyncpg's pool lets a newcomer take a connection released for a waiter, and the waiter
    queues again at the back: under load a few requests waited many times over. The engine's
    pool hands a released connection to the longest waiter. (With its turns made unlimited, so
    that asyncpg's queue decides, the read that came third was served 25th.)"""
    import asyncpg
    from tortoise import connections

    from backend.kit.fair_pool import FairPool

    await db.fetch("SELECT 1")  # the engine makes its pool on first use
    assert isinstance(connections.get("default")._pool, FairPool)
    raw = await asyncpg.create_pool(
        settings.database_url, min_size=2, max_size=2, reset=db.keep_session
    )
    pool = FairPool(raw, 2)
    try:
        arrived = 0
        served: list[int] = []

        async def read() -> None:
            nonlocal arrived
            mine, arrived = arrived, arrived + 1
            connection = await pool.acquire()
            served.append(mine)
            await connection.fetchval("SELECT 1")
            await pool.release(connection)

        reads = []
        for _ in range(200):  # arrivals keep coming while connections come back
            reads.append(asyncio.create_task(read()))
            await asyncio.sleep(0)
        await asyncio.gather(*reads)
        assert served == list(range(200))
    finally:
        await raw.close()
