"""Migration operations the ORM has no words for: PostgreSQL triggers and constraints.

Where an operation is PostgreSQL-only, the embedded SQLite mode relies on the service never issuing
the refused statement; PostgreSQL, which production runs, enforces it.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations.operations import RunPython


def by_dialect(
    *,
    postgres: list[str],
    sqlite: list[str],
    postgres_back: list[str] | None = None,
    sqlite_back: list[str] | None = None,
) -> RunPython:
    """Statements for each database; each statement is one script (trigger bodies may hold ';')."""

    def pick(schema_editor: Any, pg: list[str], lite: list[str]) -> list[str]:
        return pg if schema_editor.client.capabilities.dialect == "postgres" else lite

    async def apply(apps: Any, schema_editor: Any) -> None:
        for sql in pick(schema_editor, postgres, sqlite):
            await schema_editor.client.execute_script(sql)

    async def revert(apps: Any, schema_editor: Any) -> None:
        for sql in pick(schema_editor, postgres_back or [], sqlite_back or []):
            await schema_editor.client.execute_script(sql)

    return RunPython(apply, revert)


def postgres_only(forward: list[str], backward: list[str]) -> RunPython:
    return by_dialect(postgres=forward, sqlite=[], postgres_back=backward, sqlite_back=[])


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
