"""Appeals (申诉) against a clawback or a rejected record, answered once by the authority; the
authority reads the audit log filtered by action and actor."""

import uuid

import pytest

from backend.accounts.subjects import Subject, SubjectKind
from backend.audit import service as audit
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.ledger import service as ledger
from backend.supervision import service

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")


async def clawed_back(person: Actor) -> str:
    earning = await ledger.earn(
        owner=Subject(SubjectKind.PERSON, person.id),  # type: ignore[arg-type]
        amount=300,
        idempotency_key=f"trip-{uuid.uuid4()}",
        cause={"test": True},
    )
    taken = await ledger.clawback(
        actor=AUTHORITY, earning_id=earning.transaction_id, reason="duplicate trips"
    )
    return taken.transaction_id


async def test_a_citizen_appeals_a_clawback_and_the_authority_answers_once(settings):
    alice = Actor(kind="citizen", id=str(uuid.uuid4()))
    bob = Actor(kind="citizen", id=str(uuid.uuid4()))
    clawback = await clawed_back(alice)
    with pytest.raises(NotFound):  # not bob's points
        await service.file_appeal(actor=bob, kind="CLAWBACK", reference=clawback, reason="x")
    appeal = await service.file_appeal(
        actor=alice, kind="CLAWBACK", reference=clawback, reason="Those were real trips."
    )
    with pytest.raises(InvalidInput):  # one open appeal per matter
        await service.file_appeal(actor=alice, kind="CLAWBACK", reference=clawback, reason="again")
    await service.file_appeal(
        actor=alice, kind="REJECTION", reference="metro-app:evt-77", reason="I did ride."
    )
    with pytest.raises(Forbidden):
        await service.answer_appeal(
            actor=alice, appeal_id=str(appeal.public_id), uphold=True, answer="x"
        )
    assert [a.status.value for a in await service.appeals(AUTHORITY, "OPEN")] == ["OPEN", "OPEN"]
    answered = await service.answer_appeal(
        actor=AUTHORITY, appeal_id=str(appeal.public_id), uphold=True, answer="Points restored."
    )
    assert answered.status.value == "UPHELD" and answered.answer == "Points restored."
    with pytest.raises(InvalidInput):
        await service.answer_appeal(
            actor=AUTHORITY, appeal_id=str(appeal.public_id), uphold=False, answer="no"
        )
    mine = await service.my_appeals(alice)
    assert {a.kind.value: a.status.value for a in mine} == {
        "CLAWBACK": "UPHELD",
        "REJECTION": "OPEN",
    }
    assert await service.my_appeals(bob) == []
    # Supervision: the audit log by action prefix and by actor.
    page = await audit.list_events(
        actor=AUTHORITY,
        object_type=None,
        object_id=None,
        first=20,
        after=None,
        action="supervision",
    )
    assert sorted(e.action for e in page.items) == [
        "supervision.appeal_answered",
        "supervision.appeal_filed",
        "supervision.appeal_filed",
    ]
    by_alice = await audit.list_events(
        actor=AUTHORITY, object_type=None, object_id=None, first=20, after=None, actor_id=alice.id
    )
    assert {e.action for e in by_alice.items} == {"supervision.appeal_filed"}
    with pytest.raises(Forbidden):
        await audit.list_events(
            actor=alice, object_type=None, object_id=None, first=5, after=None, action="ledger"
        )
