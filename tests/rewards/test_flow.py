"""The citizen and merchant flows end to end over HTTP with the apps' trusted documents."""

import json
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from backend.accounts.subjects import Subject, SubjectKind
from backend.api.contract import MANIFEST_PATH
from backend.app import create_app
from backend.kit import clock
from backend.kit.actor import Actor
from backend.ledger import service as ledger
from tests.accounts.test_organisations import act_for, join, register
from tests.conftest import bearer, make_admin, subscribed

IDS = {op["name"]: op["id"] for op in json.loads(MANIFEST_PATH.read_text())["operations"]}


@pytest.fixture
async def prod(settings):
    hardened = replace(settings, trusted_documents_only=True, introspection=False, graphiql=False)
    app = create_app(hardened, manage_resources=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        yield http


async def call(http, name, variables=None, token=None):
    response = await http.post(
        "/graphql",
        json={
            "operationName": name,
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": IDS[name]}},
        },
        headers=bearer(token) if token else {},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_citizen_redeems_and_a_cashier_confirms(prod, client, sms):
    # Set-up as the operator (admin client) and the merchant's staff joining.
    admin = await make_admin(client, sms, "+8613100000009")
    merchant = await register(client, admin, "MERCHANT", "绿色小店")
    manager = await act_for(
        client,
        await join(client, sms, admin, merchant["id"], "+8613100000002", "manager"),
        merchant["id"],
    )
    cashier = await act_for(
        client,
        await join(client, sms, admin, merchant["id"], "+8613100000003", "cashier"),
        merchant["id"],
    )
    now = clock.now()
    offer = (
        await call(
            prod,
            "CreateOffer",
            {
                "input": {
                    "titleZh": "环保袋",
                    "titleEn": "Tote bag",
                    "descriptionZh": "袋",
                    "descriptionEn": "Bag",
                    "category": "goods",
                    "pricePoints": "300",
                    "totalStock": 10,
                    "perPersonLimit": 2,
                    "redeemFrom": (now - timedelta(minutes=1)).isoformat(),
                    "redeemUntil": (now + timedelta(days=7)).isoformat(),
                    "voucherValidDays": 7,
                    "unusedPolicy": "REFUND",
                }
            },
            manager["accessToken"],
        )
    )["createOffer"]
    assert (
        await call(
            prod,
            "SetOfferStatus",
            {"input": {"offerId": offer["id"], "status": "ACTIVE"}},
            manager["accessToken"],
        )
    )["setOfferStatus"]["status"] == "ACTIVE"

    # The citizen logs in through the app, earns points, finds the offer and redeems it.
    sent = await call(prod, "RequestLoginCode", {"input": {"phone": "+8613100000001"}})
    assert "expiresAt" in sent["requestLoginCode"]
    tokens = (
        await call(
            prod,
            "LogIn",
            {"input": {"phone": "+8613100000001", "code": sms.last_code("+8613100000001")}},
        )
    )["logIn"]
    me = (await call(prod, "Me", None, tokens["accessToken"]))["me"]
    await ledger.earn(
        owner=Subject(SubjectKind.PERSON, me["id"]),
        amount=1000,
        idempotency_key="trips",
        cause={"type": "test"},
    )
    catalogue = (await call(prod, "Offers", {"maxPrice": "1000"}, tokens["accessToken"]))["offers"][
        "edges"
    ]
    assert [e["node"]["id"] for e in catalogue] == [offer["id"]]
    voucher = (
        await call(
            prod,
            "RedeemOffer",
            {"input": {"offerId": offer["id"], "idempotencyKey": "tap-flow-0001"}},
            tokens["accessToken"],
        )
    )["redeemOffer"]
    assert voucher["status"] == "ISSUED"
    qr = (await call(prod, "VoucherToken", {"voucherId": voucher["id"]}, tokens["accessToken"]))[
        "voucherToken"
    ]

    # The cashier scans it; a second scan says when it was used.
    confirmed = (
        await call(
            prod, "ConfirmVoucher", {"input": {"token": qr["token"]}}, cashier["accessToken"]
        )
    )["confirmVoucher"]
    assert confirmed["status"] == "CONFIRMED"
    again = (
        await call(
            prod, "ConfirmVoucher", {"input": {"code": voucher["code"]}}, cashier["accessToken"]
        )
    )["confirmVoucher"]
    assert again["code"] == "ALREADY_USED" and again["usedAt"]
    wallet = (await call(prod, "Wallet", {"first": 5}, tokens["accessToken"]))["wallet"]
    assert (wallet["balance"], wallet["held"]) == ("700", "0")

    # The manager's settlement, in GraphQL and as CSV.
    period = {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }
    lines = (await call(prod, "Settlement", period, manager["accessToken"]))["settlement"]
    assert [(line["vouchers"], line["points"]) for line in lines] == [(1, "300")]
    csv = await prod.get(
        "/merchant/v1/settlement.csv", params=period, headers=bearer(manager["accessToken"])
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[-1] == "total,,1,300"
    refused = await prod.get(
        "/merchant/v1/settlement.csv", params=period, headers=bearer(cashier["accessToken"])
    )
    assert refused.status_code == 403


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_the_citizens_app_hears_of_a_voucher_change_at_once(
    live_server_factory, tmp_path, settings
):
    import asyncio

    from backend.accounts.models import Person
    from backend.rewards import service
    from tests.conftest import live_log_in
    from tests.rewards.conftest import AUTHORITY, make_offer, member

    outbox = tmp_path / "outbox.jsonl"
    server = live_server_factory({"TPH_SMS_OUTBOX": str(outbox)})
    token = await live_log_in(server, outbox, "13100000001")
    person = await Person.get(phone="+8613100000001")
    owner = Subject(SubjectKind.PERSON, str(person.public_id))
    from backend.accounts import organisations

    merchant = await organisations.register_organisation(
        actor=AUTHORITY, kind="MERCHANT", name="Shop"
    )
    offer = await make_offer(member(str(merchant.public_id), "manager"))
    await ledger.earn(owner=owner, amount=1000, idempotency_key="fund", cause={})
    voucher = await service.redeem(
        actor=Actor(kind="citizen", id=owner.id),
        offer_id=str(offer.public_id),
        idempotency_key="tap-live-0001",
        subject=owner,
    )
    async with subscribed(
        server, token, "subscription { voucherChanged { id status } }", id="v"
    ) as ws:
        await asyncio.sleep(0.5)  # the server subscribes to the channel
        await service.cancel(
            actor=Actor(kind="citizen", id=owner.id),
            voucher_id=str(voucher.public_id),
            subjects=[owner.id],
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["payload"]["data"]["voucherChanged"] == {
            "id": str(voucher.public_id),
            "status": "CANCELLED",
        }
