"""Compiled query plans: a query document, once validated, runs without graphql-core's executor.

graphql-core collects fields, builds its execution context and dispatches on each value's type
anew for every request; for the small documents the apps repeat, that was most of a request's CPU
(bench/RESULTS.md). A plan does that work once per document. Each request then calls the same
resolvers that graphql-core would call (each field's `resolve`, strawberry's wrapper with its
argument conversion), and completes their values the way the specification says and graphql-core
does: non-null checks, lists, leaf coercion, `is_type_of`, errors located at their path and
propagated to the nearest nullable field.

Only what a plan can run exactly is compiled: query operations whose selections name fields of
object types (fragments whose type is that same object type are merged in), without directives
and without abstract types. Anything else — mutations, unions, interfaces, `@include`, invalid
documents, variables that do not coerce, a request over its cost budget — returns None from
`run`, and the request goes through strawberry's executor as before. The same extensions' work is
done here: the operation metrics, the cost check, charge and report, and the error convention
(tests/api/test_compiled.py fails when the schema gains an extension this module does not know).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_leaf_type,
    is_object_type,
    located_error,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined, inspect, is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as ResolveInfo
from strawberry.types import ExecutionResult
from strawberry.types.base import StrawberryMaybe

from backend.api.context import client_address
from backend.api.cost import _cached_cost, actual_cost, admit, budgets_for, cost_report
from backend.api.extensions import DOCUMENT_CACHE_SIZE, _parse, _validate
from backend.kit.metrics import GRAPHQL_DURATION, GRAPHQL_OPERATIONS, operation_label

_NONE: dict[str, Any] = {}


_PLAIN = frozenset({str, int, float, bool, dict, list, type(None)})


def _awaitable(value: Any) -> bool:
    """graphql-core's is_awaitable, with the common answers first."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    if kind is CoroutineType:
        return True
    return is_awaitable(value)


class NotCompiled(Exception):
    """The document uses something a plan does not run; strawberry's executor takes it."""


@dataclass(slots=True)
class Completion:
    """How a field's value is completed: NON_NULL, LIST, LEAF or OBJECT."""

    kind: str
    type: Any  # the GraphQL type at this level
    inner: Completion | None = None  # NON_NULL and LIST
    fields: tuple[FieldPlan, ...] = ()  # OBJECT


@dataclass(slots=True)
class FieldPlan:
    key: str  # the response key (the alias, or the field's name)
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField | None  # None for __typename
    parent: GraphQLObjectType
    completion: Completion | None
    static_args: dict[str, Any] | None  # the arguments, when they name no variable
    needs_variables: bool
    # the resolver itself, for a field strawberry would call with nothing to convert (`_direct`)
    direct: Any = None


def _collect(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    into: dict[str, list[FieldNode]],
    seen: tuple[str, ...] = (),
) -> None:
    for selection in selection_set.selections:
        if selection.directives:
            raise NotCompiled("directives")
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            into.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != parent.name:
                raise NotCompiled("a fragment on another type")
            _collect(parent, selection.selection_set, fragments, into, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                raise NotCompiled("an unknown or recursive fragment")
            if fragment.type_condition.name.value != parent.name:
                raise NotCompiled("a fragment on another type")
            _collect(parent, fragment.selection_set, fragments, into, (*seen, name))


def _uses_variables(node: Any) -> bool:
    if node is None:
        return False
    if type(node).__name__ == "VariableNode":
        return True
    for key in getattr(node, "keys", ()):
        value = getattr(node, key, None)
        if isinstance(value, list | tuple):
            if any(_uses_variables(v) for v in value):
                return True
        elif hasattr(value, "keys") and _uses_variables(value):
            return True
    return False


def _completion(type_: Any, nodes: list[FieldNode], fragments: Any, converter: Any) -> Completion:
    if isinstance(type_, GraphQLNonNull):
        inner = _completion(type_.of_type, nodes, fragments, converter)
        return Completion("NON_NULL", type_, inner)
    if isinstance(type_, GraphQLList):
        return Completion("LIST", type_, _completion(type_.of_type, nodes, fragments, converter))
    if is_leaf_type(type_):
        return Completion("LEAF", type_)
    if is_object_type(type_):
        merged: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is None:
                raise NotCompiled("an object without a selection")
            _collect(type_, node.selection_set, fragments, merged)
        return Completion("OBJECT", type_, fields=_fields(type_, merged, fragments, converter))
    raise NotCompiled("an abstract type")


def _direct(definition: GraphQLField, converter: Any, static_args: dict[str, Any] | None) -> Any:
    """`(source, info) -> result` calling the field's resolver as strawberry's wrapper would, for
    a field with a resolver whose arguments are all absent or null in the document, and with no
    field extensions (permissions are one) and no exception handlers: the wrapper would convert
    nothing (a null stays None) and run no extension, and its per-call machinery (argument
    conversion, extension chain, info wrapper) cost more than a wallet field's resolver. None
    for any other field, which keeps the wrapper."""
    field = (definition.extensions or {}).get(converter.DEFINITION_BACKREF)
    if (
        field is None
        or field.base_resolver is None
        or field.extensions
        or converter._exception_handler_specs
        or static_args is None
        or any(value is not None for value in static_args.values())
        or any(isinstance(argument.type, StrawberryMaybe) for argument in field.arguments)
    ):
        return None
    python_names = {
        converter.config.name_converter.from_argument(argument): argument.python_name
        for argument in field.arguments
    }
    nulls = {python_names[name]: None for name in static_args}
    resolver = field.base_resolver
    function = resolver.wrapped_func
    takes_self = resolver.self_parameter is not None
    source_names = tuple(p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p)
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    info_class = converter.config.info_class

    def call(source: Any, info: Any) -> Any:
        kwargs = dict(nulls)
        for name in source_names:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **kwargs) if takes_self else function(**kwargs)

    return call


def _fields(
    parent: GraphQLObjectType,
    collected: dict[str, list[FieldNode]],
    fragments: Any,
    converter: Any,
) -> tuple[FieldPlan, ...]:
    plans = []
    for key, nodes in collected.items():
        name = nodes[0].name.value
        if any(node.name.value != name for node in nodes):
            raise NotCompiled("one response key for two fields")
        if name == "__typename":
            plans.append(FieldPlan(key, name, nodes, None, parent, None, None, False))
            continue
        definition = parent.fields.get(name)
        if definition is None:  # __schema, __type and the like
            raise NotCompiled("an introspection field")
        if len(nodes) > 1 and any(node.arguments for node in nodes):
            raise NotCompiled("merged fields with arguments")
        needs_variables = any(_uses_variables(argument) for argument in nodes[0].arguments or ())
        static_args = None if needs_variables else get_argument_values(definition, nodes[0])
        plans.append(
            FieldPlan(
                key,
                name,
                nodes,
                definition,
                parent,
                _completion(definition.type, nodes, fragments, converter),
                static_args,
                needs_variables,
                _direct(definition, converter, static_args),
            )
        )
    return tuple(plans)


class _Run:
    """One execution of a plan: its context, variables and errors."""

    __slots__ = (
        "context",
        "errors",
        "extensions",
        "fragments",
        "operation",
        "schema",
        "variables",
    )

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        context: Any,
        variables: Any,
        extensions: dict[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.extensions = extensions
        self.operation = operation
        self.fragments = fragments
        self.context = context
        self.variables = variables  # graphql-core's VariableValues
        self.errors: list[GraphQLError] = []

    def info(self, plan: FieldPlan, path: Path) -> Any:
        assert plan.definition is not None
        return ResolveInfo(
            plan.name,
            plan.nodes,
            plan.definition.type,
            plan.parent,
            path,
            self.schema,
            self.fragments,
            None,
            self.operation,
            self.variables.coerced,
            self.context,
            is_awaitable,
            None,
            None,
            self.extensions,  # type: ignore[arg-type]
        )

    def fields(self, plans: tuple[FieldPlan, ...], source: Any, path: Path | None) -> Any:
        """The object's fields: a dict, or an awaitable of it when a field's value is one (a
        subtree of plain attributes completes without a coroutine or a task)."""
        data: dict[str, Any] = {}
        pending: list[tuple[str, Awaitable[Any]]] = []
        try:
            for plan in plans:
                if plan.definition is None:
                    data[plan.key] = plan.parent.name
                    continue
                field_path = Path(path, plan.key, plan.parent.name)
                value = self.field(plan, source, field_path)
                if _awaitable(value):
                    data[plan.key] = None  # keeps the selection's order
                    pending.append((plan.key, value))
                else:
                    data[plan.key] = value
        except BaseException:
            _close(awaitable for _, awaitable in pending)
            raise
        if not pending:
            return data
        return self._await_fields(data, pending)

    async def _await_fields(
        self, data: dict[str, Any], pending: list[tuple[str, Awaitable[Any]]]
    ) -> dict[str, Any]:
        if len(pending) == 1:
            key, awaitable = pending[0]
            data[key] = await awaitable
        else:
            results = await _settle([awaitable for _, awaitable in pending])
            for (key, _), result in zip(pending, results, strict=True):
                data[key] = result
        return data

    def field(self, plan: FieldPlan, source: Any, path: Path) -> Any:
        assert plan.definition is not None and plan.completion is not None
        info = self.info(plan, path)
        try:
            args = (
                plan.static_args
                if plan.static_args is not None
                else get_argument_values(plan.definition, plan.nodes[0], self.variables)
            )
            if plan.direct is not None:
                result = plan.direct(source, info)
            else:
                resolve = plan.definition.resolve
                assert resolve is not None
                result = resolve(source, info, **args)
            if _awaitable(result):
                return self._await_field(plan, info, path, result)
            completed = self.complete(plan.completion, info, path, result)
            if _awaitable(completed):
                return self._await_completion(plan, path, completed)
            return completed
        except Exception as raw:
            return self.field_error(raw, plan, plan.completion.type, path)

    async def _await_field(self, plan: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        assert plan.completion is not None
        try:
            resolved = await result
            completed = self.complete(plan.completion, info, path, resolved)
            if _awaitable(completed):
                completed = await completed
            return completed
        except Exception as raw:
            return self.field_error(raw, plan, plan.completion.type, path)

    async def _await_completion(self, plan: FieldPlan, path: Path, completed: Any) -> Any:
        assert plan.completion is not None
        try:
            return await completed
        except Exception as raw:
            return self.field_error(raw, plan, plan.completion.type, path)

    def field_error(self, raw: Exception, plan: FieldPlan, type_: Any, path: Path) -> Any:
        error = located_error(raw, plan.nodes, path.as_list())
        if isinstance(type_, GraphQLNonNull):
            raise error
        self.errors.append(error)
        return None

    def complete(self, completion: Completion, info: Any, path: Path, result: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        kind = completion.kind
        if kind == "NON_NULL":
            assert completion.inner is not None
            completed = self.complete(completion.inner, info, path, result)
            if _awaitable(completed):
                return self._non_null(completed, info)
            if completed is None:
                raise TypeError(
                    f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}."
                )
            return completed
        if result is None:
            return None
        if kind == "LEAF":
            coerced = completion.type.coerce_output_value(result)
            if coerced is None or coerced is Undefined:
                raise TypeError(
                    f"Expected `{inspect(completion.type)}.coerce_output_value("
                    f"{inspect(result)})` to return non-nullable value, returned:"
                    f" {inspect(coerced)}"
                )
            return coerced
        if kind == "OBJECT":
            object_type = completion.type
            if object_type.is_type_of is not None:
                is_type_of = object_type.is_type_of(result, info)
                if _awaitable(is_type_of):
                    return self._checked_fields(completion, info, path, result, is_type_of)
                if not is_type_of:
                    raise _invalid_type(object_type, result, info)
            return self.fields(completion.fields, result, path)
        return self.complete_list(completion, info, path, result)

    async def _checked_fields(
        self, completion: Completion, info: Any, path: Path, result: Any, is_type_of: Any
    ) -> Any:
        if not await is_type_of:
            raise _invalid_type(completion.type, result, info)
        data = self.fields(completion.fields, result, path)
        return (await data) if _awaitable(data) else data

    async def _non_null(self, completed: Awaitable[Any], info: Any) -> Any:
        value = await completed
        if value is None:
            raise TypeError(
                f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}."
            )
        return value

    def complete_list(self, completion: Completion, info: Any, path: Path, result: Any) -> Any:
        if isinstance(result, str | bytes | dict) or not isinstance(result, Iterable):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{info.parent_type}.{info.field_name}'."
            )
        inner = completion.inner
        assert inner is not None
        items: list[Any] = []
        pending: list[int] = []
        try:
            for index, item in enumerate(result):
                item_path = path.add_key(index, None)
                try:
                    if _awaitable(item):
                        value: Any = self._await_item(inner, info, item_path, item)
                    else:
                        value = self.complete(inner, info, item_path, item)
                        if _awaitable(value):
                            value = self._await_item(inner, info, item_path, value, completed=True)
                except Exception as raw:
                    value = self.item_error(raw, inner, info, item_path)
                if _awaitable(value):
                    pending.append(index)
                items.append(value)
        except BaseException:
            _close(items[i] for i in pending)
            raise
        if not pending:
            return items
        return self._gather_items(items, pending)

    async def _gather_items(self, items: list[Any], pending: list[int]) -> list[Any]:
        results = await _settle([items[i] for i in pending])
        for index, value in zip(pending, results, strict=True):
            items[index] = value
        return items

    async def _await_item(
        self, inner: Completion, info: Any, path: Path, item: Any, *, completed: bool = False
    ) -> Any:
        try:
            value = await item
            if not completed:
                value = self.complete(inner, info, path, value)
                if _awaitable(value):
                    value = await value
            return value
        except Exception as raw:
            return self.item_error(raw, inner, info, path)

    def item_error(self, raw: Exception, inner: Completion, info: Any, path: Path) -> Any:
        error = located_error(raw, info.field_nodes, path.as_list())
        if inner.kind == "NON_NULL":
            raise error
        self.errors.append(error)
        return None


def _invalid_type(object_type: Any, result: Any, info: Any) -> GraphQLError:
    return GraphQLError(
        f"Expected value of type '{object_type}' but got: {inspect(result)}.", info.field_nodes
    )


async def _settle(awaitables: list[Awaitable[Any]]) -> list[Any]:
    """Every one awaited to its end (none left running when one fails), then the first error
    raised, as graphql-core's gather does."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _close(awaitables: Iterable[Any]) -> None:
    for awaitable in awaitables:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()


@dataclass(slots=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    fields: tuple[FieldPlan, ...]
    label: str
    answers: Any = field(init=False)
    errors: Any = field(init=False)
    duration: Any = field(init=False)

    def __post_init__(self) -> None:
        # the operation's metrics, looked up once rather than by label on every request
        self.answers = GRAPHQL_OPERATIONS.labels(self.label, "query", "ok")
        self.errors = GRAPHQL_OPERATIONS.labels(self.label, "query", "error")
        self.duration = GRAPHQL_DURATION.labels(self.label)


class Plans:
    """Each distinct (document, operation name) compiled once; None when it cannot be."""

    def __init__(self, schema: Any, settings: Any, rules: tuple[Any, ...]) -> None:
        self.schema = schema  # the strawberry schema
        self.settings = settings
        self.rules = rules
        self.cache: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        try:
            plan: Plan | None = self._compile(query, operation_name)
        except (NotCompiled, GraphQLError):
            plan = None
        self.cache[key] = plan
        if len(self.cache) > DOCUMENT_CACHE_SIZE:
            self.cache.popitem(last=False)
        return plan

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        schema: GraphQLSchema = self.schema._schema
        document = _parse(query, self.settings.max_tokens)
        if _validate(schema, document, self.rules):
            return None  # strawberry's executor reports the errors
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        if operation_name is None:
            if len(operations) != 1:
                return None
            operation = operations[0]
        else:
            named = [o for o in operations if o.name and o.name.value == operation_name]
            if len(named) != 1:
                return None
            operation = named[0]
        if operation.operation != OperationType.QUERY or operation.directives:
            return None
        if any(v.directives for v in operation.variable_definitions or ()):
            return None
        root = schema.query_type
        assert root is not None
        collected: dict[str, list[FieldNode]] = {}
        _collect(root, operation.selection_set, fragments, collected)
        return Plan(
            document,
            operation,
            fragments,
            _fields(root, collected, fragments, self.schema.schema_converter),
            operation_label(operation.name.value if operation.name else None),
        )

    async def run(
        self,
        plan: Plan,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult | None:
        """The operation's result, or None when strawberry's executor must run it."""
        started = time.perf_counter()
        schema: GraphQLSchema = self.schema._schema
        coerced = get_variable_values(
            schema, plan.operation.variable_definitions or (), variables or _NONE, max_errors=50
        )
        if isinstance(coerced, list):
            return None  # the executor reports the variables' errors
        requested = _cached_cost(
            schema, plan.document, plan.operation, plan.fragments, operation_name, variables
        )
        if requested > self.settings.max_query_cost:
            return None  # refused by QueryCost on the executor's path
        try:
            admission = await admit(
                budgets_for(
                    getattr(context, "actor", None),
                    client_address(getattr(context, "request", None)),
                    self.settings,
                ),
                self.settings,
            )
        except Exception:
            return None  # the executor's QueryCost meets the same failure and reports it
        if requested > admission.available:
            return None
        run = _Run(schema, plan.operation, plan.fragments, context, coerced, extensions)
        data: Any
        try:
            data = run.fields(plan.fields, None, None)
            if _awaitable(data):
                data = await data
        except GraphQLError as error:
            run.errors.append(error)
            data = None
        errors = run.errors or None
        if errors:
            self.schema.process_errors(errors, _ErrorContext(context))
        actual = actual_cost(data)
        admission.charge(actual)
        (plan.errors if errors else plan.answers).inc()
        plan.duration.observe(time.perf_counter() - started)
        return ExecutionResult(
            data=data, errors=errors, extensions=cost_report(requested, actual, admission)
        )


@dataclass(slots=True)
class _ErrorContext:
    context: Any
