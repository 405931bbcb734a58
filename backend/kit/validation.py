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


# PostgreSQL's text cannot hold U+0000, and no value of the service needs it: a request carrying
# one is refused whole (400) at the edge, before any of it is read or written.
NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."


def may_hold_nul(body: bytes) -> bool:
    """Cheap: False when `body` (JSON or a form) cannot decode to a NUL anywhere. JSON must
    escape it (\\u0000), a GraphQL literal inside JSON as \\\\u0000 or \\\\u{0}, a form as %00."""
    return b"u0000" in body or b"u{" in body or b"%00" in body or b"\x00" in body


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value has a NUL in any string, key or value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def document_holds_nul(query: str) -> bool:
    """Whether a GraphQL document's string literals decode to a NUL (`\\u0000`, `\\u{0}`)."""
    if "\x00" in query:
        return True
    if "\\u" not in query:
        return False
    from graphql import GraphQLError, StringValueNode, parse, visit
    from graphql.language import Visitor

    found = False

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            nonlocal found
            found = found or "\x00" in node.value

    try:
        visit(parse(query), Finder())
    except GraphQLError:
        return False  # not a document: refused as such later
    return found
