"""Writes over HTTP against their raw limit, by connections (issue 13).

    .venv/bin/python -m bench.writes [--duration 5] [--connections 16,64,256]
        [--workloads redemption,purchase,retirement,login,ingestion] [--citizens 1000]
        [--subjects 1000] [--batch 100]

Each workload runs through the whole stack (uvicorn, one worker, the project's app) and through a
bare Starlette endpoint doing the least the same operation needs with asyncpg (`bare_app` below,
one worker, a pool of 10 connections as the app has), wrk with 2 threads, at each number of
connections. Every request is a distinct operation: the wrk script gives each a new idempotency
key, phone or event id, and spreads the callers over many citizens (their own tokens), except
where one row is the point (the one hot offer, the one points pool).

- redemption: `redeemOffer` of one hot offer by many citizens (price 10 points).
  Raw: in one transaction, the wallet's conditional decrement, the hot row's conditional stock
  decrement (bench.rewards's raw limit) and the voucher's insert under its unique key.
- purchase: `buyCreditsWithPoints`, 1 kg of the points pool (one listing) at 1,000 points.
  Raw: in one transaction, the listing's conditional decrement, the wallet's conditional decrement
  and the order's insert under its unique key.
- retirement: `retireCredits`, 1 kg of the citizen's own block.
  Raw: in one transaction, the block's conditional decrement and the retirement's insert.
- login: `logIn` with a valid one-time code (seeded in Redis as `requestLoginCode` leaves it,
  one per request) of a returning citizen.
  Raw: the same Redis check script, then in one transaction the person's update, a session and
  a refresh token inserted; an HS256 access token signed.
- ingestion: `POST /platform/v1/records`, batches of `--batch` new records, each connection a
  sender, consecutive batches for consecutive subjects; its timed runs last at least 15 s, as a
  batch takes seconds at 256 senders.
  Raw: bench.ingestion's bare crediting (one INSERT ... ON CONFLICT, one aggregated wallet update).

Operations per second are counted in the database (rows of operations begun during the run,
counted once those in flight at its end are written, divided by its duration), not from wrk's
requests; a request is failed when its answer is not the success type
(a GraphQL error or a typed error), is not 200, or timed out (10 s). The worker's peak resident
memory (VmHWM) is read after each workload, and `verify-ledger`'s checks run at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.run import (
    REDIS_URL,
    UVICORN,
    drop_database,
    free_port,
    publish,
    server_env,
    start,
)

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2
CODE = "246810"
PRICE = 10  # points per voucher
BLOCK_KG = 1_000_000  # each citizen's own block, for retirements
POOL_KG = 100_000_000  # the points pool

REDEEM = (
    "mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) {"
    " __typename ... on Voucher { id } ... on Error { code } } }"
)
BUY = (
    "mutation ($i: OrderCreditsInput!) { buyCreditsWithPoints(input: $i) {"
    " __typename ... on CreditOrder { id amount } ... on Error { code } } }"
)
RETIRE = (
    "mutation ($i: RetireCreditsInput!) { retireCredits(input: $i) {"
    " __typename ... on CreditRetirement { id } ... on Error { code } } }"
)
LOG_IN = (
    "mutation ($i: LogInInput!) { logIn(input: $i) {"
    " __typename ... on SessionTokens { accessToken refreshToken } ... on Error { code } } }"
)


# --- the bare endpoints (served by uvicorn as bench.writes:bare_app) ---------------------------

STATE: dict[str, Any] = {}


def _owner(request: Request) -> int:
    return int(request.headers["x-owner"])


def _input(body: bytes) -> dict[str, Any]:
    return dict(json.loads(body)["variables"]["i"])


def _answer(typename: str, **fields: Any) -> Response:
    return JSONResponse({"data": {"op": {"__typename": typename, **fields}}})


def _refused(code: str) -> Response:
    return JSONResponse({"data": {"op": {"__typename": "Error", "code": code}}})


async def bare_redeem(request: Request) -> Response:
    key = _input(await request.body())["idempotencyKey"]
    owner = _owner(request)
    async with STATE["pool"].acquire() as connection, connection.transaction():
        # wallet first, then the hot row, as the service locks them
        if not await connection.fetchval(
            "UPDATE bench_wallet SET balance = balance - $2, held = held + $2"
            " WHERE owner = $1 AND balance >= $2 RETURNING 1",
            owner,
            PRICE,
        ):
            return _refused("INSUFFICIENT_POINTS")
        if not await connection.fetchval(
            "UPDATE bench_offer SET stock = stock - 1 WHERE id = 1 AND stock >= 1 RETURNING 1"
        ):
            return _refused("OUT_OF_STOCK")
        voucher = await connection.fetchval(
            "INSERT INTO bench_voucher (owner, key, points, created_at)"
            " VALUES ($1, $2, $3, now()) RETURNING id",
            owner,
            key,
            PRICE,
        )
    return _answer("Voucher", id=str(voucher))


async def bare_purchase(request: Request) -> Response:
    values = _input(await request.body())
    kg, key = int(values["quantityKg"]), values["idempotencyKey"]
    owner, points = _owner(request), kg * 1000
    async with STATE["pool"].acquire() as connection, connection.transaction():
        # the listing first, then the wallet, as the service locks them
        if not await connection.fetchval(
            "UPDATE bench_listing SET available = available - $1"
            " WHERE id = 1 AND available >= $1 RETURNING 1",
            kg,
        ):
            return _refused("NOT_ENOUGH_UNITS")
        if not await connection.fetchval(
            "UPDATE bench_wallet SET balance = balance - $2"
            " WHERE owner = $1 AND balance >= $2 RETURNING 1",
            owner,
            points,
        ):
            return _refused("INSUFFICIENT_POINTS")
        order = await connection.fetchval(
            "INSERT INTO bench_order (owner, key, kg, points, created_at)"
            " VALUES ($1, $2, $3, $4, now()) RETURNING id",
            owner,
            key,
            kg,
            points,
        )
    return _answer("CreditOrder", id=str(order), amount=str(points))


async def bare_retire(request: Request) -> Response:
    values = _input(await request.body())
    owner, kg = _owner(request), int(values["quantityKg"])
    async with STATE["pool"].acquire() as connection, connection.transaction():
        if not await connection.fetchval(
            "UPDATE bench_block SET remaining = remaining - $2"
            " WHERE owner = $1 AND remaining >= $2 RETURNING 1",
            owner,
            kg,
        ):
            return _refused("NOT_ENOUGH_UNITS")
        retirement = await connection.fetchval(
            "INSERT INTO bench_retirement (owner, key, kg, purpose, created_at)"
            " VALUES ($1, $2, $3, $4, now()) RETURNING id",
            owner,
            values["idempotencyKey"],
            kg,
            values["purpose"],
        )
    return _answer("CreditRetirement", id=str(retirement))


async def bare_login(request: Request) -> Response:
    import jwt

    from backend.accounts import login

    values = _input(await request.body())
    phone, settings = values["phone"], STATE["settings"]
    outcome = await STATE["redis"].eval(
        login._VERIFY,
        1,
        login._code_key(settings, phone),
        login._keyed(settings, f"{phone}:{values['code']}"),
        login.MAX_ATTEMPTS,
    )
    if outcome != "ok":
        return _refused(f"LOGIN_CODE_{str(outcome).upper()}")
    refresh = secrets.token_urlsafe(32)
    session = uuid.uuid4()
    async with STATE["pool"].acquire() as connection, connection.transaction():
        person = await connection.fetchrow(
            "UPDATE person SET last_login_at = now() WHERE phone = $1 RETURNING id, public_id",
            phone,
        )
        if person is None:
            return _refused("NOT_REGISTERED")
        session_id = await connection.fetchval(
            "INSERT INTO session (public_id, person_id, second_factor, created_at, expires_at)"
            " VALUES ($1, $2, false, now(), now() + interval '30 days') RETURNING id",
            session,
            person["id"],
        )
        await connection.execute(
            "INSERT INTO refresh_token (session_id, token_hash, issued_at) VALUES ($1, $2, now())",
            session_id,
            hashlib.sha256(refresh.encode()).hexdigest(),
        )
    now = int(time.time())
    access = jwt.encode(
        {
            "sub": str(person["public_id"]),
            "sid": str(session),
            "kind": "person",
            "amr": ["sms"],
            "iat": now,
            "exp": now + 900,
            "jti": secrets.token_hex(8),
        },
        STATE["secret"],
        algorithm="HS256",
    )
    return _answer("SessionTokens", accessToken=access, refreshToken=refresh)


async def bare_records(request: Request) -> Response:
    """bench.ingestion's bare crediting of one batch."""
    records = json.loads(await request.body())["records"]
    subjects = [uuid.uuid5(uuid.NAMESPACE_OID, r["subjectId"]) for r in records]
    events = [r["eventId"] for r in records]
    async with STATE["pool"].acquire() as connection, connection.transaction():
        credited = await connection.fetch(
            "INSERT INTO bench_raw_record (subject, platform, event, grams)"
            " SELECT s, 1, e, 4 FROM unnest($1::uuid[], $2::text[]) AS t(s, e)"
            " ON CONFLICT DO NOTHING RETURNING subject, grams",
            subjects,
            events,
        )
        totals: dict[uuid.UUID, int] = {}
        for row in credited:
            totals[row["subject"]] = totals.get(row["subject"], 0) + row["grams"]
        ids = sorted(totals)
        # concurrent batches share subjects: their wallets are locked in key order, as the
        # service locks its daily totals, or two batches deadlock
        await connection.execute(
            "SELECT 1 FROM bench_raw_wallet WHERE subject = ANY($1::uuid[])"
            " ORDER BY subject FOR UPDATE",
            ids,
        )
        await connection.execute(
            "UPDATE bench_raw_wallet w SET balance = w.balance + d.g"
            " FROM unnest($1::uuid[], $2::bigint[]) AS d(s, g) WHERE w.subject = d.s",
            ids,
            [totals[i] for i in ids],
        )
    return JSONResponse(
        {"outcomes": [{"eventId": e, "status": "ACCEPTED", "grams": "4"} for e in events]}
    )


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    import redis.asyncio

    from backend.settings import load_settings

    STATE["settings"] = load_settings(dict(os.environ))
    STATE["secret"] = secrets.token_bytes(32)
    STATE["pool"] = await asyncpg.create_pool(os.environ["BENCH_PG_URL"], min_size=1, max_size=10)
    STATE["redis"] = redis.asyncio.from_url(os.environ["REDIS_URL"], decode_responses=True)
    yield
    await STATE["redis"].aclose()
    await STATE["pool"].close()


async def _failed(request: Request, exc: Exception) -> Response:
    """A failure of a bare endpoint says what it was, for the failed answers' sample."""
    return JSONResponse({"error": repr(exc)[:200]}, status_code=500)


bare_app = Starlette(
    routes=[
        Route("/redeem", bare_redeem, methods=["POST"]),
        Route("/purchase", bare_purchase, methods=["POST"]),
        Route("/retire", bare_retire, methods=["POST"]),
        Route("/login", bare_login, methods=["POST"]),
        Route("/records", bare_records, methods=["POST"]),
    ],
    lifespan=_lifespan,
    exception_handlers={Exception: _failed},
)


# --- the data ----------------------------------------------------------------------------------


@dataclass
class World:
    tokens: list[str]  # a session of each citizen
    citizens: list[str]  # their person ids
    blocks: list[str]  # the block each holds
    offer: str
    listing: str
    platform_token: str
    refs: list[str]  # the platform's subject ids
    stock: int = 10**7


async def seed(pg_url: str, citizens: int, subjects: int) -> World:
    """Through the services: the platform and its linked subjects (bench.ingestion's setup),
    `citizens` citizens each with a session, 10^9 points and a block of BLOCK_KG units, a hot
    offer, and the points pool; then the raw limit's own tables."""
    from bench import ingestion

    platform_token, refs = await ingestion.setup(pg_url, subjects)

    from backend.accounts import organisations
    from backend.accounts.login import start_session
    from backend.accounts.models import Person
    from backend.accounts.subjects import Subject, SubjectKind
    from backend.credits import registry
    from backend.credits.models import (
        CreditProject,
        IssuanceRequest,
        IssuanceStatus,
        ProjectKind,
        ProjectStatus,
    )
    from backend.kit import clock, db
    from backend.kit.actor import Actor
    from backend.kit.ids import new_public_id
    from backend.kit.redis import close_redis, init_redis
    from backend.ledger import service as ledger
    from backend.market import service as market
    from backend.rewards import service as rewards
    from backend.settings import load_settings

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL})
    await db.init_db(settings)
    await init_redis(settings)
    authority = Actor(kind="authority", id="bench")
    try:
        people, tokens = [], []
        for n in range(citizens):
            person = await Person.create(
                public_id=new_public_id(), phone=f"+86136{n:08d}", created_at=clock.now()
            )
            async with db.transaction():
                issued = await start_session(
                    person=person, membership=None, second_factor=False, settings=settings
                )
            people.append(str(person.public_id))
            tokens.append(issued.access_token)
        for start_at in range(0, citizens, 500):
            await ledger.earn_many(
                [
                    {
                        "owner": Subject(SubjectKind.PERSON, person),
                        "amount": 10**9,
                        "idempotency_key": "bench-fund",
                        "cause": {},
                    }
                    for person in people[start_at : start_at + 500]
                ]
            )
        merchant = await organisations.register_organisation(
            actor=authority, kind="MERCHANT", name="bench shop"
        )
        manager = Actor(
            kind="member",
            id=str(uuid.uuid4()),
            organisation_id=str(merchant.public_id),
            organisation_kind="MERCHANT",
            roles=frozenset({"manager"}),
        )
        now = clock.now()
        offer = await rewards.create_offer(
            actor=manager,
            values={
                "title_zh": "袋",
                "title_en": "Bag",
                "description_zh": "袋",
                "description_en": "Bag",
                "image_url": None,
                "category": "goods",
                "price_points": PRICE,
                "total_stock": 10**7,
                "per_person_limit": 1000,
                "redeem_from": now - timedelta(minutes=1),
                "redeem_until": now + timedelta(days=1),
                "voucher_valid_days": 7,
                "unused_policy": "REFUND",
            },
        )
        await rewards.set_offer_status(
            actor=manager, offer_id=str(offer.public_id), status="ACTIVE"
        )
        # Units: one issuance of a registered project, held by its owner, who lists the points
        # pool (as the operator) and transfers each citizen a block.
        owner = await organisations.register_organisation(
            actor=authority, kind="SMALL_BUSINESS", name="bench project owner"
        )
        operator = Actor(
            kind="authority",
            id=str(uuid.uuid4()),
            organisation_id=str(owner.public_id),
            organisation_kind="AUTHORITY",
            roles=frozenset({"admin"}),
        )
        project = await CreditProject.create(
            public_id=new_public_id(),
            owner_id=owner.public_id,
            kind=ProjectKind.OWN,
            title_zh="屋顶光伏",
            title_en="Rooftop solar",
            description="bench",
            methodology_code="SZ-METRO",
            status=ProjectStatus.REGISTERED,
            created_at=now,
            registered_at=now,
        )
        total = POOL_KG + citizens * BLOCK_KG
        issuance = await IssuanceRequest.create(
            public_id=new_public_id(),
            project=project,
            owner_id=owner.public_id,
            period_start="2025-01-01",
            period_end="2025-12-31",
            quantity_kg=total,
            status=IssuanceStatus.ISSUED,
            serial_start=1,
            serial_end=total,
            created_at=now,
            issued_at=now,
        )
        block = await registry.issue_block(issuance)
        listing = await market.list_credits(
            actor=operator,
            block_id=str(block.public_id),
            quantity=POOL_KG,
            currency="POINTS",
            price_fen_per_kg=None,
        )
        blocks = [
            str(
                (
                    await registry.transfer(
                        actor=operator,
                        block_id=str(block.public_id),
                        quantity=BLOCK_KG,
                        to_holder=person,
                    )
                ).public_id
            )
            for person in people
        ]
    finally:
        await close_redis()
        await db.close_db()
    connection = await asyncpg.connect(pg_url)
    try:
        await connection.execute(
            "CREATE TABLE bench_wallet (owner int PRIMARY KEY, balance bigint NOT NULL,"
            " held bigint NOT NULL DEFAULT 0);"
            "CREATE TABLE bench_offer (id int PRIMARY KEY, stock bigint NOT NULL);"
            "CREATE TABLE bench_voucher (id bigserial PRIMARY KEY, owner int NOT NULL,"
            " key text NOT NULL, points bigint NOT NULL, created_at timestamptz NOT NULL,"
            " UNIQUE (owner, key));"
            "CREATE TABLE bench_listing (id int PRIMARY KEY, available bigint NOT NULL);"
            "CREATE TABLE bench_order (id bigserial PRIMARY KEY, owner int NOT NULL,"
            " key text NOT NULL, kg bigint NOT NULL, points bigint NOT NULL,"
            " created_at timestamptz NOT NULL, UNIQUE (owner, key));"
            "CREATE TABLE bench_block (owner int PRIMARY KEY, remaining bigint NOT NULL);"
            "CREATE TABLE bench_retirement (id bigserial PRIMARY KEY, owner int NOT NULL,"
            " key text NOT NULL, kg bigint NOT NULL, purpose text NOT NULL,"
            " created_at timestamptz NOT NULL, UNIQUE (owner, key));"
            "CREATE TABLE bench_raw_record (subject uuid, platform bigint, event text,"
            " grams bigint, created_at timestamptz NOT NULL DEFAULT now(),"
            " UNIQUE (subject, platform, event));"
            "CREATE TABLE bench_raw_wallet (subject uuid PRIMARY KEY,"
            " balance bigint NOT NULL DEFAULT 0);"
        )
        await connection.execute(
            "INSERT INTO bench_wallet SELECT g, 1000000000 FROM generate_series(0, $1 - 1) g",
            citizens,
        )
        await connection.execute(
            "INSERT INTO bench_block SELECT g, $2 FROM generate_series(0, $1 - 1) g",
            citizens,
            BLOCK_KG,
        )
        await connection.execute("INSERT INTO bench_offer VALUES (1, $1)", 10**7)
        await connection.execute("INSERT INTO bench_listing VALUES (1, $1)", POOL_KG)
        await connection.executemany(
            "INSERT INTO bench_raw_wallet (subject) VALUES ($1) ON CONFLICT DO NOTHING",
            [(uuid.uuid5(uuid.NAMESPACE_OID, r),) for r in refs],
        )
    finally:
        await connection.close()
    return World(
        tokens=tokens,
        citizens=people,
        blocks=blocks,
        offer=str(offer.public_id),
        listing=str(listing.public_id),
        platform_token=platform_token,
        refs=refs,
    )


def _phone(run: int, thread: int, n: int) -> str:
    """The phone the wrk script logs in with: run, thread and a counter in the number."""
    return f"+8615{run:02d}{thread}{n:06d}"


async def seed_logins(pg_url: str, run: int, each: int) -> list[str]:
    """Returning citizens for login run `run`, `each` per wrk thread, each with a valid code in
    Redis as `requestLoginCode` leaves it; returns the Redis keys."""
    import redis.asyncio

    from backend.accounts import login
    from backend.settings import load_settings

    settings = load_settings({"TPH_ENV": "dev"})
    connection = await asyncpg.connect(pg_url)
    try:
        await connection.execute(
            "INSERT INTO person (public_id, phone, created_at)"
            " SELECT gen_random_uuid(), '+8615' || lpad(($1::int)::text, 2, '0') || t::text"
            "   || lpad(c::text, 6, '0'), now()"
            " FROM generate_series(0, $2 - 1) t, generate_series(1, $3) c",
            run,
            THREADS,
            each,
        )
    finally:
        await connection.close()
    client = redis.asyncio.from_url(REDIS_URL)
    keys = []
    try:
        async with client.pipeline(transaction=False) as pipe:
            for thread in range(THREADS):
                for n in range(1, each + 1):
                    phone = _phone(run, thread, n)
                    key = login._code_key(settings, phone)
                    keys.append(key)
                    pipe.hset(
                        key,
                        mapping={"h": login._keyed(settings, f"{phone}:{CODE}"), "attempts": 0},
                    )
                    pipe.expire(key, 900)
            await pipe.execute()
    finally:
        await client.aclose()
    return keys


async def forget(keys: list[str]) -> None:
    import redis.asyncio

    client = redis.asyncio.from_url(REDIS_URL)
    try:
        for at in range(0, len(keys), 10_000):
            await client.delete(*keys[at : at + 10_000])
    finally:
        await client.aclose()


# --- the wrk scripts ---------------------------------------------------------------------------


def _lua(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(_lua(v) for v in values) + "}"


def _template(query: str, variables: dict[str, Any]) -> str:
    """Lua building the GraphQL body from `variables`, whose "@KEY@", "@BLOCK@", "@PHONE@"
    strings are filled per request."""
    text = json.dumps({"query": query, "variables": {"i": variables}}, ensure_ascii=False)
    parts = re.split(r"@(KEY|BLOCK|PHONE)@", text)
    pieces, slots = parts[0::2], parts[1::2]
    return (
        f"local pieces = {_lua_list(pieces)}\n"
        f"local slots = {_lua_list(slots)}\n"
        "function make_body(values)\n"
        "  local out = {pieces[1]}\n"
        "  for k, slot in ipairs(slots) do\n"
        "    out[#out + 1] = values[slot]\n"
        "    out[#out + 1] = pieces[k + 1]\n"
        "  end\n"
        "  return table.concat(out)\n"
        "end\n"
    )


COMMON = """
wrk.method = "POST"
local threads = {}
counter = 0
ok = 0
bad = 0
sample = ""
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
end
function response(status, headers, body)
  if status == 200 and string.find(body, SUCCESS, 1, true)
      and not string.find(body, '"errors"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local o, b, s = 0, 0, ""
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
    if s == "" then s = t:get("sample") end
  end
  io.write(string.format("BENCH ok=%d bad=%d\\n", o, b))
  if s ~= "" then io.write("BENCH-SAMPLE " .. string.gsub(s, "\\n", " ") .. "\\n") end
end
"""


def script(workload: str, world: World, run: int, path: str, batch: int) -> str:
    """The wrk script of one run: `path` on the app or the bare app, new keys for `run`."""
    head = f"local RUN = {run}\nlocal NTHREADS = {THREADS}\n" + COMMON
    key = 'string.format("bench-%d-%d-%d-%d", RUN, tid, counter, math.random(1, 1000000000))'
    citizen = (
        f"local tokens = {_lua_list(world.tokens)}\n"
        f"local blocks = {_lua_list(world.blocks)}\n"
        "function request()\n"
        "  counter = counter + 1\n"
        "  local i = (counter * NTHREADS + tid) % #tokens + 1\n"
        "  local headers = {['Content-Type'] = 'application/json',"
        " ['Authorization'] = 'Bearer ' .. tokens[i], ['X-Owner'] = tostring(i - 1)}\n"
        f"  local body = make_body({{KEY = {key}, BLOCK = blocks[i]}})\n"
        f"  return wrk.format(nil, {_lua(path)}, headers, body)\n"
        "end\n"
    )
    if workload == "redemption":
        return (
            head
            + 'SUCCESS = \'"__typename":"Voucher"\'\n'
            + _template(REDEEM, {"offerId": world.offer, "idempotencyKey": "@KEY@"})
            + citizen
        )
    if workload == "purchase":
        return (
            head
            + 'SUCCESS = \'"__typename":"CreditOrder"\'\n'
            + _template(
                BUY, {"listingId": world.listing, "quantityKg": 1, "idempotencyKey": "@KEY@"}
            )
            + citizen
        )
    if workload == "retirement":
        return (
            head
            + 'SUCCESS = \'"__typename":"CreditRetirement"\'\n'
            + _template(
                RETIRE,
                {
                    "blockId": "@BLOCK@",
                    "quantityKg": 1,
                    "idempotencyKey": "@KEY@",
                    "purpose": "VOLUNTARY",
                },
            )
            + citizen
        )
    if workload == "login":
        return (
            head
            + 'SUCCESS = \'"__typename":"SessionTokens"\'\n'
            + _template(LOG_IN, {"phone": "@PHONE@", "code": CODE})
            + "function request()\n"
            "  counter = counter + 1\n"
            "  local phone = string.format('+8615%02d%d%06d', RUN, tid, counter)\n"
            "  local headers = {['Content-Type'] = 'application/json'}\n"
            "  local body = make_body({PHONE = phone})\n"
            f"  return wrk.format(nil, {_lua(path)}, headers, body)\n"
            "end\n"
        )
    if workload == "ingestion":
        at = datetime.now(UTC).isoformat()
        return (
            head
            + "SUCCESS = '\"outcomes\"'\n"
            + f"local refs = {_lua_list(world.refs)}\n"
            + f"local BATCH = {batch}\n"
            + "function request()\n"
            "  counter = counter + 1\n"
            "  local n = counter * NTHREADS + tid\n"
            "  local parts = {}\n"
            "  for k = 0, BATCH - 1 do\n"
            "    local s = (n * BATCH + k) % #refs + 1\n"
            '    parts[#parts + 1] = string.format(\'{"eventId":"w%d-%d-%d-%d",'
            '"subjectId":"%s","scenario":"METRO","quantity":"0.1",'
            f'"occurredAt":"{at}"}}\', RUN, tid, counter, k, refs[s])\n'
            "  end\n"
            "  local body = '{\"records\":[' .. table.concat(parts, ',') .. ']}'\n"
            "  local headers = {['Content-Type'] = 'application/json',"
            f" ['Authorization'] = 'Bearer {world.platform_token}'}}\n"
            f"  return wrk.format(nil, {_lua(path)}, headers, body)\n"
            "end\n"
        )
    raise ValueError(workload)


@dataclass
class Measured:
    rps: float  # wrk's requests per second (answered, whatever the answer)
    p50: float
    p99: float
    ok: int
    failed: int
    sample: str


def run_wrk(url: str, lua: str, duration: int, connections: int) -> Measured:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(lua)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                file.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(label: str) -> float:
        found = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        return float(found.group(1)) * units[found.group(2)] if found else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    counted = re.search(r"BENCH ok=(\d+) bad=(\d+)", out)
    assert counted, out
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    socket_errors = sum(int(g) for g in sockets.groups()) if sockets else 0
    sample = re.search(r"BENCH-SAMPLE (.*)", out)
    return Measured(
        rps=float(rps.group(1)) if rps else 0.0,
        p50=percentile("50"),
        p99=percentile("99"),
        ok=int(counted.group(1)),
        failed=int(counted.group(2)) + socket_errors,
        sample=sample.group(1)[:300] if sample else "",
    )


# --- the workloads -----------------------------------------------------------------------------

# path on the app, path on the bare app, rows counting operations done (app, bare), what is counted
WORKLOADS: dict[str, tuple[str, str, str, str, str]] = {
    "redemption": (
        "/graphql",
        "/redeem",
        "SELECT count(*) FROM reward_voucher WHERE created_at >= $1 AND created_at < $2",
        "SELECT count(*) FROM bench_voucher WHERE created_at >= $1 AND created_at < $2",
        "redemptions",
    ),
    "purchase": (
        "/graphql",
        "/purchase",
        "SELECT count(*) FROM credit_order WHERE currency = 'POINTS'"
        " AND created_at >= $1 AND created_at < $2",
        "SELECT count(*) FROM bench_order WHERE created_at >= $1 AND created_at < $2",
        "purchases",
    ),
    "retirement": (
        "/graphql",
        "/retire",
        "SELECT count(*) FROM credit_retirement WHERE created_at >= $1 AND created_at < $2",
        "SELECT count(*) FROM bench_retirement WHERE created_at >= $1 AND created_at < $2",
        "retirements",
    ),
    "login": (
        "/graphql",
        "/login",
        "SELECT count(*) FROM session WHERE created_at >= $1 AND created_at < $2",
        "SELECT count(*) FROM session WHERE created_at >= $1 AND created_at < $2",
        "logins",
    ),
    "ingestion": (
        "/platform/v1/records",
        "/records",
        "SELECT count(*) FROM behaviour_record WHERE received_at >= $1 AND received_at < $2",
        "SELECT count(*) FROM bench_raw_record WHERE created_at >= $1 AND created_at < $2",
        "records",
    ),
}

RAW = {
    "redemption": "one transaction: the wallet's conditional decrement, the hot offer row's"
    " conditional stock decrement, the voucher's insert under a unique key",
    "purchase": "one transaction: the pool listing's conditional decrement, the wallet's"
    " conditional decrement, the order's insert under a unique key",
    "retirement": "one transaction: the block's conditional decrement, the retirement's insert"
    " under a unique key",
    "login": "the same Redis code check, then one transaction: the person's update, a session"
    " and a refresh token inserted; an HS256 token signed",
    "ingestion": "bare crediting of the batch: one INSERT ... ON CONFLICT of the records, one"
    " aggregated wallet update (bench.ingestion's raw limit)",
}

SERVICE = {
    "redemption": "redeemOffer of one hot offer (10 points), callers spread over the citizens",
    "purchase": "buyCreditsWithPoints, 1 kg of the one points pool (1,000 points)",
    "retirement": "retireCredits, 1 kg of the caller's own block",
    "login": "logIn of a returning citizen with a valid code (one code per request)",
    "ingestion": "POST /platform/v1/records, each connection a sender",
}


async def count(pg_url: str, sql: str, *args: Any) -> int:
    connection = await asyncpg.connect(pg_url)
    try:
        return int(await connection.fetchval(sql, *args))
    finally:
        await connection.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settled(pg_url: str, sql: str, since: datetime, pid: int) -> None:
    """Wait until the operations still in flight when wrk stopped are written (or failed): the
    server's worker idle and the count unchanged for half a second (at most 30 s)."""
    far = since + timedelta(days=1)
    last, cpu = -1, _cpu_seconds(pid)
    for _ in range(60):
        await asyncio.sleep(0.5)
        now, used = await count(pg_url, sql, since, far), _cpu_seconds(pid)
        if now == last and used - cpu < 0.05:
            return
        last, cpu = now, used


def verify_ledger(pg_url: str) -> list[str]:
    from backend import verify
    from backend.kit import db
    from backend.settings import load_settings

    async def check() -> list[str]:
        await db.init_db(load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url}))
        try:
            return await verify.verify_all()
        finally:
            await db.close_db()

    return asyncio.run(check())


INGESTION_SECONDS = 15


def timed_for(workload: str, duration: int) -> int:
    """Seconds of a timed run: at 256 senders a bulk batch takes seconds, so a short run would
    count the backlog of the warm-up rather than a steady state."""
    return max(duration, INGESTION_SECONDS) if workload == "ingestion" else duration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="records per ingestion request")
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        help="then grow the ledger to these many postings and run each write again (64 connections)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    connections = [int(c) for c in args.connections.split(",")]
    workloads = [w.strip() for w in args.workloads.split(",")]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from bench.reads import grow, peak_rss_mb

    pg_url = asyncio.run(make_database())
    lines: list[str] = []
    try:
        started = time.perf_counter()
        world = asyncio.run(seed(pg_url, args.citizens, args.subjects))
        seeded = time.perf_counter() - started
        env = server_env(pg_url)
        app_port, bare_port = free_port(), free_port()
        app = start(
            [*UVICORN, "backend.app:create_app", "--factory", "--port", str(app_port)],
            env,
            app_port,
        )
        bare = start([*UVICORN, "bench.writes:bare_app", "--port", str(bare_port)], env, bare_port)
        app_url, bare_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        results: dict[str, list[tuple[int, Measured, Measured, float, float]]] = {}
        memory: dict[str, float] = {}
        samples: list[str] = []
        run_no = 0

        def measure(name: str, conns: int) -> tuple[int, Measured, Measured, float, float]:
            nonlocal run_no
            path, bare_path, app_sql, bare_sql, _ = WORKLOADS[name]
            measured: dict[str, tuple[Measured, float]] = {}
            for side, url, route, sql, pid in (
                ("bare", bare_url, bare_path, bare_sql, bare.pid),
                ("app", app_url, path, app_sql, app.pid),
            ):
                # a warm-up, then the timed run right after it: the server is still
                # busy with the warm-up's last requests, as in a steady state
                for seconds, timed in ((2, False), (timed_for(name, args.duration), True)):
                    run_no += 1
                    keys = (
                        asyncio.run(seed_logins(pg_url, run_no, seconds * 2500 + 500))
                        if name == "login"
                        else []
                    )
                    lua = script(name, world, run_no, route, args.batch)
                    begun = datetime.now(UTC)
                    result = run_wrk(url, lua, seconds, conns)
                    ended = datetime.now(UTC)
                    asyncio.run(forget(keys))
                    if timed:
                        asyncio.run(settled(pg_url, sql, begun, pid))
                        # operations begun during the run (steady state: as many end)
                        done = asyncio.run(count(pg_url, sql, begun, ended))
                        measured[side] = (result, done / seconds)
                        if result.sample:
                            samples.append(f"{name}, {conns} connections, {side}: {result.sample}")
            (bare_result, bare_ops), (app_result, app_ops) = measured["bare"], measured["app"]
            print(
                f"{name} c={conns}: bare {bare_ops:,.0f}/s, app {app_ops:,.0f}/s", file=sys.stderr
            )
            return (conns, bare_result, app_result, bare_ops, app_ops)

        by_size: list[tuple[int, str, float, float]] = []
        try:
            seeded_postings = asyncio.run(count(pg_url, "SELECT count(*) FROM ledger_posting"))
            for name in workloads:
                rows = results.setdefault(name, [])
                for conns in connections:
                    rows.append(measure(name, conns))
                    if conns == 64:
                        by_size.append((seeded_postings, name, rows[-1][3], rows[-1][4]))
                memory[name] = peak_rss_mb(app.pid)
            # verify-ledger's checks on the service's rows, before other people's synthetic
            # rows (which need not balance) are added
            findings = verify_ledger(pg_url)
            # then the ledger grows with other people's rows, and each write runs again
            filled = seeded_postings
            for size in sizes:
                if size <= filled:
                    continue
                asyncio.run(grow(pg_url, filled + 1, size - filled))
                filled = size
                for name in workloads:
                    _, _, _, bare_ops, app_ops = measure(name, 64)
                    by_size.append((size, name, bare_ops, app_ops))
                    memory[name] = max(memory[name], peak_rss_mb(app.pid))
        finally:
            for process in (app, bare):
                process.terminate()
            for process in (app, bare):
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        stock_left = asyncio.run(count(pg_url, "SELECT stock_left FROM reward_offer"))
        vouchers = asyncio.run(count(pg_url, "SELECT count(*) FROM reward_voucher"))
    finally:
        asyncio.run(drop_database(pg_url))
    lines += [
        f"### Writes by connections (wrk -t{THREADS}, one uvicorn worker each, {args.duration} s"
        f" a run; {args.citizens:,} citizens, {args.subjects:,} subjects, set up in"
        f" {seeded:.0f} s)",
        "",
        "Operations per second are rows written in the database for operations begun during the"
        " run, divided by its duration; failed: answers that are not the success type (GraphQL or typed errors),"
        " not 200, or not answered in 10 s.",
    ]
    for name, rows in results.items():
        unit = WORKLOADS[name][4]
        batch = (
            f", batches of {args.batch}, {timed_for(name, args.duration)} s a run"
            if name == "ingestion"
            else ""
        )
        lines += [
            "",
            f"#### {name}: {SERVICE[name]}{batch}",
            "",
            f"Raw limit: {RAW[name]}.",
            "",
            f"| connections | raw {unit}/s | service {unit}/s | ratio | p50 ms (raw / service)"
            " | p99 ms (raw / service) | failed (raw / service) |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {c} | {bo:,.0f} | {ao:,.0f} | {ao / bo if bo else 0:.2f}x"
            f" | {b.p50:.1f} / {a.p50:.1f} | {b.p99:.1f} / {a.p99:.1f} | {b.failed} / {a.failed} |"
            for c, b, a, bo, ao in rows
        ]
        lines += [
            "",
            f"Peak resident memory of the app's worker (VmHWM) after it: {memory[name]:.0f} MB.",
        ]
    if by_size:
        sizes_seen = sorted({size for size, *_ in by_size})
        lines += [
            "",
            "#### Each write as the ledger grows (64 connections; other people's postings, half"
            " as many transactions and lots, as bench.reads adds them)",
            "",
            "| write | "
            + " | ".join(f"{size:,} postings: service/s (raw/s)" for size in sizes_seen)
            + " |",
            "|---|" + "---:|" * len(sizes_seen),
        ]
        for name in results:
            cells = {size: (b, a) for size, n, b, a in by_size if n == name}
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{cells[size][1]:,.0f} ({cells[size][0]:,.0f})" if size in cells else ""
                    for size in sizes_seen
                )
                + " |"
            )
    lines += [
        "",
        f"verify-ledger's checks after the connection sweep, before the ledger grew: {len(findings)} findings"
        + (": " + "; ".join(findings[:5]) if findings else " (all hold)")
        + ".",
    ]
    if "redemption" in results:
        lines[-1] += (
            f" The hot offer: {stock_left:,} left + {vouchers:,} vouchers"
            f" = {stock_left + vouchers:,} (its stock was {world.stock:,})."
        )
    if samples:
        lines += ["", "First failed answer of each run that had one:", ""]
        lines += [f"- {s}" for s in samples]
    publish("writes", "\n".join(lines) + "\n")
    return 0


async def make_database() -> str:
    """The throwaway database of this bench (its own name, dropped after the run)."""
    from bench.run import PG_ADMIN

    name = f"tph_bench_writes_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    sys.exit(main())
