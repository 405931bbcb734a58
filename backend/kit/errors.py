"""The base of every domain error, and the few errors the kit itself raises.

A domain error is an expected failure: the API returns it as data (a typed member of a mutation's
payload union) with a stable code and a message in zh-CN or en. `Unauthenticated` and `Forbidden` are
not data: they go to `errors[].extensions.code`.
"""

from __future__ import annotations

from typing import Any, ClassVar

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


class DomainError(Exception):
    """An expected failure with a stable `code` and bilingual message templates.

    Subclasses set `code`, `message_en` and `message_zh`; keyword arguments fill the templates and
    become the extra fields of the error's GraphQL type when it declares them.
    """

    code: ClassVar[str] = "ERROR"
    message_en: ClassVar[str] = "The request failed."
    message_zh: ClassVar[str] = "请求失败。"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message("en"))

    def message(self, language: str) -> str:
        template = self.message_zh if language == "zh-CN" else self.message_en
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template


class InvalidInput(DomainError):
    code = "INVALID_INPUT"
    message_en = "Invalid input in {field}: {reason}"
    message_zh = "输入有误（{field}）：{reason_zh}"

    def __init__(self, *, field: str, reason: str, reason_zh: str | None = None) -> None:
        super().__init__(field=field, reason=reason, reason_zh=reason_zh or reason)


class NotFound(DomainError):
    """Also used for objects the caller may not see, so that existence does not leak."""

    code = "NOT_FOUND"
    message_en = "{what} was not found."
    message_zh = "未找到{what_zh}。"

    def __init__(self, *, what: str, what_zh: str | None = None) -> None:
        super().__init__(what=what, what_zh=what_zh or what)


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    message_en = "This idempotency key was already used for a different request."
    message_zh = "该幂等键已用于另一个不同的请求。"


class PublicApiError(Exception):
    """An error that goes to `errors[]` with `extensions.code`, unmasked."""

    code: ClassVar[str] = "BAD_REQUEST"
    message_en: ClassVar[str] = "Bad request."
    message_zh: ClassVar[str] = "请求有误。"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail
        super().__init__(detail or self.message_en)

    def message(self, language: str) -> str:
        base = self.message_zh if language == "zh-CN" else self.message_en
        return f"{base} {self.detail}" if self.detail else base


class Unauthenticated(PublicApiError):
    code = "UNAUTHENTICATED"
    message_en = "Sign-in is required."
    message_zh = "需要登录。"


class Busy(PublicApiError):
    """The service has more of this work in hand than it takes at once; nothing was done."""

    code = "BUSY"
    message_en = "The service is busy with other batches; send this one again in a second."
    message_zh = "服务正忙于处理其他批次，请一秒后重新提交。"
    retry_after_seconds = 1


class Forbidden(PublicApiError):
    code = "FORBIDDEN"
    message_en = "You are not allowed to do this."
    message_zh = "无权执行此操作。"


class BadUserInput(PublicApiError):
    """Bad arguments to a query field (a tampered cursor, `first` out of range)."""

    code = "BAD_USER_INPUT"
    message_en = "Bad input."
    message_zh = "输入有误。"


def pick_language(accept_language: str | None) -> str:
    """zh-CN or en, by the caller's Accept-Language preferences (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, str] | None = None
    for part in accept_language.split(",")[:20]:
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if tag.startswith("zh"):
            language = "zh-CN"
        elif tag.startswith("en"):
            language = "en"
        else:
            continue
        # Higher quality wins; among equals, the one listed first.
        candidate = (quality, language)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best[1] if best else DEFAULT_LANGUAGE
