"""Serial blocks: issuance puts the whole range in the owner's holding account; serial numbers;
search by serial; blocks reconcile with their issuances."""

from datetime import timedelta

import pytest

from backend import verify
from backend.credits import issuance, registry
from backend.credits.models import CreditBlock
from backend.kit import clock, db
from tests.conftest import gql
from tests.credits.test_issuance import AUTHORITY, file


def test_serial_numbers_are_written_as_design_md_says():
    assert (
        registry.serial_label(42, 2026, 1, 1000) == "SZ-CGSP-P0042-2026-000000000001-000000001000"
    )
    assert registry.parse_serial("SZ-CGSP-P0042-2026-000000000001-000000001000") == (
        42,
        2026,
        1,
        1000,
    )
    assert registry.parse_serial("sz-cgsp-p0042-2026-000000000007") == (42, 2026, 7, 7)
    for bad in ("", "SZ-CGSP-P42-2026-1", "XX-CGSP-P0042-2026-000000000001", None):
        assert registry.parse_serial(bad) is None


async def issued(world):
    request = await file(world)
    rid = str(request.public_id)
    await issuance.verify(actor=world["verifier"], request_id=rid, comment="ok")
    await issuance.review(actor=AUTHORITY, request_id=rid, comment="ok")
    await issuance.start_notice(actor=AUTHORITY, request_id=rid)
    with clock.frozen(clock.now() + timedelta(days=15)):
        return await issuance.issue(actor=AUTHORITY, request_id=rid)


async def test_issuance_puts_one_block_in_the_owners_holding_account(world, client):
    request = await issued(world)
    [block] = await CreditBlock.filter(issuance_id=request.id)
    assert (block.serial_start, block.serial_end, block.status.value) == (1, 12, "HELD")
    assert str(block.holder_id) == world["owner"].organisation_id
    assert await verify.verify_all() == []
    inside = registry.serial_label(block.project_number, block.vintage, 7)
    found = await gql(
        client,
        "query ($s: String!) { creditBlockBySerial(serial: $s) { serialFrom serialTo quantityKg holder } }",
        {"s": inside},
    )
    entry = found["data"]["creditBlockBySerial"]
    assert entry["quantityKg"] == 12 and entry["serialFrom"].endswith("-000000000001")
    outside = registry.serial_label(block.project_number, block.vintage, 13)
    assert (
        await gql(
            client, "query ($s: String!) { creditBlockBySerial(serial: $s) { id } }", {"s": outside}
        )
    )["data"]["creditBlockBySerial"] is None


async def test_verify_ledger_finds_blocks_that_do_not_partition_their_issuance(world):
    request = await issued(world)
    await db.execute("UPDATE credit_block SET serial_end = 11 WHERE issuance_id = $1", request.id)
    findings = await verify.verify_all()
    assert any("credit blocks partition" in f for f in findings)
    await db.execute("UPDATE credit_block SET serial_end = 12 WHERE issuance_id = $1", request.id)
    assert await verify.verify_all() == []


@pytest.mark.postgres_only
async def test_a_block_is_never_an_empty_range(world):
    request = await issued(world)
    with pytest.raises(Exception, match="credit_block_range"):
        await db.execute(
            "UPDATE credit_block SET serial_end = 0 WHERE issuance_id = $1", request.id
        )
