"""Schema extensions: request limits, caches, metrics (RELIABILITY.md 11, PERFORMANCE-NOTES.md 1)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules, validate
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from backend.api.cost import QueryCost
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


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate(schema, document, rules)


class Documents(SchemaExtension):
    """Each distinct document is parsed (within the token limit) and validated (with the depth,
    alias and introspection rules) once; repeats come from bounded caches. One extension instead
    of strawberry's four (ParserCache, ValidationCache, MaxTokensLimiter, AddValidationRules),
    whose per-request hooks cost more than the work they save on a small query."""

    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        if context.query is not None:
            try:
                context.graphql_document = _parse(context.query, self.max_tokens)
            except GraphQLError:
                pass  # strawberry parses again and reports the error the usual way
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, self.rules
        )
        yield


@functools.lru_cache(maxsize=16)
def _rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    rules: tuple[type[ASTValidationRule], ...] = (
        *specified_rules,
        # strawberry adds these two when it validates; here it does not
        MaybeNullValidationRule,
        OneOfInputValidationRule,
        depth_limit_rule(max_depth, None, None),
        alias_limit_rule(max_aliases),
    )
    if not introspection:
        rules = (*rules, NoSchemaIntrospectionCustomRule)
    return rules


def validation_rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """Every rule a document is validated with. Made once for given limits: the validation
    cache keys on the rule classes, and the compiled plans validate with the same ones."""
    return _rules(settings.max_depth, settings.max_aliases, settings.introspection)


def schema_extensions(settings: Settings) -> list[Any]:
    rules = validation_rules(settings)
    # Classes or factories, so each request gets fresh extension instances.
    return [
        OperationMetrics,
        lambda: Documents(max_tokens=settings.max_tokens, rules=rules),
        lambda: QueryCost(settings=settings),
    ]
