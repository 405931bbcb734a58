"""Public disclosure, the leaderboard and a citizen's own impact. The disclosure's totals equal what
the ledger and the registry hold after random sequences of earning, spending, expiry, retirement,
export and certificates (hypothesis stateful testing)."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour.models import DailyTotal
from backend.certificates import disclosure, service
from backend.credits import exports, registry
from backend.credits.errors import NotEnoughUnits
from backend.credits.models import CreditBlock
from backend.kit import clock
from backend.kit.redis import get_redis
from backend.ledger import service as ledger
from backend.ledger.errors import InsufficientPoints
from backend.ledger.models import LedgerAccount
from tests.registry.test_holdings import citizen
from tests.registry.test_moves import holding
from tests.stateful import run_machine, runner


def machine_for(loop: asyncio.AbstractEventLoop, world: dict, people: list, block) -> type:
    run = runner(loop)
    units = block.serial_end - block.serial_start + 1

    class Scheme(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.now = clock.now()
            self.earned = 0
            self.burned = 0
            self.retired = 0
            self.exported = 0
            self.certificates_kg = 0
            self.keys = 0
            self.before = run(disclosure.totals())
            self.start_balance = self.balances()

        def balances(self) -> int:
            return sum(
                run(
                    LedgerAccount.filter(
                        owner_id__in=[p.id for p in people], kind="PERSON"
                    ).values_list("balance", flat=True)
                )
            )

        def key(self) -> str:
            self.keys += 1
            return f"scheme-{uuid.uuid4().hex[:8]}-{self.keys}"

        @rule(who=st.integers(0, 1), amount=st.integers(1, 500), short=st.booleans())
        def earn(self, who: int, amount: int, short: bool) -> None:
            with clock.frozen(self.now):
                run(
                    ledger.earn(
                        owner=Subject(SubjectKind.PERSON, people[who].id),
                        amount=amount,
                        idempotency_key=self.key(),
                        cause={"test": "scheme"},
                        expires_at=self.now + timedelta(days=1) if short else None,
                    )
                )
            self.earned += amount

        @rule(who=st.integers(0, 1), amount=st.integers(1, 400))
        def spend(self, who: int, amount: int) -> None:
            with clock.frozen(self.now):
                try:
                    run(
                        ledger.spend(
                            owner=Subject(SubjectKind.PERSON, people[who].id),
                            amount=amount,
                            idempotency_key=self.key(),
                            cause={"test": "scheme"},
                        )
                    )
                except InsufficientPoints:
                    return
            self.burned += amount

        @rule()
        def two_days_pass(self) -> None:
            self.now += timedelta(days=2)
            with clock.frozen(self.now):
                run(ledger.expire_due_lots())

        @rule(who=st.integers(0, 1), kg=st.integers(1, 3), neutralise=st.booleans())
        def retire(self, who: int, kg: int, neutralise: bool) -> None:
            person = people[who]
            with clock.frozen(self.now):
                source = run(
                    CreditBlock.filter(holder_id=world["owner"].organisation_id, status="HELD")
                    .order_by("serial_start")
                    .first()
                )
                if source is None or source.serial_end - source.serial_start + 1 < kg:
                    return
                run(
                    registry.transfer(
                        actor=world["owner"],
                        block_id=str(source.public_id),
                        quantity=kg,
                        to_holder=person.id,
                    )
                )
                if neutralise:
                    claim = run(
                        service.create_claim(
                            actor=person, kind="TRIP", title="t", items=[("CAR_KM", "1")]
                        )
                    )  # 192 g: 1 kg
                    try:
                        run(
                            service.neutralise(
                                actor=person,
                                claim_id=str(claim.public_id),
                                display_name="x",
                                idempotency_key=self.key(),
                            )
                        )
                    except NotEnoughUnits:
                        return
                    self.certificates_kg += 1
                    self.retired += 1
                else:
                    mine = run(CreditBlock.filter(holder_id=person.id, status="HELD").first())
                    run(
                        exports.export(
                            actor=person,
                            block_id=str(mine.public_id),
                            quantity=1,
                            account="CEEA-1",
                        )
                    )
                    self.exported += 1

        @invariant()
        def totals_are_what_the_ledger_and_registry_hold(self) -> None:
            if not hasattr(self, "before"):
                return
            now = run(disclosure.totals())
            balances = self.balances() - self.start_balance
            assert now.points_earned - self.before.points_earned == self.earned
            assert now.points_burned - self.before.points_burned == self.burned
            expired = now.points_expired - self.before.points_expired
            assert self.earned == self.burned + expired + balances
            assert now.credits_issued_kg == units
            assert now.credits_retired_kg - self.before.credits_retired_kg == self.retired
            assert now.credits_exported_kg - self.before.credits_exported_kg == self.exported
            assert now.certificates_kg - self.before.certificates_kg == self.certificates_kg

    return Scheme


async def test_disclosure_totals_equal_what_the_ledger_and_registry_hold(world):
    block, _ = await holding(world)
    people = [await citizen(), await citizen()]
    await run_machine(lambda loop: machine_for(loop, world, people, block), examples=8, steps=15)


async def test_the_leaderboard_ranks_who_opted_in_and_survives_losing_redis(world, execute):
    people = [await citizen() for _ in range(3)]
    for n, person in enumerate(people):
        await DailyTotal.create(
            subject_id=person.id, scenario_code="METRO", day="2026-11-20", grams=1000 * (n + 1)
        )
    await disclosure.opt_in(actor=people[0], alias="绿色骑手", join=True)
    await disclosure.opt_in(actor=people[2], alias="走路王", join=True)
    assert await disclosure.leaderboard(10) == [(1, "走路王", 3000), (2, "绿色骑手", 1000)]
    with pytest.raises(Exception, match="phone"):
        await disclosure.opt_in(actor=people[1], alias="13800138000", join=True)
    await get_redis().flushdb()  # Redis lost everything: rebuilt from the database on read
    assert await disclosure.leaderboard(10) == [(1, "走路王", 3000), (2, "绿色骑手", 1000)]
    mine = await execute("{ myImpact { reductionGrams rank alias certificates } }", actor=people[0])
    assert mine.data["myImpact"] == {
        "reductionGrams": "1000",
        "rank": 2,
        "alias": "绿色骑手",
        "certificates": 0,
    }
    await disclosure.opt_in(actor=people[2], alias=None, join=False)
    assert await disclosure.leaderboard(10) == [(1, "绿色骑手", 1000)]
    page = await execute("{ leaderboard(first: 5) { rank alias reductionGrams } }")
    assert page.data["leaderboard"] == [{"rank": 1, "alias": "绿色骑手", "reductionGrams": "1000"}]
    outsider = await execute("{ myImpact { rank alias } }", actor=people[1])
    assert outsider.data["myImpact"] == {"rank": None, "alias": None}


async def test_the_public_disclosure_in_graphql(world, execute):
    people = [await citizen()]
    await DailyTotal.create(
        subject_id=people[0].id, scenario_code="METRO", day="2026-10-03", grams=700
    )
    await DailyTotal.create(
        subject_id=people[0].id, scenario_code="METRO", day="2026-10-09", grams=300
    )
    await DailyTotal.create(
        subject_id=people[0].id, scenario_code="BIKE", day="2026-11-01", grams=50
    )
    body = await execute(
        "{ disclosure { reductions { scenario month grams } reductionGrams creditsIssuedKg } }"
    )
    assert body.data["disclosure"] == {
        "reductions": [
            {"scenario": "METRO", "month": "2026-10", "grams": "1000"},
            {"scenario": "BIKE", "month": "2026-11", "grams": "50"},
        ],
        "reductionGrams": "1050",
        "creditsIssuedKg": "0",
    }
