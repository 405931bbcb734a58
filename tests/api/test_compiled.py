"""Compiled query plans (backend/api/compiled.py) answer exactly as strawberry's executor does.

Each document is sent twice over HTTP: once as served (from a compiled plan where one can be
made), once with the plans switched off; the two answers must be the same, data and errors, and
the cost report too (but for what is left of the budget, which the first request spent).
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import strawberry
from starlette.routing import Route
from strawberry.permission import BasePermission

from backend.accounts import organisations
from backend.accounts.subjects import Subject, SubjectKind
from backend.api.compiled import Plans
from backend.api.view import GraphQLView
from backend.ledger import service as ledger
from tests.conftest import bearer, gql, log_in
from tests.rewards.conftest import AUTHORITY, make_offer, member
from tests.test_authorisation_matrix import MATRIX, ROLES, build_world


def the_view(app: Any) -> GraphQLView:
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            assert isinstance(route.app, GraphQLView)
            return route.app
    raise AssertionError("no /graphql route")


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    extensions = body.pop("extensions", None) or {}
    cost = extensions.get("cost")
    if cost is not None:
        body["cost"] = {
            "requested": cost["requestedQueryCost"],
            "actual": cost["actualQueryCost"],
            "budget": cost["throttleStatus"]["budget"],
        }
    return body


async def both_ways(
    client: Any, view: GraphQLView, query: str, variables: Any = None, headers: Any = None
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    plans = view.plans
    assert plans is not None
    compiled = plans.plan(query, None) is not None
    served = await gql(client, query, variables, headers=headers)
    view.plans = None
    try:
        executed = await gql(client, query, variables, headers=headers)
    finally:
        view.plans = plans
    return comparable(served), comparable(executed), compiled


async def test_every_query_of_the_matrix_answers_the_same_for_every_role(app, client, sms):
    view = the_view(app)
    world = await build_world(client, sms)
    compiled_rows = 0
    differences = []
    for operation, (document, variables, _) in MATRIX.items():
        if not document.lstrip().startswith(("query", "{")):
            continue
        for role in ROLES:
            token = world.tokens[role]
            served, executed, compiled = await both_ways(
                client, view, document, variables(world), bearer(token) if token else None
            )
            compiled_rows += compiled
            if served != executed:
                differences.append(f"{operation} as {role}:\n  {served}\n  {executed}")
    assert differences == []
    # Most queries compile; the others (node, unions) went through the executor both times.
    assert compiled_rows > 0.8 * len(ROLES) * sum(
        1 for document, _, _ in MATRIX.values() if document.lstrip().startswith(("query", "{"))
    )


def edges(path: str) -> Any:
    def count(data: dict[str, Any]) -> int:
        for key in path.split("."):
            data = data[key]
        return len(data["edges"])

    return count


CASES = [
    # aliases, __typename, a fragment on the same type, repeated fields merged
    (
        "query Mine { w: wallet { __typename ...Sums balance b2: balance } }"
        " fragment Sums on Wallet { balance held expiringWithin30Days }",
        lambda data: data["w"]["balance"] == data["w"]["b2"] == "60",
    ),
    # nested lists and connection fields, with a variable and its default
    (
        "query ($n: Int = 3) { wallet { history(first: $n) { edges { cursor node { id kind"
        " amount occurredAt cause } } pageInfo { hasNextPage endCursor } }"
        " monthlyTotals { month earned } } }",
        lambda data: (
            edges("wallet.history")(data) == 3
            and data["wallet"]["history"]["pageInfo"]["hasNextPage"]
        ),
    ),
    # an error in a non-null field below a nullable one: propagates to the nearest nullable
    ("{ wallet { balance history(first: 1000) { edges { node { id } } } } }", "BAD_USER_INPUT"),
    # a bad cursor
    (
        '{ wallet { history(first: 2, after: "not-a-cursor") { edges { node { id } } } } }',
        "BAD_USER_INPUT",
    ),
    # an argument that cannot name an organisation
    ('{ wallet(businessId: "T3JnYW5pc2F0aW9uOjA=") { balance } }', "INVALID_INPUT"),
    # the catalogue, with an inline fragment on the same type
    (
        "{ offers(first: 5) { edges { node { ... on Offer { id titleZh } stockLeft status } } } }",
        lambda data: edges("offers")(data) == 5,
    ),
]


async def citizen_with_history_and_offers(client: Any, sms: Any) -> str:
    """A signed-in citizen with five earnings, and six active offers of one merchant."""
    token = (await log_in(client, sms, "+8613600000402"))["accessToken"]
    person = jwt.decode(token, options={"verify_signature": False})["sub"]
    for n in range(5):
        await ledger.earn(
            owner=Subject(SubjectKind.PERSON, person),
            amount=10 + n,
            idempotency_key=f"compiled-{n}",
            cause={"type": "test", "n": n},
        )
    merchant = await organisations.register_organisation(
        actor=AUTHORITY, kind="MERCHANT", name="绿色小店"
    )
    manager = member(str(merchant.public_id), "manager")
    for n in range(6):
        await make_offer(manager, title_zh=f"环保袋 {n}", price_points=100 + n)
    return str(token)


@pytest.mark.parametrize(("query", "expected"), CASES)
async def test_queries_and_their_errors_answer_the_same(app, client, sms, query, expected):
    view = the_view(app)
    token = await citizen_with_history_and_offers(client, sms)
    served, executed, compiled = await both_ways(client, view, query, None, bearer(token))
    assert compiled
    assert served == executed
    if isinstance(expected, str):
        assert [e["extensions"]["code"] for e in served["errors"]] == [expected]
    else:
        assert "errors" not in served
        assert expected(served["data"]), served


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("mutation { logOut(input: {}) { sessionsEnded } }", "a mutation"),
        ('{ node(id: "x") { id } }', "an interface"),
        ("query ($s: Boolean!) { wallet { balance @include(if: $s) } }", "a directive"),
        ("{ __schema { queryType { name } } }", "introspection"),
        ("{ wallet { nope } }", "an invalid document"),
        (
            "query A { serverInfo { version } } query B { serverInfo { time } }",
            "no operation named",
        ),
    ],
)
def test_what_a_plan_does_not_run_goes_to_the_executor(app, query, why):
    plans = the_view(app).plans
    assert isinstance(plans, Plans)
    assert plans.plan(query, None) is None, why


async def test_a_document_that_compiles_is_served_from_its_plan(app, client, monkeypatch):
    view = the_view(app)
    executed: list[str] = []
    execute = view.schema.execute

    async def counting(query: Any, *args: Any, **kwargs: Any) -> Any:
        executed.append(query)
        return await execute(query, *args, **kwargs)

    monkeypatch.setattr(view.schema, "execute", counting)
    answer = await gql(client, "{ serverInfo { version } }")
    assert answer["data"]["serverInfo"]["version"]
    assert executed == []
    answer = await gql(client, "{ serverInfo { version } __schema { queryType { name } } }")
    assert answer["data"]["__schema"]["queryType"]["name"] == "Query"
    assert len(executed) == 1


def test_the_compiled_path_does_the_work_of_every_schema_extension(settings):
    """Plans.run does the operation metrics' count, the documents' parse and validation and the
    query cost's check, charge and report itself; an extension added to the schema must be
    added there too, or compiled queries would skip it."""
    from backend.api.cost import QueryCost
    from backend.api.extensions import Documents, OperationMetrics, schema_extensions

    made = {type(factory()) for factory in schema_extensions(settings)}
    assert made == {OperationMetrics, Documents, QueryCost}


def test_a_resolver_is_called_directly_only_when_strawberry_would_convert_nothing(app):
    from backend.api.compiled import _direct

    class Allowed(BasePermission):
        def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
            return True

    @strawberry.type
    class Query:
        @strawberry.field
        def plain(self) -> int:
            return 1

        @strawberry.field
        def counted(self, n: int | None = None) -> int:
            return n or 0

        @strawberry.field(permission_classes=[Allowed])
        def guarded(self) -> int:
            return 2

        @strawberry.field
        def maybe(self, n: strawberry.Maybe[int] = None) -> int:
            return 3

    schema = strawberry.Schema(Query)
    fields = schema._schema.query_type.fields
    converter = schema.schema_converter
    assert _direct(fields["plain"], converter, {}) is not None
    assert _direct(fields["counted"], converter, {"n": None}) is not None
    assert _direct(fields["counted"], converter, {"n": 3}) is None  # converted by strawberry
    assert _direct(fields["counted"], converter, None) is None  # named a variable
    assert _direct(fields["guarded"], converter, {}) is None  # a field extension
    assert _direct(fields["maybe"], converter, {}) is None

    # the wallet's fields are called directly, so the matrix above compares that path
    plan = the_view(app).plans.plan("{ wallet { balance held expiringWithin30Days } }", None)
    wallet = plan.fields[0]
    assert wallet.direct is not None
    assert all(field.direct is not None for field in wallet.completion.inner.fields)


SEEN: list[bool] = []


@strawberry.type
class Inner:
    wanted: int = 1
    other: int = 2


@strawberry.type
class SelectionQuery:
    @strawberry.field
    def inner(self, info: strawberry.Info) -> Inner:
        from backend.api.context import selects_any

        SEEN.append(selects_any(info, frozenset({"wanted"})))
        return Inner()


async def test_selects_any_sees_only_the_fields_selected_directly():
    schema = strawberry.Schema(SelectionQuery)
    SEEN.clear()
    for document in (
        "{ inner { other wanted } }",
        "{ inner { other } }",
        "{ inner { ... on Inner { wanted } } }",
        "{ inner { ...F } } fragment F on Inner { wanted }",
        "{ inner { wanted: other } }",  # an alias names the response key, not the field
    ):
        result = await schema.execute(document)
        assert result.errors is None
    assert SEEN == [True, False, False, False, False]
