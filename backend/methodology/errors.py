"""Error codes of methodologies and scenarios."""

from __future__ import annotations

from backend.kit.errors import DomainError


class WrongMethodologyState(DomainError):
    code = "WRONG_METHODOLOGY_STATE"
    message_en = "The methodology is {status}; this step needs {needed}."
    message_zh = "方法学当前为 {status}，此操作需要 {needed}。"


class MethodologyUnknown(DomainError):
    code = "METHODOLOGY_UNKNOWN"
    message_en = "There is no registered methodology {code}."
    message_zh = "不存在已登记的方法学 {code}。"
