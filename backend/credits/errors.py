"""Error codes of credit projects."""

from __future__ import annotations

from backend.kit.errors import DomainError


class WrongProjectState(DomainError):
    code = "WRONG_PROJECT_STATE"
    message_en = "The project is {status}: it cannot {step} now."
    message_zh = "项目当前为 {status}，现在不能执行该步骤（{step}）。"
