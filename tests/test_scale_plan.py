"""The schema keeps the Citus plan of infra/SCALE.md possible (issue 13): every table is placed,
a distributed table carries its distribution column (NOT NULL), and every unique key of a
distributed table contains that column, except the surrogate `id`, `public_id` (rewritten at the
move) and the keys SCALE.md lists with how each is kept."""

import re

import pytest

from backend.kit import db
from backend.settings import ROOT

pytestmark = pytest.mark.postgres_only

PLAN = (ROOT / "infra" / "SCALE.md").read_text()


def _rows(header: str) -> list[list[str]]:
    """The rows of the markdown table under the HTML comment naming its header."""
    after = PLAN.split(f"<!-- The test reads this table{header}", 1)[1]
    rows = []
    for line in after.strip().splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if set(cells[0]) <= {"-"} or cells[0] == "table":
            continue
        rows.append(cells)
    return rows


PLACEMENT = {row[0]: (row[1], row[2]) for row in _rows(": | table | placement | column | -->")}
KEPT_ELSEWHERE = {
    (row[0], row[1]) for row in _rows(" too: | table | unique key | how it is kept | -->")
}


async def test_every_table_is_placed_and_unique_keys_follow_the_distribution(settings):
    tables = {
        r["table_name"]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    }
    assert tables == set(PLACEMENT), {
        "not placed in SCALE.md": sorted(tables - set(PLACEMENT)),
        "placed but gone": sorted(set(PLACEMENT) - tables),
    }
    assert {placement for placement, _ in PLACEMENT.values()} <= {
        "distributed",
        "reference",
        "coordinator",
    }
    columns = {
        (r["table_name"], r["column_name"]): r["is_nullable"]
        for r in await db.fetch(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
    }
    unique_keys = await db.fetch(
        "SELECT t.relname AS table_name, array_agg(a.attname ORDER BY k.ord) AS columns"
        " FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
        " WHERE n.nspname = 'public' AND ix.indisunique"
        " GROUP BY t.relname, ix.indexrelid"
    )
    problems = []
    for table, (placement, column) in PLACEMENT.items():
        if placement != "distributed":
            continue
        if columns.get((table, column)) != "NO":
            problems.append(f"{table}.{column}: missing or nullable")
    for key in unique_keys:
        table, key_columns = key["table_name"], list(key["columns"])
        placement, column = PLACEMENT[table]
        if placement != "distributed" or column in key_columns:
            continue
        if key_columns in (["id"], ["public_id"]):
            continue  # rewritten at the move (SCALE.md section 4)
        if (table, ", ".join(key_columns)) not in KEPT_ELSEWHERE:
            problems.append(f"{table} ({', '.join(key_columns)}): a unique key across shards")
    assert problems == []
    # every key SCALE.md says is kept elsewhere still exists (the plan follows the schema)
    existing = {(k["table_name"], ", ".join(k["columns"])) for k in unique_keys}
    assert KEPT_ELSEWHERE <= existing, KEPT_ELSEWHERE - existing


def test_the_plan_names_only_real_placements():
    assert len(PLACEMENT) > 40
    assert all(re.fullmatch(r"[a-z_]+", t) for t in PLACEMENT)
