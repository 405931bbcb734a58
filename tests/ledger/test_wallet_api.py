"""The wallet over GraphQL: for a citizen, a household and a business; clawback; live updates."""

import asyncio
import json
import uuid

import httpx
import pytest

from backend.accounts.subjects import Subject, SubjectKind
from backend.ledger import service
from backend.ledger.models import LedgerTransaction
from tests.conftest import (
    assert_constant_queries,
    bearer,
    gql,
    live_log_in,
    log_in,
    make_admin,
    subscribed,
)

PHONE = "+8613200000001"
WALLET = """
query ($first: Int, $household: ID, $business: ID) {
  wallet(householdId: $household, businessId: $business) {
    ownerKind balance held expiringWithin30Days
    history(first: $first) { edges { node { id kind amount cause } } pageInfo { hasNextPage } }
    monthlyTotals { month earned spent }
  }
}
"""


async def me(client, tokens) -> str:
    body = await gql(client, "{ me { id } }", headers=bearer(tokens["accessToken"]))
    return body["data"]["me"]["id"]


async def test_a_citizen_sees_their_points_and_what_earned_them(client, sms):
    tokens = await log_in(client, sms, PHONE)
    owner = Subject(SubjectKind.PERSON, await me(client, tokens))
    await service.earn(
        owner=owner,
        amount=467,
        idempotency_key="trip-1",
        cause={"type": "behaviour_record", "scenario": "METRO", "km": 10},
    )
    await service.spend(owner=owner, amount=67, idempotency_key="s-1", cause={"type": "test"})
    body = await gql(client, WALLET, {"first": 10}, headers=bearer(tokens["accessToken"]))
    wallet = body["data"]["wallet"]
    assert (wallet["ownerKind"], wallet["balance"], wallet["held"]) == ("PERSON", "400", "0")
    entries = [e["node"] for e in wallet["history"]["edges"]]
    assert [(e["kind"], e["amount"]) for e in entries] == [("SPEND", "-67"), ("EARN", "467")]
    assert entries[1]["cause"]["scenario"] == "METRO"
    assert wallet["monthlyTotals"][0]["earned"] == "467"


async def test_the_wallet_needs_a_person(client):
    body = await gql(client, "{ wallet { balance } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_household_wallet_is_for_its_members_only(client, sms):
    owner = await log_in(client, sms, PHONE)
    created = await gql(
        client,
        'mutation { createHousehold(input: {name: "家"}) { ... on Membership { organisation { id } } } }',
        headers=bearer(owner["accessToken"]),
    )
    household = created["data"]["createHousehold"]["organisation"]["id"]
    from strawberry.relay import from_base64

    await service.earn(
        owner=Subject(SubjectKind.HOUSEHOLD, from_base64(household)[1]),
        amount=50,
        idempotency_key="m1",
        cause={},
    )
    body = await gql(client, WALLET, {"household": household}, headers=bearer(owner["accessToken"]))
    assert body["data"]["wallet"]["balance"] == "50"
    stranger = await log_in(client, sms, "+8613200000002")
    refused = await gql(
        client, WALLET, {"household": household}, headers=bearer(stranger["accessToken"])
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_business_member_sees_the_business_wallet(client, sms):
    from tests.accounts.test_organisations import act_for, join, register

    admin = await make_admin(client, sms, "+8613200000009")
    business = await register(client, admin, "SMALL_BUSINESS", "Bakery")
    owner = await join(client, sms, admin, business["id"], PHONE, "owner")
    acting = await act_for(client, owner, business["id"])
    from strawberry.relay import from_base64

    await service.earn(
        owner=Subject(SubjectKind.BUSINESS, from_base64(business["id"])[1]),
        amount=900,
        idempotency_key="b1",
        cause={},
    )
    body = await gql(client, WALLET, {}, headers=bearer(acting["accessToken"]))
    assert (body["data"]["wallet"]["ownerKind"], body["data"]["wallet"]["balance"]) == (
        "BUSINESS",
        "900",
    )


async def test_history_costs_the_same_statements_for_any_page(client, sms):
    tokens = await log_in(client, sms, PHONE)
    owner = Subject(SubjectKind.PERSON, await me(client, tokens))
    for n in range(25):
        await service.earn(owner=owner, amount=1 + n, idempotency_key=f"e{n}", cause={})

    async def page(size):
        body = await gql(client, WALLET, {"first": size}, headers=bearer(tokens["accessToken"]))
        assert len(body["data"]["wallet"]["history"]["edges"]) == size

    await assert_constant_queries(page, sizes=(2, 25))


async def test_the_authority_claws_back_an_earning(client, sms):
    tokens = await log_in(client, sms, PHONE)
    owner = Subject(SubjectKind.PERSON, await me(client, tokens))
    movement = await service.earn(owner=owner, amount=300, idempotency_key="e1", cause={})
    admin = await make_admin(client, sms, "+8613200000009")
    query = "mutation ($i: ClawBackPointsInput!) { clawBackPoints(input: $i) { __typename ... on ClawbackDone { taken shortfall } ... on Error { code } } }"
    variables = {"i": {"earningId": movement.transaction_id, "reason": "duplicate trip records"}}
    done = await gql(client, query, variables, headers=bearer(admin["accessToken"]))
    assert done["data"]["clawBackPoints"] == {
        "__typename": "ClawbackDone",
        "taken": "300",
        "shortfall": "0",
    }
    again = await gql(client, query, variables, headers=bearer(admin["accessToken"]))
    assert again["data"]["clawBackPoints"]["code"] == "ALREADY_CLAWED_BACK"
    citizen = await gql(client, query, variables, headers=bearer(tokens["accessToken"]))
    assert citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await LedgerTransaction.filter(kind="CLAWBACK").count() == 1


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_a_subscription_receives_a_change_made_by_another_process(
    live_server_factory, tmp_path
):

    outbox = tmp_path / "outbox.jsonl"
    server = live_server_factory({"TPH_SMS_OUTBOX": str(outbox)})
    token = await live_log_in(server, outbox, "13200000001")
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        person = (
            await http.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token))
        ).json()["data"]["me"]["id"]
    owner = Subject(SubjectKind.PERSON, person)
    async with subscribed(
        server, token, "subscription { walletChanged { balance } }", id="w"
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["payload"]["data"]["walletChanged"]["balance"] == "0"
        # This test process is another process: its earning reaches the server through Redis.
        await service.earn(owner=owner, amount=93, idempotency_key=f"bike-{uuid.uuid4()}", cause={})
        changed = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert changed["payload"]["data"]["walletChanged"]["balance"] == "93"
        # Once the session is revoked, the next change ends the subscription with an error.
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            await http.post(
                "/graphql",
                json={"query": "mutation { logOut(input: {}) { sessionsEnded } }"},
                headers=bearer(token),
            )
        await service.earn(owner=owner, amount=1, idempotency_key=f"bike-{uuid.uuid4()}", cause={})
        ended = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ended["type"] in ("next", "error")
        payload = ended["payload"]
        errors = payload.get("errors") if isinstance(payload, dict) else payload
        assert errors and errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("selection", "reads"),
    [
        ("balance held expiringWithin30Days", 1),  # read by `wallet` itself
        ("... on Wallet { balance held } expiringWithin30Days", 1),  # read by the first field
        ("... on Wallet { balance held expiringWithin30Days }", 1),
        ("...Balances", 1),
        ("ownerKind history(first: 2) { edges { node { id } } }", 0),
    ],
)
async def test_the_balance_row_is_read_once_and_only_when_asked_for(client, sms, selection, reads):
    from tests.conftest import count_queries

    tokens = await log_in(client, sms, PHONE)
    owner = Subject(SubjectKind.PERSON, await me(client, tokens))
    await service.earn(owner=owner, amount=467, idempotency_key="trip-1", cause={})
    await service.spend(owner=owner, amount=67, idempotency_key="s-1", cause={})
    document = (
        f"query {{ wallet {{ {selection} }} }}"
        " fragment Balances on Wallet { balance held expiringWithin30Days }"
        if "...Balances" in selection
        else f"{{ wallet {{ {selection} }} }}"
    )
    with count_queries() as counter:
        body = await gql(client, document, headers=bearer(tokens["accessToken"]))
    wallet = body["data"]["wallet"]
    assert "errors" not in body
    if reads:
        assert (wallet["balance"], wallet["held"], wallet["expiringWithin30Days"]) == (
            "400",
            "0",
            "0",
        )
    summary_reads = [s for s in counter.statements if "FROM ledger_account a" in s]
    assert len(summary_reads) == reads
