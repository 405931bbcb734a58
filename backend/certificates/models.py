"""Footprint claims and carbon-neutrality certificates (碳中和认定), and the public leaderboard's
opt-ins."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class FootprintFactor(Model):
    """Grams of CO2e per unit of an activity, from an effective time on (append-only, versioned
    by the authority). A claim item keeps the version it was computed with."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=40)
    name_zh = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=100)
    unit = fields.CharField(max_length=20)
    grams_per_unit = fields.DecimalField(max_digits=14, decimal_places=4)
    effective_at = fields.DatetimeField()
    set_by = fields.CharField(max_length=80)
    created_at = fields.DatetimeField()

    class Meta:
        table = "footprint_factor"
        indexes = (("code", "effective_at"),)


class ClaimKind(StrEnum):
    ANNUAL = "ANNUAL"  # a citizen's year
    TRIP = "TRIP"
    EVENT = "EVENT"
    BUSINESS_YEAR = "BUSINESS_YEAR"  # a small business's year


class ClaimStatus(StrEnum):
    OPEN = "OPEN"
    AWAITING_ORDER = "AWAITING_ORDER"  # the holder lacked units: an order is being paid
    NEUTRALISED = "NEUTRALISED"


class FootprintClaim(Model):
    """A footprint to neutralise: activity items times factors, or (a business) a declared total
    with evidence. `total_kg` is the total in grams rounded up to whole kilograms."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    owner_id = fields.UUIDField(db_index=True)
    owner_kind = fields.CharField(max_length=20)
    kind = fields.CharEnumField(ClaimKind, max_length=20)
    title = fields.CharField(max_length=200)
    items: Any = fields.JSONField()  # [{code, quantity, unit, grams_per_unit, factor_id, grams}]
    declared_kg = fields.BigIntField(null=True)
    evidence_url = fields.CharField(max_length=500, null=True)
    evidence_sha256 = fields.CharField(max_length=64, null=True)
    total_g = fields.BigIntField()
    total_kg = fields.BigIntField()
    status = fields.CharEnumField(ClaimStatus, max_length=20)
    order_id = fields.BigIntField(null=True, db_index=True)
    display_name = fields.CharField(max_length=100, null=True)  # chosen when neutralising starts
    created_at = fields.DatetimeField()

    class Meta:
        table = "footprint_claim"


class CertificateStatus(StrEnum):
    VALID = "VALID"
    REVOKED = "REVOKED"


class Certificate(Model):
    """A carbon-neutrality certificate: its claim's kilograms retired for it. Its number and
    verification code are printed on it and in its QR code."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=20, unique=True)
    claim: fields.OneToOneRelation[FootprintClaim] = fields.OneToOneField(
        "tanpuhui.FootprintClaim", related_name="certificate", on_delete=fields.RESTRICT
    )
    holder_id = fields.UUIDField(db_index=True)
    display_name = fields.CharField(max_length=100)
    total_kg = fields.BigIntField()
    verification_code = fields.CharField(max_length=20)
    issued_at = fields.DatetimeField()
    status = fields.CharEnumField(CertificateStatus, max_length=10)
    revoked_reason = fields.CharField(max_length=500, null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "carbon_certificate"


class LeaderboardEntry(Model):
    """A citizen who opted in to the public leaderboard, under a pseudonym."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.UUIDField(unique=True)
    alias = fields.CharField(max_length=40)
    opted_in_at = fields.DatetimeField()

    class Meta:
        table = "leaderboard_entry"
