"""The HTTP surface: bad input gets a clean 4xx or a typed error, never a 5xx."""

import asyncio
import json

import pytest

from backend.app import create_app
from tests.conftest import gql

SERVER_INFO = "{ serverInfo { version businessTimeZone } }"


async def test_a_plain_query_works(client):
    body = await gql(client, SERVER_INFO)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    assert {"data": body["data"]} == {
        "data": {"serverInfo": {"version": "0.1.0", "businessTimeZone": "Asia/Shanghai"}}
    }


def _code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"{not json", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b'"just a string"', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"42", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"null", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b'{"query": 42}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b'{"query": ["{ a }"]}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (
            b'{"query": "{ serverInfo { version } }", "variables": []}',
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (
            b'{"query": "{ serverInfo { version } }", "variables": "x"}',
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (
            b'{"query": "{ serverInfo { version } }", "operationName": 5}',
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (
            b'{"query": "{ serverInfo { version } }", "extensions": 1}',
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (b"{}", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b'{"query": ""}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (
            b'[{"query": "{ serverInfo { version } }"}]',
            {"content-type": "application/json"},
            400,
            "BATCHING_NOT_SUPPORTED",
        ),
        (
            b'{"query": "{ serverInfo { version } }"}',
            {"content-type": "text/plain"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            b"--x\r\n",
            {"content-type": "multipart/form-data; boundary=x"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "'
            + b"a" * 64
            + b'"}}}',
            {"content-type": "application/json"},
            400,
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            b'{"documentId": "sha256:' + b"b" * 64 + b'"}',
            {"content-type": "application/json"},
            400,
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (b'{"documentId": "not-a-hash"}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (
            b'{"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}',
            {"content-type": "application/json"},
            400,
            "PERSISTED_QUERY_NOT_SUPPORTED",
        ),
    ],
)
async def test_malformed_requests_get_a_json_4xx(client, content, headers, status, code):
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert _code(response) == code


async def test_get_cannot_run_queries(client):
    response = await client.get("/graphql", params={"query": SERVER_INFO})
    assert response.status_code == 405
    assert _code(response) == "METHOD_NOT_ALLOWED"


async def test_other_methods_are_refused(client):
    response = await client.put("/graphql", json={"query": SERVER_INFO})
    assert response.status_code == 405


async def test_an_oversized_body_is_refused_before_it_is_read(client, settings):
    big = json.dumps({"query": SERVER_INFO, "variables": {"pad": "x" * settings.max_body_bytes}})
    response = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert _code(response) == "PAYLOAD_TOO_LARGE"


async def test_an_oversized_streamed_body_without_length_is_refused(client, settings):
    async def chunks():
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_bad_content_length_is_refused(app):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"abc")],
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("t", 80),
        "client": ("c", 1),
        "root_path": "",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400


async def test_the_depth_limit_holds(client, settings):
    too_deep = (
        "{ " + "a { " * (settings.max_depth + 1) + "b" + " }" * (settings.max_depth + 1) + " }"
    )
    body = await gql(client, too_deep)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_the_alias_limit_holds(client, settings):
    aliases = " ".join(f"a{n}: serverInfo {{ version }}" for n in range(settings.max_aliases + 1))
    body = await gql(client, "{ " + aliases + " }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "aliases" in body["errors"][0]["message"]
    within = " ".join(f"a{n}: serverInfo {{ version }}" for n in range(settings.max_aliases))
    assert "errors" not in await gql(client, "{ " + within + " }")


async def test_the_token_limit_holds(client, settings):
    fields = " ".join(["version"] * settings.max_tokens)
    body = await gql(client, "{ serverInfo { " + fields + " } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "token" in body["errors"][0]["message"].lower()


async def test_a_syntax_error_is_a_parse_failure(client):
    body = await gql(client, "{ serverInfo { ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_an_unknown_field_is_a_validation_failure_with_suggestions_in_dev(client):
    body = await gql(client, "{ serverInf { version } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" in body["errors"][0]["message"]


async def test_bad_variables_are_bad_user_input(client):
    body = await gql(
        client,
        "query ($first: Int) { auditEvents(first: $first) { pageInfo { hasNextPage } } }",
        {"first": "ten"},
    )
    assert body["errors"][0]["extensions"]["code"] in (
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
    )
    assert "data" not in body or body["data"] is None


async def test_errors_of_a_signed_out_caller_are_typed_and_translated(client):
    query = "{ auditEvents { pageInfo { hasNextPage } } }"
    english = await gql(client, query, headers={"accept-language": "en"})
    chinese = await gql(client, query, headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert english["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert english["errors"][0]["message"] == "Sign-in is required."
    assert chinese["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert chinese["errors"][0]["message"] == "需要登录。"


async def test_the_request_id_is_echoed_or_made(client):
    given = await client.get("/healthz", headers={"x-request-id": "abc-12345678"})
    assert given.headers["x-request-id"] == "abc-12345678"
    injected = await client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert injected.headers["x-request-id"] != "bad id\nwith newline"
    assert len(injected.headers["x-request-id"]) == 32


async def test_health_readiness_and_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    await gql(client, "query ServerClock { serverInfo { time } }")
    metrics = (await client.get("/metrics")).text
    assert (
        'tph_graphql_operations_total{operation="ServerClock",outcome="ok",type="query"}' in metrics
    )
    assert "tph_graphql_operation_seconds_bucket" in metrics


async def test_readiness_fails_when_redis_is_gone(client, monkeypatch):
    from backend import app as app_module

    class Down:
        async def ping(self):
            raise ConnectionError("redis down")

    monkeypatch.setattr(app_module, "get_redis", lambda: Down())
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error")
    assert ready.json()["checks"]["database"] == "ok"


async def test_graphiql_is_served_in_dev(client):
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_production_hides_the_schema(production_settings):
    import httpx

    app = create_app(production_settings, manage_resources=False)
    app_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with app_client as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        # Only trusted documents: an ad-hoc query is refused before parsing.
        refused = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert refused.status_code == 400
        assert _code(refused) == "PERSISTED_QUERY_REQUIRED"


async def test_internal_errors_are_masked(client, monkeypatch):
    from backend.api import server_info

    def broken() -> str:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(server_info, "_version", broken)
    response = await client.post(
        "/graphql", json={"query": SERVER_INFO}, headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in response.text


async def test_bad_arguments_to_a_query_field_are_a_typed_error_not_an_internal_one(client):
    # Found by tests/test_fuzz.py: these were INTERNAL_SERVER_ERROR before.
    for query, field in (
        ("{ leaderboard(first: 0) { rank } }", "first"),
        ('{ creditBlocks(holderId: "not-an-id") { id } }', "holderId"),
    ):
        body = await gql(client, query)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": field}, body


NUL_REGISTER = (
    "mutation ($i: RegisterOrganisationInput!) { registerOrganisation(input: $i) { __typename } }"
)


async def test_text_with_a_nul_character_is_refused_and_changes_nothing(client, sms):
    """PostgreSQL text cannot hold U+0000: every way it can arrive is a 400, never a 500."""
    from backend.accounts.models import Organisation
    from tests.conftest import bearer, make_admin

    admin = bearer((await make_admin(client, sms, "+8613800009999"))["accessToken"])
    before = await Organisation.all().count()
    attempts = [
        # in a variable
        {"query": NUL_REGISTER, "variables": {"i": {"kind": "MERCHANT", "name": "a\x00b"}}},
        # in a literal of the document, as GraphQL's escapes
        {
            "query": 'mutation { registerOrganisation(input: {kind: MERCHANT, name: "a\\u0000b"}) { __typename } }'
        },
        {
            "query": 'mutation { registerOrganisation(input: {kind: MERCHANT, name: "a\\u{0}b"}) { __typename } }'
        },
        # as the document's own characters
        {"query": "{ serverInfo { version } }\x00"},
        {
            "query": NUL_REGISTER,
            "variables": {"i": {"kind": "MERCHANT", "name": "ok"}},
            "operationName": "\x00",
        },
    ]
    for body in attempts:
        response = await client.post("/graphql", json=body, headers=admin)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "U+0000" in response.json()["errors"][0]["message"]
    assert await Organisation.all().count() == before
    # a name without one is fine (the refusals above were for the character, not the request)
    fine = await client.post(
        "/graphql",
        json={"query": NUL_REGISTER, "variables": {"i": {"kind": "MERCHANT", "name": "a\\u0000b"}}},
        headers=admin,
    )
    assert fine.json()["data"]["registerOrganisation"]["__typename"] == "Organisation", fine.text
    assert await Organisation.all().count() == before + 1


async def test_a_nul_character_is_refused_by_the_other_routes(client):
    token = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "s"},
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_request", token.text
    for url in ("/certificates/CN-2026-000001%00", "/certificates/CN-2026-000001?code=a%00"):
        response = await client.get(url)
        assert response.status_code == 400, (url, response.text)
        assert "U+0000" in response.json()["errors"][0]["message"]


async def test_a_client_gone_before_its_body_arrived_is_no_server_error(app, caplog):
    """A client that times out while sending its body (wrk at 256 connections did) leaves
    nothing to answer: no 500 is sent and no error is logged."""
    import logging

    sent: list[dict] = []
    messages = iter(
        [
            {"type": "http.request", "body": b'{"query": "{ serv', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"t")],
        "client": ("10.0.0.1", 1234),
        "server": ("t", 80),
        "state": {},
    }
    with caplog.at_level(logging.ERROR):
        await app(scope, receive, send)
    assert not [m for m in sent if m["type"] == "http.response.start"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_is_read_to_its_declared_length_and_no_further(live_server_factory):
    """The body limit trusts a declared Content-Length: the HTTP server hands the app that many
    bytes and reads what follows as the next request."""
    server = live_server_factory()
    body = json.dumps({"query": SERVER_INFO}).encode()
    following = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s%s" % (len(body), body, following)
        )
        await writer.drain()
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 2 or not answers.endswith(b"}"):
            answers += await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()
    first, second = answers.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200") and b'"serverInfo"' in first
    assert second.startswith(b"200") and b'"status":"ok"' in second


def test_an_answer_is_utf8_json_even_with_an_integer_beyond_64_bits():
    from backend.api.view import encode_response

    assert json.loads(encode_response({"name": "碳普惠", "n": 1})) == {"name": "碳普惠", "n": 1}
    assert encode_response({"name": "碳"}) == '{"name":"碳"}'.encode()
    assert json.loads(encode_response({"n": 2**70, "name": "碳"})) == {"n": 2**70, "name": "碳"}
