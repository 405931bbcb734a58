"""Ingestion benchmark: records per second through the bulk route and the GraphQL mutation, beside
the raw limit of PERFORMANCE-NOTES.md (bare crediting: one INSERT ... ON CONFLICT plus one
aggregated wallet update per batch, asyncpg, no checks), and the rate of an all-duplicate batch.

    .venv/bin/python -m bench.ingestion [--batches 10] [--subjects 1000]

One command, one run, PostgreSQL (a throwaway database); one uvicorn worker.
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
import httpx

from bench.run import PG_ADMIN, UVICORN, free_port, publish, server_env, start

BATCH = 1000


async def setup(pg_url: str, subjects: int) -> tuple[str, list[str]]:
    """Default scenarios, a platform (its token) and `subjects` citizens linked with grants."""
    from backend.accounts import organisations
    from backend.accounts.models import Person
    from backend.accounts.platforms import issue_credential
    from backend.accounts.subjects import Subject, SubjectKind
    from backend.consent import grants, links
    from backend.kit import clock, db, jwt
    from backend.kit.actor import Actor
    from backend.kit.ids import new_public_id
    from backend.methodology import seed
    from backend.settings import load_settings

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url})
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    authority = Actor(kind="authority", id="bench")
    try:
        await seed.seed_methodologies()
        platform = await organisations.register_organisation(
            actor=authority, kind="DATA_PLATFORM", name="bench"
        )
        platform_id = str(platform.public_id)
        platform_actor = Actor(kind="platform", id=platform_id)
        notice = await grants.publish_notice(
            actor=authority,
            purpose="CARBON_POINTS",
            kind="DATA",
            categories=["PUBLIC_TRANSPORT", "CYCLING"],
            text_zh="授权",
            text_en="Consent",
        )
        refs = []
        for n in range(subjects):
            person = await Person.create(
                public_id=new_public_id(), phone=f"+86137{n:08d}", created_at=clock.now()
            )
            subject = Subject(SubjectKind.PERSON, str(person.public_id))
            citizen = Actor(kind="citizen", id=subject.id)
            code = await links.issue_link_code(
                actor=citizen, subject=subject, platform_id=platform_id
            )
            refs.append(await links.link_with_code(actor=platform_actor, code=code.code))
            await grants.grant(
                actor=citizen,
                subject=subject,
                platform_id=platform_id,
                notice_id=str(notice.public_id),
                categories=None,
                expires_at=None,
                meter_accounts=None,
            )
        credential = await issue_credential(actor=authority, platform_id=platform_id)
        token, _ = jwt.issue(
            subject=platform_id,
            typ=jwt.ACCESS_TOKEN_TYPE,
            ttl=timedelta(hours=2),
            claims={"kind": "platform", "client_id": credential.client_id},
            settings=settings,
        )
    finally:
        await db.close_db()
    return token, refs


def records(refs: list[str], batch: int) -> list[dict]:
    from backend.kit import clock

    at = clock.now().isoformat()  # after the seeded methodologies came into force
    # 0.1 km of metro each: 4 g, far below the daily cap whatever the number per subject.
    return [
        {
            "eventId": f"b{batch}-{n}",
            "subjectId": refs[n % len(refs)],
            "scenario": "METRO",
            "quantity": "0.1",
            "occurredAt": at,
        }
        for n in range(BATCH)
    ]


MUTATION = (
    "mutation ($input: ReportBehaviourRecordsInput!) { reportBehaviourRecords(input: $input) {"
    " ... on BatchReport { outcomes { status } } } }"
)


async def through_http(
    url: str, token: str, refs: list[str], batches: int, graphql: bool, offset: int
) -> tuple[float, float]:
    """(new records per second, duplicate records per second)."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:

        async def send(batch_records: list[dict]) -> list[str]:
            if graphql:
                response = await http.post(
                    "/graphql",
                    json={"query": MUTATION, "variables": {"input": {"records": batch_records}}},
                    headers=headers,
                )
                return [
                    o["status"]
                    for o in response.json()["data"]["reportBehaviourRecords"]["outcomes"]
                ]
            response = await http.post(
                "/platform/v1/records", json={"records": batch_records}, headers=headers
            )
            return [o["status"] for o in response.json()["outcomes"]]

        payloads = [records(refs, offset + b) for b in range(batches)]
        started = time.perf_counter()
        for payload in payloads:
            statuses = await send(payload)
            assert statuses.count("ACCEPTED") == BATCH, statuses[:3]
        fresh = batches * BATCH / (time.perf_counter() - started)
        started = time.perf_counter()
        for payload in payloads:
            statuses = await send(payload)
            assert statuses.count("DUPLICATE") == BATCH
        duplicates = batches * BATCH / (time.perf_counter() - started)
    return fresh, duplicates


async def raw_limit(pg_url: str, refs: list[str], batches: int) -> float:
    """Bare crediting as PERFORMANCE-NOTES.md defines it."""
    connection = await asyncpg.connect(pg_url)
    await connection.execute(
        "CREATE TABLE bench_raw_record (subject uuid, platform bigint, event text, grams bigint,"
        " UNIQUE (subject, platform, event));"
        "CREATE TABLE bench_raw_wallet (subject uuid PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);"
    )
    subjects = [uuid.uuid5(uuid.NAMESPACE_OID, r) for r in refs]
    await connection.executemany(
        "INSERT INTO bench_raw_wallet (subject) VALUES ($1)", [(s,) for s in subjects]
    )
    started = time.perf_counter()
    for b in range(batches):
        subject_ids = [subjects[n % len(subjects)] for n in range(BATCH)]
        events = [f"b{b}-{n}" for n in range(BATCH)]
        async with connection.transaction():
            credited = await connection.fetch(
                "INSERT INTO bench_raw_record (subject, platform, event, grams)"
                " SELECT s, 1, e, 4 FROM unnest($1::uuid[], $2::text[]) AS t(s, e)"
                " ON CONFLICT DO NOTHING RETURNING subject, grams",
                subject_ids,
                events,
            )
            totals: dict[uuid.UUID, int] = {}
            for row in credited:
                totals[row["subject"]] = totals.get(row["subject"], 0) + row["grams"]
            ids = sorted(totals)
            await connection.execute(
                "UPDATE bench_raw_wallet w SET balance = w.balance + d.g FROM unnest($1::uuid[], $2::bigint[])"
                " AS d(s, g) WHERE w.subject = d.s",
                ids,
                [totals[i] for i in ids],
            )
    rate = batches * BATCH / (time.perf_counter() - started)
    await connection.close()
    return rate


async def rows_per_record(pg_url: str) -> float:
    connection = await asyncpg.connect(pg_url)
    counts = [
        await connection.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("behaviour_record", "ledger_transaction", "ledger_lot", "ledger_posting")
    ]
    records_count = counts[0]
    await connection.close()
    return sum(counts) / records_count if records_count else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--subjects", type=int, default=1000)
    args = parser.parse_args()
    name = f"tph_bench_{uuid.uuid4().hex[:8]}"
    pg_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    async def create() -> None:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()

    async def drop() -> None:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    asyncio.run(create())
    try:
        token, refs = asyncio.run(setup(pg_url, args.subjects))

        env = server_env(pg_url)
        port = free_port()
        server = start(
            [*UVICORN, "backend.app:create_app", "--factory", "--port", str(port)],
            env,
            port,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            bulk, bulk_dup = asyncio.run(
                through_http(url, token, refs, args.batches, graphql=False, offset=0)
            )
            gql, gql_dup = asyncio.run(
                through_http(url, token, refs, args.batches, graphql=True, offset=10_000)
            )
        finally:
            server.terminate()
            server.wait(10)
        rows = asyncio.run(rows_per_record(pg_url))
        raw = asyncio.run(raw_limit(pg_url, refs, args.batches))
    finally:
        asyncio.run(drop())
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print(
            f"### Ingestion ({args.batches} batches of {BATCH} new records, {args.subjects} subjects, one uvicorn worker)\n"
        )
        print(
            "| path | new records/s | vs raw limit | all-duplicate records/s | duplicates vs new |"
        )
        print("|---|---:|---:|---:|---:|")
        print(f"| raw limit (bare crediting, asyncpg) | {raw:,.0f} | 100% | | |")
        print(
            f"| bulk route POST /platform/v1/records | {bulk:,.0f} | {bulk / raw:.0%} | {bulk_dup:,.0f} | {bulk_dup / bulk:.1f}x |"
        )
        print(
            f"| GraphQL reportBehaviourRecords | {gql:,.0f} | {gql / raw:.0%} | {gql_dup:,.0f} | {gql_dup / gql:.1f}x |"
        )
        print(
            f"\nRows written per accepted record by the real path: {rows:.1f} "
            "(behaviour_record, ledger_transaction, ledger_lot, 2 ledger_posting; plus daily totals and counts per batch)."
        )
    publish("ingestion", buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
