"""GraphQL types of rewards."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry import relay

from backend.api.errors import Error, error_type
from backend.api.scalars import Int64
from backend.rewards import errors, models

OfferStatus = models.OfferStatus
UnusedPolicy = models.UnusedPolicy
VoucherStatus = models.VoucherStatus
strawberry.enum(OfferStatus, name="OfferStatus")
strawberry.enum(UnusedPolicy, name="UnusedVoucherPolicy")
strawberry.enum(VoucherStatus, name="VoucherStatus")


@strawberry.type(name="Offer", description="A reward a merchant offers for points.")
class OfferType:
    id: strawberry.ID
    merchant_id: strawberry.ID
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    image_url: str | None
    category: str
    price_points: Int64
    total_stock: int
    stock_left: int
    per_person_limit: int
    redeem_from: datetime
    redeem_until: datetime
    voucher_valid_days: int
    unused_policy: UnusedPolicy
    status: OfferStatus

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> OfferType:
        """From a row read with `.values(*service.CATALOGUE_FIELDS)`."""
        return cls.from_row(SimpleNamespace(**values))  # type: ignore[arg-type]

    @classmethod
    def from_row(cls, row: models.Offer) -> OfferType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            merchant_id=strawberry.ID(relay.to_base64("Organisation", str(row.merchant_id))),
            title_zh=row.title_zh,
            title_en=row.title_en,
            description_zh=row.description_zh,
            description_en=row.description_en,
            image_url=row.image_url,
            category=row.category,
            price_points=Int64(row.price_points),
            total_stock=row.total_stock,
            stock_left=row.stock_left,
            per_person_limit=row.per_person_limit,
            redeem_from=row.redeem_from,
            redeem_until=row.redeem_until,
            voucher_valid_days=row.voucher_valid_days,
            unused_policy=row.unused_policy,
            status=row.status,
        )


@strawberry.type(
    name="Voucher", description="A redeemed offer: show the code or the QR token at the merchant."
)
class VoucherType:
    id: strawberry.ID
    offer_id: strawberry.ID
    offer_title_zh: str
    code: str = strawberry.field(description="To read out at the counter.")
    points: Int64
    status: VoucherStatus
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def from_row(cls, row: models.Voucher, offer: models.Offer) -> VoucherType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            offer_id=strawberry.ID(str(offer.public_id)),
            offer_title_zh=offer.title_zh,
            code=row.code,
            points=Int64(row.points),
            status=row.status,
            created_at=row.created_at,
            expires_at=row.expires_at,
            confirmed_at=row.confirmed_at,
        )


@strawberry.type(description="For the QR code; it expires within minutes, fetch a new one to show.")
class VoucherToken:
    token: str
    expires_at: datetime


@strawberry.type
class SettlementLine:
    offer_id: strawberry.ID
    title: str
    vouchers: int
    points: Int64


@error_type(errors.OfferUnavailable)
@strawberry.type
class OfferUnavailableError(Error):
    pass


@error_type(errors.OutOfStock)
@strawberry.type
class OutOfStockError(Error):
    pass


@error_type(errors.LimitReached)
@strawberry.type
class LimitReachedError(Error):
    limit: int


@error_type(errors.VoucherNotFound)
@strawberry.type
class VoucherNotFoundError(Error):
    pass


@error_type(errors.VoucherAlreadyUsed)
@strawberry.type
class VoucherAlreadyUsedError(Error):
    used_at: str = strawberry.field(description="When it was confirmed (ISO 8601).")


@error_type(errors.VoucherEnded)
@strawberry.type
class VoucherEndedError(Error):
    status: str


@error_type(errors.WrongOfferState)
@strawberry.type
class WrongOfferStateError(Error):
    pass
