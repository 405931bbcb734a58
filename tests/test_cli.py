"""The `tanpuhui` command line."""

import os
import subprocess
import sys

import pytest

from backend import cli, jobs
from backend.kit import clock, db, idempotency
from backend.settings import ROOT

COMMANDS = [
    ["serve"],
    ["migrate"],
    ["seed-demo"],
    ["export-schema"],
    ["build-manifest"],
    ["check-contract"],
    ["release-schema"],
    ["jobs", "run-due"],
    ["jobs", "list"],
    ["verify-ledger"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: tanpuhui" in capsys.readouterr().out


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["frobnicate"])
    assert exited.value.code == 2


def tanpuhui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env={**os.environ, "TPH_ENV": "dev", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_sqlite(tmp_path):
    return {"DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}


@pytest.mark.slow
def test_a_fresh_database_migrates_once_then_has_nothing_to_do(fresh_sqlite):
    first = tanpuhui("migrate", env=fresh_sqlite)
    assert first.returncode == 0, first.stderr
    migrations = len(list((ROOT / "backend" / "migrations").glob("0*.py")))
    assert f"applied {migrations} migration(s)" in first.stdout
    again = tanpuhui("migrate", env=fresh_sqlite)
    assert again.returncode == 0 and "applied 0 migration(s)" in again.stdout


@pytest.mark.slow
def test_jobs_ledger_check_and_seed_run_against_a_migrated_database(fresh_sqlite):
    assert tanpuhui("migrate", env=fresh_sqlite).returncode == 0
    ran = tanpuhui("jobs", "run-due", env=fresh_sqlite)
    assert ran.returncode == 0, ran.stderr
    assert "purge-idempotency-keys: 0" in ran.stdout
    verified = tanpuhui("verify-ledger", env=fresh_sqlite)
    assert verified.returncode == 0, verified.stderr
    assert "0 finding(s)" in verified.stdout
    assert tanpuhui("seed-demo", env=fresh_sqlite).returncode == 0
    unknown = tanpuhui("jobs", "run-due", "--job", "no-such-job", env=fresh_sqlite)
    assert unknown.returncode != 0 and "unknown jobs" in unknown.stderr


@pytest.mark.slow
def test_the_contract_checks_pass_on_the_committed_files():
    for args in (["export-schema", "--check"], ["build-manifest", "--check"], ["check-contract"]):
        result = tanpuhui(*args)
        assert result.returncode == 0, (args, result.stderr)


@pytest.mark.slow
def test_serve_refuses_several_workers_on_the_embedded_database(fresh_sqlite):
    result = tanpuhui("serve", "--workers", "2", env=fresh_sqlite)
    assert result.returncode == 2
    assert "several workers need PostgreSQL" in result.stderr


@pytest.mark.slow
def test_production_refuses_to_start_on_development_defaults():
    result = tanpuhui("serve", env={"TPH_ENV": "production"})
    assert result.returncode != 0
    assert "refusing to start in production" in result.stderr


async def test_run_due_runs_every_job_and_reports_counts(settings):
    from datetime import UTC, datetime, timedelta

    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)) as frozen:
        async with db.transaction():
            await idempotency.run_once(
                owner="o",
                key="key-to-purge",
                operation="op",
                request={},
                work=_noop,
                dump=lambda r: r,
                load=lambda r: r,
            )
        frozen.advance(timedelta(days=3))
        assert (await jobs.run_due())["purge-idempotency-keys"] == 1
        assert (await jobs.run_due())["purge-idempotency-keys"] == 0


async def test_a_failing_job_does_not_stop_the_others(settings, monkeypatch):
    ran = []

    async def broken() -> int:
        raise RuntimeError("boom")

    async def fine() -> int:
        ran.append("fine")
        return 0

    monkeypatch.setattr(
        jobs,
        "JOBS",
        (
            jobs.Job("broken", broken, "fails"),
            jobs.Job("fine", fine, "works"),
        ),
    )
    with pytest.raises(RuntimeError, match="jobs failed: broken"):
        await jobs.run_due()
    assert ran == ["fine"]


async def _noop() -> dict:
    return {}


@pytest.mark.slow
def test_create_admin_prints_the_authenticator_secret_once(fresh_sqlite):
    assert tanpuhui("migrate", env=fresh_sqlite).returncode == 0
    created = tanpuhui("create-admin", "--phone", "13900000001", env=fresh_sqlite)
    assert created.returncode == 0, created.stderr
    assert "otpauth://totp/" in created.stdout
    bad = tanpuhui("create-admin", "--phone", "12345", env=fresh_sqlite)
    assert bad.returncode == 1 and "cannot create the administrator" in bad.stderr
