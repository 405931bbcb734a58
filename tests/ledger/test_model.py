"""Random sequences of earn / spend / hold / post / void / expire / clawback against a simple model
(hypothesis stateful testing), every invariant checked after each step."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.kit import clock
from backend.kit.actor import Actor
from backend.ledger import queries, service
from backend.ledger.errors import AlreadyClawedBack, InsufficientPoints
from tests.stateful import run_machine, runner

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")


def machine_for(loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    run = runner(loop)

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.owner = Subject(SubjectKind.PERSON, str(uuid.uuid4()))
            self.clock = clock.FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
            clock.set_clock(self.clock)
            self.lots: list[dict] = []  # amount, remaining, expires, clawed, earning
            self.holds: list[dict] = []  # id, amount, parts [(lot index, amount)], status
            self.keys = 0

        def key(self) -> str:
            self.keys += 1
            return f"k{self.keys}"

        def live(self) -> list[int]:
            now = self.clock.now()
            usable = [
                i
                for i, lot in enumerate(self.lots)
                if lot["remaining"] > 0 and lot["expires"] > now and not lot["clawed"]
            ]
            return sorted(usable, key=lambda i: (self.lots[i]["expires"], i))

        def spendable(self) -> int:
            return sum(self.lots[i]["remaining"] for i in self.live())

        def take(self, amount: int) -> list[tuple[int, int]]:
            parts, left = [], amount
            for i in self.live():
                part = min(self.lots[i]["remaining"], left)
                self.lots[i]["remaining"] -= part
                parts.append((i, part))
                left -= part
                if not left:
                    break
            return parts

        @rule(amount=st.integers(1, 500), days=st.integers(1, 60))
        def earn(self, amount: int, days: int) -> None:
            expires = self.clock.now() + timedelta(days=days)
            movement = run(
                service.earn(
                    owner=self.owner,
                    amount=amount,
                    idempotency_key=self.key(),
                    cause={},
                    expires_at=expires,
                )
            )
            self.lots.append(
                {
                    "amount": amount,
                    "remaining": amount,
                    "expires": expires,
                    "clawed": False,
                    "earning": movement.transaction_id,
                }
            )

        @rule(amount=st.integers(1, 600))
        def spend(self, amount: int) -> None:
            if amount > self.spendable():
                with pytest.raises(InsufficientPoints):
                    run(
                        service.spend(
                            owner=self.owner, amount=amount, idempotency_key=self.key(), cause={}
                        )
                    )
                return
            run(
                service.spend(owner=self.owner, amount=amount, idempotency_key=self.key(), cause={})
            )
            self.take(amount)

        @rule(amount=st.integers(1, 600))
        def hold(self, amount: int) -> None:
            if amount > self.spendable():
                with pytest.raises(InsufficientPoints):
                    run(
                        service.place_hold(
                            owner=self.owner, amount=amount, idempotency_key=self.key(), cause={}
                        )
                    )
                return
            hold = run(
                service.place_hold(
                    owner=self.owner, amount=amount, idempotency_key=self.key(), cause={}
                )
            )
            self.holds.append(
                {
                    "id": str(hold.public_id),
                    "amount": amount,
                    "parts": self.take(amount),
                    "status": "PENDING",
                }
            )

        @precondition(lambda self: any(h["status"] == "PENDING" for h in self.holds))
        @rule(data=st.data())
        def post(self, data) -> None:
            pending = [h for h in self.holds if h["status"] == "PENDING"]
            hold = data.draw(st.sampled_from(pending))
            run(service.post_hold(owner=self.owner, hold_id=hold["id"]))
            hold["status"] = "POSTED"

        @precondition(lambda self: any(h["status"] == "PENDING" for h in self.holds))
        @rule(data=st.data())
        def void(self, data) -> None:
            pending = [h for h in self.holds if h["status"] == "PENDING"]
            hold = data.draw(st.sampled_from(pending))
            run(service.void_hold(owner=self.owner, hold_id=hold["id"]))
            hold["status"] = "VOIDED"
            for i, part in hold["parts"]:
                if not self.lots[i]["clawed"]:
                    self.lots[i]["remaining"] += part

        @rule(days=st.integers(1, 40))
        def time_passes(self, days: int) -> None:
            self.clock.advance(timedelta(days=days))
            run(service.expire_due_lots())
            now = self.clock.now()
            for lot in self.lots:
                if lot["expires"] <= now:
                    lot["remaining"] = 0

        @precondition(lambda self: self.lots)
        @rule(data=st.data())
        def clawback(self, data) -> None:
            i = data.draw(st.integers(0, len(self.lots) - 1))
            lot = self.lots[i]
            if lot["clawed"]:
                with pytest.raises(AlreadyClawedBack):
                    run(
                        service.clawback(actor=AUTHORITY, earning_id=lot["earning"], reason="fraud")
                    )
                return
            done = run(service.clawback(actor=AUTHORITY, earning_id=lot["earning"], reason="fraud"))
            expected = lot["remaining"] if lot["expires"] > self.clock.now() else 0
            assert done.taken == expected
            assert done.shortfall == lot["amount"] - expected
            lot["remaining"], lot["clawed"] = 0, True

        @invariant()
        def matches_the_model(self) -> None:
            if not hasattr(self, "owner"):
                return
            wallet = run(queries.summary(self.owner))
            assert wallet.balance == self.spendable()
            assert wallet.held == sum(h["amount"] for h in self.holds if h["status"] == "PENDING")
            assert wallet.balance >= 0

        @invariant()
        def reconciles(self) -> None:
            assert run(verify.verify_all()) == []

        def teardown(self) -> None:
            clock.set_clock(clock.SystemClock())

    return Ledger


async def test_random_sequences_keep_every_invariant(settings):
    await run_machine(machine_for, examples=20, steps=25)
