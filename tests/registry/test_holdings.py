"""Holding accounts: one per organisation and per citizen who holds credits. A holder reads its
account id and units; units transfer to a citizen's account by that id; the citizen then moves
them as any holder does, and the public registry names them 'individual'."""

import uuid

from strawberry.relay import to_base64

from backend import verify
from backend.accounts.models import Person
from backend.credits import registry
from backend.credits.models import CreditBlock
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.ids import new_public_id
from tests.registry.test_moves import holding

HOLDINGS = """{ myCreditHoldings { accountId heldKg exportingKg exportedKg retiredKg
    blocks { serialFrom quantityKg status holder } } }"""


def key() -> str:
    return f"test-{uuid.uuid4()}"


TRANSFER = """mutation ($i: TransferCreditsInput!) { transferCredits(input: $i) {
    __typename ... on CreditBlock { quantityKg holder } ... on Error { code message } } }"""


async def citizen() -> Actor:
    person = await Person.create(
        public_id=new_public_id(),
        phone=f"+86137{uuid.uuid4().int % 10**8:08d}",
        created_at=clock.now(),
    )
    return Actor(kind="citizen", id=str(person.public_id))


async def test_units_reach_a_citizens_holding_account_and_move_on_from_there(world, execute):
    block, _ = await holding(world)
    owner, alice = world["owner"], await citizen()
    mine = (await execute(HOLDINGS, actor=alice)).data["myCreditHoldings"]
    assert mine["blocks"] == [] and mine["heldKg"] == "0"
    account = mine["accountId"]
    sent = await execute(
        TRANSFER,
        {
            "i": {
                "blockId": str(block.public_id),
                "quantityKg": 4,
                "toHoldingAccountId": account,
                "idempotencyKey": key(),
            }
        },
        actor=owner,
    )
    assert sent.data["transferCredits"] == {
        "__typename": "CreditBlock",
        "quantityKg": 4,
        "holder": "individual",
    }
    mine = (await execute(HOLDINGS, actor=alice)).data["myCreditHoldings"]
    assert mine["heldKg"] == "4" and [b["quantityKg"] for b in mine["blocks"]] == [4]
    theirs = (await execute(HOLDINGS, actor=owner)).data["myCreditHoldings"]
    assert theirs["heldKg"] == "8" and theirs["accountId"] != account
    [received] = await CreditBlock.filter(holder_id=alice.id)
    assert received.holder_kind == "PERSON"
    await registry.retire(
        actor=alice,
        block_id=str(received.public_id),
        quantity=1,
        beneficiary=None,
        purpose="CARBON_NEUTRALITY",
    )
    mine = (await execute(HOLDINGS, actor=alice)).data["myCreditHoldings"]
    assert (mine["heldKg"], mine["retiredKg"]) == ("3", "1")
    # Only the owner of the units moves them: the organisation cannot take them back.
    back = await execute(
        TRANSFER,
        {
            "i": {
                "blockId": str(received.public_id),
                "quantityKg": 1,
                "idempotencyKey": key(),
                "toOrganisationId": to_base64("Organisation", owner.organisation_id),
            }
        },
        actor=owner,
    )
    assert back.data["transferCredits"]["code"] == "NOT_FOUND"
    assert await verify.verify_all() == []


async def test_a_transfer_names_exactly_one_existing_receiver(world, execute):
    block, buyer = await holding(world)
    owner = world["owner"]
    nobody = to_base64("HoldingAccount", str(uuid.uuid4()))
    for target in (
        {},
        {"toOrganisationId": to_base64("Organisation", buyer), "toHoldingAccountId": nobody},
        {"toHoldingAccountId": nobody},
        {"toHoldingAccountId": to_base64("Organisation", buyer)},
        {"toHoldingAccountId": to_base64("HoldingAccount", owner.organisation_id)},
    ):
        answer = await execute(
            TRANSFER,
            {
                "i": {
                    "blockId": str(block.public_id),
                    "quantityKg": 1,
                    "idempotencyKey": key(),
                    **target,
                }
            },
            actor=owner,
        )
        assert answer.data["transferCredits"]["code"] == "INVALID_INPUT", target
    assert await CreditBlock.filter(issuance_id=block.issuance_id).count() == 1
    via_account = await execute(
        TRANSFER,
        {
            "i": {
                "blockId": str(block.public_id),
                "quantityKg": 2,
                "idempotencyKey": key(),
                "toHoldingAccountId": to_base64("HoldingAccount", buyer),
            }
        },
        actor=owner,
    )
    assert via_account.data["transferCredits"]["quantityKg"] == 2


async def test_holdings_are_only_your_own(world, execute):
    await holding(world)
    stranger = await citizen()
    other = (await execute(HOLDINGS, actor=stranger)).data["myCreditHoldings"]
    assert other["heldKg"] == "0" and other["blocks"] == []
    anonymous = await execute(HOLDINGS)
    assert anonymous.errors and anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"
