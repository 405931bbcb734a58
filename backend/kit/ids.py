"""Random public ids: what the API shows instead of sequential keys."""

from __future__ import annotations

import secrets
import uuid


def new_public_id() -> uuid.UUID:
    """A random (version 4) UUID; never derived from a row number."""
    return uuid.uuid4()


def parse_public_id(value: str) -> uuid.UUID | None:
    """The UUID in `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def new_token(nbytes: int = 32) -> str:
    """An unguessable url-safe token (secrets, not random)."""
    return secrets.token_urlsafe(nbytes)
