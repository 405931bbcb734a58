"""The hot queries use their indexes on realistically sized tables (issue 13): the big tables are
filled with ROWS rows each (owners, holders and actions spread as in use), the service's own
functions run, and every statement they sent is EXPLAINed with its own parameters: none reads a
big table by a sequential scan."""

import datetime
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from backend.accounts.subjects import Subject, SubjectKind
from backend.kit import db
from backend.kit.actor import Actor
from tests.conftest import count_queries

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

ROWS = 200_000
OWNERS = 50_000  # distinct people among the rows


def owner(n: int) -> str:
    """The n-th of the owners the filler spreads rows over (a valid version-4 UUID)."""
    return f"00000000-0000-4000-8000-{n:012d}"


OWNER_SQL = "('00000000-0000-4000-8000-' || lpad((g % {n})::text, 12, '0'))::uuid"
# table: the columns whose spread matters to the hot queries (others get filler values)
BIG_TABLES: dict[str, dict[str, str]] = {
    "ledger_account": {"owner_id": OWNER_SQL.format(n=OWNERS * 4), "kind": "'PERSON'"},
    "ledger_transaction": {
        "owner_id": OWNER_SQL.format(n=OWNERS),
        "kind": "'EARN'",
        "created_at": "now() - (g % 100000) * interval '1 minute'",
    },
    "ledger_posting": {
        "owner_id": OWNER_SQL.format(n=OWNERS),
        "transaction_id": "g",
        "account_id": "g % 1000 + 1",
    },
    "ledger_lot": {
        "account_id": "g % (4 * 50000) + 1",
        "expires_at": "now() + (g % 700) * interval '1 day'",
        "amount": "10",
        "remaining": "10",
    },
    "reward_offer": {
        "status": "CASE WHEN g % 10 = 0 THEN 'ACTIVE' ELSE 'ENDED' END",
        "redeem_from": "now() - interval '1 day'",
        "redeem_until": "now() + (g % 20 - 10) * interval '1 day'",
        "created_at": "now() - (g % 100000) * interval '1 minute'",
    },
    "reward_voucher": {
        "owner_id": OWNER_SQL.format(n=OWNERS),
        "offer_id": "g % 1000 + 1",
        "status": "'CONFIRMED'",
        "created_at": "now() - (g % 100000) * interval '1 minute'",
    },
    "credit_block": {
        "holder_id": OWNER_SQL.format(n=OWNERS),
        "status": "'HELD'",
        "serial_start": "g * 10",
        "serial_end": "g * 10 + 9",
    },
    "audit_event": {
        "action": "(ARRAY['market.paid', 'credits.retired', 'voucher.confirmed', 'person.login'])[g % 4 + 1]",
        "occurred_at": "now() - (g % 100000) * interval '1 minute'",
    },
}


def _filler(column: dict[str, Any]) -> str:
    kind, size = column["data_type"], column["character_maximum_length"] or 32
    return {
        "uuid": "gen_random_uuid()",
        "bigint": "g % 1000",
        "integer": "g % 1000",
        "smallint": "g % 100",
        "character varying": f"left(md5(g::text), {min(size, 32)})",
        "text": "md5(g::text)",
        "timestamp with time zone": "now() - (g % 1000) * interval '1 hour'",
        "date": "current_date",
        "boolean": "false",
        "numeric": "1",
        "jsonb": "'{}'::jsonb",
    }[kind]


def _enum_values(table: str) -> dict[str, str]:
    """A valid value for each enum column of the table's model (the ORM reads them back)."""
    from tortoise import Tortoise

    for model in Tortoise.apps["tanpuhui"].values():
        if model._meta.db_table == table:
            return {
                field.source_field or name: f"'{next(iter(field.enum_type)).value}'"
                for name, field in model._meta.fields_map.items()
                if getattr(field, "enum_type", None) is not None
            }
    raise LookupError(table)


async def fill(table: str, spread: dict[str, str]) -> None:
    spread = {**_enum_values(table), **spread}
    columns = await db.fetch(
        "SELECT column_name, data_type, is_nullable, column_default, character_maximum_length"
        " FROM information_schema.columns WHERE table_name = $1 AND table_schema = 'public'",
        table,
    )
    names, values = [], []
    for column in columns:
        name = column["column_name"]
        if name in spread:
            names.append(name)
            values.append(spread[name])
        elif column["is_nullable"] == "NO" and column["column_default"] is None:
            names.append(name)
            values.append(_filler(dict(column)))
    async with db.transaction():
        # the filler writes rows no service would (no balanced postings, no parents): without
        # the triggers and foreign keys, as a restore would
        await db.execute("SET LOCAL session_replication_role = replica")
        await db.execute(
            f"INSERT INTO {table} ({', '.join(names)})"
            f" SELECT {', '.join(values)} FROM generate_series(1, {ROWS}) AS g"
        )
    await db.execute(f"ANALYZE {table}")


def _statement(logged: str) -> tuple[str, list[Any]]:
    """Tortoise logs `<sql>: <parameters>`."""
    sql, _, parameters = logged.rpartition(": [")
    if not sql:
        return logged, []
    namespace = {"UUID": uuid.UUID, "datetime": datetime, "Decimal": Decimal}
    return sql, eval("[" + parameters, namespace)  # our own log lines


def _sequential_scans(plan: dict[str, Any]) -> list[str]:
    found = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    for child in plan.get("Plans", []):
        found += _sequential_scans(child)
    return found


async def test_hot_queries_use_their_indexes_on_big_tables(settings):
    from backend.audit import service as audit
    from backend.credits import registry
    from backend.ledger import queries
    from backend.rewards import service as rewards

    for table, spread in BIG_TABLES.items():
        await fill(table, spread)
    someone = Subject(SubjectKind.PERSON, owner(7))
    authority = Actor(
        kind="authority",
        id=str(uuid.uuid4()),
        organisation_id=str(uuid.uuid4()),
        roles=frozenset({"admin"}),
    )
    citizen = Actor(kind="citizen", id=owner(7))
    hot = {
        "wallet": lambda: queries.summary(someone),
        "wallet history page": lambda: queries.history(someone, first=20, after=None),
        "offer catalogue page": lambda: rewards.catalogue(
            category=None, merchant_id=None, max_price=None, first=20, after=None
        ),
        "my vouchers": lambda: rewards.my_vouchers(subjects=[owner(7)]),
        "credit holdings": lambda: registry.holdings(citizen),
        "audit log by action": lambda: audit.list_events(
            actor=authority, object_type=None, object_id=None, first=20, after=None, action="market"
        ),
    }
    problems = []
    for name, call in hot.items():
        with count_queries() as sent:
            await call()
        assert sent.statements, name
        for logged in sent.statements:
            sql, parameters = _statement(logged)
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            [row] = await db.fetch(f"EXPLAIN (FORMAT JSON) {sql}", *parameters)
            explained = row["QUERY PLAN"]
            plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
            scans = [t for t in _sequential_scans(plan) if t in BIG_TABLES]
            if scans:
                problems.append(f"{name}: sequential scan of {scans} in {sql[:200]}")
    assert problems == []
