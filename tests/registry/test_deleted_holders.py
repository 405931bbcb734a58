"""Credits of a citizen who deleted their account stay in a de-identified holding account that the
operator sees; the registry still reconciles."""

import pytest

from backend import verify
from backend.accounts import privacy
from backend.accounts.models import Person
from backend.credits import registry
from backend.kit.errors import Forbidden
from tests.credits.test_projects import AUTHORITY
from tests.registry.test_holdings import citizen
from tests.registry.test_moves import holding


async def test_a_deleted_citizens_credits_stay_in_a_deidentified_holding(world):
    block, _ = await holding(world)
    alice = await citizen()
    await registry.transfer(
        actor=world["owner"], block_id=str(block.public_id), quantity=3, to_holder=alice.id
    )
    phone = (await Person.get(public_id=alice.id)).phone
    assert await privacy.deidentified_holdings(AUTHORITY) == []
    await privacy.delete_account(actor=alice, confirm_phone=phone)
    assert await privacy.deidentified_holdings(AUTHORITY) == [
        {"holder": alice.id, "status": "HELD", "kg": 3}
    ]
    with pytest.raises(Forbidden):
        await privacy.deidentified_holdings(world["owner"])
    assert await verify.verify_all() == []
