"""Database plumbing: Tortoise set-up, migrations, transactions, retries and portable raw SQL.

Every service command opens its own `transaction()`; one called from another command's transaction
runs inside it as a savepoint, so both commit together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import decimal
import logging
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.transactions import in_transaction

from backend.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

APP_LABEL = "tanpuhui"
# Every module with Tortoise models; one app, one migrations package.
MODEL_MODULES = [
    "backend.kit.models",
    "backend.audit.models",
    "backend.accounts.models",
    "backend.consent.models",
    "backend.ledger.models",
    "backend.methodology.models",
    "backend.behaviour.models",
    "backend.rewards.models",
    "backend.credits.models",
    "backend.market.models",
    "backend.certificates.models",
    "backend.supervision.models",
]
MIGRATIONS_MODULE = "backend.migrations"

# SQLSTATEs that mean "run it again": serialization failure and deadlock (RELIABILITY.md 8).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def database_url(settings: Settings) -> str:
    """The Tortoise URL: the pool sized explicitly for PostgreSQL, the SQLite folder created."""
    url = settings.database_url
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("minsize", str(settings.db_pool_min))
    query.setdefault("maxsize", str(settings.db_pool_max))
    scheme = "postgres" if parts.scheme in ("postgresql", "asyncpg") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


async def keep_session(connection: Any) -> None:
    """The pool's reset when a connection comes back: nothing beyond asyncpg's own rollback of
    an open transaction. asyncpg's default also runs `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` every time, one more round trip for each statement run outside a
    transaction, to undo session state this service never creates: it takes no advisory lock,
    declares no cursor outside a transaction, does not LISTEN (pub/sub is Redis) and changes no
    setting for a session (tests/kit/test_db.py checks the code for each)."""


def connection_config(settings: Settings) -> str | dict[str, Any]:
    url = database_url(settings)
    if url.startswith("sqlite://"):
        return url
    config = expand_db_url(url)
    config["engine"] = "backend.kit.fair_pool"  # asyncpg's, with waiters served in order
    config["credentials"]["reset"] = keep_session
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings) -> None:
    # Global fallback: request tasks started by the server must see the ORM set up in the lifespan.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    from tortoise.migrations.api import migrate as run_migrations

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    await run_migrations(config=tortoise_config(settings), progress=progress)
    return applied


def conn() -> BaseDBAsyncClient:
    """The connection of the current task: the open transaction's, if there is one."""
    return connections.get("default")


_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = (
    contextvars.ContextVar("after_commit", default=None)
)


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction, or a savepoint inside the caller's transaction.

    Work registered with `after_commit` inside it runs once the outermost transaction has
    committed (never when it rolls back): publishing to Redis, sending messages.
    """
    outermost = _after_commit.get() is None
    token = _after_commit.set([]) if outermost else None
    pending = _after_commit.get()
    assert pending is not None
    mark = len(pending)
    try:
        try:
            async with in_transaction("default") as connection:
                yield connection
        except BaseException:
            del pending[mark:]  # a rolled-back savepoint's work is forgotten
            raise
        if outermost:
            for callback in _after_commit.get() or []:
                try:
                    await callback()
                except Exception:
                    log.exception("after-commit work failed")
    finally:
        if token is not None:
            _after_commit.reset(token)


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` after the current transaction commits (at once when there is none)."""
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit is for work inside a transaction")
    pending.append(callback)


def in_open_transaction() -> bool:
    return isinstance(conn(), TransactionalDBClient)


def dialect() -> str:
    """'postgres' or 'sqlite'."""
    return str(conn().capabilities.dialect)


def is_postgres() -> bool:
    return dialect() == "postgres"


_PLACEHOLDER = re.compile(r"\$(\d+)")


def portable(
    sql: str, values: Sequence[Any], connection: BaseDBAsyncClient | None = None
) -> tuple[str, list[Any]]:
    """Turn `$1`-style SQL into SQLite's `?` form, reordering values to match (for `connection`,
    the current one when not given)."""
    if (connection or conn()).capabilities.dialect == "postgres":
        return sql, list(values)
    order = [int(n) - 1 for n in _PLACEHOLDER.findall(sql)]
    # SQLite keeps UUIDs as text, as Tortoise's UUIDField does there.
    converted = [str(v) if isinstance(v, uuid.UUID | decimal.Decimal) else v for v in values]
    return _PLACEHOLDER.sub("?", sql), [converted[i] for i in order]


async def fetch(sql: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of a `$1`-style query, on the current connection, as dicts."""
    connection = conn()
    query, params = portable(sql, values, connection)
    return await connection.execute_query_dict(query, params)


async def values_matching(
    model: Any,
    columns: tuple[str, ...],
    *,
    equal: dict[str, Any],
    any_of: tuple[str, list[Any]],
) -> list[dict[str, Any]]:
    """`model.filter(**equal, <name>__in=values).values(*columns)` for `any_of = (name, values)`,
    with the list sent as one array parameter on PostgreSQL (`= ANY($n)`): Tortoise writes
    `IN ($1, ..., $1000)`, and building that SQL cost more than running it for a batch of a
    thousand records. One list only: two `= ANY` conditions would match every pair of their
    values, not the pairs meant (join the pairs from `unnest` for that)."""
    name, values = any_of
    if not is_postgres():
        return list(await model.filter(**equal, **{f"{name}__in": values}).values(*columns))
    meta = model._meta
    params: list[Any] = []
    conditions = []
    for column, value in equal.items():
        params.append(meta.fields_map[column].to_db_value(value, None))
        conditions.append(f'"{meta.fields_db_projection[column]}" = ${len(params)}')
    field = meta.fields_map[name]
    params.append([field.to_db_value(value, None) for value in values])
    conditions.append(f'"{meta.fields_db_projection[name]}" = ANY(${len(params)})')
    projection = [(c, meta.fields_db_projection[c], meta.fields_map[c]) for c in columns]
    select = ", ".join(f'"{column}"' for _, column, _ in projection)
    rows = await conn().execute_query_dict(
        f'SELECT {select} FROM "{meta.db_table}" WHERE {" AND ".join(conditions)}', params
    )
    return [
        {column: field.to_python_value(row[db_column]) for column, db_column, field in projection}
        for row in rows
    ]


async def execute(sql: str, *values: Any) -> int:
    """Run a `$1`-style statement; returns the number of rows it touched."""
    query, params = portable(sql, values)
    count, _ = await conn().execute_query(query, params)
    return count


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE anywhere in an exception's chain (Tortoise wraps driver errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            return state
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                state = sqlstate_of(arg)
                if state:
                    return state
        current = current.__cause__ or current.__context__
    return None


def is_retryable(exc: BaseException) -> bool:
    return sqlstate_of(exc) in RETRYABLE_SQLSTATES


async def with_retries(
    work: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.01,
    max_delay: float = 0.3,
) -> T:
    """Run `work` (which opens its own transaction) again on serialization failure or deadlock.

    Bounded, with full jitter; safe because value-moving work is idempotent by key.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2**attempt))  # noqa: S311
            log.info("retrying after %s (attempt %d)", sqlstate_of(exc), attempt)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
