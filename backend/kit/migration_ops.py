"""Migration operations the ORM has no words for: PostgreSQL triggers and constraints.

Where an operation is PostgreSQL-only, the embedded SQLite mode relies on the service never issuing
the refused statement; PostgreSQL, which production runs, enforces it.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations.operations import RunPython


def postgres_only(forward: list[str], backward: list[str]) -> RunPython:
    async def run(statements: list[str], schema_editor: Any) -> None:
        if schema_editor.client.capabilities.dialect != "postgres":
            return
        for sql in statements:
            await schema_editor.client.execute_script(sql)

    async def apply(apps: Any, schema_editor: Any) -> None:
        await run(forward, schema_editor)

    async def revert(apps: Any, schema_editor: Any) -> None:
        await run(backward, schema_editor)

    return RunPython(apply, revert)


def append_only(table: str) -> RunPython:
    """Refuse UPDATE and DELETE on `table` in the database itself (RELIABILITY.md 4)."""
    function = f"{table}_append_only"
    return postgres_only(
        [
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
                    USING ERRCODE = 'restrict_violation';
            END $$;
            """,
            f"""
            CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {function}();
            """,
        ],
        [
            f"DROP TRIGGER IF EXISTS {function} ON {table};",
            f"DROP FUNCTION IF EXISTS {function}();",
        ],
    )
