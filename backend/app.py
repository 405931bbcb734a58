"""The Starlette application: /graphql (HTTP and WebSocket), /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import jobs
from backend.accounts.oauth import token_endpoint
from backend.accounts.privacy_api import ROUTES as PRIVACY_ROUTES
from backend.api.schema import build_schema
from backend.api.trusted import TrustedDocuments
from backend.api.view import GraphQLView, error_response
from backend.behaviour.http import records_endpoint
from backend.certificates.http import ROUTES as CERTIFICATE_ROUTES
from backend.kit import db
from backend.kit.logging import (
    acceptable_request_id,
    configure_logging,
    reset_request_id,
    set_request_id,
)
from backend.kit.metrics import HTTP_REQUESTS, REGISTRY
from backend.kit.pubsub import close_broker
from backend.kit.redis import close_redis, get_redis, init_redis
from backend.kit.validation import NUL_MESSAGE
from backend.market.http import ROUTES as MARKET_ROUTES
from backend.rewards.http import settlement_csv
from backend.settings import Settings, SettingsError, get_settings

log = logging.getLogger("backend.access")


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case), without building a dict of them all."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


class RequestContextMiddleware:
    """Request id (reused from X-Request-ID when plain), access log, HTTP metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = given if acceptable_request_id(given) else uuid.uuid4().hex
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                route = scope.get("path", "") if scope.get("path") in KNOWN_PATHS else "other"
                counter = _REQUEST_COUNTERS.get((route, status))
                if counter is None:
                    counter = _REQUEST_COUNTERS[route, status] = HTTP_REQUESTS.labels(
                        route, str(status)
                    )
                counter.inc()
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "%s %s",
                        scope.get("method"),
                        route,
                        extra={
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        },
                    )
            reset_request_id(token)


# HTTP_REQUESTS' child per (route, status), looked up once: KNOWN_PATHS and "other" times the
# status codes sent, a bounded set.
_REQUEST_COUNTERS: dict[tuple[str, int], Any] = {}


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413, before anything reads them whole, and paths
    or query strings holding a NUL with 400 (bodies are checked where they are parsed)."""

    def __init__(self, app: ASGIApp, max_bytes: int, bulk: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max = max_bytes
        self.bulk = bulk or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or any(
            nul in scope.get("query_string", b"") for nul in (b"%00", b"\x00")
        ):
            await error_response(400, NUL_MESSAGE, "BAD_REQUEST")(scope, receive, send)
            return
        limit = self.bulk.get(scope.get("path", ""), self.default_max)
        declared = _header(scope, b"content-length")
        started = False
        app_receive, app_send = receive, send
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                await error_response(400, "Bad Content-Length.", "BAD_REQUEST")(
                    scope, receive, send
                )
                return
            if too_large:
                await self._refuse(scope, receive, send, limit)
                return
            # The server hands the app no more than the declared length as this request's body.
        else:
            received = 0

            async def counting_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge()
                return message

            async def tracking_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            app_receive, app_send = counting_receive, tracking_send
        try:
            await self.app(scope, app_receive, app_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)
        except ClientDisconnect:
            # The client went away before its body arrived (a timeout, a closed app): nobody is
            # left to answer, and nothing was done for the request.
            log.info("client disconnected before its request body arrived")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, f"The body is over {limit} bytes.", "PAYLOAD_TOO_LARGE")
        await response(scope, receive, send)


KNOWN_PATHS = frozenset(
    {
        "/graphql",
        "/oauth/token",
        "/platform/v1/records",
        "/merchant/v1/settlement.csv",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)
# Larger bodies where batches of 1,000 records are expected.
BULK_BODY_BYTES = {"/platform/v1/records": 2 * 1024 * 1024}


class App(Starlette):
    """The routes, behind the request-context and body-limit middlewares; POST /graphql goes from
    them straight to the GraphQL view. Starlette's route table, exception middlewares and request
    wrappers cost that request more than the wallet read it serves; every other request still
    passes through them."""

    def __init__(self, graphql: GraphQLView, *, max_body_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql
        self.max_body_bytes = max_body_bytes

    def build_middleware_stack(self) -> ASGIApp:
        routes = super().build_middleware_stack()
        graphql = self.graphql

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] == "http"
                and scope["path"] == "/graphql"
                and scope["method"] == "POST"
            ):
                await graphql.serve_post(scope, receive, send)
            else:
                await routes(scope, receive, send)

        return RequestContextMiddleware(
            BodyLimitMiddleware(dispatch, max_bytes=self.max_body_bytes, bulk=BULK_BODY_BYTES)
        )


async def healthz(request: Request) -> Response:
    """Alive: the process answers. No dependencies are checked here."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database and Redis answer within a second each."""
    checks: dict[str, str] = {}
    for name, probe in (("database", _probe_database), ("redis", _probe_redis)):
        try:
            await asyncio.wait_for(probe(), timeout=1.0)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _probe_database() -> None:
    await db.conn().execute_query("SELECT 1")


async def _probe_redis() -> None:
    await get_redis().ping()


async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _run_jobs_forever(interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await jobs.run_due()
        except Exception:
            log.exception("in-process jobs failed")


def create_app(
    settings: Settings | None = None,
    *,
    schema: Any = None,
    documents: TrustedDocuments | None = None,
    manage_resources: bool = True,
) -> Starlette:
    """The ASGI app. `manage_resources=False` leaves the database and Redis to the caller (tests)."""
    settings = settings or get_settings()
    settings.check_production()
    if documents is None:
        documents = TrustedDocuments.from_manifest(settings.manifest_path)
        if settings.is_production and not len(documents):
            # Every end-user request would be refused: fail at start, not at the first request.
            raise SettingsError(
                f"no trusted documents at {settings.manifest_path} (TPH_MANIFEST_PATH)"
            )
    view = GraphQLView(
        schema=schema or build_schema(settings), settings=settings, documents=documents
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_resources:
            yield
            return
        configure_logging(settings.log_level, json_format=settings.log_json)
        await db.init_db(settings)
        await init_redis(settings)
        # What start-up made (the schema, the models, the compiled caches' owners) lives as long
        # as the process: out of the collector's sight, a full collection stops scanning it.
        gc.collect()
        gc.freeze()
        runner = None
        if settings.run_jobs_in_process:
            runner = asyncio.create_task(_run_jobs_forever(settings.jobs_interval_seconds))
        try:
            yield
        finally:
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            await close_broker()
            await close_redis()
            await db.close_db()

    app = App(
        view,
        max_body_bytes=settings.max_body_bytes,
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/oauth/token", token_endpoint, methods=["POST"]),
            Route("/platform/v1/records", records_endpoint, methods=["POST"]),
            Route("/merchant/v1/settlement.csv", settlement_csv, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *MARKET_ROUTES,
            *CERTIFICATE_ROUTES,
            *PRIVACY_ROUTES,
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
