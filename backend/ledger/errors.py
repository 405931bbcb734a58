"""Error codes of the ledger."""

from __future__ import annotations

from backend.kit.errors import DomainError


class InsufficientPoints(DomainError):
    code = "INSUFFICIENT_POINTS"
    message_en = "Not enough points: {available} available, {requested} needed."
    message_zh = "积分不足：可用 {available}，需要 {requested}。"


class HoldNotFound(DomainError):
    code = "HOLD_NOT_FOUND"
    message_en = "There is no such hold."
    message_zh = "不存在该冻结。"


class HoldResolved(DomainError):
    code = "HOLD_RESOLVED"
    message_en = "This hold was already {status}."
    message_zh = "该冻结已处理（{status}）。"


class EarningNotFound(DomainError):
    code = "EARNING_NOT_FOUND"
    message_en = "There is no such earning."
    message_zh = "不存在该笔积分获得记录。"


class AlreadyClawedBack(DomainError):
    code = "ALREADY_CLAWED_BACK"
    message_en = "This earning was already clawed back."
    message_zh = "该笔积分已被追回。"
