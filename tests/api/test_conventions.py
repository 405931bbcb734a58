"""The kit's GraphQL conventions on a small schema of their own: union payloads with typed errors,
the Int64 scalar, idempotent mutations, and subscriptions guarded by trusted documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

import pytest
import strawberry
from starlette.testclient import TestClient
from strawberry.schema.config import StrawberryConfig

from backend.api.contract import as_sent
from backend.api.errors import (
    Error,
    IdempotencyKeyReusedError,
    InvalidInputError,
    error_type,
    returns_errors,
)
from backend.api.scalars import INT64_MAX, SCALAR_MAP, Int64
from backend.api.schema import Schema
from backend.api.trusted import TrustedDocuments, document_id
from backend.app import create_app
from backend.kit import db, idempotency
from backend.kit.errors import DomainError, InvalidInput
from tests.conftest import make_context


class OutOfStock(DomainError):
    code = "OUT_OF_STOCK"
    message_en = "Only {left} left."
    message_zh = "仅剩 {left} 件。"


@error_type(OutOfStock)
@strawberry.type
class OutOfStockError(Error):
    left: Int64


@strawberry.type
class Taken:
    amount: Int64
    total: Int64


@strawberry.input
class TakeInput:
    amount: Int64
    idempotency_key: str


TakePayload = Annotated[
    Taken | OutOfStockError | InvalidInputError | IdempotencyKeyReusedError,
    strawberry.union("TakePayload"),
]
STOCK = {"left": 10, "total": 0}


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, value: Int64) -> Int64:
        return value


@strawberry.type
class Mutation:
    @strawberry.mutation
    @returns_errors
    async def take(self, info: strawberry.Info, input: TakeInput) -> TakePayload:
        if input.amount <= 0:
            raise InvalidInput(field="amount", reason="must be positive", reason_zh="必须为正数")

        async def work() -> Taken:
            if input.amount > STOCK["left"]:
                raise OutOfStock(left=STOCK["left"])
            STOCK["left"] -= input.amount
            STOCK["total"] += input.amount
            return Taken(amount=input.amount, total=STOCK["total"])

        async with db.transaction():
            return await idempotency.run_once(
                owner="test",
                key=input.idempotency_key,
                operation="take",
                request={"amount": input.amount},
                work=work,
                dump=lambda t: {"amount": t.amount, "total": t.total},
                load=lambda d: Taken(**d),
            )


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def whoami(self, info: strawberry.Info) -> AsyncGenerator[str, None]:
        yield info.context.actor.kind

    @strawberry.subscription
    async def ticks(self, count: int) -> AsyncGenerator[int, None]:
        for n in range(count):
            yield n
            await asyncio.sleep(0)


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
)

TAKE = """
mutation ($input: TakeInput!) {
  take(input: $input) {
    __typename
    ... on Taken { amount total }
    ... on Error { code message }
    ... on OutOfStockError { left }
    ... on InvalidInputError { field }
  }
}
"""


@pytest.fixture(autouse=True)
def reset_stock():
    STOCK.update(left=10, total=0)


async def run(settings, query, variables=None, language="en"):
    return await schema.execute(
        query, variable_values=variables, context_value=make_context(settings, language=language)
    )


async def test_success_is_the_success_member(settings):
    result = await run(settings, TAKE, {"input": {"amount": "3", "idempotencyKey": "take-0001"}})
    assert result.errors is None
    assert result.data["take"] == {"__typename": "Taken", "amount": "3", "total": "3"}


async def test_an_expected_failure_is_data_with_code_message_and_fields(settings):
    result = await run(
        settings, TAKE, {"input": {"amount": 11, "idempotencyKey": "take-0001"}}, language="zh-CN"
    )
    assert result.errors is None
    assert result.data["take"] == {
        "__typename": "OutOfStockError",
        "code": "OUT_OF_STOCK",
        "message": "仅剩 10 件。",
        "left": "10",
    }
    assert STOCK["left"] == 10


async def test_bad_input_is_a_typed_error_and_changes_nothing(settings):
    result = await run(settings, TAKE, {"input": {"amount": 0, "idempotencyKey": "take-0001"}})
    assert result.data["take"]["__typename"] == "InvalidInputError"
    assert result.data["take"]["field"] == "amount"
    assert STOCK == {"left": 10, "total": 0}


async def test_a_replayed_mutation_returns_its_first_answer(settings):
    variables = {"input": {"amount": 4, "idempotencyKey": "take-0002"}}
    first = await run(settings, TAKE, variables)
    again = await run(settings, TAKE, variables)
    assert first.data == again.data
    assert STOCK["left"] == 6


async def test_a_reused_key_with_another_input_is_a_typed_error(settings):
    await run(settings, TAKE, {"input": {"amount": 4, "idempotencyKey": "take-0003"}})
    result = await run(settings, TAKE, {"input": {"amount": 5, "idempotencyKey": "take-0003"}})
    assert result.errors is None
    assert result.data["take"]["__typename"] == "IdempotencyKeyReusedError"
    assert result.data["take"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert STOCK["left"] == 6


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (str(INT64_MAX), True),
        ("-9223372036854775808", True),
        (str(INT64_MAX + 1), False),
        ("12.5", False),
        ("1e3", False),
        ("", False),
        (True, False),
        (1.5, False),
        (42, True),
    ],
)
async def test_int64_takes_64_bit_values_and_nothing_else(settings, value, ok):
    result = await run(settings, "query ($v: Int64!) { echo(value: $v) }", {"v": value})
    if ok:
        assert result.errors is None
        assert result.data["echo"] == str(int(value))
    else:
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_int64_beyond_32_bits_as_a_literal(settings):
    result = await run(settings, "{ echo(value: 4294967296) }")
    assert result.data == {"echo": "4294967296"}


def _ws_app(settings, trusted_only: bool, documents: dict[str, str]):
    from dataclasses import replace

    app_settings = replace(settings, trusted_documents_only=trusted_only)
    return create_app(
        app_settings, schema=schema, documents=TrustedDocuments(documents), manage_resources=False
    )


TICKS = "subscription Ticks { ticks(count: 2) }"


def _subscribe(app, payload):
    with TestClient(app) as test_client:
        with test_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            messages = []
            while True:
                message = ws.receive_json()
                messages.append(message)
                if message["type"] in ("complete", "error"):
                    return messages


def test_a_trusted_subscription_runs_by_its_id(settings):
    body = as_sent(TICKS)
    app = _ws_app(settings, True, {document_id(body): body})
    messages = _subscribe(
        app, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(body)}}}
    )
    assert [m["payload"]["data"]["ticks"] for m in messages if m["type"] == "next"] == [0, 1]


def test_an_untrusted_subscription_is_refused_in_production(settings):
    app = _ws_app(settings, True, {})
    messages = _subscribe(app, {"query": TICKS})
    assert messages == [
        {
            "id": "1",
            "type": "error",
            "payload": [
                {
                    "message": "Only trusted documents are accepted from this client.",
                    "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
                }
            ],
        }
    ]


def test_ad_hoc_subscriptions_are_allowed_in_development(settings):
    app = _ws_app(settings, False, {})
    messages = _subscribe(app, {"query": TICKS})
    assert messages[-1]["type"] == "complete"


def test_a_websocket_connection_is_authenticated_by_its_init_payload(settings):
    app = _ws_app(settings, False, {})
    with TestClient(app) as test_client:
        with test_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}
            )
            message = ws.receive()
            assert message["type"] == "websocket.close" and message["code"] == 4403
        with test_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": "subscription { whoami }"}}
            )
            assert ws.receive_json()["payload"]["data"] == {"whoami": "anonymous"}


async def test_a_value_the_column_cannot_take_is_typed_invalid_input(settings):
    """Tortoise checks a value against its column (length, range) before sending it, in a filter
    as in a write: whatever value slips past a domain's own checks is the caller's bad input,
    never an internal error, and names the field without repeating the value."""
    from tortoise.exceptions import ValidationError

    from backend.api.errors import InvalidInputError, _convert, returns_errors
    from backend.rewards.models import Voucher

    @returns_errors
    async def resolver(*, info=None):
        return await Voucher.get_or_none(code="+8613912345678 far too long")

    try:
        await resolver()
    except ValidationError:
        raise AssertionError("not converted") from None
    error = await resolver()
    assert isinstance(error, InvalidInputError)
    assert error.code == "INVALID_INPUT" and error.field == "code"
    assert "13912345678" not in error.message
    # the same in a query field: errors[] with a typed code
    from graphql import GraphQLError

    try:
        await Voucher.get_or_none(code="+8613912345678 far too long")
    except ValidationError as exc:
        raised = exc
    converted = _convert(GraphQLError("x", path=["voucher"], original_error=raised), "en")
    assert converted.extensions == {"code": "INVALID_INPUT", "field": "code"}
    assert "13912345678" not in converted.message
