"""Reward offers (兑换商品) of merchants and the vouchers citizens redeem them for."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OfferStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ENDED = "ENDED"


class UnusedPolicy(StrEnum):
    REFUND = "REFUND"  # an expired unused voucher gives the points back
    FORFEIT = "FORFEIT"  # an expired unused voucher's points are burned


class VoucherStatus(StrEnum):
    ISSUED = "ISSUED"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class Offer(Model):
    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    merchant_id = fields.UUIDField(db_index=True)
    title_zh = fields.CharField(max_length=200)
    title_en = fields.CharField(max_length=200)
    description_zh = fields.TextField()
    description_en = fields.TextField()
    image_url = fields.CharField(max_length=500, null=True)
    category = fields.CharField(max_length=40)
    price_points = fields.BigIntField()
    total_stock = fields.IntField()
    stock_left = fields.IntField()
    per_person_limit = fields.IntField()
    redeem_from = fields.DatetimeField()
    redeem_until = fields.DatetimeField()
    voucher_valid_days = fields.IntField()
    unused_policy = fields.CharEnumField(UnusedPolicy, max_length=10)
    status = fields.CharEnumField(OfferStatus, max_length=10)
    created_at = fields.DatetimeField()

    class Meta:
        table = "reward_offer"
        indexes = (("status", "created_at"),)


class Voucher(Model):
    """One redemption: the points held until a cashier of the merchant confirms (burned) or the
    citizen cancels (released). Idempotent per (owner, key)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    offer: fields.ForeignKeyRelation[Offer] = fields.ForeignKeyField(
        "tanpuhui.Offer", related_name="vouchers", on_delete=fields.RESTRICT
    )
    merchant_id = fields.UUIDField()
    owner_id = fields.UUIDField()
    owner_kind = fields.CharField(max_length=12)
    hold_id = fields.UUIDField()
    code = fields.CharField(max_length=12, unique=True)
    points = fields.BigIntField()
    status = fields.CharEnumField(VoucherStatus, max_length=10)
    idempotency_key = fields.CharField(max_length=128)
    request_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    confirmed_by = fields.CharField(max_length=80, null=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reward_voucher"
        unique_together = (("owner_id", "idempotency_key"),)
        indexes = (
            ("owner_id", "offer_id", "status"),
            ("merchant_id", "confirmed_at"),
            ("status", "expires_at"),
        )
