"""Exports (转出) to the carbon trading platform: units move out to a named account with the
exchange's reference and never move here again; a refusal gives them back; an unanswered export
is asked again with the same number until the exchange answers; only the holder exports."""

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import httpx
import pytest

from backend import jobs, verify
from backend.credits import exports, registry
from backend.credits.errors import BlockNotMovable, ExportRefused, NotEnoughUnits
from backend.credits.exchange import (
    ExchangeRefused,
    ExchangeUnavailable,
    ExportOrder,
    HttpExchange,
    SandboxExchange,
    set_exchange,
)
from backend.credits.models import CreditBlock, CreditExport
from backend.kit import clock, db
from backend.kit.actor import ANONYMOUS, Actor
from backend.kit.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.settings import load_settings
from tests.conftest import count_queries, gql
from tests.credits.test_projects import member
from tests.registry.test_moves import holding


class ScriptedExchange:
    """An exchange whose answers the test chooses; it remembers every question."""

    name = "sandbox"

    def __init__(self) -> None:
        self.answer = "ok"  # ok | refuse | silent
        self.checked: list[str] = []
        self.orders: list[ExportOrder] = []

    async def check_account(self, account: str) -> None:
        self.checked.append(account)
        if account.startswith("CLOSED-"):
            raise ExchangeRefused("the account is closed")

    async def export(self, order: ExportOrder) -> str:
        self.orders.append(order)
        if self.answer == "refuse":
            raise ExchangeRefused("units of this vintage are not accepted")
        if self.answer == "silent":
            raise ExchangeUnavailable("timed out")
        return f"EX-{order.number[:8]}"


@pytest.fixture
def exchange():
    scripted = ScriptedExchange()
    set_exchange(scripted)
    yield scripted
    set_exchange(None)


async def blocks_of(block) -> list[tuple[int, int, str, str]]:
    rows = await CreditBlock.filter(issuance_id=block.issuance_id).order_by("serial_start")
    return [(b.serial_start, b.serial_end, str(b.holder_id), b.status.value) for b in rows]


async def test_an_export_moves_units_out_with_the_exchanges_reference(world, exchange):
    block, buyer = await holding(world)
    owner = world["owner"]
    done = await exports.export(
        actor=owner, block_id=str(block.public_id), quantity=5, account="ceea-0001"
    )
    assert done.status.value == "CONFIRMED" and done.reference == f"EX-{str(done.public_id)[:8]}"
    assert done.external_account == "CEEA-0001"
    [order] = exchange.orders
    assert order.number == str(done.public_id) and order.quantity_kg == 5
    assert order.serial_from.endswith("-000000000008") and order.serial_to.endswith("-000000000012")
    assert await blocks_of(block) == [
        (1, 7, owner.organisation_id, "HELD"),
        (8, 12, owner.organisation_id, "EXPORTED"),
    ]
    gone = await CreditBlock.get(id=done.block_id)  # type: ignore[attr-defined]
    for move in (
        registry.transfer(actor=owner, block_id=str(gone.public_id), quantity=1, to_holder=buyer),
        registry.retire(
            actor=owner,
            block_id=str(gone.public_id),
            quantity=1,
            beneficiary=None,
            purpose="VOLUNTARY",
        ),
        exports.export(actor=owner, block_id=str(gone.public_id), quantity=1, account="CEEA-0001"),
    ):
        with pytest.raises(BlockNotMovable) as refused:
            await move
        assert "转出" in refused.value.message("zh-CN")
    found = await registry.find_by_serial(
        registry.serial_label(block.project_number, block.vintage, 10)
    )
    assert found is not None and found.status.value == "EXPORTED"
    assert await verify.verify_all() == []


async def test_a_closed_account_is_refused_before_anything_moves(world, exchange):
    block, _ = await holding(world)
    before = await blocks_of(block)
    with pytest.raises(ExportRefused) as refused:
        await exports.export(
            actor=world["owner"], block_id=str(block.public_id), quantity=5, account="CLOSED-9"
        )
    assert refused.value.code == "EXPORT_REFUSED"
    assert exchange.orders == []
    assert await blocks_of(block) == before
    assert await CreditExport.all().count() == 0


async def test_a_refused_export_gives_the_units_back(world, exchange):
    block, buyer = await holding(world)
    owner = world["owner"]
    exchange.answer = "refuse"
    with pytest.raises(ExportRefused, match="not accepted"):
        await exports.export(
            actor=owner, block_id=str(block.public_id), quantity=4, account="CEEA-0001"
        )
    [failed] = await CreditExport.all()
    assert failed.status.value == "FAILED" and failed.reference is None
    assert [status for *_, status in await blocks_of(block)] == ["HELD", "HELD"]
    back = await CreditBlock.get(id=failed.block_id)  # type: ignore[attr-defined]
    moved = await registry.transfer(
        actor=owner, block_id=str(back.public_id), quantity=4, to_holder=buyer
    )
    assert str(moved.holder_id) == buyer
    assert await verify.verify_all() == []


async def test_an_unanswered_export_stays_frozen_until_the_exchange_answers(world, exchange):
    block, buyer = await holding(world)
    owner = world["owner"]
    exchange.answer = "silent"
    pending = await exports.export(
        actor=owner, block_id=str(block.public_id), quantity=12, account="CEEA-0001"
    )
    assert pending.status.value == "PENDING" and pending.attempts == 1
    assert await blocks_of(block) == [(1, 12, owner.organisation_id, "EXPORTING")]
    with pytest.raises(BlockNotMovable) as frozen:
        await registry.transfer(
            actor=owner, block_id=str(block.public_id), quantity=1, to_holder=buyer
        )
    assert "正在转出" in frozen.value.message("zh-CN")
    assert await verify.verify_all() == []
    # Too young to retry: the request that sent it may still be waiting for the answer.
    assert (await jobs.run_due(["retry-exports"]))["retry-exports"] == 0
    exchange.answer = "ok"
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        assert (await jobs.run_due(["retry-exports"]))["retry-exports"] == 1
        assert (await jobs.run_due(["retry-exports"]))["retry-exports"] == 0
    assert [o.number for o in exchange.orders] == [str(pending.public_id)] * 2
    done = await CreditExport.get(id=pending.id)
    assert done.status.value == "CONFIRMED" and done.attempts == 2
    assert await blocks_of(block) == [(1, 12, owner.organisation_id, "EXPORTED")]
    assert await verify.verify_all() == []


async def test_a_late_answer_cannot_settle_an_export_twice(world, exchange):
    block, _ = await holding(world)
    owner = world["owner"]
    exchange.answer = "silent"
    pending = await exports.export(
        actor=owner, block_id=str(block.public_id), quantity=3, account="CEEA-0001"
    )
    first = await exports._settle(pending.id, owner, reference="EX-FIRST")
    second = await exports._settle(pending.id, owner, failure="too late")
    assert first.status.value == second.status.value == "CONFIRMED"
    assert second.reference == "EX-FIRST"
    # The database itself refuses rewriting a settled export.
    with pytest.raises(Exception, match="settled"):
        async with db.transaction():
            await db.execute(
                "UPDATE credit_export SET reference = 'EX-FORGED' WHERE id = $1", pending.id
            )
    assert (await CreditExport.get(id=pending.id)).reference == "EX-FIRST"
    assert await verify.verify_all() == []


async def test_only_the_holder_exports_and_bad_input_changes_nothing(world, exchange):
    block, _ = await holding(world)
    before = await blocks_of(block)
    bid = str(block.public_id)
    cases = [
        (member(str(uuid.uuid4()), "SMALL_BUSINESS", "owner"), bid, 1, "CEEA-1", NotFound),
        (
            member(world["owner"].organisation_id, "DATA_PLATFORM", "developer"),
            bid,
            1,
            "CEEA-1",
            Forbidden,
        ),
        (ANONYMOUS, bid, 1, "CEEA-1", Unauthenticated),
        (world["owner"], bid, 13, "CEEA-1", NotEnoughUnits),
        (world["owner"], bid, 0, "CEEA-1", InvalidInput),
        (world["owner"], bid, 1, "no spaces allowed", InvalidInput),
        (world["owner"], bid, 1, "X" * 41, InvalidInput),
        (world["owner"], "not-a-block", 1, "CEEA-1", NotFound),
    ]
    for actor, target, quantity, account, error in cases:
        with pytest.raises(error):
            await exports.export(actor=actor, block_id=target, quantity=quantity, account=account)
    assert exchange.orders == []
    assert await blocks_of(block) == before
    assert await CreditExport.all().count() == 0


async def test_the_public_registry_lists_exports_without_an_individuals_account(
    world, exchange, client
):
    block, _ = await holding(world)
    owner = world["owner"]
    await exports.export(actor=owner, block_id=str(block.public_id), quantity=2, account="ORG-1")
    citizen = str(uuid.uuid4())
    await CreditBlock.filter(id=block.id).update(holder_id=citizen, holder_kind="PERSON")
    await exports.export(
        actor=Actor(kind="citizen", id=citizen),
        block_id=str(block.public_id),
        quantity=3,
        account="PERSONAL-77",
    )
    listed = (
        await gql(
            client,
            "{ creditExports { fromHolder exchangeAccount exchangeReference status quantityKg serialFrom serialTo } }",
        )
    )["data"]["creditExports"]
    assert [(e["fromHolder"], e["exchangeAccount"], e["quantityKg"]) for e in listed] == [
        ("individual", None, 3),
        ("出行平台", "ORG-1", 2),
    ]
    assert all(e["status"] == "CONFIRMED" and e["exchangeReference"] for e in listed)
    assert listed[1]["serialFrom"].endswith("-000000000011")
    assert listed[0]["serialTo"].endswith("-000000000010")


async def test_export_credits_through_graphql(world, exchange, execute):
    block, _ = await holding(world)
    query = """mutation ($i: ExportCreditsInput!) { exportCredits(input: $i) {
        __typename ... on CreditExport { status quantityKg exchangeAccount exchangeReference }
        ... on Error { code message } } }"""

    def variables(account: str) -> dict:
        return {
            "i": {
                "blockId": str(block.public_id),
                "quantityKg": 2,
                "exchangeAccount": account,
                "idempotencyKey": f"export-{uuid.uuid4()}",
            }
        }

    refused = await execute(query, variables("CLOSED-1"), actor=world["owner"], language="zh-CN")
    assert refused.data["exportCredits"]["code"] == "EXPORT_REFUSED"
    assert "交易平台" in refused.data["exportCredits"]["message"]
    stranger = member(str(uuid.uuid4()), "SMALL_BUSINESS", "owner")
    other = await execute(query, variables("CEEA-1"), actor=stranger)
    assert other.data["exportCredits"]["code"] == "NOT_FOUND"
    assert await CreditExport.all().count() == 0
    done = await execute(query, variables("ceea-1"), actor=world["owner"])
    assert done.data["exportCredits"] == {
        "__typename": "CreditExport",
        "status": "CONFIRMED",
        "quantityKg": 2,
        "exchangeAccount": "CEEA-1",
        "exchangeReference": exchange.orders[0].number[:8].join(("EX-", "")),
    }


@pytest.mark.postgres_only
async def test_an_export_racing_a_retirement_of_one_block_ends_in_one(world, exchange):
    block, _ = await holding(world)
    owner = world["owner"]

    async def attempt(coro):
        try:
            await coro
            return "ok"
        except (NotEnoughUnits, BlockNotMovable):
            return "refused"

    outcomes = await asyncio.gather(
        attempt(
            exports.export(
                actor=owner, block_id=str(block.public_id), quantity=12, account="CEEA-0001"
            )
        ),
        attempt(
            registry.retire(
                actor=owner,
                block_id=str(block.public_id),
                quantity=12,
                beneficiary=None,
                purpose="VOLUNTARY",
            )
        ),
    )
    assert sorted(outcomes) == ["ok", "refused"]
    [(_, _, _, status)] = await blocks_of(block)
    assert status == ("EXPORTED" if outcomes[0] == "ok" else "RETIRED")
    assert await verify.verify_all() == []


def http_exchange(handler) -> HttpExchange:
    settings = load_settings(
        {
            "TPH_EXCHANGE_BACKEND": "http",
            "TPH_EXCHANGE_URL": "https://exchange.test/api/",
            "TPH_EXCHANGE_SECRET": "shared-secret",
        }
    )
    return HttpExchange(settings, transport=httpx.MockTransport(handler))


ORDER = ExportOrder(number="3f1c", account="CEEA-1", serial_from="A", serial_to="B", quantity_kg=5)


async def test_the_http_exchange_signs_its_orders_and_reads_the_answers():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        expected = hmac.new(b"shared-secret", request.content, hashlib.sha256).hexdigest()
        if request.headers["x-signature"] != expected:
            return httpx.Response(401)
        return httpx.Response(201, json={"reference": "CEEX-778"})

    assert await http_exchange(handler).export(ORDER) == "CEEX-778"
    assert str(seen[0].url) == "https://exchange.test/api/exports"
    assert json.loads(seen[0].content) == {
        "number": "3f1c",
        "account": "CEEA-1",
        "serialFrom": "A",
        "serialTo": "B",
        "quantityKg": 5,
    }


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (httpx.Response(422, json={"reason": "account frozen"}), ExchangeRefused),
        (httpx.Response(409, json={}), ExchangeRefused),
        (httpx.Response(500, text="oops"), ExchangeUnavailable),
        (httpx.Response(200, json={"no": "reference"}), ExchangeUnavailable),
        (httpx.Response(201, text="<html>"), ExchangeUnavailable),
        (None, ExchangeUnavailable),
    ],
)
async def test_the_http_exchange_tells_a_refusal_from_no_answer(answer, raised):
    def handler(request: httpx.Request) -> httpx.Response:
        if answer is None:
            raise httpx.ConnectTimeout("no route", request=request)
        return answer

    with pytest.raises(raised):
        await http_exchange(handler).export(ORDER)


async def test_the_http_exchange_checks_accounts():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.path.endswith("/CEEA-1") else 404)

    adapter = http_exchange(handler)
    await adapter.check_account("CEEA-1")
    with pytest.raises(ExchangeRefused):
        await adapter.check_account("CEEA-2")


async def test_the_sandbox_answers_a_repeated_number_with_the_same_reference():
    sandbox = SandboxExchange()
    first = await sandbox.export(ORDER)
    assert first.startswith("SBX-") and await sandbox.export(ORDER) == first
    other = ExportOrder(
        number="9a9a", account="CEEA-1", serial_from="A", serial_to="B", quantity_kg=5
    )
    assert await sandbox.export(other) != first
    with pytest.raises(ExchangeRefused):
        await sandbox.check_account("CLOSED-1")
    with pytest.raises(ExchangeUnavailable):
        await sandbox.export(
            ExportOrder(
                number="1", account="OFFLINE-1", serial_from="A", serial_to="B", quantity_kg=1
            )
        )


async def test_a_serial_finds_its_retirement_or_its_export(world, exchange, client):
    block, _ = await holding(world)
    owner = world["owner"]
    await exports.export(actor=owner, block_id=str(block.public_id), quantity=3, account="CEEA-9")
    retirement = await registry.retire(
        actor=owner,
        block_id=str(block.public_id),
        quantity=4,
        beneficiary="绿色小店",
        purpose="CARBON_NEUTRALITY",
    )
    query = """query ($s: String!) { creditBlockBySerial(serial: $s) { status
        retirement { number beneficiary purpose } export { exchangeReference quantityKg } } }"""

    async def lookup(serial: int) -> dict:
        label = registry.serial_label(block.project_number, block.vintage, serial)
        return (await gql(client, query, {"s": label}))["data"]["creditBlockBySerial"]

    assert await lookup(11) == {
        "status": "EXPORTED",
        "retirement": None,
        "export": {
            "exchangeReference": exchange.orders[0].number[:8].join(("EX-", "")),
            "quantityKg": 3,
        },
    }
    assert await lookup(6) == {
        "status": "RETIRED",
        "retirement": {
            "number": retirement.id,
            "beneficiary": "绿色小店",
            "purpose": "CARBON_NEUTRALITY",
        },
        "export": None,
    }
    assert (await lookup(2))["retirement"] is None


async def test_the_retirements_and_exports_of_many_blocks_are_one_query_each(
    world, exchange, client
):
    block, _ = await holding(world)
    owner = world["owner"]
    for _ in range(3):
        await exports.export(
            actor=owner, block_id=str(block.public_id), quantity=1, account="CEEA-9"
        )
        await registry.retire(
            actor=owner,
            block_id=str(block.public_id),
            quantity=1,
            beneficiary=None,
            purpose="VOLUNTARY",
        )
    with count_queries() as counter:
        body = await gql(
            client,
            "{ creditBlocks { status retirement { number } export { exchangeReference } } }",
        )
    blocks = body["data"]["creditBlocks"]
    assert sorted(b["status"] for b in blocks) == ["EXPORTED"] * 3 + ["HELD"] + ["RETIRED"] * 3
    assert all((b["retirement"] is None) == (b["status"] != "RETIRED") for b in blocks)
    assert all((b["export"] is None) == (b["status"] != "EXPORTED") for b in blocks)
    assert sum("credit_retirement" in s for s in counter.statements) == 1
    assert sum("credit_export" in s for s in counter.statements) == 1
