"""The error convention of the API (DESIGN.md).

Expected failures are data: a mutation returns a union of its success type and error types that
implement `Error { code message }`. A domain error class is tied to its GraphQL type with
`@error_type(DomainErrorClass)`; `@returns_errors` turns a raised domain error into that type.
Everything else that goes wrong goes to `errors[]` with a stable `extensions.code` (convert_errors);
internal errors are masked.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError
from redis.exceptions import RedisError
from tortoise.exceptions import BaseORMException, ValidationError

from backend.kit.errors import (
    DEFAULT_LANGUAGE,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PublicApiError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@strawberry.interface(description="An expected failure: a stable code and a readable message.")
class Error:
    code: str = strawberry.field(description="Stable, machine-readable; never translated.")
    message: str = strawberry.field(description="In zh-CN or en, by Accept-Language.")


_ERROR_TYPES: dict[type[DomainError], type] = {}


def error_type(exc_class: type[DomainError]) -> Callable[[type[T]], type[T]]:
    """Register a strawberry error type as the API form of `exc_class`."""

    def register(cls: type[T]) -> type[T]:
        if exc_class in _ERROR_TYPES:
            raise ValueError(f"{exc_class.__name__} already has an error type")
        _ERROR_TYPES[exc_class] = cls
        return cls

    return register


def to_error(exc: DomainError, language: str) -> Any:
    """The registered GraphQL error object for `exc`, filled from its params."""
    for klass in type(exc).__mro__:
        gql_type = _ERROR_TYPES.get(klass)  # type: ignore[call-overload]
        if gql_type is not None:
            break
    else:
        raise TypeError(f"{type(exc).__name__} has no registered GraphQL error type")
    names = {f.name for f in dataclasses.fields(gql_type)} - {"code", "message"}
    extra = {name: exc.params.get(name) for name in names}
    return gql_type(code=exc.code, message=exc.message(language), **extra)


def does_not_fit(exc: ValidationError) -> InvalidInput:
    """A value the database's column cannot take (Tortoise checks lengths and ranges before
    sending a value, in a filter as in a write) is the caller's input that broke a rule. The value
    itself is not repeated: it may be personal data."""
    field, _, _ = str(exc).partition(":")
    return InvalidInput(
        field=field if field.isidentifier() else "input",
        reason="the value does not fit the field",
        reason_zh="取值超出该字段的范围",
    )


def returns_errors(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Mutation resolvers: a raised DomainError becomes its typed member of the payload union.
    The transaction the error left has already rolled back, so nothing was changed."""

    @functools.wraps(resolver)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await resolver(*args, **kwargs)
        except (DomainError, ValidationError) as exc:
            info = kwargs.get("info")
            language = getattr(getattr(info, "context", None), "language", DEFAULT_LANGUAGE)
            return to_error(
                does_not_fit(exc) if isinstance(exc, ValidationError) else exc, language
            )

    return wrapper


# The kit's own error types; domains add theirs beside their exceptions.
@error_type(InvalidInput)
@strawberry.type(description="The input broke a rule; nothing was changed.")
class InvalidInputError(Error):
    field: str | None = strawberry.field(description="The input field at fault.")


@error_type(NotFound)
@strawberry.type(description="No such object, or not one the caller may see.")
class NotFoundError(Error):
    pass


@error_type(IdempotencyKeyReused)
@strawberry.type(description="The idempotency key was used before for a different request.")
class IdempotencyKeyReusedError(Error):
    pass


def _code_of(error: GraphQLError) -> str:
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return error.extensions["code"]
    if isinstance(error, GraphQLSyntaxError) or "Syntax Error" in error.message:
        return "GRAPHQL_PARSE_FAILED"
    if error.original_error is None:
        return "GRAPHQL_VALIDATION_FAILED"
    # Variables that could not be coerced (an Int64 out of range, a bad enum value).
    return "BAD_USER_INPUT"


def _fields_of(error: DomainError) -> dict[str, Any]:
    field = error.params.get("field")
    return {"field": field} if isinstance(field, str) else {}


def convert_errors(errors: list[GraphQLError], language: str) -> None:
    """Give every error in `errors[]` a code, mask internal ones, translate public ones.

    Works in place on the list strawberry returns (Schema.process_errors hands it over), which is
    the one hook that sees every error: parse failures included, which skip extensions' hooks.
    Converting twice changes nothing.
    """
    errors[:] = [_convert(error, language) for error in errors]


def _convert(error: GraphQLError, language: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ValidationError):
        original = does_not_fit(original)
    if isinstance(original, PublicApiError):
        return GraphQLError(
            original.message(language),
            nodes=error.nodes,
            path=error.path,
            extensions={"code": original.code},
        )
    if isinstance(original, DomainError):
        # An expected failure in a query field (bad arguments, say): typed, not internal.
        return GraphQLError(
            original.message(language),
            nodes=error.nodes,
            path=error.path,
            extensions={"code": original.code, **_fields_of(original)},
        )
    # A failure of the database, Redis or the network is never the caller's fault, even when it
    # happens outside a field (in an extension, say) and so has no path.
    infrastructure = isinstance(original, RedisError | BaseORMException | OSError)
    # Errors without a path come from parsing, validating or coercing the request itself.
    if not infrastructure and (
        isinstance(original, GraphQLError) or original is None or error.path is None
    ):
        extensions = dict(error.extensions or {})
        extensions["code"] = _code_of(error)
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
    log.error("unexpected error in %s", error.path, exc_info=original)
    return GraphQLError(
        "Internal server error." if language == "en" else "服务器内部错误。",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )
