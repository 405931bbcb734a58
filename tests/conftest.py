"""The test harness: both lanes of DESIGN.md, one event loop for the session.

TPH_TEST_LANE=postgres (default): a throwaway PostgreSQL database built through the migrations, and
real Redis (a dedicated database index, flushed per test). TPH_TEST_LANE=sqlite: a throwaway SQLite
file and the in-process Redis stand-in; tests marked `postgres_only` are skipped there, and
`sqlite_only` ones in the PostgreSQL lane.
"""

from __future__ import annotations

import os

os.environ["TPH_ENV"] = "test"
os.environ.pop("TPH_CRASH_AT", None)

import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tortoise import Tortoise

from backend.app import create_app
from backend.kit import db
from backend.kit.redis import close_redis, get_redis, init_redis
from backend.settings import ROOT, Settings, get_settings, load_settings

LANE = os.environ.get("TPH_TEST_LANE", "postgres")
PG_ADMIN_URL = os.environ.get("TPH_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

if LANE not in ("postgres", "sqlite"):
    raise RuntimeError(f"TPH_TEST_LANE must be postgres or sqlite, got {LANE!r}")

get_settings.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other, reason = (
        ("sqlite_only", "a path of the SQLite lane only (runs there)")
        if LANE == "postgres"
        else ("postgres_only", "needs PostgreSQL (runs in the postgres lane)")
    )
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if other in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"tanpuhui test lane: {LANE}"


async def _create_pg_database() -> str:
    name = f"tph_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.exit(
            f"PostgreSQL lane cannot run: {PG_ADMIN_URL} unreachable ({exc}). "
            "Start it with infra/local/services.sh, or run TPH_TEST_LANE=sqlite.",
            returncode=3,
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    """Settings of the test lane, pointing at a throwaway database migrated from scratch."""
    tmp = Path(tempfile.mkdtemp(prefix="tph-test-"))
    env: dict[str, str] = {"TPH_ENV": "test", "TPH_LOG_JSON": "1", "TPH_RUN_JOBS_IN_PROCESS": "0"}
    if LANE == "postgres":
        env["DATABASE_URL"] = await _create_pg_database()
        env["REDIS_URL"] = REDIS_TEST_URL
    else:
        env["DATABASE_URL"] = f"sqlite://{tmp / 'test.sqlite3'}"
    lane_settings = load_settings(env)
    try:
        await db.migrate(lane_settings)
        await Tortoise.close_connections()
        await db.init_db(lane_settings)
        redis = await init_redis(lane_settings)
        try:
            await redis.ping()
        except Exception as exc:
            pytest.exit(
                f"Redis lane cannot run: {REDIS_TEST_URL} unreachable ({exc})", returncode=3
            )
        yield lane_settings
    finally:
        await close_redis()
        await db.close_db()
        if LANE == "postgres":
            await _drop_pg_database(env["DATABASE_URL"])
        shutil.rmtree(tmp, ignore_errors=True)


def _table_names() -> list[str]:
    return sorted(model._meta.db_table for app in Tortoise.apps.values() for model in app.values())


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test starts with empty tables and an empty Redis database."""
    if "settings" not in request.fixturenames:
        yield
        return
    yield
    # The system ledger accounts are made by a migration: they stay, everything else goes.
    tables = [t for t in _table_names() if t != "ledger_account"]
    keep_system = "DELETE FROM ledger_account WHERE kind IN ('PERSON', 'HOUSEHOLD', 'BUSINESS');"
    if db.is_postgres():
        await db.conn().execute_script(
            f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE;{keep_system}"
        )
    else:
        deletes = "".join(f"DELETE FROM {table};" for table in tables)
        await db.conn().execute_script(
            f"PRAGMA foreign_keys = OFF;{deletes}{keep_system}PRAGMA foreign_keys = ON;"
        )
    await get_redis().flushdb()


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings, manage_resources=False)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def gql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL document; returns the JSON body (any HTTP status)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = await http.post("/graphql", json=body, headers=headers or {})
    return response.json()


class QueryCounter(logging.Handler):
    """Counts SQL statements sent through Tortoise while active."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "connection pool" in message or message.startswith("Created connection"):
            return
        self.statements.append(message)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_queries() -> Iterator[QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


@pytest.fixture
def query_counter() -> Any:
    return count_queries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn process serving the app on a free port."""

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TPH_ENV": "test",
            "DATABASE_URL": settings.database_url,
            "TPH_RUN_JOBS_IN_PROCESS": "0",
            "TPH_DB_POOL_MAX": "4",
            **({"REDIS_URL": settings.redis_url} if settings.redis_url else {}),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="tph-live-", suffix=".log", delete=False)

    def start(self, timeout: float = 20.0) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


@pytest.fixture
def live_server_factory(settings: Settings) -> Iterator[Any]:
    """Start real uvicorn processes against the test database; always stopped afterwards."""
    servers: list[LiveServer] = []

    def start(extra_env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(settings, extra_env)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
            Path(server.log.name).unlink(missing_ok=True)


@pytest.fixture
def production_settings(settings: Settings) -> Settings:
    """The test lane's settings, hardened as production is (without production's key checks)."""
    return replace(
        settings,
        trusted_documents_only=True,
        introspection=False,
        graphiql=False,
    )


def make_context(settings: Settings, actor: Any = None, language: str = "en") -> Any:
    """A resolver context for executing the schema directly, as `actor`."""
    from starlette.requests import Request

    from backend.api.context import Context
    from backend.kit.actor import ANONYMOUS

    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    return Context(
        request=request,
        response=None,
        settings=settings,
        language=language,
        request_id=None,
        actor=actor or ANONYMOUS,
    )


@pytest.fixture
def execute(settings: Settings) -> Any:
    """Run a document against the real schema in process, as a given actor."""
    from backend.api.schema import build_schema

    schema = build_schema(settings)

    async def run(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        actor: Any = None,
        language: str = "en",
    ) -> Any:
        return await schema.execute(
            query,
            variable_values=variables,
            context_value=make_context(settings, actor, language),
        )

    return run


async def assert_constant_queries(run: Any, sizes: tuple[int, ...] = (2, 20)) -> int:
    """Fail when `await run(size)` sends more SQL statements for a larger page (an N+1).

    Returns the statement count, the same for every size.
    """
    counts = []
    for size in sizes:
        with count_queries() as counter:
            await run(size)
        counts.append(counter.count)
    assert len(set(counts)) == 1, (
        f"statements grow with the page size: {dict(zip(sizes, counts, strict=True))}"
    )
    return counts[0]


class CapturingSms:
    """Stands in for the SMS sender: keeps every message for the test to read."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def send(self, *, phone: str, text: str) -> None:
        self.messages.append((phone, text))

    def last_code(self, phone: str) -> str:
        import re

        for number, text in reversed(self.messages):
            if number == phone:
                match = re.search(r"(\d{6})", text)
                assert match, text
                return match.group(1)
        raise AssertionError(f"no SMS to {phone}")


@pytest.fixture
def sms() -> Iterator[CapturingSms]:
    from backend.accounts import sms as sms_module

    sender = CapturingSms()
    sms_module.set_sender(sender)
    try:
        yield sender
    finally:
        sms_module.set_sender(None)


LOG_IN = """
mutation ($input: LogInInput!) {
  logIn(input: $input) {
    __typename
    ... on SessionTokens { accessToken refreshToken accessTokenExpiresAt }
    ... on Error { code message }
  }
}
"""
REQUEST_CODE = """
mutation ($input: RequestLoginCodeInput!) {
  requestLoginCode(input: $input) {
    __typename
    ... on LoginCodeSent { expiresAt resendAfterSeconds }
    ... on RateLimitedError { retryAfterSeconds }
    ... on Error { code message }
  }
}
"""
SELECT = """
mutation ($input: SelectOrganisationInput!) {
  selectOrganisation(input: $input) {
    __typename
    ... on SessionTokens { accessToken refreshToken actingFor }
    ... on Error { code message }
  }
}
"""


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def log_in(http: httpx.AsyncClient, sms: CapturingSms, phone: str) -> dict[str, Any]:
    """Log a person in through the API; returns the SessionTokens."""
    sent = await gql(http, REQUEST_CODE, {"input": {"phone": phone}})
    assert sent["data"]["requestLoginCode"]["__typename"] == "LoginCodeSent", sent
    code = sms.last_code(phone)
    body = await gql(http, LOG_IN, {"input": {"phone": phone, "code": code}})
    tokens = body["data"]["logIn"]
    assert tokens["__typename"] == "SessionTokens", body
    return tokens


async def make_admin(http: httpx.AsyncClient, sms: CapturingSms, phone: str) -> dict[str, Any]:
    """The authority's administrator, logged in and acting for the authority (TOTP passed)."""
    import pyotp

    from backend.accounts.organisations import create_admin

    _, uri = await create_admin(phone=phone)
    secret = pyotp.parse_uri(uri).secret
    tokens = await log_in(http, sms, phone)
    me = await gql(
        http,
        "{ me { memberships { organisation { id kind } } } }",
        headers=bearer(tokens["accessToken"]),
    )
    authority = me["data"]["me"]["memberships"][0]["organisation"]["id"]
    from backend.kit import clock

    code = pyotp.TOTP(secret).at(clock.now())
    selected = await gql(
        http,
        SELECT,
        {"input": {"organisationId": authority, "totpCode": code}},
        headers=bearer(tokens["accessToken"]),
    )
    assert selected["data"]["selectOrganisation"]["__typename"] == "SessionTokens", selected
    return {**selected["data"]["selectOrganisation"], "secret": secret, "authorityId": authority}


async def live_log_in(server: LiveServer, outbox: Path, phone: str) -> str:
    """Log in on a live server whose SMS outbox is `outbox`; returns the access token."""
    import json

    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        sent = f'mutation {{ requestLoginCode(input: {{phone: "{phone}"}}) {{ __typename }} }}'
        await http.post("/graphql", json={"query": sent})
        outbox_text = outbox.read_text()  # noqa: ASYNC240 - a small test file
        code = json.loads(outbox_text.splitlines()[-1])["text"].split("验证码为 ")[1][:6]
        logged = await http.post(
            "/graphql",
            json={
                "query": f'mutation {{ logIn(input: {{phone: "{phone}", code: "{code}"}})'
                " { ... on SessionTokens { accessToken } } }"
            },
        )
        return str(logged.json()["data"]["logIn"]["accessToken"])


@contextlib.asynccontextmanager
async def subscribed(server: LiveServer, token: str, query: str, id: str = "s") -> Any:
    """A graphql-transport-ws connection to a live server, signed in with `token` and
    acknowledged, with `query` subscribed under `id`; yields the websocket."""
    import json

    import websockets

    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": id, "type": "subscribe", "payload": {"query": query}}))
        yield ws
