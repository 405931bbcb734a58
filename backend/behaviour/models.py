"""Behaviour records (低碳行为记录) that earned points, daily totals for caps, and counts of outcomes
for supervision."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class BehaviourRecord(Model):
    """An accepted record: what the computation and lineage need, nothing more. Unique per
    (subject, platform, event id): a resent record returns this first outcome."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    subject_id = fields.UUIDField()
    platform_id = fields.BigIntField()
    event_id = fields.CharField(max_length=100)
    scenario_code = fields.CharField(max_length=40)
    methodology_code = fields.CharField(max_length=40)
    quantity = fields.DecimalField(max_digits=18, decimal_places=6)
    occurred_at = fields.DatetimeField()
    meter_account = fields.CharField(max_length=40, null=True)
    grams = fields.BigIntField()
    points = fields.BigIntField()
    capped = fields.BooleanField()
    earning_id = fields.UUIDField(null=True)  # the ledger EARN transaction (lineage)
    issuance_id = fields.BigIntField(null=True)  # counted in at most one issuance (issue 8)
    received_at = fields.DatetimeField()

    class Meta:
        table = "behaviour_record"
        unique_together = (("subject_id", "platform_id", "event_id"),)
        indexes = (("subject_id", "occurred_at"),)


class DailyTotal(Model):
    """Grams credited per subject, scenario and day in Asia/Shanghai (the daily cap)."""

    id = fields.BigIntField(primary_key=True)
    subject_id = fields.UUIDField()
    scenario_code = fields.CharField(max_length=40)
    day = fields.CharField(max_length=10)
    grams = fields.BigIntField(default=0)

    class Meta:
        table = "behaviour_daily_total"
        unique_together = (("subject_id", "scenario_code", "day"),)


class OutcomeCount(Model):
    """Records per platform, day (Shanghai) and outcome code: ACCEPTED, DUPLICATE or a rejection."""

    id = fields.BigIntField(primary_key=True)
    platform_id = fields.BigIntField()
    day = fields.CharField(max_length=10)
    code = fields.CharField(max_length=40)
    count = fields.BigIntField(default=0)

    class Meta:
        table = "behaviour_outcome_count"
        unique_together = (("platform_id", "day", "code"),)
