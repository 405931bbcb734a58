"""Offers, redemption, confirmation, cancellation, expiry and settlement (DESIGN.md rewards)."""

import asyncio
from datetime import timedelta

import pytest

from backend.kit import clock
from backend.kit.errors import Forbidden, IdempotencyKeyReused
from backend.ledger import queries
from backend.ledger.errors import InsufficientPoints
from backend.rewards import service
from backend.rewards.errors import (
    LimitReached,
    OfferUnavailable,
    OutOfStock,
    VoucherAlreadyUsed,
    VoucherEnded,
    VoucherNotFound,
    WrongOfferState,
)
from backend.rewards.models import Offer, Voucher
from tests.rewards.conftest import citizen, fund, make_offer, wallet_of


async def redeem(shop, actor, key, offer=None):
    return await service.redeem(
        actor=actor,
        offer_id=str((offer or shop.offer).public_id),
        idempotency_key=key,
        subject=wallet_of(actor),
    )


async def points(actor):
    wallet = await queries.summary(wallet_of(actor))
    return wallet.balance, wallet.held


async def stock(shop):
    return (await Offer.get(id=shop.offer.id)).stock_left


async def test_a_redemption_holds_points_takes_stock_and_issues_a_voucher(shop):
    alice = citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001")
    assert voucher.status.value == "ISSUED" and len(voucher.code) == 10
    assert await points(alice) == (700, 300)
    assert await stock(shop) == 4
    again = await redeem(shop, alice, "tap-00000001")
    assert again.id == voucher.id and await points(alice) == (700, 300) and await stock(shop) == 4
    other_offer = await make_offer(shop.manager, title_zh="水杯")
    with pytest.raises(IdempotencyKeyReused):
        await redeem(shop, alice, "tap-00000001", offer=other_offer)


@pytest.mark.parametrize("case", ["poor", "sold_out", "limit", "paused", "window"])
async def test_refused_redemptions_change_nothing(shop, case):
    alice = citizen()
    await fund(alice, 100 if case == "poor" else 5000)
    expected = {
        "poor": InsufficientPoints,
        "sold_out": OutOfStock,
        "limit": LimitReached,
        "paused": OfferUnavailable,
        "window": OfferUnavailable,
    }[case]
    offer = shop.offer
    if case == "sold_out":
        offer = await make_offer(shop.manager, total_stock=1)
        await fund(rival := citizen(), 1000)
        await redeem(shop, rival, "rival-0001", offer=offer)
    elif case == "limit":
        await redeem(shop, alice, "tap-00000001")
        await redeem(shop, alice, "tap-00000002")
    elif case == "paused":
        await service.set_offer_status(
            actor=shop.manager, offer_id=str(offer.public_id), status="PAUSED"
        )
    elif case == "window":
        offer = await make_offer(
            shop.manager,
            redeem_from=clock.now() + timedelta(days=1),
            redeem_until=clock.now() + timedelta(days=2),
        )
    before = (await points(alice), (await Offer.get(id=offer.id)).stock_left)
    with pytest.raises(expected):
        await redeem(shop, alice, "tap-refused", offer=offer)
    assert (await points(alice), (await Offer.get(id=offer.id)).stock_left) == before
    assert not await Voucher.filter(idempotency_key="tap-refused").exists()


async def test_a_cashier_confirms_by_token_or_code_once(shop):
    alice = citizen()
    await fund(alice, 1000)
    first = await redeem(shop, alice, "tap-00000001")
    token, _ = service.voucher_token(first)
    confirmed = await service.confirm(actor=shop.cashier, token=token, code=None)
    assert confirmed.status.value == "CONFIRMED"
    assert await points(alice) == (700, 0)
    with pytest.raises(VoucherAlreadyUsed) as used:
        await service.confirm(actor=shop.cashier, token=None, code=first.code)
    assert used.value.params["used_at"]
    second = await redeem(shop, alice, "tap-00000002")
    await service.confirm(actor=shop.cashier, token=None, code=second.code.lower())
    assert await points(alice) == (400, 0)


async def test_only_that_merchants_staff_confirm(shop):
    alice = citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001")
    token, _ = service.voucher_token(voucher)
    with pytest.raises(VoucherNotFound):
        await service.confirm(actor=shop.other_cashier, token=token, code=None)
    with pytest.raises(Forbidden):
        await service.confirm(actor=alice, token=token, code=None)
    header, payload, signature = token.split(".")
    with pytest.raises(VoucherNotFound):
        await service.confirm(
            actor=shop.cashier, token=f"{header}.{payload}x.{signature}", code=None
        )
    with pytest.raises(VoucherNotFound):
        await service.confirm(actor=shop.cashier, token=None, code="NOPE123456")
    # a typed code longer than any voucher's is no voucher, not a database error
    with pytest.raises(VoucherNotFound):
        await service.confirm(actor=shop.cashier, token=None, code=voucher.code + "ABCDE")
    assert await points(alice) == (700, 300)


async def test_an_expired_qr_token_is_refused(shop):
    alice = citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001")
    token, _ = service.voucher_token(voucher)
    with clock.frozen(clock.now() + timedelta(minutes=6)), pytest.raises(VoucherNotFound):
        await service.confirm(actor=shop.cashier, token=token, code=None)


async def test_cancelling_gives_points_and_stock_back_but_not_after_use(shop):
    alice, bob = citizen(), citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001")
    with pytest.raises(VoucherNotFound):
        await service.cancel(actor=bob, voucher_id=str(voucher.public_id), subjects=[bob.id])
    await service.cancel(actor=alice, voucher_id=str(voucher.public_id), subjects=[alice.id])
    assert await points(alice) == (1000, 0) and await stock(shop) == 5
    with pytest.raises(VoucherEnded):
        await service.confirm(actor=shop.cashier, token=None, code=voucher.code)
    used = await redeem(shop, alice, "tap-00000002")
    await service.confirm(actor=shop.cashier, token=None, code=used.code)
    with pytest.raises(VoucherAlreadyUsed):
        await service.cancel(actor=alice, voucher_id=str(used.public_id), subjects=[alice.id])


@pytest.mark.parametrize(("policy", "balance"), [("REFUND", 1000), ("FORFEIT", 700)])
async def test_unused_vouchers_expire_by_the_offers_policy(shop, policy, balance):
    offer = await make_offer(shop.manager, unused_policy=policy, voucher_valid_days=1)
    alice = citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001", offer=offer)
    with clock.frozen(clock.now() + timedelta(days=2)):
        assert await service.expire_vouchers() == 1
        assert await service.expire_vouchers() == 0
        with pytest.raises(VoucherEnded):
            await service.confirm(actor=shop.cashier, token=None, code=voucher.code)
    assert await points(alice) == (balance, 0)
    assert (await Offer.get(id=offer.id)).stock_left == offer.total_stock


async def test_offer_lifecycle_and_who_manages(shop):
    with pytest.raises(WrongOfferState):
        await service.set_offer_status(
            actor=shop.manager, offer_id=str(shop.offer.public_id), status="DRAFT"
        )
    with pytest.raises(Forbidden):
        await service.set_offer_status(
            actor=shop.cashier, offer_id=str(shop.offer.public_id), status="PAUSED"
        )
    await service.set_offer_status(
        actor=shop.manager, offer_id=str(shop.offer.public_id), status="ENDED"
    )
    with pytest.raises(WrongOfferState):
        await service.set_offer_status(
            actor=shop.manager, offer_id=str(shop.offer.public_id), status="ACTIVE"
        )


async def test_the_settlement_counts_confirmed_vouchers_by_offer(shop):
    alice = citizen()
    await fund(alice, 5000)
    for n in range(2):
        voucher = await redeem(shop, alice, f"tap-0000000{n}")
        await service.confirm(actor=shop.cashier, token=None, code=voucher.code)
    bob = citizen()
    await fund(bob, 1000)
    await redeem(shop, bob, "tap-unused-1")  # issued, not confirmed: not in the statement
    lines = await service.settlement(
        actor=shop.manager,
        start=clock.now() - timedelta(hours=1),
        end=clock.now() + timedelta(hours=1),
    )
    assert [(line["vouchers"], line["points"]) for line in lines] == [(2, 600)]
    with pytest.raises(Forbidden):
        await service.settlement(
            actor=shop.cashier, start=clock.now() - timedelta(hours=1), end=clock.now()
        )


@pytest.mark.postgres_only
async def test_five_hundred_redemptions_of_a_hundred_units(shop):
    offer = await make_offer(shop.manager, total_stock=100, per_person_limit=1)
    people = [citizen() for _ in range(500)]
    for person in people:
        await fund(person, 300)

    async def attempt(person):
        try:
            await redeem(shop, person, f"tap-{person.id}", offer=offer)
            return True
        except OutOfStock:
            return False

    results = await asyncio.gather(*(attempt(p) for p in people))
    assert sum(results) == 100
    assert (await Offer.get(id=offer.id)).stock_left == 0
    assert await Voucher.filter(offer=offer).count() == 100
    held = [await points(p) for p in people]
    assert sum(h for _, h in held) == 100 * 300
    assert sum(b + h for b, h in held) == 500 * 300  # points conserved


@pytest.mark.postgres_only
async def test_a_double_tap_gives_one_voucher(shop):
    alice = citizen()
    await fund(alice, 1000)
    first, second = await asyncio.gather(
        redeem(shop, alice, "tap-double1"), redeem(shop, alice, "tap-double1")
    )
    assert first.id == second.id
    assert await points(alice) == (700, 300) and await stock(shop) == 4


@pytest.mark.postgres_only
async def test_confirmation_racing_cancellation_ends_in_exactly_one(shop):
    alice = citizen()
    await fund(alice, 1000)
    voucher = await redeem(shop, alice, "tap-00000001")

    async def attempt(coro):
        try:
            return (await coro).status.value
        except (VoucherAlreadyUsed, VoucherEnded):
            return "refused"

    outcomes = await asyncio.gather(
        attempt(service.confirm(actor=shop.cashier, token=None, code=voucher.code)),
        attempt(
            service.cancel(actor=alice, voucher_id=str(voucher.public_id), subjects=[alice.id])
        ),
    )
    assert sorted(outcomes) in (["CONFIRMED", "refused"], ["CANCELLED", "refused"])
    balance, held = await points(alice)
    assert held == 0 and balance in (700, 1000)
