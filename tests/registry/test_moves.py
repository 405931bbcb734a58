"""Transfers and retirements split blocks, the holder keeping the lower serials; retired units
never move; only the holder moves its units."""

import asyncio
import uuid

import pytest

from backend import verify
from backend.accounts import organisations
from backend.accounts import queries as accounts
from backend.credits import registry
from backend.credits.errors import BlockNotMovable, NotEnoughUnits
from backend.credits.models import CreditBlock
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from tests.conftest import count_queries, gql
from tests.credits.test_projects import AUTHORITY, member
from tests.registry.test_blocks import issued


async def holding(world):
    request = await issued(world)
    block = await CreditBlock.get(issuance_id=request.id)
    buyer = await organisations.register_organisation(
        actor=AUTHORITY, kind="SMALL_BUSINESS", name="Buyer"
    )
    return block, str(buyer.public_id)


async def test_a_partial_transfer_splits_the_block(world):
    block, buyer = await holding(world)
    moved = await registry.transfer(
        actor=world["owner"], block_id=str(block.public_id), quantity=5, to_holder=buyer
    )
    kept = await CreditBlock.get(id=block.id)
    assert (kept.serial_start, kept.serial_end, str(kept.holder_id)) == (
        1,
        7,
        world["owner"].organisation_id,
    )
    assert (moved.serial_start, moved.serial_end, str(moved.holder_id)) == (8, 12, buyer)
    found = await registry.find_by_serial(
        registry.serial_label(block.project_number, block.vintage, 9)
    )
    assert found is not None and found.id == moved.id
    assert await verify.verify_all() == []


async def test_a_retirement_is_final_and_numbered(world):
    block, buyer = await holding(world)
    retirement = await registry.retire(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=3,
        beneficiary="绿色小店",
        purpose="CARBON_NEUTRALITY",
    )
    retired = await CreditBlock.get(id=retirement.block_id)  # type: ignore[attr-defined]
    assert (retired.serial_start, retired.serial_end, retired.status.value) == (10, 12, "RETIRED")
    with pytest.raises(BlockNotMovable):
        await registry.transfer(
            actor=world["owner"], block_id=str(retired.public_id), quantity=1, to_holder=buyer
        )
    with pytest.raises(BlockNotMovable):
        await registry.retire(
            actor=world["owner"],
            block_id=str(retired.public_id),
            quantity=1,
            beneficiary=None,
            purpose="VOLUNTARY",
        )
    whole = await registry.retire(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=9,
        beneficiary=None,
        purpose="VOLUNTARY",
    )
    assert whole.beneficiary is None and whole.id != retirement.id
    assert await verify.verify_all() == []


async def test_only_the_holder_moves_its_units(world):
    block, buyer = await holding(world)
    stranger = member(str(uuid.uuid4()), "SMALL_BUSINESS", "owner")
    with pytest.raises(NotFound):
        await registry.transfer(
            actor=stranger, block_id=str(block.public_id), quantity=1, to_holder=buyer
        )
    cashier = member(world["owner"].organisation_id, "DATA_PLATFORM", "developer")
    with pytest.raises(Forbidden):
        await registry.retire(
            actor=cashier,
            block_id=str(block.public_id),
            quantity=1,
            beneficiary=None,
            purpose="VOLUNTARY",
        )
    with pytest.raises(NotEnoughUnits):
        await registry.transfer(
            actor=world["owner"], block_id=str(block.public_id), quantity=13, to_holder=buyer
        )
    with pytest.raises(InvalidInput):
        await registry.transfer(
            actor=world["owner"],
            block_id=str(block.public_id),
            quantity=1,
            to_holder=world["owner"].organisation_id,
        )
    with pytest.raises(InvalidInput):
        await registry.transfer(
            actor=world["owner"], block_id=str(block.public_id), quantity=0, to_holder=buyer
        )
    assert (await CreditBlock.get(id=block.id)).serial_end == 12


@pytest.mark.postgres_only
async def test_a_transfer_and_a_retirement_of_one_block_at_once(world):
    block, buyer = await holding(world)

    async def attempt(coro):
        try:
            await coro
            return "ok"
        except (NotEnoughUnits, BlockNotMovable, NotFound):
            return "refused"

    outcomes = await asyncio.gather(
        attempt(
            registry.transfer(
                actor=world["owner"],
                block_id=str(block.public_id),
                quantity=12,
                to_holder=buyer,
            )
        ),
        attempt(
            registry.retire(
                actor=world["owner"],
                block_id=str(block.public_id),
                quantity=12,
                beneficiary=None,
                purpose="VOLUNTARY",
            )
        ),
    )
    assert sorted(outcomes) == ["ok", "refused"]
    assert await verify.verify_all() == []


async def test_the_public_lists_transfers_by_name_and_traces_a_block_to_its_origin(world, client):
    block, buyer = await holding(world)
    await registry.transfer(
        actor=world["owner"], block_id=str(block.public_id), quantity=5, to_holder=buyer
    )
    # The receiver passes part of what it got on; the first transfer still names serials 8-12.
    buyer_owner = member(buyer, "SMALL_BUSINESS", "owner")
    moved = await registry.find_by_serial(
        registry.serial_label(block.project_number, block.vintage, 8)
    )
    assert moved is not None
    await registry.transfer(
        actor=buyer_owner,
        block_id=str(moved.public_id),
        quantity=2,
        to_holder=world["owner"].organisation_id,
    )
    body = await gql(
        client, "{ creditTransfers { number fromHolder toHolder quantityKg serialFrom serialTo } }"
    )
    second, first = body["data"]["creditTransfers"]
    assert (first["fromHolder"], first["toHolder"], first["quantityKg"]) == ("出行平台", "Buyer", 5)
    assert first["serialFrom"].endswith("-000000000008")
    assert first["serialTo"].endswith("-000000000012")
    assert (second["fromHolder"], second["toHolder"]) == ("Buyer", "出行平台")
    assert second["serialFrom"].endswith("-000000000011") and second["number"] > first["number"]
    inside = registry.serial_label(block.project_number, block.vintage, 9)
    found = await gql(
        client,
        "query ($s: String!) { creditBlockBySerial(serial: $s) { serialFrom serialTo"
        " lineage { issuanceId projectId projectNumber projectTitleZh methodologyCode } } }",
        {"s": inside},
    )
    entry = found["data"]["creditBlockBySerial"]
    assert entry["serialFrom"].endswith("-000000000008")
    assert entry["serialTo"].endswith("-000000000010")
    lineage = entry["lineage"]
    assert lineage["issuanceId"] == str((await block.issuance).public_id)
    assert lineage["projectId"] == str(world["project"].public_id)
    assert lineage["projectNumber"] == block.project_number == world["project"].id
    assert (lineage["projectTitleZh"], lineage["methodologyCode"]) == ("Metro", "SZ-METRO")


async def test_citizens_are_never_named_in_the_public_registry(world):
    person = str(uuid.uuid4())
    names = await accounts.public_names({person, world["owner"].organisation_id, "not-an-id"})
    assert names == {
        person: "individual",
        world["owner"].organisation_id: "出行平台",
        "not-an-id": "individual",
    }


async def test_the_lineage_of_many_blocks_is_one_query(world, client):
    block, buyer = await holding(world)
    for quantity in (3, 2):
        await registry.transfer(
            actor=world["owner"],
            block_id=str(block.public_id),
            quantity=quantity,
            to_holder=buyer,
        )
    with count_queries() as counter:
        body = await gql(client, "{ creditBlocks { serialFrom lineage { projectNumber } } }")
    blocks = body["data"]["creditBlocks"]
    assert len(blocks) == 3
    assert {b["lineage"]["projectNumber"] for b in blocks} == {world["project"].id}
    assert sum("credit_project" in s for s in counter.statements) == 1
