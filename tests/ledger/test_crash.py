"""A SIGKILL in the middle of a movement leaves nothing behind, and the client's retry with its key
finishes the work exactly once (RELIABILITY.md 9)."""

import os
import signal
import subprocess
import sys
import uuid

import pytest

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.ledger import queries, service
from backend.ledger.models import LedgerTransaction, Lot
from backend.settings import ROOT

pytestmark = pytest.mark.slow

SCRIPT = """
import asyncio, sys
from backend.accounts.subjects import Subject, SubjectKind
from backend.kit import db
from backend.ledger import service
from backend.settings import get_settings

async def main(owner, operation):
    await db.init_db(get_settings())
    subject = Subject(SubjectKind.PERSON, owner)
    if operation == "batch":
        await service.earn_many([
            {"owner": subject, "amount": 10 + n, "idempotency_key": f"batch-{n}", "cause": {}}
            for n in range(50)
        ])
    else:
        await service.spend(owner=subject, amount=40, idempotency_key="spend-1", cause={})
    await db.close_db()
    print("done", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def run(settings, owner: str, operation: str, crash_at: str | None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TPH_")}
    env.update({"TPH_ENV": "test", "DATABASE_URL": settings.database_url})
    if crash_at:
        env["TPH_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, owner, operation],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_batch_killed_before_commit_leaves_nothing_and_a_retry_runs_once(settings):
    owner = str(uuid.uuid4())
    killed = run(settings, owner, "batch", "ledger.earn_many.before_commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert await LedgerTransaction.filter(owner_id=owner).count() == 0
    assert await Lot.filter(owner_id=owner).count() == 0
    retried = run(settings, owner, "batch", None)
    assert retried.returncode == 0, retried.stderr
    again = run(settings, owner, "batch", None)  # a second retry changes nothing
    assert again.returncode == 0
    subject = Subject(SubjectKind.PERSON, owner)
    assert (await queries.summary(subject)).balance == sum(10 + n for n in range(50))
    assert await LedgerTransaction.filter(owner_id=owner).count() == 50
    assert await verify.verify_all() == []


async def test_a_spend_killed_before_commit_spends_nothing(settings):
    owner = str(uuid.uuid4())
    subject = Subject(SubjectKind.PERSON, owner)
    await service.earn(owner=subject, amount=100, idempotency_key="e", cause={})
    killed = run(settings, owner, "spend", "ledger.spend.before_commit")
    assert killed.returncode == -signal.SIGKILL
    assert (await queries.summary(subject)).balance == 100
    assert run(settings, owner, "spend", None).returncode == 0
    assert run(settings, owner, "spend", None).returncode == 0
    assert (await queries.summary(subject)).balance == 60
    assert await verify.verify_all() == []
