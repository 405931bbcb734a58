"""Error codes of the credit market."""

from __future__ import annotations

from backend.kit.errors import DomainError


class WrongOrderState(DomainError):
    code = "WRONG_ORDER_STATE"
    message_en = "The order is {status}: it cannot {step} now."
    message_zh = "订单当前为 {status}，现在不能执行该步骤（{step}）。"


class UnitsMovedOn(DomainError):
    code = "UNITS_MOVED_ON"
    message_en = "The buyer has already moved some of these units on: the order cannot be refunded."
    message_zh = "买方已转移、注销或转出部分减排量，订单不能退款。"
