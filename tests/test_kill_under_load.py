"""Crash safety under load (RELIABILITY.md 9; issue 12): citizens redeem offers through a real
server, which is killed with SIGKILL at a random moment and started again; the clients retry with
their idempotency keys until every redemption is answered. Every acknowledged redemption happened
exactly once, its replay gives the same voucher, and nothing is half written: stock, held points
and vouchers agree, and `verify-ledger` is clean."""

import asyncio
import random

import httpx
import pytest

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.ledger import queries as wallet
from backend.rewards.models import Offer, Voucher
from tests.conftest import bearer, log_in
from tests.rewards.conftest import AUTHORITY, fund, make_offer, member

pytestmark = pytest.mark.slow

CITIZENS = 6
EACH = 12
PRICE = 10
REDEEM = """mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) {
    __typename ... on Voucher { id } ... on Error { code } } }"""


async def test_a_server_killed_under_load_loses_and_doubles_nothing(
    live_server_factory, client, sms
):
    from backend.accounts import organisations
    from backend.kit.actor import Actor

    shop = await organisations.register_organisation(actor=AUTHORITY, kind="MERCHANT", name="店")
    offer = await make_offer(
        member(str(shop.public_id), "manager"),
        price_points=PRICE,
        total_stock=1000,
        per_person_limit=100,
    )
    people = []
    for n in range(CITIZENS):
        tokens = await log_in(client, sms, f"+861350000{n:04d}")
        me = await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers=bearer(tokens["accessToken"])
        )
        person = me.json()["data"]["me"]["id"]
        await fund(Actor(kind="citizen", id=person), 1000)
        people.append((person, tokens["accessToken"]))

    servers = [live_server_factory()]
    answers: dict[str, str] = {}

    async def redeem(token: str, key: str) -> str:
        while True:
            try:
                async with httpx.AsyncClient(base_url=servers[-1].url, timeout=10) as http:
                    response = await http.post(
                        "/graphql",
                        json={
                            "query": REDEEM,
                            "variables": {
                                "i": {"offerId": str(offer.public_id), "idempotencyKey": key}
                            },
                        },
                        headers=bearer(token),
                    )
                if response.status_code == 200:
                    body = response.json()["data"]["redeemOffer"]
                    assert body["__typename"] == "Voucher", body
                    return str(body["id"])
            except httpx.HTTPError:
                pass  # the server is down: try again, with the same key
            await asyncio.sleep(0.05)

    under_way = asyncio.Event()

    async def customer(person: str, token: str) -> None:
        for i in range(EACH):
            key = f"kill-{person[:8]}-{i:03d}"
            answers[key] = await redeem(token, key)
            if len(answers) >= 3:
                under_way.set()

    at_kill: list[int] = []

    async def killer() -> None:
        # A random moment while the redemptions are under way.
        await under_way.wait()
        await asyncio.sleep(random.uniform(0.0, 0.3))
        at_kill.append(len(answers))
        process = servers[-1].process
        assert process is not None
        process.kill()  # SIGKILL, mid-flight
        process.wait()
        servers.append(await asyncio.to_thread(live_server_factory))

    await asyncio.gather(killer(), *(customer(p, t) for p, t in people))

    assert len(answers) == CITIZENS * EACH
    assert 0 < at_kill[0] < CITIZENS * EACH, at_kill  # the kill landed mid-run
    # Exactly once: one voucher per key, each the answer its key got, and its replay gives it again.
    vouchers = await Voucher.filter(offer_id=offer.id)
    assert sorted(str(v.public_id) for v in vouchers) == sorted(answers.values())
    some_key, some_voucher = next(iter(answers.items()))
    person, token = next((p, t) for p, t in people if some_key.startswith(f"kill-{p[:8]}"))
    assert await redeem(token, some_key) == some_voucher
    # Nothing half written: stock, held points and the ledger agree.
    assert (await Offer.get(id=offer.id)).stock_left == 1000 - CITIZENS * EACH
    for person, _ in people:
        summary = await wallet.summary(Subject(SubjectKind.PERSON, person))
        assert (summary.balance, summary.held) == (1000 - PRICE * EACH, PRICE * EACH)
    assert await verify.verify_all() == []
