"""Random sequences of partial and whole transfers (between organisations and a citizen), retirements and exports (转出: confirmed,
refused, or unanswered and retried later), by the holder and by others, against a simple model of
serial blocks (hypothesis stateful testing): after every step the registry holds exactly the
model's blocks, a serial inside any block finds that block, and `verify-ledger` finds nothing."""

import asyncio
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from backend import verify
from backend.accounts import organisations
from backend.credits import exports, registry
from backend.credits.errors import BlockNotMovable, ExportRefused, NotEnoughUnits
from backend.credits.exchange import set_exchange
from backend.credits.models import (
    CreditBlock,
    CreditExport,
    CreditRetirement,
    CreditTransfer,
    IssuanceRequest,
    IssuanceStatus,
)
from backend.kit import clock, db
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.ids import new_public_id
from tests.credits.test_projects import AUTHORITY, member
from tests.registry.test_blocks import issued
from tests.registry.test_exports import ScriptedExchange
from tests.registry.test_holdings import citizen
from tests.stateful import run_machine, runner

UNITS = 40


def machine_for(
    loop: asyncio.AbstractEventLoop, world: dict, holders: list, exchange: ScriptedExchange
) -> type:
    run = runner(loop)

    template: IssuanceRequest = world["issued"]

    async def fresh_issuance() -> CreditBlock:
        # Each example starts from its own issued range after the ones before it: moves are
        # append-only, so earlier examples' blocks stay as they ended.
        async with db.transaction():
            [row] = await db.fetch(
                "SELECT MAX(serial_end) AS last FROM credit_issuance_request WHERE project_id = $1",
                template.project_id,  # type: ignore[attr-defined]
            )
            last = row["last"]
            request = await IssuanceRequest.create(
                public_id=new_public_id(),
                project_id=template.project_id,  # type: ignore[attr-defined]
                owner_id=template.owner_id,
                period_start=template.period_start,
                period_end=template.period_end,
                quantity_kg=UNITS,
                status=IssuanceStatus.ISSUED,
                serial_start=last + 1,
                serial_end=last + UNITS,
                created_at=clock.now(),
                issued_at=clock.now(),
            )
            return await registry.issue_block(request)

    class Registry(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            block = run(fresh_issuance())
            self.issuance_id = block.issuance_id  # type: ignore[attr-defined]
            self.project, self.vintage = block.project_number, block.vintage
            self.blocks: list[dict] = [
                {
                    "id": str(block.public_id),
                    "start": block.serial_start,
                    "end": block.serial_end,
                    "holder": str(block.holder_id),
                    "status": "HELD",
                }
            ]
            self.transfers = 0
            self.retirements = 0
            self.exports = 0

        def size(self, block: dict) -> int:
            return block["end"] - block["start"] + 1

        def expected_refusal(self, block: dict, actor_index: int, quantity: int):
            if holders[actor_index][1] != block["holder"]:
                return NotFound
            if block["status"] != "HELD":
                return BlockNotMovable
            if quantity > self.size(block):
                return NotEnoughUnits
            return None

        def split(self, block: dict, quantity: int, **moved) -> dict:
            if quantity == self.size(block):
                block.update(moved)
                return block
            upper = dict(block, start=block["end"] - quantity + 1, **moved)
            block["end"] = upper["start"] - 1
            self.blocks.append(upper)
            return upper

        def choose(self, data) -> tuple[dict, int, int]:
            # Mostly a block that can still move; sometimes any block.
            held = [b for b in self.blocks if b["status"] == "HELD"]
            block = data.draw(st.sampled_from(held * 3 + self.blocks))
            holder_index = next(i for i, h in enumerate(holders) if h[1] == block["holder"])
            # Mostly the holder acts; sometimes someone else tries.
            actor = data.draw(st.sampled_from([holder_index] * 3 + list(range(len(holders)))))
            quantity = data.draw(st.integers(1, self.size(block) + 2))
            return block, actor, quantity

        @rule(data=st.data(), to=st.integers(0, 3))
        def transfer(self, data, to: int) -> None:
            block, actor, quantity = self.choose(data)
            refusal = self.expected_refusal(block, actor, quantity)
            if refusal is None and holders[to][1] == block["holder"]:
                refusal = InvalidInput
            call = registry.transfer(
                actor=holders[actor][0],
                block_id=block["id"],
                quantity=quantity,
                to_holder=holders[to][1],
            )
            if refusal is not None:
                with pytest.raises(refusal):
                    run(call)
                return
            moved = run(call)
            expected = self.split(block, quantity, holder=holders[to][1])
            if expected is not block:
                expected["id"] = str(moved.public_id)
            assert (moved.serial_start, moved.serial_end) == (expected["start"], expected["end"])
            self.transfers += 1

        @rule(data=st.data(), anonymous=st.booleans())
        def retire(self, data, anonymous: bool) -> None:
            block, actor, quantity = self.choose(data)
            refusal = self.expected_refusal(block, actor, quantity)
            call = registry.retire(
                actor=holders[actor][0],
                block_id=block["id"],
                quantity=quantity,
                beneficiary=None if anonymous else "绿色小店",
                purpose="VOLUNTARY",
            )
            if refusal is not None:
                with pytest.raises(refusal):
                    run(call)
                return
            retirement = run(call)
            expected = self.split(block, quantity, status="RETIRED")
            retired = run(CreditBlock.get(id=retirement.block_id))  # type: ignore[attr-defined]
            if expected is not block:
                expected["id"] = str(retired.public_id)
            assert (retired.serial_start, retired.serial_end) == (
                expected["start"],
                expected["end"],
            )
            self.retirements += 1

        @rule(data=st.data(), answer=st.sampled_from(["ok", "ok", "refuse", "silent"]))
        def export(self, data, answer: str) -> None:
            block, actor, quantity = self.choose(data)
            refusal = self.expected_refusal(block, actor, quantity)
            exchange.answer = answer
            call = exports.export(
                actor=holders[actor][0], block_id=block["id"], quantity=quantity, account="CEEA-7"
            )
            if refusal is not None:
                with pytest.raises(refusal):
                    run(call)
                return
            if answer == "refuse":
                with pytest.raises(ExportRefused):
                    run(call)
                row = run(CreditExport.all().order_by("-id").first())
            else:
                row = run(call)
            status = {"ok": "EXPORTED", "refuse": "HELD", "silent": "EXPORTING"}[answer]
            expected = self.split(block, quantity, status=status)
            frozen = run(CreditBlock.get(id=row.block_id))
            if expected is not block:
                expected["id"] = str(frozen.public_id)
            assert (frozen.serial_start, frozen.serial_end) == (expected["start"], expected["end"])
            self.exports += answer != "refuse"

        @rule()
        def the_exchange_answers_at_last(self) -> None:
            exchange.answer = "ok"
            with clock.frozen(clock.now() + timedelta(minutes=2)):
                run(exports.retry_pending())
            for block in self.blocks:
                if block["status"] == "EXPORTING":
                    block["status"] = "EXPORTED"

        @invariant()
        def matches_the_model(self) -> None:
            if not hasattr(self, "blocks"):
                return
            stored = run(CreditBlock.filter(issuance_id=self.issuance_id))
            assert sorted(
                (str(b.public_id), b.serial_start, b.serial_end, str(b.holder_id), b.status.value)
                for b in stored
            ) == sorted(
                (b["id"], b["start"], b["end"], b["holder"], b["status"]) for b in self.blocks
            )
            assert sum(self.size(b) for b in self.blocks) == UNITS
            assert (
                run(CreditRetirement.filter(block__issuance_id=self.issuance_id).count())
                == self.retirements
            )
            assert (
                run(CreditTransfer.filter(block__issuance_id=self.issuance_id).count())
                == self.transfers
            )
            assert (
                run(
                    CreditExport.filter(block__issuance_id=self.issuance_id)
                    .exclude(status="FAILED")
                    .count()
                )
                == self.exports
            )

        @invariant()
        def a_serial_inside_any_block_finds_it(self) -> None:
            if not hasattr(self, "blocks"):
                return
            for block in self.blocks:
                middle = (block["start"] + block["end"]) // 2
                found = run(
                    registry.find_by_serial(
                        registry.serial_label(self.project, self.vintage, middle)
                    )
                )
                assert found is not None and str(found.public_id) == block["id"]

        @invariant()
        def reconciles(self) -> None:
            assert run(verify.verify_all()) == []

    return Registry


async def test_random_moves_keep_every_invariant(world):
    world["issued"] = await issued(world)
    holders = [(world["owner"], world["owner"].organisation_id)]
    for name in ("Buyer A", "Buyer B"):
        org = await organisations.register_organisation(
            actor=AUTHORITY, kind="SMALL_BUSINESS", name=name
        )
        holders.append((member(str(org.public_id), "SMALL_BUSINESS", "owner"), str(org.public_id)))
    alice = await citizen()  # a citizen's holding account
    holders.append((alice, alice.id))
    exchange = ScriptedExchange()
    set_exchange(exchange)
    try:
        await run_machine(
            lambda loop: machine_for(loop, world, holders, exchange), examples=20, steps=20
        )
    finally:
        set_exchange(None)
