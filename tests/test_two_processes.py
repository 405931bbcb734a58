"""Production runs several worker processes (and replicas) on one PostgreSQL and one Redis
(issue 13): what one process does is seen by the others. A subscription on one process hears a
change made through another, a session ended through one is refused by the other at its next
request, and one caller's cost budget is spent across both."""

import asyncio
import json

import httpx
import pytest

from backend.accounts import organisations
from backend.kit.actor import Actor
from tests.conftest import bearer, live_log_in, subscribed
from tests.rewards.conftest import AUTHORITY, fund, make_offer, member

# Several processes need PostgreSQL and Redis: the SQLite lane serves one process (tanpuhui serve).
pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

REDEEM = """mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) {
    __typename ... on Voucher { id } ... on Error { code } } }"""


async def test_two_server_processes_share_subscriptions_sessions_and_budgets(
    live_server_factory, tmp_path
):
    outbox = tmp_path / "outbox.jsonl"
    env = {"TPH_SMS_OUTBOX": str(outbox), "TPH_COST_PER_MINUTE": "60", "TPH_COST_SYNC_MS": "0"}
    one, two = live_server_factory(env), live_server_factory(env)
    token = await live_log_in(one, outbox, "13300000001")
    async with httpx.AsyncClient(base_url=one.url, timeout=5) as http:
        me = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token))
    person = me.json()["data"]["me"]["id"]
    await fund(Actor(kind="citizen", id=person), 500)
    shop = await organisations.register_organisation(actor=AUTHORITY, kind="MERCHANT", name="店")
    offer = await make_offer(member(str(shop.public_id), "manager"), price_points=100)

    async with subscribed(one, token, "subscription { walletChanged { balance held } }") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["payload"]["data"]["walletChanged"] == {"balance": "500", "held": "0"}
        # a redemption through the other process reaches this one's subscriber
        async with httpx.AsyncClient(base_url=two.url, timeout=5) as http:
            redeemed = await http.post(
                "/graphql",
                json={
                    "query": REDEEM,
                    "variables": {
                        "i": {"offerId": str(offer.public_id), "idempotencyKey": "two-proc-0001"}
                    },
                },
                headers=bearer(token),
            )
        assert redeemed.json()["data"]["redeemOffer"]["__typename"] == "Voucher", redeemed.text
        changed = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert changed["payload"]["data"]["walletChanged"] == {"balance": "400", "held": "100"}

    # a session ended through one process is refused by the other at once
    async with httpx.AsyncClient(base_url=two.url, timeout=5) as http:
        await http.post(
            "/graphql",
            json={"query": "mutation { logOut(input: {}) { sessionsEnded } }"},
            headers=bearer(token),
        )
    async with httpx.AsyncClient(base_url=one.url, timeout=5) as http:
        after = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token))
    assert after.status_code == 401

    # one caller's budget (60 a minute here) is spent on both: one-object queries on the first
    # process until it refuses leave nothing for the second; another caller is not affected
    query = {"query": "{ serverInfo { version } }"}
    caller = {"x-forwarded-for": "10.9.9.9"}  # uvicorn takes it from a local proxy
    served = 0
    async with httpx.AsyncClient(base_url=one.url, timeout=5) as http:
        while "errors" not in (await http.post("/graphql", json=query, headers=caller)).json():
            served += 1
            assert served <= 60, "the first process never throttled"
    assert served == 60
    async with httpx.AsyncClient(base_url=two.url, timeout=5) as http:
        refused = (await http.post("/graphql", json=query, headers=caller)).json()
        assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
        other = (
            await http.post("/graphql", json=query, headers={"x-forwarded-for": "10.9.9.10"})
        ).json()
        assert "errors" not in other, other
