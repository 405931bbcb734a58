"""Schema extensions: request limits, caches, metrics (RELIABILITY.md 11, PERFORMANCE-NOTES.md 1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule

from backend.kit.metrics import GRAPHQL_DURATION, GRAPHQL_OPERATIONS, operation_label
from backend.settings import Settings

# Distinct documents cached; production sends only the trusted few, dev is bounded anyway.
DOCUMENT_CACHE_SIZE = 1024


class OperationMetrics(SchemaExtension):
    """Counts and times each operation under its (bounded) name."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        name = operation_label(context.operation_name)
        try:
            kind = context.operation_type.value
        except Exception:  # the document did not parse, so it has no type
            kind = "unknown"
        outcome = "error" if context.result is not None and context.result.errors else "ok"
        GRAPHQL_OPERATIONS.labels(name, kind, outcome).inc()
        GRAPHQL_DURATION.labels(name).observe(time.perf_counter() - started)


def schema_extensions(settings: Settings) -> list[Any]:
    # The limit rules are made once: the validation cache keys on the rule classes, and
    # QueryDepthLimiter/MaxAliasesLimiter would make new classes for every request (a cache miss
    # on every request, measured in bench/RESULTS.md).
    limit_rules: list[type[ASTValidationRule]] = [
        depth_limit_rule(settings.max_depth, None, None),
        alias_limit_rule(settings.max_aliases),
    ]
    # Classes or factories, so each request gets fresh extension instances.
    extensions: list[Any] = [
        OperationMetrics,
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(limit_rules),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return extensions
