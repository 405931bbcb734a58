"""Transfers and retirements split blocks, the holder keeping the lower serials; retired units
never move; only the holder moves its units."""

import asyncio
import uuid

import pytest

from backend import verify
from backend.accounts import organisations
from backend.credits import registry
from backend.credits.errors import BlockNotMovable, NotEnoughUnits
from backend.credits.models import CreditBlock
from backend.kit.errors import Forbidden, InvalidInput, NotFound
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
        actor=world["owner"], block_id=str(block.public_id), quantity=5, to_organisation=buyer
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
            actor=world["owner"], block_id=str(retired.public_id), quantity=1, to_organisation=buyer
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
            actor=stranger, block_id=str(block.public_id), quantity=1, to_organisation=buyer
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
            actor=world["owner"], block_id=str(block.public_id), quantity=13, to_organisation=buyer
        )
    with pytest.raises(InvalidInput):
        await registry.transfer(
            actor=world["owner"],
            block_id=str(block.public_id),
            quantity=1,
            to_organisation=world["owner"].organisation_id,
        )
    with pytest.raises(InvalidInput):
        await registry.transfer(
            actor=world["owner"], block_id=str(block.public_id), quantity=0, to_organisation=buyer
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
                to_organisation=buyer,
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
