"""The points ledger (碳积分): accounts, transactions, postings, lots and holds.

A subject account's `balance` is what it may spend and `held` what pending holds keep aside; their sum
equals the sum of the account's postings. System accounts (issuance source, expiry, burn, clawback)
are never updated per posting: their balances are derived from postings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AccountKind(StrEnum):
    PERSON = "PERSON"
    HOUSEHOLD = "HOUSEHOLD"
    BUSINESS = "BUSINESS"
    ISSUANCE = "ISSUANCE"  # where earned points come from (may go negative, like Formance's world)
    EXPIRY = "EXPIRY"
    BURN = "BURN"  # used points are cancelled here (Shenzhen: 使用后注销)
    CLAWBACK = "CLAWBACK"


SUBJECT_KINDS = frozenset({AccountKind.PERSON, AccountKind.HOUSEHOLD, AccountKind.BUSINESS})


class TransactionKind(StrEnum):
    EARN = "EARN"
    SPEND = "SPEND"
    HOLD_POST = "HOLD_POST"  # a hold's points burned
    EXPIRE = "EXPIRE"
    CLAWBACK = "CLAWBACK"


class HoldStatus(StrEnum):
    PENDING = "PENDING"
    POSTED = "POSTED"
    VOIDED = "VOIDED"


class LedgerAccount(Model):
    """Unique per (kind, owner): system accounts have fixed owner ids (migration 0007)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    kind = fields.CharEnumField(AccountKind, max_length=12)
    owner_id = fields.UUIDField()
    balance = fields.BigIntField(default=0)
    held = fields.BigIntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_account"
        unique_together = (("owner_id", "kind"),)


class LedgerTransaction(Model):
    """Append-only. Idempotent per (owner, key). A correction points to its parent."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    kind = fields.CharEnumField(TransactionKind, max_length=12)
    owner_id = fields.UUIDField()
    idempotency_key = fields.CharField(max_length=160)
    request_hash = fields.CharField(max_length=64)
    cause: Any = fields.JSONField(default=dict)
    parent_id = fields.BigIntField(null=True)
    memo = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_transaction"
        unique_together = (("owner_id", "idempotency_key"),)
        indexes = (("owner_id", "created_at"),)


class Posting(Model):
    """Append-only. Postings of a transaction sum to zero (checked by PostgreSQL at commit)."""

    id = fields.BigIntField(primary_key=True)
    transaction_id = fields.BigIntField(db_index=True)
    account_id = fields.BigIntField()
    owner_id = fields.UUIDField()
    amount = fields.BigIntField()
    lot_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_posting"
        indexes = (("account_id", "created_at"), ("lot_id",))


class Lot(Model):
    """Points of one earning: `remaining` is still spendable, until `expires_at`."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    account_id = fields.BigIntField()
    owner_id = fields.UUIDField()
    earn_transaction_id = fields.BigIntField()
    amount = fields.BigIntField()
    remaining = fields.BigIntField()
    earned_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    expired_at = fields.DatetimeField(null=True)
    clawed_back_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ledger_lot"
        indexes = (("account_id", "expires_at"), ("expires_at",))


class Hold(Model):
    """A pending spend (two-phase): posted (burned) or voided (back to its lots), exactly once."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    account_id = fields.BigIntField()
    owner_id = fields.UUIDField()
    amount = fields.BigIntField()
    status = fields.CharEnumField(HoldStatus, max_length=10)
    idempotency_key = fields.CharField(max_length=160)
    request_hash = fields.CharField(max_length=64)
    cause: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    transaction_id = fields.BigIntField(null=True)  # the HOLD_POST transaction

    class Meta:
        table = "ledger_hold"
        unique_together = (("owner_id", "idempotency_key"),)


class HoldPart(Model):
    """How much of a hold came from which lot, so a void returns it there."""

    id = fields.BigIntField(primary_key=True)
    hold_id = fields.BigIntField(db_index=True)
    lot_id = fields.BigIntField()
    owner_id = fields.UUIDField()
    amount = fields.BigIntField()

    class Meta:
        table = "ledger_hold_part"
