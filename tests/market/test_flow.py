"""The citizen's purchase flow end to end over HTTP, with the app's trusted documents only and the
sandbox payment provider: find credits, order, pay on the provider's page, see the order paid and
the units held; then buy more with points."""

from backend.accounts.subjects import Subject, SubjectKind
from backend.ledger import service as ledger
from backend.market import service
from tests.conftest import make_admin
from tests.market.test_market import points_pool
from tests.registry.test_moves import holding
from tests.rewards.test_flow import call, prod  # noqa: F401 - a fixture, used by name


async def test_a_citizen_buys_credits_in_the_app_and_pays_in_the_sandbox(prod, client, sms, world):  # noqa: F811
    await make_admin(client, sms, "+8613100000009")
    block, _ = await holding(world)
    listing = await service.list_credits(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=6,
        currency="FEN",
        price_fen_per_kg=30,
    )

    sent = await call(prod, "RequestLoginCode", {"input": {"phone": "+8613100000001"}})
    assert "expiresAt" in sent["requestLoginCode"]
    tokens = (
        await call(
            prod,
            "LogIn",
            {"input": {"phone": "+8613100000001", "code": sms.last_code("+8613100000001")}},
        )
    )["logIn"]
    token = tokens["accessToken"]
    found = await call(prod, "CreditListings", None, token)
    assert [
        (entry["id"], entry["availableKg"], entry["priceFenPerKg"])
        for entry in found["creditListings"]
    ] == [(str(listing.public_id), "6", "30")]
    order = (
        await call(
            prod,
            "OrderCredits",
            {
                "input": {
                    "listingId": str(listing.public_id),
                    "quantityKg": 4,
                    "idempotencyKey": "app-tap-0001",
                }
            },
            token,
        )
    )["orderCredits"]
    assert (order["status"], order["amount"], order["quantityKg"]) == (
        "PENDING_PAYMENT",
        "120",
        "4",
    )
    too_many = (
        await call(
            prod,
            "OrderCredits",
            {
                "input": {
                    "listingId": str(listing.public_id),
                    "quantityKg": 3,
                    "idempotencyKey": "app-tap-0002",
                }
            },
            token,
        )
    )["orderCredits"]
    assert (too_many["code"], too_many["available"]) == ("NOT_ENOUGH_UNITS", 2)

    # The app opens payUrl: the sandbox's page, where the citizen pays.
    page = await prod.get(order["payUrl"])
    assert "¥1.20" in page.text
    paid_page = await prod.post(order["payUrl"])
    assert "APPLIED" in paid_page.text
    status = (await call(prod, "CreditOrder", {"id": order["id"]}, token))["creditOrder"]
    assert status["status"] == "PAID" and status["paidAt"]
    holdings = (await call(prod, "MyCreditHoldings", None, token))["myCreditHoldings"]
    assert holdings["heldKg"] == "4" and [b["quantityKg"] for b in holdings["blocks"]] == [4]
    orders = (await call(prod, "MyCreditOrders", None, token))["myCreditOrders"]
    assert [o["status"] for o in orders] == ["PAID"]

    # Points buy more from the operator's points pool.
    pool = await points_pool(world, quantity=2, block=block)
    me = (await call(prod, "Me", None, token))["me"]
    await ledger.earn(
        owner=Subject(SubjectKind.PERSON, me["id"]),
        amount=1500,
        idempotency_key="trips",
        cause={"type": "test"},
    )
    price = (await call(prod, "CreditListings", None, token))["pointsPerKg"]
    assert price == "1000"
    bought = (
        await call(
            prod,
            "BuyCreditsWithPoints",
            {
                "input": {
                    "listingId": str(pool.public_id),
                    "quantityKg": 1,
                    "idempotencyKey": "app-tap-0003",
                }
            },
            token,
        )
    )["buyCreditsWithPoints"]
    assert (bought["status"], bought["amount"]) == ("PAID", "1000")
    short = (
        await call(
            prod,
            "BuyCreditsWithPoints",
            {
                "input": {
                    "listingId": str(pool.public_id),
                    "quantityKg": 1,
                    "idempotencyKey": "app-tap-0004",
                }
            },
            token,
        )
    )["buyCreditsWithPoints"]
    assert (short["code"], short["available"]) == ("INSUFFICIENT_POINTS", "500")
    holdings = (await call(prod, "MyCreditHoldings", None, token))["myCreditHoldings"]
    assert holdings["heldKg"] == "5"
