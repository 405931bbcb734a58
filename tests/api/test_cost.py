"""Query cost: computed from the document before it runs, refused over the per-request maximum or
the caller's budget for the minute, charged by what the response held, reported in
`extensions.cost` (RELIABILITY.md 11)."""

import time
from dataclasses import replace

import httpx
from graphql import OperationDefinitionNode, parse

from backend.api.cost import WINDOW_SECONDS, actual_cost, requested_cost
from backend.api.schema import build_schema
from backend.app import create_app
from backend.kit.redis import get_redis
from backend.settings import load_settings
from tests.conftest import gql

SCHEMA = build_schema(load_settings({"TPH_ENV": "test"}))._schema


def cost_of(query: str, variables=None) -> int:
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if d is not operation}
    return requested_cost(SCHEMA, operation, fragments, variables)


def test_objects_cost_one_each_and_lists_their_page():
    assert cost_of("{ serverInfo { version } }") == 1
    assert cost_of("{ me { id } }") == 1
    # a plain list: 100 assumed; a nested one multiplies
    assert cost_of("{ creditProjects { id } }") == 100
    assert cost_of("{ creditProjects { id history { event } } }") == 100 * (1 + 100)
    # a connection: its first sizes its edges
    assert cost_of("{ auditEvents(first: 5) { edges { node { id } } } }") == 1 + 5 * (1 + 1)
    assert (
        cost_of("query ($n: Int!) { auditEvents(first: $n) { edges { cursor } } }", {"n": 20})
        == 1 + 20
    )
    # fragments count as their fields; a mutation costs 10 besides
    assert cost_of("{ ...F } fragment F on Query { serverInfo { version } }") == 1
    assert cost_of("mutation { logOut(input: {}) { sessionsEnded } }") == 1 + 10


def test_the_actual_cost_counts_the_objects_returned():
    assert actual_cost({"a": {"b": [{"c": 1}, {"c": 2}], "d": None}}) == 3
    assert actual_cost({"x": 1}, mutation_fields=1) == 10


async def test_a_costly_query_is_refused_before_it_runs(client):
    body = await gql(
        client, "{ creditProjects { history { event } } issuanceRequests { objections { text } } }"
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert body["data"] is None


async def test_each_caller_has_a_budget_a_minute(settings):
    tight = replace(settings, cost_per_minute=250, cost_sync_seconds=0)
    app = create_app(tight, manage_resources=False)
    query = "{ serverInfo { version } creditProjects { id } }"  # requested: 101

    def caller(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://t")

    async with caller("10.0.0.7") as http:
        first = (await http.post("/graphql", json={"query": query})).json()
        cost = first["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 101 and cost["actualQueryCost"] == 1
        assert cost["throttleStatus"] == {
            "maximumAvailable": 250,
            "currentlyAvailable": 249,
            "budget": "SUBJECT",
        }
        # what this caller's other requests used this minute (as the response's objects count)
        window = int(time.time()) // WINDOW_SECONDS
        await get_redis().incrby(f"cost:ip:10.0.0.7:{window}", 200)  # 250 - 1 - 200 = 49
        refused = (await http.post("/graphql", json={"query": query})).json()
        assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert refused["errors"][0]["extensions"]["budget"] == "SUBJECT"
        assert 1 <= refused["errors"][0]["extensions"]["retryAfterSeconds"] <= WINDOW_SECONDS
        assert refused["data"] is None
        # 49, or 50 if the minute turned between the two requests
        assert refused["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] in (49, 50)
    async with caller("10.0.0.8") as http:  # another caller has its own budget
        fine = (await http.post("/graphql", json={"query": query})).json()
        assert "errors" not in fine


async def test_processes_learn_each_others_spending_at_their_next_sync(settings):
    from backend.api.cost import CostMeter

    one, two = CostMeter(), CostMeter()  # two server processes
    assert await one.used("citizen:a", 0) == 0
    one.charge("citizen:a", 120)
    assert await one.used("citizen:a", 60) == 120  # not due: its own charge, no round trip
    assert await two.used("citizen:a", 0) == 0  # not yet sent
    assert await one.used("citizen:a", 0) == 120  # sent now
    assert await two.used("citizen:a", 0) == 120
    two.charge("citizen:a", 30)
    assert await two.used("citizen:a", 0) == 150
    assert await one.used("citizen:a", 0) == 150


def _caller(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_signed_in_callers_share_their_address_budget(settings, sms):
    """One address cannot spend more than its budget by signing in as many accounts, and a
    signed-in person is also held to their own budget whatever address they use."""
    from tests.conftest import bearer, log_in

    tight = replace(
        settings, cost_per_minute=100_000, cost_per_address_minute=300, cost_sync_seconds=0
    )
    app = create_app(tight, manage_resources=False)
    async with _caller(app, "10.0.1.1") as http:
        ann = (await log_in(http, sms, "+8613900007001"))["accessToken"]
    async with _caller(app, "10.0.1.2") as http:
        ben = (await log_in(http, sms, "+8613900007002"))["accessToken"]
    query = "{ me { id } creditProjects { id } }"  # requested: 101
    window = int(time.time()) // WINDOW_SECONDS
    async with _caller(app, "10.0.1.9") as http:
        fine = (await http.post("/graphql", json={"query": query}, headers=bearer(ann))).json()
        assert "errors" not in fine, fine
        status = fine["extensions"]["cost"]["throttleStatus"]
        assert status["budget"] == "ADDRESS" and status["maximumAvailable"] == 300
        assert status["currentlyAvailable"] == 300 - fine["extensions"]["cost"]["actualQueryCost"]
        # the address's other callers (other processes) spent 250 more this minute
        await get_redis().incrby(f"cost:addr:10.0.1.9:{window}", 250)
        refused = (await http.post("/graphql", json={"query": query}, headers=bearer(ben))).json()
        assert refused["data"] is None
        [error] = refused["errors"]
        assert error["extensions"]["code"] == "THROTTLED"
        assert error["extensions"]["budget"] == "ADDRESS"
        assert "address" in error["message"]
        # an anonymous caller at that address is held to it as well
        anonymous = (await http.post("/graphql", json={"query": query})).json()
        assert anonymous["errors"][0]["extensions"]["budget"] == "ADDRESS"
    async with _caller(app, "10.0.1.10") as http:  # the same person from another address
        moved = (await http.post("/graphql", json={"query": query}, headers=bearer(ben))).json()
        assert "errors" not in moved, moved
    # the person's own budget still binds wherever they are
    import jwt

    person = jwt.decode(ben, options={"verify_signature": False})["sub"]
    await get_redis().incrby(f"cost:citizen:{person}:{window}", 100_000)
    async with _caller(app, "10.0.1.11") as http:
        refused = (await http.post("/graphql", json={"query": query}, headers=bearer(ben))).json()
        assert refused["errors"][0]["extensions"]["budget"] == "SUBJECT"
