"""Every move of credits through the API takes an idempotency key (DESIGN.md: every value-moving
mutation): a replay returns the first answer and moves nothing again, the same key for another
request is refused, and one holder's key is not another's."""

import uuid

import pytest
from strawberry.relay import to_base64

from backend import verify
from backend.credits.models import CreditBlock, CreditExport, CreditRetirement, CreditTransfer
from backend.market.models import CreditListing
from tests.registry.test_exports import exchange  # noqa: F401 - a fixture, used by name
from tests.registry.test_moves import holding

TRANSFER = """mutation ($i: TransferCreditsInput!) { transferCredits(input: $i) {
    __typename ... on CreditBlock { id quantityKg } ... on Error { code } } }"""
RETIRE = """mutation ($i: RetireCreditsInput!) { retireCredits(input: $i) {
    __typename ... on CreditRetirement { id block { quantityKg } } ... on Error { code } } }"""
LIST = """mutation ($i: ListCreditsInput!) { listCredits(input: $i) {
    __typename ... on CreditListing { id listedKg } ... on Error { code } } }"""
EXPORT = """mutation ($i: ExportCreditsInput!) { exportCredits(input: $i) {
    __typename ... on CreditExport { number quantityKg status } ... on Error { code } } }"""


@pytest.fixture
async def moves(world):
    block, buyer = await holding(world)
    base = {"blockId": str(block.public_id)}
    return block, [
        (
            "transferCredits",
            TRANSFER,
            {**base, "toOrganisationId": to_base64("Organisation", buyer)},
            CreditTransfer,
        ),
        ("retireCredits", RETIRE, {**base, "purpose": "VOLUNTARY"}, CreditRetirement),
        ("listCredits", LIST, {**base, "priceFenPerKg": 500}, CreditListing),
        ("exportCredits", EXPORT, {**base, "exchangeAccount": "CEEA-1"}, CreditExport),
    ]


async def held_kg(block) -> int:
    rows = await CreditBlock.filter(
        issuance_id=block.issuance_id, holder_id=block.holder_id, status="HELD"
    )
    return sum(b.serial_end - b.serial_start + 1 for b in rows)


async def test_a_replayed_move_returns_its_first_answer_and_moves_once(
    world,
    moves,
    execute,
    exchange,  # noqa: F811 - the fixture imported above
):
    block, mutations = moves
    owner = world["owner"]
    start = await held_kg(block)
    for n, (field, query, fields, model) in enumerate(mutations, start=1):
        key = f"move-{field}-{uuid.uuid4()}"
        variables = {"i": {**fields, "quantityKg": n, "idempotencyKey": key}}
        answer = await execute(query, variables, actor=owner)
        assert answer.data, answer.errors
        first = answer.data[field]
        assert first["__typename"] != "IdempotencyKeyReusedError" and "code" not in first, first
        rows = await model.all().count()
        again = (await execute(query, variables, actor=owner)).data[field]
        assert again == first
        assert await model.all().count() == rows  # nothing moved twice
        # the same key for another request is refused, and changes nothing
        other = {"i": {**fields, "quantityKg": n + 1, "idempotencyKey": key}}
        reused = (await execute(query, other, actor=owner)).data[field]
        assert reused == {
            "__typename": "IdempotencyKeyReusedError",
            "code": "IDEMPOTENCY_KEY_REUSED",
        }
        assert await model.all().count() == rows
    # 1 + 2 + 3 + 4 kg moved, once each
    assert await held_kg(block) == start - 10
    assert await verify.verify_all() == []


async def test_one_holders_key_is_not_anothers(world, moves, execute):
    from tests.credits.test_projects import member

    _, mutations = moves
    field, query, fields, _ = mutations[1]  # retireCredits
    variables = {"i": {**fields, "quantityKg": 1, "idempotencyKey": "shared-key-0001"}}
    stranger = member(str(uuid.uuid4()), "SMALL_BUSINESS", "owner")
    # a stranger using the key first learns nothing of the holder's block, and takes no answer
    assert (await execute(query, variables, actor=stranger)).data[field]["code"] == "NOT_FOUND"
    mine = (await execute(query, variables, actor=world["owner"])).data[field]
    assert mine["__typename"] == "CreditRetirement", mine
    assert await CreditRetirement.all().count() == 1
