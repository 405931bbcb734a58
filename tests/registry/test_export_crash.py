"""A SIGKILL during an export, before or after the exchange answered, leaves the units frozen and
the export PENDING; the retry job then finishes it exactly once, with the reference the exchange
gives for that export's number (RELIABILITY.md 9)."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from backend import jobs, verify
from backend.credits.exchange import ExportOrder, SandboxExchange
from backend.credits.models import CreditBlock, CreditExport
from backend.kit import clock
from backend.settings import ROOT
from tests.registry.test_moves import holding

pytestmark = pytest.mark.slow

SCRIPT = """
import asyncio, sys
from backend.credits import exports
from backend.kit import db
from backend.kit.actor import Actor
from backend.settings import get_settings

async def main(organisation, block):
    await db.init_db(get_settings())
    owner = Actor(kind="member", id=organisation, organisation_id=organisation,
                  organisation_kind="DATA_PLATFORM", roles=frozenset({"owner"}))
    await exports.export(actor=owner, block_id=block, quantity=5, account="CEEA-0001")
    await db.close_db()
    print("done", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def run(settings, organisation: str, block: str, crash_at: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TPH_")}
    env.update({"TPH_ENV": "test", "DATABASE_URL": settings.database_url, "TPH_CRASH_AT": crash_at})
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, organisation, block],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "crash_at", ["credits.export.before_exchange", "credits.export.after_exchange"]
)
async def test_an_export_killed_midway_is_finished_once_by_the_retry_job(settings, world, crash_at):
    block, _ = await holding(world)
    organisation = world["owner"].organisation_id
    killed = run(settings, organisation, str(block.public_id), crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [pending] = await CreditExport.all()
    assert pending.status.value == "PENDING"
    frozen = await CreditBlock.get(id=pending.block_id)  # type: ignore[attr-defined]
    assert (frozen.serial_start, frozen.serial_end, frozen.status.value) == (8, 12, "EXPORTING")
    assert await verify.verify_all() == []
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        assert (await jobs.run_due(["retry-exports"]))["retry-exports"] == 1
        assert (await jobs.run_due(["retry-exports"]))["retry-exports"] == 0
    done = await CreditExport.get(id=pending.id)
    expected = await SandboxExchange().export(
        ExportOrder(
            number=str(pending.public_id),
            account="CEEA-0001",
            serial_from="",
            serial_to="",
            quantity_kg=5,
        )
    )
    assert done.status.value == "CONFIRMED" and done.reference == expected
    assert (await CreditBlock.get(id=frozen.id)).status.value == "EXPORTED"
    assert await verify.verify_all() == []
