"""The raw limit: a bare Starlette endpoint that reads one row through an asyncpg pool.

Served by uvicorn beside the real app in the same run, so the ratio of the two is the figure.
"""

from __future__ import annotations

import contextlib
import json
import os

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL: asyncpg.Pool | None = None


async def row(request: Request) -> Response:
    await request.body()
    assert POOL is not None
    async with POOL.acquire() as connection:
        value = await connection.fetchval("SELECT now()")
    body = json.dumps({"data": {"serverInfo": {"time": value.isoformat()}}})
    return Response(body, media_type="application/json")


async def wallet(request: Request) -> Response:
    """The same row the GraphQL wallet query reads, with the same lots sub-selects."""
    await request.body()
    assert POOL is not None
    async with POOL.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT a.balance, a.held,"
            " (SELECT COALESCE(SUM(remaining), 0) FROM ledger_lot WHERE account_id = a.id"
            "   AND expired_at IS NULL AND expires_at <= now()) AS due,"
            " (SELECT COALESCE(SUM(remaining), 0) FROM ledger_lot WHERE account_id = a.id"
            "   AND expired_at IS NULL AND expires_at > now()"
            "   AND expires_at <= now() + interval '30 days') AS expiring"
            " FROM ledger_account a WHERE a.owner_id = $1 AND a.kind = 'PERSON'",
            OWNER,
        )
    body = json.dumps(
        {
            "data": {
                "wallet": {"balance": str(row["balance"] - row["due"]), "held": str(row["held"])}
            }
        }
    )
    return Response(body, media_type="application/json")


OWNER = os.environ.get("BENCH_OWNER")


async def history(request: Request) -> Response:
    """The first page (20) of the wallet's history, as the GraphQL history page reads it."""
    await request.body()
    assert POOL is not None
    async with POOL.acquire() as connection:
        rows = await connection.fetch(
            "SELECT t.public_id, t.kind, t.created_at,"
            " (SELECT SUM(p.amount) FROM ledger_posting p"
            "   WHERE p.owner_id = $1 AND p.transaction_id = t.id) AS amount"
            " FROM ledger_transaction t WHERE t.owner_id = $1"
            " ORDER BY t.created_at DESC, t.id DESC LIMIT 21",
            OWNER,
        )
    edges = [
        {
            "node": {
                "id": str(r["public_id"]),
                "kind": r["kind"],
                "amount": str(r["amount"]),
                "occurredAt": r["created_at"].isoformat(),
            }
        }
        for r in rows[:20]
    ]
    return Response(
        json.dumps({"data": {"wallet": {"history": {"edges": edges}}}}),
        media_type="application/json",
    )


async def catalogue(request: Request) -> Response:
    """The first page (20) of the offer catalogue, as the GraphQL catalogue page reads it."""
    await request.body()
    assert POOL is not None
    async with POOL.acquire() as connection:
        rows = await connection.fetch(
            "SELECT public_id, title_zh, price_points, stock_left FROM reward_offer"
            " WHERE status = 'ACTIVE' AND redeem_from <= now() AND redeem_until > now()"
            " ORDER BY created_at DESC, id DESC LIMIT 21"
        )
    edges = [
        {
            "node": {
                "id": str(r["public_id"]),
                "titleZh": r["title_zh"],
                "pricePoints": str(r["price_points"]),
                "stockLeft": r["stock_left"],
            }
        }
        for r in rows[:20]
    ]
    return Response(
        json.dumps({"data": {"offers": {"edges": edges}}}, ensure_ascii=False),
        media_type="application/json",
    )


async def hello(request: Request) -> Response:
    await request.body()
    return Response(b'{"data":{"serverInfo":{"version":"0.1.0"}}}', media_type="application/json")


async def keep_session(connection: asyncpg.Connection) -> None:
    """The service's pool reset (backend.kit.db.keep_session): no RESET ALL round trip on
    release, so both sides pay the same per statement."""


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    global POOL
    POOL = await asyncpg.create_pool(
        os.environ["BENCH_PG_URL"], min_size=1, max_size=10, reset=keep_session
    )
    yield
    await POOL.close()


app = Starlette(
    routes=[
        Route("/row", row, methods=["POST"]),
        Route("/hello", hello, methods=["POST"]),
        Route("/wallet", wallet, methods=["POST"]),
        Route("/history", history, methods=["POST"]),
        Route("/catalogue", catalogue, methods=["POST"]),
    ],
    lifespan=lifespan,
)
