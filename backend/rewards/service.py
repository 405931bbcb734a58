"""Offers, redemption and vouchers (DESIGN.md, reward offer and redemption).

Redemption is one transaction: the points are HELD (a pending ledger transfer, which locks the
redeemer's wallet, so their per-person limit is counted safely), one unit of stock is taken by a
conditional decrement on the offer's row, and the voucher is issued. Confirmation by a cashier of
that merchant burns the held points; cancellation or expiry releases them (or burns them, by the
offer's policy for unused vouchers) and gives the stock back. Locks are always taken wallet first,
then the offer, so that the shared offer row is held as briefly as possible.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.accounts.subjects import Subject, SubjectKind
from backend.audit import service as audit
from backend.kit import clock, db, jwt
from backend.kit.actor import Actor, require_kind, require_person, system_actor
from backend.kit.errors import IdempotencyKeyReused, InvalidInput, NotFound
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int, text
from backend.ledger import service as ledger
from backend.rewards.errors import (
    LimitReached,
    OfferUnavailable,
    OutOfStock,
    VoucherAlreadyUsed,
    VoucherEnded,
    VoucherNotFound,
    WrongOfferState,
)
from backend.rewards.models import Offer, OfferStatus, UnusedPolicy, Voucher, VoucherStatus

VOUCHER_TOKEN_TYPE = "voucher+jwt"  # noqa: S105 - a token type, not a secret
VOUCHER_TOKEN_MINUTES = 5
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MANAGING_ROLES = frozenset({"owner", "manager"})
CONFIRMING_ROLES = frozenset({"owner", "manager", "cashier"})
_TRANSITIONS = {
    OfferStatus.ACTIVE: {OfferStatus.DRAFT, OfferStatus.PAUSED},
    OfferStatus.PAUSED: {OfferStatus.ACTIVE},
    OfferStatus.ENDED: {OfferStatus.DRAFT, OfferStatus.ACTIVE, OfferStatus.PAUSED},
}


def _merchant_of(actor: Actor, roles: frozenset[str]) -> str:
    """The merchant a member acts for, when their role allows the step."""
    require_kind(actor, "member")
    if (
        actor.organisation_kind != "MERCHANT"
        or not actor.roles & roles
        or not actor.organisation_id
    ):
        from backend.kit.errors import Forbidden

        raise Forbidden()
    return actor.organisation_id


async def create_offer(*, actor: Actor, values: dict[str, Any]) -> Offer:
    """A draft offer of the manager's merchant."""
    merchant_id = _merchant_of(actor, MANAGING_ROLES)
    redeem_from, redeem_until = values["redeem_from"], values["redeem_until"]
    if redeem_from.tzinfo is None or redeem_until.tzinfo is None or redeem_until <= redeem_from:
        raise InvalidInput(
            field="redeemUntil",
            reason="after redeemFrom, with offsets",
            reason_zh="须晚于开始时间（带时区）",
        )
    image = values.get("image_url")
    if image is not None and (
        not isinstance(image, str) or not image.startswith("https://") or len(image) > 500
    ):
        raise InvalidInput(
            field="imageUrl", reason="an https:// URL", reason_zh="须为 https:// 地址"
        )
    stock = positive_int(values["total_stock"], field="totalStock", maximum=10**7)
    async with db.transaction():
        offer = await Offer.create(
            public_id=new_public_id(),
            merchant_id=merchant_id,
            title_zh=text(values["title_zh"], field="titleZh", maximum=200),
            title_en=text(values["title_en"], field="titleEn", maximum=200),
            description_zh=text(values["description_zh"], field="descriptionZh", maximum=5000),
            description_en=text(values["description_en"], field="descriptionEn", maximum=5000),
            image_url=image,
            category=text(values["category"], field="category", maximum=40),
            price_points=positive_int(values["price_points"], field="pricePoints", maximum=10**9),
            total_stock=stock,
            stock_left=stock,
            per_person_limit=positive_int(
                values["per_person_limit"], field="perPersonLimit", maximum=1000
            ),
            redeem_from=redeem_from,
            redeem_until=redeem_until,
            voucher_valid_days=positive_int(
                values["voucher_valid_days"], field="voucherValidDays", maximum=3650
            ),
            unused_policy=UnusedPolicy(values["unused_policy"]),
            status=OfferStatus.DRAFT,
            created_at=clock.now(),
        )
        await audit.record(
            actor=actor, action="offer.created", object_type="offer", object_id=str(offer.public_id)
        )
    return offer


async def set_offer_status(*, actor: Actor, offer_id: str, status: str) -> Offer:
    """DRAFT → ACTIVE ⇄ PAUSED → ENDED, by a manager of the offer's merchant."""
    merchant_id = _merchant_of(actor, MANAGING_ROLES)
    wanted = OfferStatus(status)
    public_id = parse_public_id(offer_id)
    async with db.transaction():
        offer = (
            await Offer.get_or_none(public_id=public_id, merchant_id=merchant_id)
            if public_id
            else None
        )
        if offer is None:
            raise NotFound(what="offer", what_zh="商品")
        allowed = _TRANSITIONS.get(wanted, set())
        moved = (
            await Offer.filter(id=offer.id, status__in=list(allowed)).update(status=wanted)
            if allowed
            else 0
        )
        if not moved:
            raise WrongOfferState(status=offer.status.value, wanted=wanted.value)
        offer.status = wanted
        await audit.record(
            actor=actor,
            action=f"offer.{wanted.value.lower()}",
            object_type="offer",
            object_id=str(offer.public_id),
        )
    return offer


def _request_hash(offer_id: str) -> str:
    return hashlib.sha256(json.dumps({"offer": offer_id}).encode()).hexdigest()


def voucher_token(voucher: Voucher) -> tuple[str, datetime]:
    """A short-lived signed token for the QR code: a screenshot stops working within minutes."""
    ttl = timedelta(minutes=VOUCHER_TOKEN_MINUTES)
    token, claims = jwt.issue(
        subject=str(voucher.public_id),
        typ=VOUCHER_TOKEN_TYPE,
        ttl=ttl,
        claims={"merchant": str(voucher.merchant_id)},
    )
    return token, datetime.fromtimestamp(claims["exp"], clock.now().tzinfo)


async def redeem(*, actor: Actor, offer_id: str, idempotency_key: str, subject: Subject) -> Voucher:
    """Hold the price, take one unit of stock, issue a voucher; a replay returns the first one,
    also when the two taps arrive at once (the second loses on the unique key and rolls back)."""
    try:
        return await _redeem(
            actor=actor, offer_id=offer_id, idempotency_key=idempotency_key, subject=subject
        )
    except IntegrityError as exc:
        earlier = await Voucher.get_or_none(owner_id=subject.id, idempotency_key=idempotency_key)
        if earlier is None:
            raise
        if earlier.request_hash != _request_hash(str(parse_public_id(offer_id))):
            raise IdempotencyKeyReused() from exc
        return earlier


async def _redeem(
    *, actor: Actor, offer_id: str, idempotency_key: str, subject: Subject
) -> Voucher:
    require_person(actor)
    if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 128:
        raise InvalidInput(
            field="idempotencyKey", reason="8 to 128 characters", reason_zh="须为 8 至 128 个字符"
        )
    public_id = parse_public_id(offer_id)
    request = _request_hash(str(public_id))
    async with db.transaction():
        earlier = await Voucher.get_or_none(owner_id=subject.id, idempotency_key=idempotency_key)
        if earlier is not None:
            if earlier.request_hash != request:
                raise IdempotencyKeyReused()
            return earlier
        offer = await Offer.get_or_none(public_id=public_id) if public_id else None
        if offer is None:
            raise NotFound(what="offer", what_zh="商品")
        now = clock.now()
        if offer.status != OfferStatus.ACTIVE:
            raise OfferUnavailable(reason=offer.status.value.lower())
        if not offer.redeem_from <= now < offer.redeem_until:
            raise OfferUnavailable(reason="outside its redemption window")
        # The hold locks the subject's wallet first: their redemptions of this offer serialise
        # there, so the limit is counted safely. The offer's stock row, the one all redeemers
        # share, is locked last and held only for the voucher insert and the commit.
        voucher_id = new_public_id()
        hold = await ledger.place_hold(
            owner=subject,
            amount=offer.price_points,
            idempotency_key=f"voucher:{voucher_id}",
            cause={"type": "voucher", "id": str(voucher_id), "offer": str(offer.public_id)},
        )
        used = await Voucher.filter(
            owner_id=subject.id,
            offer_id=offer.id,
            status__in=[VoucherStatus.ISSUED, VoucherStatus.CONFIRMED],
        ).count()
        if used >= offer.per_person_limit:
            raise LimitReached(limit=offer.per_person_limit)
        taken = await db.execute(
            "UPDATE reward_offer SET stock_left = stock_left - 1 WHERE id = $1 AND stock_left >= 1",
            offer.id,
        )
        if not taken:
            raise OutOfStock()
        voucher = await Voucher.create(
            public_id=voucher_id,
            offer=offer,
            merchant_id=offer.merchant_id,
            owner_id=subject.id,
            owner_kind=subject.kind.value,
            hold_id=hold.public_id,
            code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
            points=offer.price_points,
            status=VoucherStatus.ISSUED,
            idempotency_key=idempotency_key,
            request_hash=request,
            created_at=now,
            expires_at=now + timedelta(days=offer.voucher_valid_days),
        )
        crash_point("rewards.redeem.before_commit")
    return voucher


async def _voucher_for_merchant(merchant_id: str, token: str | None, code: str | None) -> Voucher:
    voucher = None
    if token:
        try:
            claims = jwt.verify(token, typ=VOUCHER_TOKEN_TYPE)
        except jwt.TokenError as exc:
            raise VoucherNotFound() from exc
        voucher = await Voucher.get_or_none(public_id=claims["sub"])
    elif code:
        typed = code.strip().upper().replace("-", "").replace(" ", "")
        if len(typed) == CODE_LENGTH:
            voucher = await Voucher.get_or_none(code=typed)
    # Another merchant's voucher is reported like a missing one.
    if voucher is None or str(voucher.merchant_id) != merchant_id:
        raise VoucherNotFound()
    return voucher


def _ended(voucher: Voucher) -> Exception:
    if voucher.status == VoucherStatus.CONFIRMED:
        return VoucherAlreadyUsed(
            used_at=voucher.confirmed_at.isoformat() if voucher.confirmed_at else ""
        )
    status_zh = {"CANCELLED": "取消", "EXPIRED": "过期"}.get(
        voucher.status.value, voucher.status.value
    )
    return VoucherEnded(status=voucher.status.value.lower(), status_zh=status_zh)


async def confirm(*, actor: Actor, token: str | None, code: str | None) -> Voucher:
    """A cashier of the voucher's merchant confirms it: the held points are burned, once."""
    merchant_id = _merchant_of(actor, CONFIRMING_ROLES)
    if not token and not code:
        raise InvalidInput(
            field="token",
            reason="give the scanned token or the code",
            reason_zh="请扫码或输入兑换码",
        )
    now = clock.now()
    async with db.transaction():
        voucher = await _voucher_for_merchant(merchant_id, token, code)
        if voucher.status == VoucherStatus.ISSUED and voucher.expires_at <= now:
            raise VoucherEnded(status="expired", status_zh="过期")
        changed = await Voucher.filter(id=voucher.id, status=VoucherStatus.ISSUED).update(
            status=VoucherStatus.CONFIRMED,
            confirmed_at=now,
            confirmed_by=actor.audit_name,
            ended_at=now,
        )
        if not changed:
            raise _ended(await Voucher.get(id=voucher.id))
        owner = Subject(SubjectKind(voucher.owner_kind), str(voucher.owner_id))
        await ledger.post_hold(owner=owner, hold_id=str(voucher.hold_id))
        _notify(voucher)
        await audit.record(
            actor=actor,
            action="voucher.confirmed",
            object_type="voucher",
            object_id=str(voucher.public_id),
        )
        voucher.status, voucher.confirmed_at = VoucherStatus.CONFIRMED, now
    return voucher


async def _release(voucher: Voucher, status: VoucherStatus, actor: Actor, *, burn: bool) -> None:
    """Cancel or expire an issued voucher: the hold first (wallet lock), then the stock back
    (offer lock), in the same order as a redemption takes them."""
    now = clock.now()
    changed = await Voucher.filter(id=voucher.id, status=VoucherStatus.ISSUED).update(
        status=status, ended_at=now
    )
    if not changed:
        raise _ended(await Voucher.get(id=voucher.id))
    owner = Subject(SubjectKind(voucher.owner_kind), str(voucher.owner_id))
    if burn:
        await ledger.post_hold(owner=owner, hold_id=str(voucher.hold_id))
    else:
        await ledger.void_hold(owner=owner, hold_id=str(voucher.hold_id))
    await db.execute(
        "UPDATE reward_offer SET stock_left = stock_left + 1 WHERE id = $1",
        voucher.offer_id,  # type: ignore[attr-defined]
    )
    await audit.record(
        actor=actor,
        action=f"voucher.{status.value.lower()}",
        object_type="voucher",
        object_id=str(voucher.public_id),
    )
    voucher.status = status
    _notify(voucher)


def voucher_channel(owner_id: str) -> str:
    return f"vouchers:{owner_id}"


def _notify(voucher: Voucher) -> None:
    """After the commit, the owner's app hears which voucher changed."""
    from backend.kit.pubsub import publish

    owner_id, voucher_id = str(voucher.owner_id), str(voucher.public_id)
    db.after_commit(lambda: publish(voucher_channel(owner_id), voucher_id))


async def cancel(*, actor: Actor, voucher_id: str, subjects: list[str]) -> Voucher:
    """The owner cancels an unused voucher: points back to their lots, the stock back."""
    require_person(actor)
    public_id = parse_public_id(voucher_id)
    async with db.transaction():
        voucher = await Voucher.get_or_none(public_id=public_id) if public_id else None
        if voucher is None or str(voucher.owner_id) not in subjects:
            raise VoucherNotFound()
        await _release(voucher, VoucherStatus.CANCELLED, actor, burn=False)
    return voucher


async def expire_vouchers(limit: int = 500) -> int:
    """Job: unused vouchers past their validity, by their offer's policy (refund or forfeit)."""
    due = (
        await Voucher.filter(status=VoucherStatus.ISSUED, expires_at__lte=clock.now())
        .select_related("offer")
        .limit(limit)
    )
    done = 0
    for voucher in due:
        try:
            async with db.transaction():
                await _release(
                    voucher,
                    VoucherStatus.EXPIRED,
                    system_actor("expire-vouchers"),
                    burn=voucher.offer.unused_policy == UnusedPolicy.FORFEIT,
                )
            done += 1
        except (VoucherAlreadyUsed, VoucherEnded):
            continue
    return done


# What an offer of the catalogue shows (types.OfferType); its pages are read as plain rows.
CATALOGUE_FIELDS = (
    "public_id",
    "merchant_id",
    "title_zh",
    "title_en",
    "description_zh",
    "description_en",
    "image_url",
    "category",
    "price_points",
    "total_stock",
    "stock_left",
    "per_person_limit",
    "redeem_from",
    "redeem_until",
    "voucher_valid_days",
    "unused_policy",
    "status",
)


async def catalogue(
    *,
    category: str | None,
    merchant_id: str | None,
    max_price: int | None,
    first: int | None,
    after: str | None,
) -> Any:
    from backend.kit.pagination import keyset_page

    now = clock.now()
    queryset = Offer.filter(status=OfferStatus.ACTIVE, redeem_from__lte=now, redeem_until__gt=now)
    if category:
        queryset = queryset.filter(category=category)
    if merchant_id:
        queryset = queryset.filter(merchant_id=merchant_id)
    if max_price is not None:
        queryset = queryset.filter(price_points__lte=max_price)
    return await keyset_page(
        queryset,
        scope="catalogue",
        first=first,
        after=after,
        key="created_at",
        values=CATALOGUE_FIELDS,
    )


async def my_vouchers(*, subjects: list[str]) -> list[Voucher]:
    return (
        await Voucher.filter(owner_id__in=subjects)
        .select_related("offer")
        .order_by("-created_at")
        .limit(100)
    )


async def merchant_offers(*, actor: Actor) -> list[Offer]:
    merchant_id = _merchant_of(actor, CONFIRMING_ROLES)
    return await Offer.filter(merchant_id=merchant_id).order_by("-created_at").limit(200)


async def settlement(*, actor: Actor, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Vouchers confirmed in [start, end), by offer: what the operator reimburses."""
    merchant_id = _merchant_of(actor, MANAGING_ROLES)
    if (
        start.tzinfo is None
        or end.tzinfo is None
        or end <= start
        or end - start > timedelta(days=366)
    ):
        raise InvalidInput(
            field="period",
            reason="a start before an end, at most a year apart",
            reason_zh="起止时间须有效且不超过一年",
        )
    rows = await Voucher.filter(
        merchant_id=merchant_id,
        status=VoucherStatus.CONFIRMED,
        confirmed_at__gte=start,
        confirmed_at__lt=end,
    ).select_related("offer")
    lines: dict[str, dict[str, Any]] = {}
    for voucher in rows:
        line = lines.setdefault(
            str(voucher.offer.public_id),
            {
                "offer_id": str(voucher.offer.public_id),
                "title": voucher.offer.title_zh,
                "vouchers": 0,
                "points": 0,
            },
        )
        line["vouchers"] += 1
        line["points"] += voucher.points
    return sorted(lines.values(), key=lambda line: line["offer_id"])
