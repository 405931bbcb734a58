"""Buying credits: listings, orders that lock units, payments confirmed by signed callbacks,
expiry, refunds, points for credits, and the daily reconciliation. Every attack on a callback
(replayed, forged, late, out of order, wrong amount) changes nothing wrong and is recorded."""

import asyncio
import json
import uuid
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import Any

import pytest

from backend import jobs, verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.credits import registry
from backend.credits.errors import BlockNotMovable, NotEnoughUnits
from backend.credits.models import CreditBlock, CreditTransfer
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, IdempotencyKeyReused, InvalidInput, NotFound
from backend.ledger import queries as wallet
from backend.ledger import service as ledger
from backend.ledger.errors import InsufficientPoints
from backend.market import service
from backend.market.errors import UnitsMovedOn, WrongOrderState
from backend.market.models import (
    CreditListing,
    CreditOrder,
    PaymentCallback,
    PaymentMismatch,
    SandboxPayment,
    SellerProceeds,
)
from backend.market.payments import event_body, get_provider, sign
from backend.settings import get_settings
from tests.credits.test_projects import AUTHORITY
from tests.registry.test_holdings import citizen
from tests.registry.test_moves import holding

PRICE = 25  # fen per kg


async def listed(world, quantity: int = 10):
    block, _ = await holding(world)
    listing = await service.list_credits(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=quantity,
        currency="FEN",
        price_fen_per_kg=PRICE,
    )
    return block, listing


async def units_of(holder: str) -> int:
    return sum(
        b.serial_end - b.serial_start + 1
        for b in await CreditBlock.filter(holder_id=holder, status="HELD")
    )


async def outcomes() -> list[str]:
    return [c.outcome.value for c in await PaymentCallback.all().order_by("id")]


async def test_an_order_paid_through_the_sandbox_moves_the_units(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="order-0001"
    )
    assert order.status.value == "PENDING_PAYMENT" and order.amount == 4 * PRICE
    assert order.pay_url == f"/sandbox/pay/{order.payment_id}"
    assert (await CreditListing.get(id=listing.id)).available_kg == 6
    locked = await CreditBlock.filter(order_id=order.id)
    assert [b.status.value for b in locked] == ["LOCKED"]
    assert await verify.verify_all() == []
    assert await get_provider().pay(order.payment_id) == "APPLIED"  # type: ignore[attr-defined]
    paid = await CreditOrder.get(id=order.id)
    assert paid.status.value == "PAID"
    assert await units_of(alice.id) == 4
    assert await CreditTransfer.filter(to_holder=alice.id).count() == 1
    assert [p.amount_fen for p in await SellerProceeds.all()] == [100]
    # The buyer moves them as any holder: retire one.
    [mine] = await CreditBlock.filter(holder_id=alice.id)
    await registry.retire(
        actor=alice, block_id=str(mine.public_id), quantity=1, beneficiary=None, purpose="VOLUNTARY"
    )
    assert await verify.verify_all() == []


async def test_listed_and_locked_units_do_not_move_and_cannot_be_sold_twice(world):
    _, listing = await listed(world, quantity=3)
    alice, bob = await citizen(), await citizen()
    [on_sale] = await CreditBlock.filter(listing_id=listing.id)
    with pytest.raises(BlockNotMovable):
        await registry.retire(
            actor=world["owner"],
            block_id=str(on_sale.public_id),
            quantity=1,
            beneficiary=None,
            purpose="VOLUNTARY",
        )
    await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=3, idempotency_key="alice-0001"
    )
    with pytest.raises(NotEnoughUnits):
        await service.order_credits(
            actor=bob, listing_id=str(listing.public_id), quantity=1, idempotency_key="bob-00001"
        )
    with pytest.raises(InvalidInput):  # the seller cannot buy its own units
        await service.order_credits(
            actor=world["owner"],
            listing_id=str(listing.public_id),
            quantity=1,
            idempotency_key="self-0001",
        )
    assert await CreditOrder.all().count() == 1
    assert await verify.verify_all() == []


async def test_a_replayed_order_is_the_same_order(world):
    _, listing = await listed(world)
    alice = await citizen()
    first = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="same-key-1"
    )
    again = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="same-key-1"
    )
    assert again.id == first.id and again.payment_id == first.payment_id
    with pytest.raises(IdempotencyKeyReused):
        await service.order_credits(
            actor=alice, listing_id=str(listing.public_id), quantity=3, idempotency_key="same-key-1"
        )
    assert (await CreditListing.get(id=listing.id)).available_kg == 8
    assert await SandboxPayment.all().count() == 1


@pytest.mark.postgres_only
async def ok_or_refused(purchase: Awaitable[Any]) -> str:
    """ "ok", or "refused" when there were not enough units left."""
    try:
        await purchase
        return "ok"
    except NotEnoughUnits:
        return "refused"


async def test_two_buyers_racing_for_the_last_units_one_wins(world):
    _, listing = await listed(world, quantity=5)
    buyers = [await citizen() for _ in range(4)]

    results = await asyncio.gather(
        *(
            ok_or_refused(
                service.order_credits(
                    actor=buyers[n],
                    listing_id=str(listing.public_id),
                    quantity=5,
                    idempotency_key=f"race-{n:04d}",
                )
            )
            for n in range(4)
        )
    )
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert (await CreditListing.get(id=listing.id)).available_kg == 0
    assert await verify.verify_all() == []


async def test_an_unpaid_order_expires_and_a_late_payment_is_refunded(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="late-0001"
    )
    assert (await jobs.run_due(["expire-orders"]))["expire-orders"] == 0
    minutes = get_settings().order_minutes
    with clock.frozen(clock.now() + timedelta(minutes=minutes + 1)):
        assert (await jobs.run_due(["expire-orders"]))["expire-orders"] == 1
        assert (await CreditOrder.get(id=order.id)).status.value == "EXPIRED"
        assert (await CreditListing.get(id=listing.id)).available_kg == 10
        assert await verify.verify_all() == []
        assert await get_provider().pay(order.payment_id) == "LATE"  # type: ignore[attr-defined]
    assert (await CreditOrder.get(id=order.id)).status.value == "EXPIRED"
    assert await units_of(alice.id) == 0
    assert (await SandboxPayment.get(payment_id=order.payment_id)).status.value == "REFUNDED"
    assert await outcomes() == ["LATE", "APPLIED"]  # the payment, then its refund's confirmation
    assert await SellerProceeds.all().count() == 0
    assert await verify.verify_all() == []


async def test_a_payment_after_the_deadline_but_before_the_job_is_late_too(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="late-0002"
    )
    with clock.frozen(order.expires_at + timedelta(seconds=1)):  # type: ignore[operator]
        assert await get_provider().pay(order.payment_id) == "LATE"  # type: ignore[attr-defined]
    assert (await CreditOrder.get(id=order.id)).status.value == "EXPIRED"
    assert (await CreditListing.get(id=listing.id)).available_kg == 10
    assert await verify.verify_all() == []


async def callback(order, *, event_type="payment.succeeded", amount=None, payment_id=None):
    body = event_body(
        event_type=event_type,
        payment_id=payment_id or order.payment_id,
        order_number=str(order.public_id),
        amount_fen=order.amount if amount is None else amount,
    )
    return body, sign(body, get_settings().payment_secret)


async def test_forged_stale_malformed_and_wrong_callbacks_change_nothing(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="attack-001"
    )
    body, signature = await callback(order)
    forged = sign(body, "not-the-secret")
    assert await service.handle_callback(body, forged) == (400, "BAD_SIGNATURE")
    assert await service.handle_callback(body, None) == (400, "BAD_SIGNATURE")
    tampered = body.replace(b'"amountFen":100', b'"amountFen":1')
    assert await service.handle_callback(tampered, signature) == (400, "BAD_SIGNATURE")
    stale = sign(body, get_settings().payment_secret, at=int(clock.now().timestamp()) - 600)
    assert await service.handle_callback(body, stale) == (400, "BAD_SIGNATURE")
    junk = b'{"id": "evt_1", "type": "payment.succeeded"}'
    assert await service.handle_callback(junk, sign(junk, get_settings().payment_secret)) == (
        400,
        "MALFORMED",
    )
    wrong_amount = await callback(order, amount=1)
    assert (await service.handle_callback(*wrong_amount))[1] == "WRONG_AMOUNT"
    refund_first = await callback(order, event_type="refund.succeeded")
    assert (await service.handle_callback(*refund_first))[1] == "OUT_OF_ORDER"
    other_payment = await callback(order, payment_id="sbx_someone_else")
    assert (await service.handle_callback(*other_payment))[1] == "WRONG_PAYMENT"
    unknown = event_body(
        event_type="payment.succeeded",
        payment_id="sbx_x",
        order_number=str(uuid.uuid4()),
        amount_fen=5,
    )
    assert (await service.handle_callback(unknown, sign(unknown, get_settings().payment_secret)))[
        1
    ] == "UNKNOWN_ORDER"
    assert (await CreditOrder.get(id=order.id)).status.value == "PENDING_PAYMENT"
    assert await units_of(alice.id) == 0
    # The real one applies once; its replay (the very same signed body) is a duplicate.
    assert await service.handle_callback(body, signature) == (200, "APPLIED")
    assert await service.handle_callback(body, signature) == (200, "DUPLICATE")
    second_event = await callback(order)  # another event for the same payment
    assert (await service.handle_callback(*second_event))[1] == "DUPLICATE"
    assert await units_of(alice.id) == 4
    assert await SellerProceeds.all().count() == 1
    assert await outcomes() == [
        "BAD_SIGNATURE",
        "BAD_SIGNATURE",
        "BAD_SIGNATURE",
        "BAD_SIGNATURE",
        "MALFORMED",
        "WRONG_AMOUNT",
        "OUT_OF_ORDER",
        "WRONG_PAYMENT",
        "UNKNOWN_ORDER",
        "APPLIED",
        "DUPLICATE",
        "DUPLICATE",
    ]
    assert await verify.verify_all() == []


@pytest.mark.postgres_only
async def test_one_callback_delivered_twice_at_once_applies_once(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="twice-0001"
    )
    body, signature = await callback(order)
    results = await asyncio.gather(*(service.handle_callback(body, signature) for _ in range(3)))
    assert sorted(r[1] for r in results) == ["APPLIED", "DUPLICATE", "DUPLICATE"]
    assert await units_of(alice.id) == 4
    assert await SellerProceeds.all().count() == 1


async def test_the_operator_refunds_a_paid_order_while_the_buyer_holds_its_units(world):
    _, listing = await listed(world)
    alice, bob = await citizen(), await citizen()
    orders = []
    for n, buyer in enumerate((alice, bob)):
        order = await service.order_credits(
            actor=buyer,
            listing_id=str(listing.public_id),
            quantity=3,
            idempotency_key=f"ref-{n:05d}",
        )
        await get_provider().pay(order.payment_id)  # type: ignore[attr-defined]
        orders.append(order)
    seller = world["owner"].organisation_id
    before = await units_of(seller)
    with pytest.raises(Forbidden):
        await service.refund_order(actor=world["owner"], order_id=str(orders[0].public_id))
    refunded = await service.refund_order(actor=AUTHORITY, order_id=str(orders[0].public_id))
    # The sandbox confirmed the refund at once by its callback.
    assert (await CreditOrder.get(id=refunded.id)).status.value == "REFUNDED"
    assert await units_of(alice.id) == 0 and await units_of(seller) == before + 3
    assert sorted(p.amount_fen for p in await SellerProceeds.all()) == [-75, 75, 75]
    with pytest.raises(WrongOrderState):
        await service.refund_order(actor=AUTHORITY, order_id=str(orders[0].public_id))
    # Bob already retired one of his units: his order cannot be refunded.
    [his] = await CreditBlock.filter(holder_id=bob.id)
    await registry.retire(
        actor=bob, block_id=str(his.public_id), quantity=1, beneficiary=None, purpose="VOLUNTARY"
    )
    with pytest.raises(UnitsMovedOn):
        await service.refund_order(actor=AUTHORITY, order_id=str(orders[1].public_id))
    assert (await CreditOrder.get(id=orders[1].id)).status.value == "PAID"
    assert await verify.verify_all() == []


async def test_withdrawing_a_listing_returns_its_units_and_an_open_order_follows_later(world):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=4, idempotency_key="wd-000001"
    )
    stranger = await citizen()
    with pytest.raises(NotFound):
        await service.withdraw_listing(actor=stranger, listing_id=str(listing.public_id))
    await service.withdraw_listing(actor=world["owner"], listing_id=str(listing.public_id))
    seller = world["owner"].organisation_id
    assert await units_of(seller) == 8  # 2 never listed + 6 unsold; 4 still locked
    with clock.frozen(clock.now() + timedelta(hours=1)):
        await jobs.run_due(["expire-orders"])
    assert await units_of(seller) == 12
    assert (await CreditOrder.get(id=order.id)).status.value == "EXPIRED"
    assert await verify.verify_all() == []


async def earned(person: Actor, points: int) -> None:
    await ledger.earn(
        owner=Subject(SubjectKind.PERSON, person.id),  # type: ignore[arg-type]
        amount=points,
        idempotency_key=f"earn-{uuid.uuid4()}",
        cause={"test": True},
    )


async def points_pool(world, quantity: int = 10, block=None):
    """The operator's points pool: the authority holds units and lists them for points."""
    if block is None:
        block, _ = await holding(world)
    operator = Actor(
        kind="authority",
        id=str(uuid.uuid4()),
        organisation_id=world["owner"].organisation_id,
        organisation_kind="AUTHORITY",
        roles=frozenset({"admin"}),
    )
    listing = await service.list_credits(
        actor=operator,
        block_id=str(block.public_id),
        quantity=quantity,
        currency="POINTS",
        price_fen_per_kg=None,
    )
    return listing


async def test_points_buy_units_at_the_ratio_in_one_transaction(world):
    listing = await points_pool(world)
    alice = await citizen()
    await earned(alice, 2500)
    subject = Subject(SubjectKind.PERSON, alice.id)  # type: ignore[arg-type]
    order = await service.buy_with_points(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="points-001"
    )
    assert (order.status.value, order.amount) == ("PAID", 2000)
    assert (await wallet.summary(subject)).balance == 500
    assert await units_of(alice.id) == 2
    replay = await service.buy_with_points(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="points-001"
    )
    assert replay.id == order.id and (await wallet.summary(subject)).balance == 500
    with pytest.raises(InsufficientPoints):
        await service.buy_with_points(
            actor=alice, listing_id=str(listing.public_id), quantity=1, idempotency_key="points-002"
        )
    assert await units_of(alice.id) == 2 and (await wallet.summary(subject)).balance == 500
    assert (await CreditListing.get(id=listing.id)).available_kg == 8
    # A new ratio from now on prices the next purchase.
    await service.set_points_per_kg(actor=AUTHORITY, points=250, effective_at=None)
    again = await service.buy_with_points(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="points-003"
    )
    assert again.amount == 500 and (await wallet.summary(subject)).balance == 0
    assert await verify.verify_all() == []


@pytest.mark.postgres_only
async def test_points_buyers_racing_for_the_pool_never_oversell_nor_deadlock(world):
    """Eight buyers at once, 2 kg each, for a pool of 10 kg: five win, three are refused, and
    no purchase fails on a deadlock (each locks its wallet, then the pool, then writes its
    order)."""
    listing = await points_pool(world, quantity=10)
    buyers = [await citizen() for _ in range(8)]
    for buyer in buyers:
        await earned(buyer, 5000)

    results = await asyncio.gather(
        *(
            ok_or_refused(
                service.buy_with_points(
                    actor=buyers[n],
                    listing_id=str(listing.public_id),
                    quantity=2,
                    idempotency_key=f"pool-race-{n:04d}",
                )
            )
            for n in range(8)
        )
    )
    assert sorted(results) == ["ok"] * 5 + ["refused"] * 3
    assert (await CreditListing.get(id=listing.id)).available_kg == 0
    spent = [
        (await wallet.summary(Subject(SubjectKind.PERSON, b.id))).balance  # type: ignore[arg-type]
        for b in buyers
    ]
    assert sorted(spent) == [3000] * 5 + [5000] * 3
    assert sum([await units_of(b.id) for b in buyers]) == 10  # type: ignore[arg-type]
    assert await verify.verify_all() == []


async def test_points_listings_are_the_authoritys_and_fen_listings_need_a_price(world):
    block, _ = await holding(world)
    for currency, price, error in (
        ("POINTS", None, Forbidden),
        ("FEN", None, InvalidInput),
        ("FEN", 0, InvalidInput),
    ):
        with pytest.raises(error):
            await service.list_credits(
                actor=world["owner"],
                block_id=str(block.public_id),
                quantity=1,
                currency=currency,
                price_fen_per_kg=price,
            )
    listing = await service.list_credits(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=5,
        currency="FEN",
        price_fen_per_kg=PRICE,
    )
    alice = await citizen()
    await earned(alice, 10_000)
    with pytest.raises(NotFound):  # a fen listing is not bought with points
        await service.buy_with_points(
            actor=alice, listing_id=str(listing.public_id), quantity=1, idempotency_key="points-009"
        )
    assert await CreditListing.all().count() == 1


async def test_the_daily_reconciliation_reports_mismatches_once(world):
    _, listing = await listed(world)
    alice = await citizen()
    good = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="rec-000001"
    )
    await get_provider().pay(good.payment_id)  # type: ignore[attr-defined]
    odd = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=1, idempotency_key="rec-000002"
    )
    # The provider's book says the second was paid, but its callback never came.
    await SandboxPayment.filter(payment_id=odd.payment_id).update(status="SUCCEEDED")
    today = clock.now().astimezone(clock.SHANGHAI).date()
    assert await service.reconcile(today) == 1
    [found] = await PaymentMismatch.all()
    assert found.payment_id == odd.payment_id and "SUCCEEDED" in found.problem
    assert await service.reconcile(today) == 0  # once per day
    assert await service.reconcile(date(2020, 1, 1)) == 0


async def test_the_callback_route_and_the_sandbox_page(world, client):
    _, listing = await listed(world)
    alice = await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="http-00001"
    )
    page = await client.get(order.pay_url)
    assert page.status_code == 200 and "¥0.50" in page.text
    forged = await client.post(
        "/payments/v1/callback",
        content=b'{"id":"x"}',
        headers={"x-tph-signature": "t=1,v1=00"},
    )
    assert forged.status_code == 400 and forged.json() == {"outcome": "BAD_SIGNATURE"}
    body, signature = await callback(order)
    paid = await client.post(
        "/payments/v1/callback", content=body, headers={"x-tph-signature": signature}
    )
    assert paid.status_code == 200 and paid.json() == {"outcome": "APPLIED"}
    assert await units_of(alice.id) == 2
    # Paying on the page now sends a second payment event: the service calls it a duplicate.
    again = await client.post(order.pay_url)
    assert "DUPLICATE" in again.text and await units_of(alice.id) == 2
    assert "Nothing to pay" in (await client.post(order.pay_url)).text
    assert json.loads(body)["orderNumber"] == str(order.public_id)


class SilentRefunds:
    """The sandbox, except that refunds find the provider unreachable until told otherwise."""

    def __init__(self) -> None:
        from backend.market.payments import SandboxProvider

        self.inner = SandboxProvider(get_settings())
        self.name = self.inner.name
        self.down = True

    async def create_payment(self, **kwargs):
        return await self.inner.create_payment(**kwargs)

    async def pay(self, payment_id):
        return await self.inner.pay(payment_id)

    async def refund(self, *, payment_id, amount_fen):
        from backend.market.payments import ProviderUnavailable

        if self.down:
            raise ProviderUnavailable("timed out")
        await self.inner.refund(payment_id=payment_id, amount_fen=amount_fen)

    async def payments(self, *, start, end):
        return await self.inner.payments(start=start, end=end)


async def test_a_refund_the_provider_did_not_answer_is_asked_for_again(world):
    from backend.market.payments import set_provider

    provider = SilentRefunds()
    set_provider(provider)
    try:
        _, listing = await listed(world)
        alice = await citizen()
        order = await service.order_credits(
            actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="retry-0001"
        )
        await provider.pay(order.payment_id)
        await service.refund_order(actor=AUTHORITY, order_id=str(order.public_id))
        assert (await CreditOrder.get(id=order.id)).status.value == "REFUNDING"
        provider.down = False
        assert (await jobs.run_due(["retry-refunds"]))["retry-refunds"] == 0  # too soon
        with clock.frozen(clock.now() + timedelta(minutes=11)):
            assert (await jobs.run_due(["retry-refunds"]))["retry-refunds"] == 1
        assert (await CreditOrder.get(id=order.id)).status.value == "REFUNDED"
        assert await verify.verify_all() == []
    finally:
        set_provider(None)


async def test_an_order_is_seen_only_by_its_buyer_and_its_seller(world, execute):
    _, listing = await listed(world)
    alice, bob = await citizen(), await citizen()
    order = await service.order_credits(
        actor=alice, listing_id=str(listing.public_id), quantity=2, idempotency_key="idor-00001"
    )
    query = "query ($id: ID!) { creditOrder(id: $id) { id status } }"
    seen = {}
    for name, actor in (("alice", alice), ("bob", bob), ("seller", world["owner"])):
        answer = await execute(query, {"id": str(order.public_id)}, actor=actor)
        seen[name] = answer.data["creditOrder"]
    assert seen["bob"] is None
    assert (
        seen["alice"] == seen["seller"] == {"id": str(order.public_id), "status": "PENDING_PAYMENT"}
    )
    mine = await execute("{ myCreditOrders { id } }", actor=bob)
    assert mine.data["myCreditOrders"] == []
    sales = await execute("{ myCreditSales { proceedsFen orders { id } } }", actor=world["owner"])
    assert sales.data["myCreditSales"] == {
        "proceedsFen": "0",
        "orders": [{"id": str(order.public_id)}],
    }
    # Units always go to the orderer's own holding account: paying delivers them to alice only.
    await get_provider().pay(order.payment_id)  # type: ignore[attr-defined]
    assert (await units_of(alice.id), await units_of(bob.id)) == (2, 0)
