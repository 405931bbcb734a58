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
from bench.fill import OWNER_SQL, owner
from bench.fill import fill as bench_fill
from tests.conftest import count_queries

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

ROWS = 200_000
OWNERS = 50_000  # distinct people among the rows


# table: the columns whose spread matters to the hot queries (others get filler values)
BIG_TABLES: dict[str, dict[str, str]] = {
    "ledger_account": {"owner_id": OWNER_SQL.format(count=OWNERS * 4), "kind": "'PERSON'"},
    "ledger_transaction": {
        "owner_id": OWNER_SQL.format(count=OWNERS),
        "kind": "'EARN'",
        "created_at": "now() - (g % 100000) * interval '1 minute'",
    },
    "ledger_posting": {
        "owner_id": OWNER_SQL.format(count=OWNERS),
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
        "owner_id": OWNER_SQL.format(count=OWNERS),
        "offer_id": "g % 1000 + 1",
        "status": "'CONFIRMED'",
        "created_at": "now() - (g % 100000) * interval '1 minute'",
    },
    "credit_block": {
        "holder_id": OWNER_SQL.format(count=OWNERS),
        "status": "'HELD'",
        "serial_start": "g * 10",
        "serial_end": "g * 10 + 9",
    },
    "audit_event": {
        "action": "(ARRAY['market.paid', 'credits.retired', 'voucher.confirmed', 'person.login'])[g % 4 + 1]",
        "occurred_at": "now() - (g % 100000) * interval '1 minute'",
    },
}


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


async def fill(database_url: str, table: str, spread: dict[str, str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        await bench_fill(connection, table, ROWS, {**_enum_values(table), **spread})
    finally:
        await connection.close()


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
        await fill(settings.database_url, table, spread)
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
