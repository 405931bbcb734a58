"""Tables of the kit itself: idempotency keys."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


class IdempotencyKey(Model):
    """A claimed idempotency key and the answer of the request that claimed it (RELIABILITY.md 5).

    Unique per owner (the caller the key belongs to), so the owner id is part of the key, as sharding
    by owner requires.
    """

    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=80)
    key = fields.CharField(max_length=128)
    operation = fields.CharField(max_length=80)
    request_hash = fields.CharField(max_length=64)
    response: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_key"
        unique_together = (("owner", "key"),)
