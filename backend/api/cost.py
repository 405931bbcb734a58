"""Query cost (RELIABILITY.md 11, after Shopify's GraphQL API): what a request may cost, budgets
a minute kept in Redis (per subject, per address, per data platform), and both reported in
`extensions.cost`. The platforms' bulk route is charged to the same budget as the GraphQL mutation.

Cost counts objects, as Shopify does: every field that returns an object (or a list of objects)
costs 1 for each object; scalars and enums are free; a mutation field costs 10 besides. A list's
size is its `first`/`last` argument, or `DEFAULT_LIST_SIZE` for lists without one (the service
caps those lists at a few hundred). The requested cost is computed from the document before
anything runs, and a request is refused when it exceeds the per-request maximum or what is left of
any of its budgets this minute; the actual cost (the objects the response holds) is what the
budget is charged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    value_from_ast_untyped,
)
from graphql.execution import ExecutionResult
from strawberry.extensions import SchemaExtension

from backend.api.context import client_address
from backend.kit.actor import Actor
from backend.kit.redis import get_redis
from backend.settings import Settings

DEFAULT_LIST_SIZE = 100
MUTATION_COST = 10
WINDOW_SECONDS = 60
PLATFORM_FACTOR = 20


def _unwrap(type_: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> int:
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    cost = _selection_cost(schema, root, operation.selection_set, fragments, variables or {}, ())
    return cost + MUTATION_COST * mutation_fields(operation)


def mutation_fields(operation: OperationDefinitionNode) -> int:
    """How many mutations an operation runs (its root fields, when it is a mutation)."""
    if operation.operation != OperationType.MUTATION:
        return 0
    return sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))


def _page_argument(selection: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in selection.arguments or ():
        if argument.name.value in ("first", "last"):
            value = value_from_ast_untyped(argument.value, variables)
            if isinstance(value, int) and value >= 0:
                return value
    return None


def _selection_cost(
    schema: GraphQLSchema,
    parent: Any,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    seen: tuple[str, ...],
    page: int | None = None,
) -> int:
    """Objects the selection may return. `page` is a connection's `first`, which sizes the first
    list below it (its edges)."""
    if selection_set is None or parent is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", None) or {}
            definition = fields.get(selection.name.value)
            if definition is None:  # __typename and the like
                continue
            inner, is_list = _unwrap(definition.type)
            if not is_composite_type(get_named_type(inner)):
                continue
            argument = _page_argument(selection, variables)
            if is_list:
                size = argument if argument is not None else (page or DEFAULT_LIST_SIZE)
                below = None
            else:
                size, below = 1, argument if argument is not None else page
            children = _selection_cost(
                schema, inner, selection.selection_set, fragments, variables, seen, below
            )
            total += size * (1 + children)
        elif isinstance(selection, InlineFragmentNode):
            target = (
                schema.get_type(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            total += _selection_cost(
                schema, target, selection.selection_set, fragments, variables, seen, page
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                continue
            target = schema.get_type(fragment.type_condition.name.value)
            total += _selection_cost(
                schema, target, fragment.selection_set, fragments, variables, (*seen, name), page
            )
    return total


def actual_cost(data: Any, *, mutation_fields: int = 0) -> int:
    """The objects a response holds (each dict below the root counts 1), plus mutations."""

    def walk(value: Any) -> int:
        if isinstance(value, dict):
            return sum((1 + walk(v)) if isinstance(v, dict) else walk(v) for v in value.values())
        if isinstance(value, list):
            return sum((1 + walk(v)) if isinstance(v, dict) else walk(v) for v in value)
        return 0

    return walk(data) + MUTATION_COST * mutation_fields


class CostMeter:
    """Each process's view of its callers' spending this minute.

    Charges are added here at once and sent to Redis (INCRBY, which answers with the total of every
    process) at most every `sync_seconds` per caller, in the request that finds the sync due: a
    request costs no Redis round trip of its own, and the budget holds across processes to within
    what they serve in one sync interval."""

    def __init__(self) -> None:
        self.window = -1
        self.known: dict[str, int] = {}  # the total in Redis at the last sync
        self.pending: dict[str, int] = {}  # charged here since
        self.synced_at: dict[str, float] = {}

    def _roll(self, window: int) -> None:
        if window != self.window:
            self.window = window
            self.known.clear()
            self.pending.clear()
            self.synced_at.clear()

    async def used(self, caller: str, sync_seconds: float) -> int:
        now = time.time()
        self._roll(int(now) // WINDOW_SECONDS)
        if now - self.synced_at.get(caller, 0.0) >= sync_seconds:
            key = f"cost:{caller}:{self.window}"
            pending = self.pending.pop(caller, 0)
            async with get_redis().pipeline(transaction=True) as pipe:
                pipe.incrby(key, pending)
                pipe.expire(key, WINDOW_SECONDS * 2)
                total = (await pipe.execute())[0]
            self.known[caller] = int(total)
            self.synced_at[caller] = now
        return self.known.get(caller, 0) + self.pending.get(caller, 0)

    def charge(self, caller: str, cost: int) -> None:
        self.pending[caller] = self.pending.get(caller, 0) + cost


METER = CostMeter()
_COSTS: dict[tuple[int, str | None, tuple[tuple[str, int], ...]], tuple[Any, int]] = {}


def _cached_cost(
    schema: GraphQLSchema,
    document: Any,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """requested_cost, remembered per document and page-size variables (documents repeat)."""
    sizes = tuple(sorted((k, v) for k, v in (variables or {}).items() if isinstance(v, int)))
    key = (id(document), operation_name, sizes)
    hit = _COSTS.get(key)
    if hit is not None and hit[0] is document:
        return int(hit[1])
    cost = requested_cost(schema, operation, fragments, variables)
    if len(_COSTS) > 4096:
        _COSTS.clear()
    _COSTS[key] = (document, cost)
    return cost


@dataclass(frozen=True)
class Budget:
    """One allowance a request is charged to: `key` in Redis, `limit` a minute, and `scope`
    (SUBJECT: the signed-in person or organisation, or an anonymous caller's address;
    ADDRESS: every request from one address; PLATFORM: a data platform)."""

    key: str
    limit: int
    scope: str


def budgets_for(actor: Actor | None, address: str, settings: Settings) -> tuple[Budget, ...]:
    """The budgets a request is charged to. A data platform is counted by platform alone (its
    servers may share addresses with nobody else, or many); everyone else by subject and by
    address, so neither one account used from many addresses nor many accounts used from one
    address escapes a limit."""
    if actor is not None and actor.kind == "platform" and actor.id:
        return (
            Budget(f"platform:{actor.id}", settings.cost_per_minute * PLATFORM_FACTOR, "PLATFORM"),
        )
    by_address = Budget(f"addr:{address}", settings.cost_per_address_minute, "ADDRESS")
    if actor is not None and not actor.is_anonymous and actor.id:
        subject = Budget(f"{actor.kind}:{actor.id}", settings.cost_per_minute, "SUBJECT")
    else:
        subject = Budget(f"ip:{address}", settings.cost_per_minute, "SUBJECT")
    return (subject, by_address)


@dataclass
class Admission:
    """What is left of the budgets before a request, and the one that binds."""

    budgets: tuple[Budget, ...]
    binding: Budget
    available: int

    def charge(self, cost: int) -> None:
        for budget in self.budgets:
            METER.charge(budget.key, cost)
        self.available = max(self.available - cost, 0)

    @property
    def retry_after_seconds(self) -> int:
        return max(WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS, 1)


async def admit(budgets: tuple[Budget, ...], settings: Settings) -> Admission:
    left = [
        (budget, max(budget.limit - await METER.used(budget.key, settings.cost_sync_seconds), 0))
        for budget in budgets
    ]
    binding, available = min(left, key=lambda pair: pair[1])
    return Admission(budgets=budgets, binding=binding, available=available)


def throttled_message(requested: int, admission: Admission) -> str:
    whose = {
        "SUBJECT": "your",
        "ADDRESS": "your address's",
        "PLATFORM": "your platform's",
    }[admission.binding.scope]
    return (
        f"Throttled: this request would cost {requested} and {admission.available} of "
        f"{whose} {admission.binding.limit} a minute is left."
    )


class QueryCost(SchemaExtension):
    """Refuses a request over its cost limits before it runs; charges and reports what it cost."""

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        self.requested = 0
        self.actual: int | None = None
        self.admission: Admission | None = None
        self.mutations = 0

    def _budgets(self) -> tuple[Budget, ...]:
        context = self.execution_context.context
        return budgets_for(
            getattr(context, "actor", None),
            client_address(getattr(context, "request", None)),
            self.settings,
        )

    async def on_execute(self) -> Any:  # type: ignore[override]
        context = self.execution_context
        document = context.graphql_document
        operation = None
        fragments: dict[str, FragmentDefinitionNode] = {}
        if document is not None:
            for definition in document.definitions:
                if isinstance(definition, FragmentDefinitionNode):
                    fragments[definition.name.value] = definition
                elif isinstance(definition, OperationDefinitionNode) and (
                    context.operation_name is None
                    or (definition.name and definition.name.value == context.operation_name)
                ):
                    operation = operation or definition
        if operation is None or operation.operation == OperationType.SUBSCRIPTION:
            yield
            return
        self.requested = _cached_cost(
            context.schema._schema,
            document,
            operation,
            fragments,
            context.operation_name,
            context.variables,
        )
        self.mutations = mutation_fields(operation)
        admission = self.admission = await admit(self._budgets(), self.settings)
        refusal = None
        if self.requested > self.settings.max_query_cost:
            refusal = GraphQLError(
                f"This query would cost {self.requested}, more than the {self.settings.max_query_cost} a request may.",
                extensions={"code": "QUERY_TOO_COSTLY", "requestedQueryCost": self.requested},
            )
        elif self.requested > admission.available:
            refusal = GraphQLError(
                throttled_message(self.requested, admission),
                extensions={
                    "code": "THROTTLED",
                    "requestedQueryCost": self.requested,
                    "budget": admission.binding.scope,
                    "retryAfterSeconds": admission.retry_after_seconds,
                },
            )
        if refusal is not None:
            context.result = ExecutionResult(data=None, errors=[refusal])
            self.actual = 0
            yield
            return
        yield
        data = getattr(context.result, "data", None)
        self.actual = actual_cost(data, mutation_fields=self.mutations)
        admission.charge(self.actual)

    def get_results(self) -> dict[str, Any]:
        if self.admission is None:
            return {}
        return cost_report(self.requested, self.actual, self.admission)


def cost_report(requested: int, actual: int | None, admission: Admission) -> dict[str, Any]:
    """A response's `extensions.cost`."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": admission.binding.limit,
                "currentlyAvailable": admission.available,
                "budget": admission.binding.scope,
            },
        }
    }
