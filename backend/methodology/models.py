"""Methodologies (方法学), scenarios (低碳场景) and the earning ratio (兑换比例)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class MethodologyStatus(StrEnum):
    DRAFT = "DRAFT"
    UNDER_REVIEW = "UNDER_REVIEW"  # expert evaluation
    REGISTERED = "REGISTERED"
    RETIRED = "RETIRED"


class Methodology(Model):
    """One version of a methodology: the reduction per unit of activity is the baseline emission
    factor minus the project factor, in grams of CO2e per unit."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    code = fields.CharField(max_length=40)
    version = fields.IntField()
    name_zh = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    unit = fields.CharField(max_length=20)
    baseline_factor = fields.DecimalField(max_digits=14, decimal_places=4)
    project_factor = fields.DecimalField(max_digits=14, decimal_places=4)
    status = fields.CharEnumField(MethodologyStatus, max_length=14)
    # From when a registered version computes records (a record uses the version in force then).
    effective_from = fields.DatetimeField(null=True)
    retired_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "methodology"
        unique_together = (("code", "version"),)


class MethodologyEvent(Model):
    """Every step of a methodology's lifecycle, with the expert's comment (append-only)."""

    id = fields.BigIntField(primary_key=True)
    methodology: fields.ForeignKeyRelation[Methodology] = fields.ForeignKeyField(
        "tanpuhui.Methodology", related_name="events", on_delete=fields.RESTRICT
    )
    event = fields.CharField(max_length=20)
    comment = fields.CharField(max_length=2000, null=True)
    actor = fields.CharField(max_length=80)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "methodology_event"


class Scenario(Model):
    """One kind of behaviour, computed by a methodology (by code, at the version in force)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    code = fields.CharField(max_length=40, unique=True)
    name_zh = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    methodology_code = fields.CharField(max_length=40)
    category = fields.CharField(max_length=30)
    max_quantity_per_record = fields.DecimalField(max_digits=14, decimal_places=4)
    daily_cap_grams = fields.BigIntField()
    allowed_platforms: Any = fields.JSONField(default=list)  # public ids of data platforms
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "scenario"


class EarningRatio(Model):
    """Points per gram of CO2e earned, from an effective time on (append-only, never rewritten)."""

    id = fields.BigIntField(primary_key=True)
    points_per_gram = fields.DecimalField(max_digits=12, decimal_places=6)
    effective_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    set_by = fields.CharField(max_length=80)

    class Meta:
        table = "earning_ratio"
