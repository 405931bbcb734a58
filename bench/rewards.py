"""Redemption under contention: many citizens, one offer, through the service; beside the raw
conditional UPDATE on one hot row (PERFORMANCE-NOTES.md), in the same run.

    .venv/bin/python -m bench.rewards [--redemptions 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import time
import uuid
from datetime import timedelta

import asyncpg

from bench.run import PG_ADMIN, publish


async def service_rate(pg_url: str, redemptions: int, concurrency: int) -> float:
    from backend.accounts import organisations
    from backend.accounts.subjects import Subject, SubjectKind
    from backend.kit import clock, db
    from backend.kit.actor import Actor
    from backend.kit.redis import close_redis, init_redis
    from backend.ledger import service as ledger
    from backend.rewards import service
    from backend.settings import load_settings

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url, "TPH_DB_POOL_MAX": "10"})
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    await init_redis(settings)
    try:
        merchant = await organisations.register_organisation(
            actor=Actor(kind="authority", id="bench"), kind="MERCHANT", name="bench"
        )
        manager = Actor(
            kind="member",
            id=str(uuid.uuid4()),
            organisation_id=str(merchant.public_id),
            organisation_kind="MERCHANT",
            roles=frozenset({"manager"}),
        )
        now = clock.now()
        offer = await service.create_offer(
            actor=manager,
            values={
                "title_zh": "袋",
                "title_en": "Bag",
                "description_zh": "袋",
                "description_en": "Bag",
                "image_url": None,
                "category": "goods",
                "price_points": 10,
                "total_stock": redemptions,
                "per_person_limit": 1000,
                "redeem_from": now - timedelta(minutes=1),
                "redeem_until": now + timedelta(days=1),
                "voucher_valid_days": 7,
                "unused_policy": "REFUND",
            },
        )
        await service.set_offer_status(
            actor=manager, offer_id=str(offer.public_id), status="ACTIVE"
        )
        people = [Subject(SubjectKind.PERSON, str(uuid.uuid4())) for _ in range(concurrency * 4)]
        for person in people:
            await ledger.earn(
                owner=person, amount=10 * redemptions, idempotency_key="fund", cause={}
            )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(redemptions):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                person = people[n % len(people)]
                await service.redeem(
                    actor=Actor(kind="citizen", id=person.id),
                    offer_id=str(offer.public_id),
                    idempotency_key=f"bench-{n:08d}",
                    subject=person,
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return redemptions / (time.perf_counter() - started)
    finally:
        await close_redis()
        await db.close_db()


async def raw_rate(pg_url: str, updates: int, concurrency: int) -> float:
    pool = await asyncpg.create_pool(pg_url, min_size=10, max_size=10)
    await pool.execute("CREATE TABLE bench_hot (id int PRIMARY KEY, stock bigint NOT NULL)")
    await pool.execute("INSERT INTO bench_hot VALUES (1, $1)", updates)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(updates):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute(
                    "UPDATE bench_hot SET stock = stock - 1 WHERE id = 1 AND stock >= 1"
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = updates / (time.perf_counter() - started)
    await pool.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redemptions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    name = f"tph_bench_{uuid.uuid4().hex[:8]}"
    pg_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN)
        await connection.execute(sql)
        await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        service = asyncio.run(service_rate(pg_url, args.redemptions, args.concurrency))
        raw = asyncio.run(raw_rate(pg_url, args.redemptions, args.concurrency))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print(
            f"### Redemption under contention ({args.redemptions} redemptions of one offer, {args.concurrency} concurrent callers, pool 10)\n"
        )
        print("| path | per second | vs raw |")
        print("|---|---:|---:|")
        print(f"| raw conditional UPDATE on one hot row (asyncpg) | {raw:,.0f} | 100% |")
        print(
            f"| redeemOffer through the service (stock, limit, hold, voucher) | {service:,.0f} | {service / raw:.0%} |"
        )
    publish("rewards", buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
