"""Buying credits (购买).

A holder lists units at a price per kg in fen (or the operator lists its points pool): the units
become LISTED blocks carrying the listing's id, and the listing's `available_kg` is their total,
changed only under the listing's row lock. An order takes units from the listing as LOCKED blocks
carrying the order's id, for `TPH_ORDER_MINUTES`, and asks the payment provider to collect. The
provider's signed callback completes the order: the locked blocks move to the buyer and the
seller's proceeds are recorded. An unpaid order expires (job `expire-orders`) and its units go
back to the listing. A paid order can be refunded by the operator while the buyer still holds all
of its units. Points buy units from the points pool in one transaction: the points are burned and
the units move together. Every callback is recorded with what it did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.accounts import queries as accounts
from backend.accounts.subjects import Subject, SubjectKind
from backend.audit import service as audit
from backend.credits import registry
from backend.credits.errors import NotEnoughUnits
from backend.credits.models import BlockStatus, CreditBlock, CreditTransfer
from backend.kit import clock, db, idempotency
from backend.kit.actor import Actor, require_kind, require_person, system_actor
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int
from backend.ledger import service as ledger
from backend.market.errors import UnitsMovedOn, WrongOrderState
from backend.market.models import (
    CallbackOutcome,
    CreditListing,
    CreditOrder,
    ListingCurrency,
    ListingStatus,
    OrderStatus,
    PaymentCallback,
    PaymentMismatch,
    PointsPerKg,
    ReconciliationRun,
    SellerProceeds,
)
from backend.market.payments import (
    ProviderUnavailable,
    get_provider,
    verify_signature,
)
from backend.settings import get_settings

log = logging.getLogger(__name__)

DEFAULT_POINTS_PER_KG = 1000  # DESIGN.md: 1,000 points per kg until the authority sets another
MAX_KG = 10**12
MAX_PRICE_FEN = 10**9
PAYMENTS = system_actor("payments")


def _listing_not_found() -> NotFound:
    return NotFound(what="listing", what_zh="挂牌")


def _order_not_found() -> NotFound:
    return NotFound(what="order", what_zh="订单")


# --- the points-to-credit ratio -------------------------------------------------------------


async def points_per_kg(at: datetime | None = None) -> int:
    ratio = (
        await PointsPerKg.filter(effective_at__lte=at or clock.now())
        .order_by("-effective_at", "-id")
        .first()
    )
    return int(ratio.points_per_kg) if ratio else DEFAULT_POINTS_PER_KG


async def set_points_per_kg(
    *, actor: Actor, points: int, effective_at: datetime | None
) -> PointsPerKg:
    """A new version of the ratio from `effective_at` (now by default); earlier ones stay."""
    require_kind(actor, "authority")
    positive_int(points, field="pointsPerKg", maximum=10**9)
    now = clock.now()
    start = effective_at or now
    if start.tzinfo is None or start < now - timedelta(seconds=1):
        raise InvalidInput(
            field="effectiveAt",
            reason="now or later, with an offset",
            reason_zh="须为当前或之后的时间（带时区）",
        )
    async with db.transaction():
        ratio = await PointsPerKg.create(
            points_per_kg=points, effective_at=start, set_by=actor.audit_name, created_at=now
        )
        await audit.record(
            actor=actor,
            action="market.points_per_kg_set",
            object_type="points_per_kg",
            object_id=str(ratio.id),
            details={"points_per_kg": points, "effective_at": start.isoformat()},
        )
    return ratio


# --- listings ----------------------------------------------------------------------------------


async def list_credits(
    *,
    actor: Actor,
    block_id: str,
    quantity: int,
    currency: str,
    price_fen_per_kg: int | None,
    idempotency_key: str | None = None,
) -> CreditListing:
    """Offer `quantity` kg of a block: they become LISTED, out of the seller's other moves. A
    replay of the key returns the first call's listing."""
    kind = ListingCurrency(currency)
    if kind == ListingCurrency.POINTS:
        require_kind(actor, "authority")  # the operator's points pool
        if price_fen_per_kg is not None:
            raise InvalidInput(
                field="priceFenPerKg",
                reason="points listings sell at the authority's ratio",
                reason_zh="积分挂牌按主管部门的兑换比例计价",
            )
    else:
        positive_int(price_fen_per_kg, field="priceFenPerKg", maximum=MAX_PRICE_FEN)

    async def work() -> int:
        block = await registry.held_block(actor, block_id, quantity)
        listing = await CreditListing.create(
            public_id=new_public_id(),
            seller_id=block.holder_id,
            seller_kind=block.holder_kind,
            currency=kind,
            price_fen_per_kg=price_fen_per_kg if kind == ListingCurrency.FEN else None,
            listed_kg=quantity,
            available_kg=quantity,
            status=ListingStatus.ACTIVE,
            created_at=clock.now(),
        )
        await registry.split(block, quantity, status=BlockStatus.LISTED, listing_id=listing.id)
        await audit.record(
            actor=actor,
            action="market.listed",
            object_type="credit_listing",
            object_id=str(listing.public_id),
            details={"quantity_kg": quantity, "currency": kind.value, "price": price_fen_per_kg},
        )
        return int(listing.id)

    async with db.transaction():
        listing_id = await idempotency.keyed_id(
            key=idempotency_key,
            owner=registry.holding_account_of(actor),
            operation="listCredits",
            request={
                "block": block_id,
                "quantity": quantity,
                "currency": kind.value,
                "price": price_fen_per_kg,
            },
            work=work,
        )
    return await CreditListing.get(id=listing_id)


async def _locked_listing(listing_id: str, *, lock: bool = True) -> CreditListing | None:
    public_id = parse_public_id(listing_id)
    if public_id is None:
        return None
    found = CreditListing.filter(public_id=public_id)
    return await (found.select_for_update() if lock else found).first()


async def _on_sale(
    listing_id: str, currency: ListingCurrency, *, lock: bool = True
) -> CreditListing:
    """An active listing in `currency`, row-locked (unless `lock` is False); NotFound for
    anything else."""
    listing = await _locked_listing(listing_id, lock=lock)
    if listing is None or listing.status != ListingStatus.ACTIVE or listing.currency != currency:
        raise _listing_not_found()
    return listing


async def withdraw_listing(*, actor: Actor, listing_id: str) -> CreditListing:
    """The seller takes its unsold units back (units locked by open orders follow their order)."""
    holder = registry.holding_account_of(actor)
    async with db.transaction():
        listing = await _locked_listing(listing_id)
        if listing is None or str(listing.seller_id) != holder:
            raise _listing_not_found()
        if listing.status != ListingStatus.ACTIVE:
            raise WrongOrderState(status=listing.status.value, step="withdraw")
        await CreditBlock.filter(listing_id=listing.id, status=BlockStatus.LISTED).update(
            status=BlockStatus.HELD, listing_id=None
        )
        await CreditListing.filter(id=listing.id).update(
            status=ListingStatus.WITHDRAWN, available_kg=0, withdrawn_at=clock.now()
        )
        await audit.record(
            actor=actor,
            action="market.withdrawn",
            object_type="credit_listing",
            object_id=str(listing.public_id),
            details={"returned_kg": listing.available_kg},
        )
    return await CreditListing.get(id=listing.id)


async def _take(listing: CreditListing, quantity: int, **moved: Any) -> list[CreditBlock]:
    """Move `quantity` kg out of a (row-locked) listing's LISTED blocks, lowest serials first."""
    taken = await db.execute(
        "UPDATE credit_listing SET available_kg = available_kg - $1"
        " WHERE id = $2 AND available_kg >= $1",
        quantity,
        listing.id,
    )
    if taken != 1:
        raise NotEnoughUnits(available=listing.available_kg, requested=quantity)
    blocks = (
        await CreditBlock.filter(listing_id=listing.id, status=BlockStatus.LISTED)
        .order_by("serial_start")
        .select_for_update()
    )
    pieces, remaining = [], quantity
    for block in blocks:
        part = min(remaining, block.serial_end - block.serial_start + 1)
        pieces.append(await registry.split(block, part, **moved))
        remaining -= part
        if remaining == 0:
            return pieces
    raise RuntimeError(f"listing {listing.id}: its blocks hold less than available_kg")


# --- orders in fen -----------------------------------------------------------------------------


async def order_credits(
    *, actor: Actor, listing_id: str, quantity: int, idempotency_key: str
) -> CreditOrder:
    """Lock `quantity` kg of a listing for the buyer and ask the provider to collect. A replay with
    the same key returns the same order (and asks the provider again if it had not answered)."""
    buyer = registry.holding_account_of(actor)
    buyer_kind = registry.holding_account_kind(actor)
    positive_int(quantity, field="quantityKg", maximum=MAX_KG)
    idempotency.check_key(idempotency_key)

    async def work() -> int:
        listing = await _on_sale(listing_id, ListingCurrency.FEN)
        if str(listing.seller_id) == buyer:
            raise InvalidInput(
                field="listingId", reason="this is your own listing", reason_zh="不能购买自己的挂牌"
            )
        if quantity > listing.available_kg:
            raise NotEnoughUnits(available=listing.available_kg, requested=quantity)
        now = clock.now()
        assert listing.price_fen_per_kg is not None
        order = await CreditOrder.create(
            public_id=new_public_id(),
            listing=listing,
            buyer_id=buyer,
            buyer_kind=buyer_kind,
            seller_id=listing.seller_id,
            quantity_kg=quantity,
            currency=ListingCurrency.FEN,
            amount=quantity * listing.price_fen_per_kg,
            status=OrderStatus.PENDING_PAYMENT,
            created_at=now,
            expires_at=now + timedelta(minutes=get_settings().order_minutes),
        )
        await _take(listing, quantity, status=BlockStatus.LOCKED, order_id=order.id)
        await audit.record(
            actor=actor,
            action="market.ordered",
            object_type="credit_order",
            object_id=str(order.public_id),
            details={"quantity_kg": quantity, "amount_fen": order.amount},
        )
        crash_point("market.order.before_commit")
        return order.id

    async with db.transaction():
        order_id = await idempotency.run_once(
            owner=buyer,
            key=idempotency_key,
            operation="orderCredits",
            request={"listing": listing_id, "quantity": quantity},
            work=work,
            dump=lambda i: i,
            load=int,
        )
    order = await CreditOrder.get(id=order_id)
    if order.payment_id is None and order.status == OrderStatus.PENDING_PAYMENT:
        order = await _ask_for_payment(order)
    return order


async def _ask_for_payment(order: CreditOrder) -> CreditOrder:
    provider = get_provider()
    try:
        intent = await provider.create_payment(
            order_number=str(order.public_id),
            amount_fen=order.amount,
            description=f"碳普惠核证减排量 {order.quantity_kg} kg",
        )
    except ProviderUnavailable:
        log.warning("order %s: the payment provider did not answer", order.public_id)
        return order
    await CreditOrder.filter(id=order.id, payment_id__isnull=True).update(
        provider=provider.name, payment_id=intent.payment_id, pay_url=intent.pay_url
    )
    return await CreditOrder.get(id=order.id)


async def _unlock(order: CreditOrder, status: OrderStatus) -> None:
    """An unpaid order's units go back to its listing (or to the seller if it was withdrawn)."""
    listing = await CreditListing.filter(id=order.listing_id).select_for_update().get()  # type: ignore[attr-defined]
    if listing.status == ListingStatus.ACTIVE:
        await CreditBlock.filter(order_id=order.id, status=BlockStatus.LOCKED).update(
            status=BlockStatus.LISTED, order_id=None
        )
        await CreditListing.filter(id=listing.id).update(
            available_kg=listing.available_kg + order.quantity_kg
        )
    else:
        await CreditBlock.filter(order_id=order.id, status=BlockStatus.LOCKED).update(
            status=BlockStatus.HELD, order_id=None, listing_id=None
        )
    await CreditOrder.filter(id=order.id).update(status=status, ended_at=clock.now())


async def expire_orders() -> int:
    """Job `expire-orders`: unpaid orders past their time give their units back."""
    due = await CreditOrder.filter(
        status=OrderStatus.PENDING_PAYMENT, expires_at__lt=clock.now()
    ).values_list("id", flat=True)
    expired = 0
    for order_id in due:
        async with db.transaction():
            order = await CreditOrder.filter(id=order_id).select_for_update().get()
            if order.status != OrderStatus.PENDING_PAYMENT:
                continue
            await _unlock(order, OrderStatus.EXPIRED)
            await audit.record(
                actor=system_actor("expire-orders"),
                action="market.order_expired",
                object_type="credit_order",
                object_id=str(order.public_id),
            )
            expired += 1
    return expired


async def _deliver(order: CreditOrder, blocks: list[CreditBlock], to: str, kind: str) -> None:
    """The order's blocks to `to`'s holding account, each move in the public transfer history."""
    for block in blocks:
        await CreditBlock.filter(id=block.id).update(
            holder_id=to, holder_kind=kind, status=BlockStatus.HELD, listing_id=None
        )
        await CreditTransfer.create(
            block_id=block.id,
            from_holder=block.holder_id,
            to_holder=to,
            quantity_kg=block.serial_end - block.serial_start + 1,
            created_at=clock.now(),
        )


# --- callbacks ---------------------------------------------------------------------------------


async def handle_callback(body: bytes, signature: str | None) -> tuple[int, str]:
    """A callback from the payment provider: (HTTP status, outcome). Each is recorded; only a
    correctly signed, fresh, well-formed one for the right order and amount changes anything."""
    provider = get_provider()
    digest = hashlib.sha256(body).hexdigest()

    async def record(outcome: CallbackOutcome, **fields: Any) -> None:
        await PaymentCallback.create(
            provider=provider.name,
            outcome=outcome,
            body_sha256=digest,
            received_at=clock.now(),
            **fields,
        )

    if not verify_signature(body, signature, get_settings().payment_secret):
        async with db.transaction():
            await record(CallbackOutcome.BAD_SIGNATURE)
        return 400, CallbackOutcome.BAD_SIGNATURE.value
    try:
        event = json.loads(body)
        event_id, event_type = str(event["id"])[:64], str(event["type"])[:40]
        payment_id, number = str(event["paymentId"])[:64], str(event["orderNumber"])
        amount = event["amountFen"]
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ValueError("amountFen is not an integer")
        if event_type not in ("payment.succeeded", "refund.succeeded"):
            raise ValueError(f"unknown event type {event_type}")
    except (ValueError, KeyError, TypeError) as bad:
        async with db.transaction():
            await record(CallbackOutcome.MALFORMED, detail=str(bad)[:200])
        return 400, CallbackOutcome.MALFORMED.value

    refund_payment: str | None = None
    async with db.transaction():
        order_uuid = parse_public_id(number)
        order = (
            await CreditOrder.filter(public_id=order_uuid).select_for_update().first()
            if order_uuid
            else None
        )

        async def outcome(result: CallbackOutcome, detail: str | None = None) -> tuple[int, str]:
            await record(
                result,
                event_id=event_id,
                event_type=event_type,
                order_id=order.id if order else None,
                detail=detail,
            )
            return 200, result.value

        if order is None:
            answer = await outcome(CallbackOutcome.UNKNOWN_ORDER)
            if event_type == "payment.succeeded":
                refund_payment = payment_id  # money taken for no order of ours: give it back
        elif await PaymentCallback.filter(
            provider=provider.name, event_id=event_id, outcome=CallbackOutcome.APPLIED
        ).exists():
            answer = await outcome(CallbackOutcome.DUPLICATE)
        elif payment_id != order.payment_id:
            answer = await outcome(CallbackOutcome.WRONG_PAYMENT, f"payment {payment_id}")
            if event_type == "payment.succeeded":
                refund_payment = payment_id  # money taken for no order of ours: give it back
        elif amount != order.amount:
            answer = await outcome(
                CallbackOutcome.WRONG_AMOUNT, f"{amount} fen, the order is {order.amount}"
            )
        elif event_type == "payment.succeeded":
            answer, refund_payment = await _payment_succeeded(order, outcome)
        else:
            answer = await _refund_succeeded(order, outcome)
        crash_point("market.callback.before_commit")
        if refund_payment is not None:
            to_refund, refund_amount = refund_payment, amount

            async def give_back() -> None:
                try:
                    await provider.refund(payment_id=to_refund, amount_fen=refund_amount)
                except ProviderUnavailable:
                    log.error("payment %s must be refunded: the provider did not answer", to_refund)

            db.after_commit(give_back)
    return answer


async def _payment_succeeded(
    order: CreditOrder, outcome: Any
) -> tuple[tuple[int, str], str | None]:
    if order.status in (OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.REFUNDED):
        return await outcome(CallbackOutcome.DUPLICATE), None
    if order.status == OrderStatus.PENDING_PAYMENT and clock.now() > (
        order.expires_at or clock.now()
    ):
        await _unlock(order, OrderStatus.EXPIRED)  # the job had not got to it yet
        order.status = OrderStatus.EXPIRED
    if order.status == OrderStatus.EXPIRED:
        return await outcome(CallbackOutcome.LATE, "paid after the order expired: refunded"), str(
            order.payment_id
        )
    blocks = await CreditBlock.filter(order_id=order.id, status=BlockStatus.LOCKED).order_by(
        "serial_start"
    )
    await _deliver(order, blocks, str(order.buyer_id), order.buyer_kind)
    now = clock.now()
    await CreditOrder.filter(id=order.id).update(status=OrderStatus.PAID, paid_at=now)
    await SellerProceeds.create(
        seller_id=order.seller_id, order=order, amount_fen=order.amount, created_at=now
    )
    from backend.certificates import service as certificates

    await certificates.order_paid(order)  # a claim waiting for these units is neutralised now
    await audit.record(
        actor=PAYMENTS,
        action="market.paid",
        object_type="credit_order",
        object_id=str(order.public_id),
        details={"amount_fen": order.amount, "payment_id": order.payment_id},
    )
    return await outcome(CallbackOutcome.APPLIED), None


async def _refund_succeeded(order: CreditOrder, outcome: Any) -> tuple[int, str]:
    if order.status == OrderStatus.REFUNDED:
        return await outcome(CallbackOutcome.DUPLICATE)
    if order.status == OrderStatus.EXPIRED:
        return await outcome(CallbackOutcome.APPLIED, "a late payment was refunded")
    if order.status != OrderStatus.REFUNDING:
        return await outcome(CallbackOutcome.OUT_OF_ORDER, f"the order is {order.status.value}")
    await CreditOrder.filter(id=order.id).update(status=OrderStatus.REFUNDED, ended_at=clock.now())
    await audit.record(
        actor=PAYMENTS,
        action="market.refunded",
        object_type="credit_order",
        object_id=str(order.public_id),
    )
    return await outcome(CallbackOutcome.APPLIED)


# --- refunds -----------------------------------------------------------------------------------


async def refund_order(*, actor: Actor, order_id: str) -> CreditOrder:
    """The operator refunds a paid order while the buyer still holds all its units: they go back
    to the seller, the proceeds are reversed, and the provider is asked to pay the money back."""
    require_kind(actor, "authority")
    public_id = parse_public_id(order_id)
    async with db.transaction():
        order = (
            await CreditOrder.filter(public_id=public_id).select_for_update().first()
            if public_id
            else None
        )
        if order is None:
            raise _order_not_found()
        if order.status != OrderStatus.PAID or order.currency != ListingCurrency.FEN:
            raise WrongOrderState(status=order.status.value, step="refund")
        blocks = await CreditBlock.filter(order_id=order.id).order_by("id").select_for_update()
        if sum(b.serial_end - b.serial_start + 1 for b in blocks) != order.quantity_kg or any(
            str(b.holder_id) != str(order.buyer_id) or b.status != BlockStatus.HELD for b in blocks
        ):
            raise UnitsMovedOn()
        listing = await CreditListing.get(id=order.listing_id)  # type: ignore[attr-defined]
        await _deliver(order, blocks, str(order.seller_id), listing.seller_kind)
        await CreditBlock.filter(order_id=order.id).update(order_id=None)
        now = clock.now()
        await CreditOrder.filter(id=order.id).update(status=OrderStatus.REFUNDING, ended_at=now)
        await SellerProceeds.create(
            seller_id=order.seller_id, order=order, amount_fen=-order.amount, created_at=now
        )
        await audit.record(
            actor=actor,
            action="market.refund_requested",
            object_type="credit_order",
            object_id=str(order.public_id),
            details={"amount_fen": order.amount},
        )
        payment_id, amount = str(order.payment_id), order.amount

        async def ask() -> None:
            try:
                await get_provider().refund(payment_id=payment_id, amount_fen=amount)
            except ProviderUnavailable:
                log.error("order %s: the refund must be asked for again", order_id)

        db.after_commit(ask)
    return await CreditOrder.get(id=order.id)


REFUND_RETRY_AFTER = timedelta(minutes=10)


async def retry_refunds() -> int:
    """Job `retry-refunds`: ask the provider again for refunds it has not confirmed (a refund is
    idempotent at the provider by payment id)."""
    due = await CreditOrder.filter(
        status=OrderStatus.REFUNDING, ended_at__lt=clock.now() - REFUND_RETRY_AFTER
    ).limit(200)
    asked = 0
    for order in due:
        try:
            await get_provider().refund(payment_id=str(order.payment_id), amount_fen=order.amount)
            asked += 1
        except ProviderUnavailable:
            log.warning("order %s: the provider did not answer the refund", order.public_id)
    return asked


# --- points for credits ------------------------------------------------------------------------


async def buy_with_points(
    *, actor: Actor, listing_id: str, quantity: int, idempotency_key: str
) -> CreditOrder:
    """A citizen buys units of the points pool: the points are burned and the units move to the
    citizen's holding account in one transaction."""
    person = require_person(actor)
    positive_int(quantity, field="quantityKg", maximum=MAX_KG)
    idempotency.check_key(idempotency_key)

    async def work() -> int:
        # The listing is read first without its lock and locked only after the points are
        # spent (the buyer's wallet locked): every purchase of the points pool shares its row,
        # and holding it through the spend made them queue behind each other's ledger work.
        # Redemption takes its locks in the same order (wallet, then the shared row). The order
        # row is written after the listing's lock: its reference to the listing takes a key
        # share lock that two purchases waiting for the row lock would deadlock on.
        listing = await _on_sale(listing_id, ListingCurrency.POINTS, lock=False)
        if quantity > listing.available_kg:
            raise NotEnoughUnits(available=listing.available_kg, requested=quantity)
        now = clock.now()
        price = await points_per_kg(now)
        order_public_id = new_public_id()
        await ledger.spend(
            owner=Subject(SubjectKind.PERSON, person),
            amount=quantity * price,
            idempotency_key=f"credits:{order_public_id}",
            cause={"kind": "CREDITS", "order": str(order_public_id), "kg": quantity},
        )
        listing = await _on_sale(listing_id, ListingCurrency.POINTS)  # locked, checked again
        order = await CreditOrder.create(
            public_id=order_public_id,
            listing=listing,
            buyer_id=person,
            buyer_kind="PERSON",
            seller_id=listing.seller_id,
            quantity_kg=quantity,
            currency=ListingCurrency.POINTS,
            amount=quantity * price,
            status=OrderStatus.PAID,
            created_at=now,
            paid_at=now,
        )
        blocks = await _take(listing, quantity, order_id=order.id)
        await _deliver(order, blocks, person, "PERSON")
        await audit.record(
            actor=actor,
            action="market.bought_with_points",
            object_type="credit_order",
            object_id=str(order.public_id),
            details={"quantity_kg": quantity, "points": order.amount},
        )
        return order.id

    async with db.transaction():
        order_id = await idempotency.run_once(
            owner=person,
            key=idempotency_key,
            operation="buyCreditsWithPoints",
            request={"listing": listing_id, "quantity": quantity},
            work=work,
            dump=lambda i: i,
            load=int,
        )
    return await CreditOrder.get(id=order_id)


# --- reading -----------------------------------------------------------------------------------


async def active_listings() -> list[tuple[CreditListing, str]]:
    rows = (
        await CreditListing.filter(status=ListingStatus.ACTIVE, available_kg__gt=0)
        .order_by("-id")
        .limit(200)
    )
    names = await accounts.public_names({str(r.seller_id) for r in rows})
    return [(r, names[str(r.seller_id)]) for r in rows]


async def orders_of(actor: Actor) -> list[CreditOrder]:
    """The orders of the holding account the actor acts for, as buyer, newest first."""
    holder = registry.holding_account_of(actor)
    return await CreditOrder.filter(buyer_id=holder).order_by("-id").limit(100)


async def order_for(actor: Actor, order_id: str) -> CreditOrder | None:
    """An order its buyer or seller may see (None for anyone else)."""
    holder = registry.holding_account_of(actor)
    public_id = parse_public_id(order_id)
    order = await CreditOrder.get_or_none(public_id=public_id) if public_id else None
    if order is None or holder not in (str(order.buyer_id), str(order.seller_id)):
        return None
    return order


async def sales_of(actor: Actor) -> tuple[int, list[CreditOrder]]:
    """The seller's proceeds in fen and its orders, newest first."""
    holder = registry.holding_account_of(actor)
    rows = await db.fetch(
        "SELECT COALESCE(SUM(amount_fen), 0) AS total FROM seller_proceeds WHERE seller_id = $1",
        uuid.UUID(holder),
    )
    orders = await CreditOrder.filter(seller_id=holder).order_by("-id").limit(100)
    return int(rows[0]["total"]), orders


async def mismatches(actor: Actor) -> list[PaymentMismatch]:
    require_kind(actor, "authority")
    return await PaymentMismatch.all().order_by("-id").limit(500)


# --- reconciliation ----------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=clock.SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


async def reconcile(day: date | None = None) -> int:
    """Job `reconcile-payments`: once per Shanghai day (yesterday by default), compare our orders in
    fen with the provider's payments of that day; each mismatch is stored and logged. Returns how
    many were found (0 when the day was already reconciled)."""
    provider = get_provider()
    if day is None:
        day = clock.now().astimezone(clock.SHANGHAI).date() - timedelta(days=1)
    label = day.isoformat()
    if await ReconciliationRun.filter(day=label, provider=provider.name).exists():
        return 0
    start, end = _day_bounds(day)
    theirs = {p.payment_id: p for p in await provider.payments(start=start, end=end)}
    ours = {
        o.payment_id: o
        for o in await CreditOrder.filter(
            currency=ListingCurrency.FEN,
            created_at__gte=start,
            created_at__lt=end,
            payment_id__isnull=False,
        )
    }
    expected = {
        OrderStatus.PENDING_PAYMENT: {"CREATED"},
        OrderStatus.EXPIRED: {"CREATED", "REFUNDED"},
        OrderStatus.PAID: {"SUCCEEDED"},
        OrderStatus.REFUNDING: {"SUCCEEDED", "REFUNDED"},
        OrderStatus.REFUNDED: {"REFUNDED"},
    }
    found: list[tuple[str, str, str]] = []
    for payment_id, order in ours.items():
        payment = theirs.get(payment_id)  # type: ignore[arg-type]
        number = str(order.public_id)
        if payment is None:
            found.append((str(payment_id), number, "the provider has no such payment"))
            continue
        if payment.amount_fen != order.amount:
            found.append(
                (str(payment_id), number, f"amount {payment.amount_fen} fen, ours {order.amount}")
            )
        if payment.status not in expected[order.status]:
            found.append(
                (str(payment_id), number, f"provider {payment.status}, order {order.status.value}")
            )
    for payment_id, payment in theirs.items():
        if payment_id not in ours:
            found.append((payment_id, payment.order_number, "no order of ours has this payment"))
    async with db.transaction():
        for payment_id, number, problem in found:
            await PaymentMismatch.get_or_create(
                day=label,
                provider=provider.name,
                payment_id=payment_id,
                order_number=number,
                problem=problem[:200],
                defaults={"found_at": clock.now()},
            )
            log.error("payment reconciliation %s: %s %s: %s", label, payment_id, number, problem)
        await ReconciliationRun.create(
            day=label, provider=provider.name, mismatches=len(found), ran_at=clock.now()
        )
    return len(found)


# --- verify-ledger -----------------------------------------------------------------------------


async def listings_match_blocks() -> list[str]:
    """verify-ledger: an active listing's LISTED blocks hold exactly its available kg, a LOCKED
    block belongs to an order awaiting payment whose locked kg is its quantity, and no block is
    listed on a listing that is not active."""
    findings = []
    rows = await db.fetch(
        "SELECT l.id, l.available_kg, l.status,"
        " COALESCE(SUM(b.serial_end - b.serial_start + 1), 0) AS kg"
        " FROM credit_listing l LEFT JOIN credit_block b"
        " ON b.listing_id = l.id AND b.status = 'LISTED'"
        " GROUP BY l.id, l.available_kg, l.status"
    )
    for row in rows:
        if int(row["kg"]) != int(row["available_kg"]):
            findings.append(
                f"listing {row['id']} ({row['status']}) offers {row['available_kg']} kg,"
                f" its blocks hold {row['kg']}"
            )
    rows = await db.fetch(
        "SELECT o.id, o.status, o.quantity_kg,"
        " COALESCE(SUM(b.serial_end - b.serial_start + 1), 0) AS kg"
        " FROM credit_order o LEFT JOIN credit_block b"
        " ON b.order_id = o.id AND b.status = 'LOCKED'"
        " GROUP BY o.id, o.status, o.quantity_kg"
    )
    for row in rows:
        locked = int(row["kg"])
        want = int(row["quantity_kg"]) if row["status"] == "PENDING_PAYMENT" else 0
        if locked != want:
            findings.append(f"order {row['id']} ({row['status']}) locks {locked} kg, not {want}")
    orphans = await db.fetch(
        "SELECT id FROM credit_block WHERE (status = 'LISTED' AND listing_id IS NULL)"
        " OR (status = 'LOCKED' AND order_id IS NULL)"
    )
    findings += [f"block {row['id']} is listed or locked for nothing" for row in orphans]
    return findings
