"""Fill tables with many rows fast, for plans and per-request costs on realistically sized tables.

Rows come from `generate_series` in one INSERT per table, with the columns that matter spread as
given and every other NOT NULL column a filler of its type. Triggers and foreign keys are off for
the insert (`session_replication_role = replica`, as a restore does): the rows are not the service's
(postings need not balance), only their number and spread matter. Used by `bench.reads` and by
`tests/test_explain.py`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

# the n-th of `count` owners as a (valid, version-4) UUID, in SQL over the series `g`
OWNER_SQL = "('00000000-0000-4000-8000-' || lpad((g % {count})::text, 12, '0'))::uuid"


def owner(n: int) -> str:
    """The UUID OWNER_SQL gives the n-th owner."""
    return f"00000000-0000-4000-8000-{n:012d}"


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


async def fill(
    connection: asyncpg.Connection, table: str, rows: int, spread: dict[str, str], start: int = 1
) -> None:
    """Insert `rows` rows into `table`, the series `g` running from `start`; then ANALYZE."""
    columns = await connection.fetch(
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
    async with connection.transaction():
        await connection.execute("SET LOCAL session_replication_role = replica")
        await connection.execute(
            f"INSERT INTO {table} ({', '.join(names)})"
            f" SELECT {', '.join(values)} FROM generate_series({start}, {start + rows - 1}) AS g"
        )
    await connection.execute(f"ANALYZE {table}")
