"""Buying credits (购买): listings, orders that lock units, payments confirmed by signed callbacks,
the sellers' proceeds, and points buying units at the authority's ratio."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ListingCurrency(StrEnum):
    FEN = "FEN"  # paid through the payment provider, priced per kg in fen
    POINTS = "POINTS"  # the operator's points pool: points per kg at the authority's ratio


class ListingStatus(StrEnum):
    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"


class CreditListing(Model):
    """Units a holder offers for sale. Its units are LISTED blocks carrying its id (frozen for the
    seller's other moves), and `available_kg` is their total, kept under the listing's row lock."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    seller_id = fields.UUIDField(db_index=True)
    seller_kind = fields.CharField(max_length=20)  # ORGANISATION or PERSON
    currency = fields.CharEnumField(ListingCurrency, max_length=10)
    price_fen_per_kg = fields.BigIntField(null=True)  # FEN listings only
    listed_kg = fields.BigIntField()
    available_kg = fields.BigIntField()
    status = fields.CharEnumField(ListingStatus, max_length=10)
    created_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_listing"
        indexes = (("status", "created_at"),)


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"  # the units are locked until expires_at
    PAID = "PAID"  # the units moved to the buyer
    EXPIRED = "EXPIRED"  # unpaid in time: the units went back to the listing
    REFUNDING = "REFUNDING"  # the operator refunded: units back with the seller, money on its way
    REFUNDED = "REFUNDED"  # the provider confirmed the refund


class CreditOrder(Model):
    """A buyer's order for units of a listing. Paid in fen through the provider, or in points (then
    PAID at once). Its public id is the order number the provider knows."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    listing: fields.ForeignKeyRelation[CreditListing] = fields.ForeignKeyField(
        "tanpuhui.CreditListing", related_name="orders", on_delete=fields.RESTRICT
    )
    buyer_id = fields.UUIDField(db_index=True)
    buyer_kind = fields.CharField(max_length=20)
    seller_id = fields.UUIDField(db_index=True)
    quantity_kg = fields.BigIntField()
    currency = fields.CharEnumField(ListingCurrency, max_length=10)
    amount = fields.BigIntField()  # fen, or points for a points order
    status = fields.CharEnumField(OrderStatus, max_length=20)
    provider = fields.CharField(max_length=20, null=True)
    payment_id = fields.CharField(max_length=64, null=True, unique=True)
    pay_url = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)  # expired, refunding or refunded

    class Meta:
        table = "credit_order"
        indexes = (("status", "expires_at"),)


class CallbackOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"  # a replay of an event already applied
    BAD_SIGNATURE = "BAD_SIGNATURE"
    MALFORMED = "MALFORMED"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    WRONG_AMOUNT = "WRONG_AMOUNT"
    WRONG_PAYMENT = "WRONG_PAYMENT"
    LATE = "LATE"  # paid after the order expired: the payment is refunded
    OUT_OF_ORDER = "OUT_OF_ORDER"


class PaymentCallback(Model):
    """Every callback the payment provider (or anyone) sent, with what it did (append-only)."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=20)
    event_id = fields.CharField(max_length=64, null=True)
    event_type = fields.CharField(max_length=40, null=True)
    order_id = fields.BigIntField(null=True, db_index=True)
    outcome = fields.CharEnumField(CallbackOutcome, max_length=20)
    detail = fields.CharField(max_length=200, null=True)
    body_sha256 = fields.CharField(max_length=64)
    received_at = fields.DatetimeField()

    class Meta:
        table = "payment_callback"


class SellerProceeds(Model):
    """A seller's proceeds in fen: + when an order is paid, - when it is refunded (append-only)."""

    id = fields.BigIntField(primary_key=True)
    seller_id = fields.UUIDField(db_index=True)
    order: fields.ForeignKeyRelation[CreditOrder] = fields.ForeignKeyField(
        "tanpuhui.CreditOrder", related_name="proceeds", on_delete=fields.RESTRICT
    )
    amount_fen = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "seller_proceeds"
        unique_together = (("seller_id", "order_id", "amount_fen"),)


class PointsPerKg(Model):
    """Points per kg of credit when points buy units, from an effective time on (append-only)."""

    id = fields.BigIntField(primary_key=True)
    points_per_kg = fields.BigIntField()
    effective_at = fields.DatetimeField()
    set_by = fields.CharField(max_length=80)
    created_at = fields.DatetimeField()

    class Meta:
        table = "points_per_kg"


class PaymentMismatch(Model):
    """What the daily reconciliation found between our orders and the provider's records."""

    id = fields.BigIntField(primary_key=True)
    day = fields.CharField(max_length=10)  # YYYY-MM-DD, Shanghai
    provider = fields.CharField(max_length=20)
    payment_id = fields.CharField(max_length=64, default="")
    order_number = fields.CharField(max_length=36, default="")
    problem = fields.CharField(max_length=200)
    found_at = fields.DatetimeField()

    class Meta:
        table = "payment_mismatch"
        unique_together = (("day", "provider", "payment_id", "order_number", "problem"),)


class ReconciliationRun(Model):
    """One reconciliation of a day's payments with one provider (it runs once per day)."""

    id = fields.BigIntField(primary_key=True)
    day = fields.CharField(max_length=10)
    provider = fields.CharField(max_length=20)
    mismatches = fields.IntField()
    ran_at = fields.DatetimeField()

    class Meta:
        table = "payment_reconciliation"
        unique_together = (("day", "provider"),)


class SandboxPaymentStatus(StrEnum):
    CREATED = "CREATED"
    SUCCEEDED = "SUCCEEDED"
    REFUNDED = "REFUNDED"


class SandboxPayment(Model):
    """The sandbox provider's own book of payments (what a real provider keeps on its side)."""

    id = fields.BigIntField(primary_key=True)
    payment_id = fields.CharField(max_length=64, unique=True)
    order_number = fields.CharField(max_length=36)
    amount_fen = fields.BigIntField()
    description = fields.CharField(max_length=200)
    status = fields.CharEnumField(SandboxPaymentStatus, max_length=10)
    created_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    refunded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sandbox_payment"
