"""Checks of input values shared by every domain; each failure is an InvalidInput naming its field."""

from __future__ import annotations

from typing import Any

from backend.kit.errors import InvalidInput


def positive_int(value: Any, *, field: str, maximum: int) -> int:
    """A whole number from 1 to `maximum` (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise InvalidInput(
            field=field,
            reason=f"a whole number from 1 to {maximum}",
            reason_zh=f"须为 1 至 {maximum} 的整数",
        )
    return value


def text(value: Any, *, field: str, maximum: int) -> str:
    """1 to `maximum` characters, surrounding spaces removed."""
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= maximum:
        raise InvalidInput(
            field=field,
            reason=f"1 to {maximum} characters",
            reason_zh=f"须为 1 至 {maximum} 个字符",
        )
    return value.strip()
