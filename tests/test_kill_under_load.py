"""Crash safety under load (RELIABILITY.md 9; issue 12): citizens send value-moving requests to a
real server, which is killed with SIGKILL at a random moment and started again; the clients retry
with their idempotency keys until every request is answered (tests/kill.py). Every acknowledged
operation happened exactly once, its replay gives the same answer, and nothing is half written: the
stored rows agree and `verify-ledger` is clean. Workloads: redeeming vouchers, buying credits with
points, ordering credits and paying for them in fen (the provider's callback retried as a provider
does), and retiring or transferring credits; each at a random moment and at the workload's named fault
points (tests/kill.py's FAULT_POINTS). Ingestion has its own in tests/behaviour/test_ingestion_kill.py."""

from typing import Any

import httpx
import pytest
from strawberry.relay import to_base64

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.credits import registry
from backend.credits.models import CreditBlock, CreditRetirement
from backend.kit.actor import Actor
from backend.ledger import queries as wallet
from backend.market.models import CreditListing, CreditOrder, OrderStatus, PaymentCallback
from backend.market.payments import SIGNATURE_HEADER, event_body, sign
from backend.rewards.models import Offer, Voucher
from tests.conftest import bearer, log_in
from tests.credits.test_issuance import world  # noqa: F401 - a fixture, used by name
from tests.kill import RANDOM, Run, mutation
from tests.rewards.conftest import AUTHORITY, fund, make_offer, member

pytestmark = pytest.mark.slow

CITIZENS = 6
EACH = 12
PRICE = 10
REDEEM = """mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) {
    __typename ... on Voucher { id } ... on Error { code } } }"""
BUY = """mutation ($i: OrderCreditsInput!) { buyCreditsWithPoints(input: $i) {
    __typename ... on CreditOrder { id } ... on Error { code } } }"""
ORDER = """mutation ($i: OrderCreditsInput!) { orderCredits(input: $i) {
    __typename ... on CreditOrder { id amount payUrl } ... on Error { code } } }"""
TRANSFER = """mutation ($i: TransferCreditsInput!) { transferCredits(input: $i) {
    __typename ... on CreditBlock { id } ... on Error { code } } }"""
RETIRE = """mutation ($i: RetireCreditsInput!) { retireCredits(input: $i) {
    __typename ... on CreditRetirement { id } ... on Error { code } } }"""


async def citizens(client, sms, points: int = 0) -> list[tuple[str, str]]:
    """(person id, access token) of each citizen, with `points` in their wallet."""
    people = []
    for n in range(CITIZENS):
        tokens = await log_in(client, sms, f"+861350000{n:04d}")
        me = await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers=bearer(tokens["accessToken"])
        )
        person = me.json()["data"]["me"]["id"]
        if points:
            await fund(Actor(kind="citizen", id=person), points)
        people.append((person, tokens["accessToken"]))
    return people


async def units(holder: str, status: str = "HELD") -> int:
    blocks = await CreditBlock.filter(holder_id=holder, status=status)
    return sum(b.serial_end - b.serial_start + 1 for b in blocks)


async def big_block(credits_world, kg: int) -> CreditBlock:
    """A registered project's first issuance, then one of `kg` units held by its owner."""
    from backend.credits.models import IssuanceRequest, IssuanceStatus
    from backend.kit import clock
    from backend.kit.ids import new_public_id
    from tests.registry.test_blocks import issued

    first = await issued(credits_world)
    bigger = await IssuanceRequest.create(
        public_id=new_public_id(),
        project_id=first.project_id,  # type: ignore[attr-defined]
        owner_id=first.owner_id,
        period_start=first.period_start,
        period_end=first.period_end,
        quantity_kg=kg,
        status=IssuanceStatus.ISSUED,
        serial_start=first.serial_end + 1,
        serial_end=first.serial_end + kg,
        created_at=clock.now(),
        issued_at=clock.now(),
    )
    return await registry.issue_block(bigger)


@pytest.mark.parametrize("kill_at", [RANDOM, "rewards.redeem.before_commit"])
async def test_redemptions_survive_a_kill_exactly_once(live_server_factory, client, sms, kill_at):
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
        mutation(
            REDEEM,
            "redeemOffer",
            lambda key: {"offerId": str(offer.public_id), "idempotencyKey": key},
        ),
        EACH,
        kill_at,
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


@pytest.mark.parametrize("kill_at", [RANDOM, "ledger.spend.before_commit"])
async def test_points_purchases_survive_a_kill_exactly_once(
    live_server_factory,
    client,
    sms,
    kill_at,
    world,  # noqa: F811 - the fixture imported above
):
    from tests.market.test_market import points_pool

    block = await big_block(world, CITIZENS * EACH)
    pool = await points_pool(world, quantity=CITIZENS * EACH, block=block)
    people = await citizens(client, sms, 1000 * EACH)
    run = Run(
        live_server_factory,
        mutation(
            BUY,
            "buyCreditsWithPoints",
            lambda key: {"listingId": str(pool.public_id), "quantityKg": 1, "idempotencyKey": key},
        ),
        EACH,
        kill_at,
    )
    await run.go(people)
    # One order per key; each citizen holds exactly what was paid for; the pool is empty.
    orders = await CreditOrder.filter(listing_id=pool.id)
    assert sorted(str(o.public_id) for o in orders) == sorted(run.answers.values())
    assert (await CreditListing.get(id=pool.id)).available_kg == 0
    for person, _ in people:
        assert await units(person) == EACH
        summary = await wallet.summary(Subject(SubjectKind.PERSON, person))
        assert summary.balance == 0
    assert await verify.verify_all() == []


@pytest.mark.parametrize(
    "kill_at", [RANDOM, "market.order.before_commit", "market.callback.before_commit"]
)
async def test_orders_paid_in_fen_survive_a_kill_exactly_once(
    live_server_factory,
    client,
    sms,
    settings,
    kill_at,
    world,  # noqa: F811 - the fixture imported above
):
    """Each client orders 1 kg with its key; the provider then delivers the order's
    `payment.succeeded` event, the same event again until the service answers 200."""
    from backend.market import service

    price = 25
    block = await big_block(world, CITIZENS * EACH)
    listing = await service.list_credits(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=CITIZENS * EACH,
        currency="FEN",
        price_fen_per_kg=price,
    )
    events: dict[str, bytes] = {}  # the provider's event for each order, sent until answered

    async def order_and_pay(http: httpx.AsyncClient, token: str, key: str) -> str | None:
        ordered = await http.post(
            "/graphql",
            json={
                "query": ORDER,
                "variables": {
                    "i": {
                        "listingId": str(listing.public_id),
                        "quantityKg": 1,
                        "idempotencyKey": key,
                    }
                },
            },
            headers=bearer(token),
        )
        if ordered.status_code != 200:
            return None
        order = ordered.json()["data"]["orderCredits"]
        assert "id" in order, order
        if not order["payUrl"]:
            return None  # the provider had not answered: ordering again asks it again
        body = events.setdefault(
            order["id"],
            event_body(
                event_type="payment.succeeded",
                payment_id=order["payUrl"].rsplit("/", 1)[-1],
                order_number=order["id"],
                amount_fen=int(order["amount"]),
            ),
        )
        paid = await http.post(
            "/payments/v1/callback",
            content=body,
            headers={
                SIGNATURE_HEADER: sign(body, settings.payment_secret),
                "content-type": "application/json",
            },
        )
        if paid.status_code != 200:
            return None
        assert paid.json()["outcome"] in ("APPLIED", "DUPLICATE"), paid.text
        return str(order["id"])

    people = await citizens(client, sms)
    run = Run(live_server_factory, order_and_pay, EACH, kill_at)
    await run.go(people)
    # One paid order per key, each paid once; each buyer holds what was paid for.
    orders = await CreditOrder.filter(listing_id=listing.id)
    assert sorted(str(o.public_id) for o in orders) == sorted(run.answers.values())
    assert {o.status for o in orders} == {OrderStatus.PAID}
    applied = await PaymentCallback.filter(outcome="APPLIED").values_list("order_id", flat=True)
    assert sorted(applied) == sorted(o.id for o in orders)
    assert (await CreditListing.get(id=listing.id)).available_kg == 0
    for person, _ in people:
        assert await units(person) == EACH
    assert sum(o.amount for o in orders) == CITIZENS * EACH * price
    assert await verify.verify_all() == []


@pytest.mark.parametrize(
    ("move", "kill_at"),
    [
        ("retire", RANDOM),
        ("retire", "credits.retire.before_commit"),
        ("transfer", "credits.transfer.before_commit"),
    ],
)
async def test_retirements_and_transfers_survive_a_kill_exactly_once(
    live_server_factory,
    client,
    sms,
    move,
    kill_at,
    world,  # noqa: F811 - the fixture imported above
):
    """Each citizen holds EACH kg and retires them (or transfers them to a business) 1 kg at a
    time, each with its key."""
    from backend.accounts import organisations
    from backend.credits.models import CreditTransfer

    block = await big_block(world, CITIZENS * EACH)
    receiver = await organisations.register_organisation(
        actor=AUTHORITY, kind="SMALL_BUSINESS", name="Receiver"
    )
    people = await citizens(client, sms)
    blocks = {}
    for person, token in people:
        mine = await registry.transfer(
            actor=world["owner"], block_id=str(block.public_id), quantity=EACH, to_holder=person
        )
        blocks[token] = str(mine.public_id)
    transfers_before = await CreditTransfer.all().count()

    def request(token: str) -> Any:
        if move == "retire":
            return mutation(
                RETIRE,
                "retireCredits",
                lambda key: {
                    "blockId": blocks[token],
                    "quantityKg": 1,
                    "purpose": "VOLUNTARY",
                    "idempotencyKey": key,
                },
            )
        return mutation(
            TRANSFER,
            "transferCredits",
            lambda key: {
                "blockId": blocks[token],
                "quantityKg": 1,
                "toHoldingAccountId": to_base64("HoldingAccount", str(receiver.public_id)),
                "idempotencyKey": key,
            },
        )

    run = Run(
        live_server_factory,
        lambda http, token, key: request(token)(http, token, key),
        EACH,
        kill_at,
    )
    await run.go(people)
    # One move of 1 kg per key; every unit each citizen held moved, once.
    if move == "retire":
        retirements = await CreditRetirement.all().select_related("block")
        assert sorted(str(r.public_id) for r in retirements) == sorted(run.answers.values())
        assert all(r.block.serial_end == r.block.serial_start for r in retirements)
        for person, _ in people:
            assert (await units(person), await units(person, "RETIRED")) == (0, EACH)
    else:
        moved = await CreditBlock.filter(holder_id=receiver.public_id)
        assert sorted(str(b.public_id) for b in moved) == sorted(run.answers.values())
        assert await CreditTransfer.all().count() - transfers_before == CITIZENS * EACH
        for person, _ in people:
            assert await units(person) == 0
        assert await units(str(receiver.public_id)) == CITIZENS * EACH
    assert await verify.verify_all() == []
