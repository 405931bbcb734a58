"""Crash safety under load (RELIABILITY.md 9; issue 12): citizens send value-moving requests to a
real server, which is killed with SIGKILL at a random moment and started again; the clients retry
with their idempotency keys until every request is answered. Every acknowledged operation happened
exactly once, its replay gives the same answer, and nothing is half written: the stored rows agree
and `verify-ledger` is clean. Workloads: redeeming vouchers, and buying credits with points."""

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.credits.models import CreditBlock
from backend.kit.actor import Actor
from backend.ledger import queries as wallet
from backend.market.models import CreditListing, CreditOrder
from backend.rewards.models import Offer, Voucher
from tests.conftest import bearer, log_in
from tests.credits.test_issuance import world  # noqa: F401 - a fixture, used by name
from tests.rewards.conftest import AUTHORITY, fund, make_offer, member

pytestmark = pytest.mark.slow

CITIZENS = 6
EACH = 12
PRICE = 10
REDEEM = """mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) {
    __typename ... on Voucher { id } ... on Error { code } } }"""
BUY = """mutation ($i: OrderCreditsInput!) { buyCreditsWithPoints(input: $i) {
    __typename ... on CreditOrder { id } ... on Error { code } } }"""


@dataclass
class Run:
    """A load of keyed requests against a server that is killed once mid-run."""

    factory: Any
    query: str
    field: str
    variables: Any  # key -> the mutation's input
    servers: list = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    at_kill: list[int] = field(default_factory=list)

    async def send(self, token: str, key: str) -> str:
        while True:
            try:
                async with httpx.AsyncClient(base_url=self.servers[-1].url, timeout=10) as http:
                    response = await http.post(
                        "/graphql",
                        json={"query": self.query, "variables": {"i": self.variables(key)}},
                        headers=bearer(token),
                    )
                if response.status_code == 200:
                    body = response.json()["data"][self.field]
                    assert "id" in body, body
                    return str(body["id"])
            except httpx.HTTPError:
                pass  # the server is down: try again, with the same key
            await asyncio.sleep(0.05)

    async def go(self, people: list[tuple[str, str]]) -> None:
        self.servers.append(self.factory())
        under_way = asyncio.Event()

        async def customer(person: str, token: str) -> None:
            for i in range(EACH):
                key = f"kill-{person[:8]}-{i:03d}"
                self.answers[key] = await self.send(token, key)
                if len(self.answers) >= 3:
                    under_way.set()

        async def killer() -> None:
            await under_way.wait()  # a random moment while the load is under way
            await asyncio.sleep(random.uniform(0.0, 0.3))
            self.at_kill.append(len(self.answers))
            process = self.servers[-1].process
            assert process is not None
            process.kill()  # SIGKILL, mid-flight
            process.wait()
            self.servers.append(await asyncio.to_thread(self.factory))

        await asyncio.gather(killer(), *(customer(p, t) for p, t in people))
        assert len(self.answers) == CITIZENS * EACH
        assert 0 < self.at_kill[0] < CITIZENS * EACH, self.at_kill  # the kill landed mid-run
        # A replay after all that gives the same answer.
        key, answer = next(iter(self.answers.items()))
        token = next(t for p, t in people if key.startswith(f"kill-{p[:8]}"))
        assert await self.send(token, key) == answer


async def citizens(client, sms, points: int) -> list[tuple[str, str]]:
    people = []
    for n in range(CITIZENS):
        tokens = await log_in(client, sms, f"+861350000{n:04d}")
        me = await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers=bearer(tokens["accessToken"])
        )
        person = me.json()["data"]["me"]["id"]
        await fund(Actor(kind="citizen", id=person), points)
        people.append((person, tokens["accessToken"]))
    return people


async def test_redemptions_survive_a_kill_exactly_once(live_server_factory, client, sms):
    from backend.accounts import organisations

    shop = await organisations.register_organisation(actor=AUTHORITY, kind="MERCHANT", name="店")
    offer = await make_offer(
        member(str(shop.public_id), "manager"),
        price_points=PRICE,
        total_stock=1000,
        per_person_limit=100,
    )
    people = await citizens(client, sms, 1000)
    run = Run(
        live_server_factory,
        REDEEM,
        "redeemOffer",
        lambda key: {"offerId": str(offer.public_id), "idempotencyKey": key},
    )
    await run.go(people)
    # One voucher per key, each the answer its key got; stock, held points and the ledger agree.
    vouchers = await Voucher.filter(offer_id=offer.id)
    assert sorted(str(v.public_id) for v in vouchers) == sorted(run.answers.values())
    assert (await Offer.get(id=offer.id)).stock_left == 1000 - CITIZENS * EACH
    for person, _ in people:
        summary = await wallet.summary(Subject(SubjectKind.PERSON, person))
        assert (summary.balance, summary.held) == (1000 - PRICE * EACH, PRICE * EACH)
    assert await verify.verify_all() == []


async def test_points_purchases_survive_a_kill_exactly_once(
    live_server_factory,
    client,
    sms,
    world,  # noqa: F811 - the fixture imported above
):
    from backend.credits import registry
    from backend.credits.models import IssuanceRequest, IssuanceStatus
    from backend.kit import clock
    from backend.kit.ids import new_public_id
    from tests.market.test_market import points_pool
    from tests.registry.test_blocks import issued

    first = await issued(world)  # a registered project's first issuance, then a larger one
    bigger = await IssuanceRequest.create(
        public_id=new_public_id(),
        project_id=first.project_id,  # type: ignore[attr-defined]
        owner_id=first.owner_id,
        period_start=first.period_start,
        period_end=first.period_end,
        quantity_kg=CITIZENS * EACH,
        status=IssuanceStatus.ISSUED,
        serial_start=first.serial_end + 1,
        serial_end=first.serial_end + CITIZENS * EACH,
        created_at=clock.now(),
        issued_at=clock.now(),
    )
    block = await registry.issue_block(bigger)
    pool = await points_pool(world, quantity=CITIZENS * EACH, block=block)
    people = await citizens(client, sms, 1000 * EACH)
    run = Run(
        live_server_factory,
        BUY,
        "buyCreditsWithPoints",
        lambda key: {"listingId": str(pool.public_id), "quantityKg": 1, "idempotencyKey": key},
    )
    await run.go(people)
    # One order per key; each citizen holds exactly what was paid for; the pool is empty.
    orders = await CreditOrder.filter(listing_id=pool.id)
    assert sorted(str(o.public_id) for o in orders) == sorted(run.answers.values())
    assert (await CreditListing.get(id=pool.id)).available_kg == 0
    for person, _ in people:
        held = await CreditBlock.filter(holder_id=person, status="HELD")
        assert sum(b.serial_end - b.serial_start + 1 for b in held) == EACH
        summary = await wallet.summary(Subject(SubjectKind.PERSON, person))
        assert summary.balance == 0
    assert await verify.verify_all() == []
