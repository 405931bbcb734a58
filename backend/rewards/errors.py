"""Error codes of rewards."""

from __future__ import annotations

from backend.kit.errors import DomainError


class OfferUnavailable(DomainError):
    code = "OFFER_UNAVAILABLE"
    message_en = "This offer cannot be redeemed now ({reason})."
    message_zh = "该商品当前不可兑换（{reason}）。"


class OutOfStock(DomainError):
    code = "OUT_OF_STOCK"
    message_en = "This offer is sold out."
    message_zh = "该商品已兑完。"


class LimitReached(DomainError):
    code = "LIMIT_REACHED"
    message_en = "You have redeemed this offer {limit} times, its limit per person."
    message_zh = "您已兑换 {limit} 次，已达每人限额。"


class VoucherNotFound(DomainError):
    code = "VOUCHER_NOT_FOUND"
    message_en = "There is no such voucher here."
    message_zh = "未找到该兑换券。"


class VoucherAlreadyUsed(DomainError):
    code = "ALREADY_USED"
    message_en = "This voucher was already used at {used_at}."
    message_zh = "该兑换券已于 {used_at} 使用。"


class VoucherEnded(DomainError):
    code = "VOUCHER_ENDED"
    message_en = "This voucher is {status}."
    message_zh = "该兑换券已{status_zh}。"


class WrongOfferState(DomainError):
    code = "WRONG_OFFER_STATE"
    message_en = "The offer is {status}; it cannot become {wanted}."
    message_zh = "商品当前为 {status}，不能变为 {wanted}。"
