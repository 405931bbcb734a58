"""Ledger benchmarks: posting throughput, the zero-sum trigger's cost, and the prepared wallet owner.

Run through `bench.run`, which gives these a throwaway PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import asyncpg

from backend.accounts.subjects import Subject, SubjectKind
from backend.kit import db
from backend.ledger import service
from backend.settings import load_settings
from bench.run import REDIS_URL


async def posting_throughput(pg_url: str) -> list[tuple[str, float]]:
    from backend.kit.redis import close_redis, init_redis

    settings = load_settings(
        {
            "TPH_ENV": "dev",
            "DATABASE_URL": pg_url,
            "TPH_DB_POOL_MAX": "10",
            "REDIS_URL": REDIS_URL,
        }
    )
    await db.init_db(settings)
    await init_redis(settings)  # each earning publishes its wallet change after commit
    try:
        owners = [Subject(SubjectKind.PERSON, str(uuid.uuid4())) for _ in range(200)]
        # Warm the accounts up so each measurement earns into existing accounts.
        for owner in owners:
            await service.earn(owner=owner, amount=1, idempotency_key="warm", cause={})
        n = 1000
        started = time.perf_counter()
        for i in range(n):
            await service.earn(
                owner=owners[i % len(owners)], amount=10, idempotency_key=f"seq-{i}", cause={}
            )
        sequential = n / (time.perf_counter() - started)

        async def worker(w: int, count: int) -> None:
            for i in range(count):
                await service.earn(
                    owner=owners[(w * 25 + i) % len(owners)],
                    amount=10,
                    idempotency_key=f"par-{w}-{i}",
                    cause={},
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker(w, 250) for w in range(8)))
        concurrent = 2000 / (time.perf_counter() - started)

        batches, size = 6, 500
        started = time.perf_counter()
        for b in range(batches):
            await service.earn_many(
                [
                    {
                        "owner": owners[i % len(owners)],
                        "amount": 10,
                        "idempotency_key": f"batch-{b}-{i}",
                        "cause": {},
                    }
                    for i in range(size)
                ]
            )
        batched = batches * size / (time.perf_counter() - started)
    finally:
        await close_redis()
        await db.close_db()
    return [
        ("single earnings, one transaction each, sequential", sequential),
        ("single earnings, one transaction each, 8 concurrent", concurrent),
        (f"batches of {size} earnings per transaction", batched),
    ]


async def trigger_cost(pg_url: str, postings: int = 1000, runs: int = 5) -> list[tuple[str, float]]:
    """Milliseconds to commit one transaction of `postings` postings, with and without the
    zero-sum trigger (disabled by session_replication_role for the comparison)."""
    connection = await asyncpg.connect(pg_url)
    account = await connection.fetchval("SELECT id FROM ledger_account WHERE kind = 'ISSUANCE'")
    owner = uuid.UUID("00000000-0000-4000-8000-00000000f001")

    async def one(tag: str) -> float:
        started = time.perf_counter()
        async with connection.transaction():
            tx = await connection.fetchval(
                "INSERT INTO ledger_transaction (public_id, kind, owner_id, idempotency_key,"
                " request_hash, cause, created_at) VALUES ($1, 'EARN', $2, $3, 'h', '{}', now())"
                " RETURNING id",
                uuid.uuid4(),
                owner,
                f"trigger-{tag}-{uuid.uuid4()}",
            )
            amounts = [(1 if n % 2 == 0 else -1) for n in range(postings)]
            # One statement, as the service writes a transaction's postings.
            await connection.execute(
                "INSERT INTO ledger_posting (transaction_id, account_id, owner_id, amount, created_at)"
                " SELECT $1, $2, $3, a, now() FROM unnest($4::bigint[]) AS t(a)",
                tx,
                account,
                owner,
                amounts,
            )
        return (time.perf_counter() - started) * 1000

    try:
        with_trigger = sorted([await one("on") for _ in range(runs)])[runs // 2]
        await connection.execute("SET session_replication_role = replica")
        without = sorted([await one("off") for _ in range(runs)])[runs // 2]
        await connection.execute("SET session_replication_role = origin")
    finally:
        await connection.close()
    return [
        (f"{postings}-posting transaction with the zero-sum trigger (per statement)", with_trigger),
        (f"{postings}-posting transaction without it", without),
    ]


async def new_token(pg_url: str, owner_id: str) -> str:
    """A fresh access token (a new session) for the person `owner_id`: tokens last 15 minutes,
    and a long run outlives one."""
    from backend.accounts.login import start_session
    from backend.accounts.models import Person
    from backend.kit.redis import close_redis, init_redis

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL})
    await db.init_db(settings)
    await init_redis(settings)
    try:
        person = await Person.get(public_id=owner_id)
        async with db.transaction():
            issued = await start_session(
                person=person, membership=None, second_factor=False, settings=settings
            )
    finally:
        await close_redis()
        await db.close_db()
    return issued.access_token


async def wallet_owner(pg_url: str) -> tuple[str, str]:
    """A person with a session and a wallet of 100 lots: (access token, person id)."""
    from backend.accounts.models import Person
    from backend.kit import clock
    from backend.kit.ids import new_public_id
    from backend.kit.redis import close_redis, init_redis

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL})
    await db.init_db(settings)
    await init_redis(settings)
    try:
        person = await Person.create(
            public_id=new_public_id(), phone="+8613100000001", created_at=clock.now()
        )
        owner = Subject(SubjectKind.PERSON, str(person.public_id))
        for n in range(100):
            await service.earn(
                owner=owner,
                amount=10 + n,
                idempotency_key=f"w{n}",
                cause={},
                expires_at=clock.now() + timedelta(days=5 + n * 7),
            )
    finally:
        await close_redis()
        await db.close_db()
    return await new_token(pg_url, str(person.public_id)), str(person.public_id)
