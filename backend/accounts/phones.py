"""Mainland China mobile numbers: the login identity of citizens and members."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str | None:
    """'+8613812345678' for any usual way of writing a mainland mobile number, else None."""
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.match(digits):
        return None
    return "+86" + digits


def phone_prefix(phone: str) -> str:
    """The number block (first 7 digits) that SMS-pumping fraud walks through."""
    return phone[3:10]


def mask(phone: str) -> str:
    """138****5678"""
    national = phone.removeprefix("+86")
    return f"{national[:3]}****{national[-4:]}"
