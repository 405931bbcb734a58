"""Credit projects (碳普惠项目) and the working-day calendar of public notices."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ProjectKind(StrEnum):
    AGGREGATION = "AGGREGATION"  # a data platform bundling delegated citizens' reductions
    OWN = "OWN"  # a small business's own project (rooftop solar, energy saving)


class ProjectStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    VALIDATED = "VALIDATED"  # 审定
    REGISTERED = "REGISTERED"  # 登记
    REJECTED = "REJECTED"


class CreditProject(Model):
    """Its number (the row id) is public: serial numbers of its credits carry it."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    owner_id = fields.UUIDField(db_index=True)
    kind = fields.CharEnumField(ProjectKind, max_length=12)
    title_zh = fields.CharField(max_length=200)
    title_en = fields.CharField(max_length=200)
    description = fields.TextField()
    methodology_code = fields.CharField(max_length=40)
    verifier_id = fields.UUIDField(null=True)
    status = fields.CharEnumField(ProjectStatus, max_length=20)
    created_at = fields.DatetimeField()
    registered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_project"


class ProjectDocument(Model):
    """A document the owner attached: where it is and the sha256 of its content."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[CreditProject] = fields.ForeignKeyField(
        "tanpuhui.CreditProject", related_name="documents", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200)
    url = fields.CharField(max_length=500)
    sha256 = fields.CharField(max_length=64)
    added_at = fields.DatetimeField()

    class Meta:
        table = "credit_project_document"


class ProjectEvent(Model):
    """Every step of a project, who took it and their comment (append-only)."""

    id = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[CreditProject] = fields.ForeignKeyField(
        "tanpuhui.CreditProject", related_name="events", on_delete=fields.RESTRICT
    )
    event = fields.CharField(max_length=30)
    actor = fields.CharField(max_length=80)
    comment = fields.CharField(max_length=2000, null=True)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "credit_project_event"


class CalendarDay(Model):
    """An exception to the Monday-to-Friday rule: a holiday, or a make-up workday (调休)."""

    id = fields.BigIntField(primary_key=True)
    day = fields.CharField(max_length=10, unique=True)
    is_working = fields.BooleanField()
    note = fields.CharField(max_length=200)
    set_at = fields.DatetimeField()

    class Meta:
        table = "calendar_day"


class IssuanceStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    VERIFIED = "VERIFIED"  # 核算/核查
    REVIEWED = "REVIEWED"  # 审核
    PUBLIC_NOTICE = "PUBLIC_NOTICE"  # 公示
    ISSUED = "ISSUED"  # 签发
    REJECTED = "REJECTED"


class IssuanceRequest(Model):
    """Credits asked for one monitoring period of a project (whole kg). Reserved behaviour records
    point at it (behaviour_record.issuance_id) until it is rejected."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    project: fields.ForeignKeyRelation[CreditProject] = fields.ForeignKeyField(
        "tanpuhui.CreditProject", related_name="issuance_requests", on_delete=fields.RESTRICT
    )
    owner_id = fields.UUIDField()
    period_start = fields.CharField(max_length=10)
    period_end = fields.CharField(max_length=10)
    quantity_kg = fields.BigIntField()
    reserved_grams = fields.BigIntField(default=0)
    evidence: Any = fields.JSONField(default=list)
    status = fields.CharEnumField(IssuanceStatus, max_length=14)
    notice_start = fields.CharField(max_length=10, null=True)
    notice_end = fields.CharField(max_length=10, null=True)
    serial_start = fields.BigIntField(null=True)
    serial_end = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()
    issued_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_issuance_request"


class IssuanceEvent(Model):
    """Every step of an issuance request, who took it and their comment (append-only)."""

    id = fields.BigIntField(primary_key=True)
    request: fields.ForeignKeyRelation[IssuanceRequest] = fields.ForeignKeyField(
        "tanpuhui.IssuanceRequest", related_name="events", on_delete=fields.RESTRICT
    )
    event = fields.CharField(max_length=30)
    actor = fields.CharField(max_length=80)
    comment = fields.CharField(max_length=2000, null=True)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "credit_issuance_event"


class Objection(Model):
    """An objection filed during a public notice. Issuance waits until the authority resolves it."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    request: fields.ForeignKeyRelation[IssuanceRequest] = fields.ForeignKeyField(
        "tanpuhui.IssuanceRequest", related_name="objections", on_delete=fields.RESTRICT
    )
    text = fields.CharField(max_length=2000)
    filed_at = fields.DatetimeField()
    resolution = fields.CharField(max_length=2000, null=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_objection"


class BlockStatus(StrEnum):
    HELD = "HELD"
    LISTED = "LISTED"  # offered for sale: the seller's, frozen for its other moves
    LOCKED = "LOCKED"  # held for an order until it is paid or expires
    RETIRED = "RETIRED"  # 注销: never moves again
    EXPORTING = "EXPORTING"  # on its way to the carbon trading platform: frozen here
    EXPORTED = "EXPORTED"  # 转出: held at the carbon trading platform, never moves here again


class CreditBlock(Model):
    """A range of serial-numbered units (1 unit = 1 kg CO2e) of one issuance, owned by one holding
    account (an organisation's or a citizen's). A partial move splits a block, the holder keeping
    the lower serials. The blocks of an issuance partition its range exactly."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    issuance: fields.ForeignKeyRelation[IssuanceRequest] = fields.ForeignKeyField(
        "tanpuhui.IssuanceRequest", related_name="blocks", on_delete=fields.RESTRICT
    )
    project_number = fields.BigIntField()
    vintage = fields.IntField()
    serial_start = fields.BigIntField()
    serial_end = fields.BigIntField()
    holder_id = fields.UUIDField(db_index=True)
    holder_kind = fields.CharField(max_length=20)  # ORGANISATION or PERSON
    status = fields.CharEnumField(BlockStatus, max_length=10)
    listing_id = fields.BigIntField(null=True, db_index=True)  # LISTED or LOCKED: the listing
    # LOCKED: the order; after it was paid, the order that brought these serials to the holder
    order_id = fields.BigIntField(null=True, db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "credit_block"
        indexes = (("project_number", "serial_start"),)


class RetirementPurpose(StrEnum):
    VOLUNTARY = "VOLUNTARY"
    CARBON_NEUTRALITY = "CARBON_NEUTRALITY"
    COMPLIANCE = "COMPLIANCE"


class CreditRetirement(Model):
    """A retirement (注销): the block it retired never moves again. Its number is public."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    block: fields.ForeignKeyRelation[CreditBlock] = fields.ForeignKeyField(
        "tanpuhui.CreditBlock", related_name="retirements", on_delete=fields.RESTRICT
    )
    beneficiary = fields.CharField(max_length=200, null=True)  # None: anonymous
    purpose = fields.CharEnumField(RetirementPurpose, max_length=20)
    retired_by = fields.UUIDField()
    # The carbon-neutrality certificate it backs (at most one, set when it is written)
    certificate_id = fields.BigIntField(null=True, db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "credit_retirement"


class CreditTransfer(Model):
    """A transfer (转移) of a block from one holding account to another (append-only history)."""

    id = fields.BigIntField(primary_key=True)
    block: fields.ForeignKeyRelation[CreditBlock] = fields.ForeignKeyField(
        "tanpuhui.CreditBlock", related_name="transfers", on_delete=fields.RESTRICT
    )
    from_holder = fields.UUIDField()
    to_holder = fields.UUIDField()
    quantity_kg = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "credit_transfer"


class ExportStatus(StrEnum):
    PENDING = "PENDING"  # sent, or about to be: the exchange has not answered yet
    CONFIRMED = "CONFIRMED"  # the exchange holds the units under its reference
    FAILED = "FAILED"  # the exchange refused: the units are back with the holder


class CreditExport(Model):
    """An export (转出) of a block to a named account at the carbon trading platform. Its public id
    is the idempotency key sent to the exchange. PENDING becomes CONFIRMED (the block EXPORTED)
    or FAILED (the block HELD again) once, and is never changed after."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    block: fields.ForeignKeyRelation[CreditBlock] = fields.ForeignKeyField(
        "tanpuhui.CreditBlock", related_name="exports", on_delete=fields.RESTRICT
    )
    from_holder = fields.UUIDField(db_index=True)
    exchange = fields.CharField(max_length=20)
    external_account = fields.CharField(max_length=40)
    quantity_kg = fields.BigIntField()
    serial_start = fields.BigIntField()  # the block's range when it left: blocks never change
    serial_end = fields.BigIntField()  # after export, but a refused one's may split later
    status = fields.CharEnumField(ExportStatus, max_length=10)
    reference = fields.CharField(max_length=100, null=True)
    failure = fields.CharField(max_length=200, null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_export"
        indexes = (("status", "created_at"),)
