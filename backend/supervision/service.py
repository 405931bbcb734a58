"""Appeals (申诉): a citizen files one against a rejected record or a clawback of their points;
the authority answers it once (upheld or dismissed, with its reasons), and both are audited."""

from __future__ import annotations

from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind, require_person
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import text
from backend.ledger.models import LedgerTransaction, TransactionKind
from backend.supervision.models import Appeal, AppealKind, AppealStatus


async def file_appeal(*, actor: Actor, kind: str, reference: str, reason: str) -> Appeal:
    person = require_person(actor)
    appeal_kind = AppealKind(kind)
    reference = text(reference, field="reference", maximum=200)
    reason = text(reason, field="text", maximum=2000)
    if appeal_kind == AppealKind.CLAWBACK:
        # Only a clawback of the appellant's own points.
        public_id = parse_public_id(reference)
        clawback = (
            await LedgerTransaction.get_or_none(
                public_id=public_id, kind=TransactionKind.CLAWBACK, owner_id=person
            )
            if public_id
            else None
        )
        if clawback is None:
            raise NotFound(what="clawback", what_zh="积分追回记录")
    open_ones = await Appeal.filter(
        person_id=person, reference=reference, status=AppealStatus.OPEN
    ).exists()
    if open_ones:
        raise InvalidInput(
            field="reference",
            reason="an appeal about this is already open",
            reason_zh="该事项已有未处理的申诉",
        )
    async with db.transaction():
        appeal = await Appeal.create(
            public_id=new_public_id(),
            person_id=person,
            kind=appeal_kind,
            reference=reference,
            text=reason,
            status=AppealStatus.OPEN,
            filed_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="supervision.appeal_filed",
            object_type="appeal",
            object_id=str(appeal.public_id),
            details={"kind": appeal_kind.value, "reference": reference},
        )
    return appeal


async def answer_appeal(*, actor: Actor, appeal_id: str, uphold: bool, answer: str) -> Appeal:
    require_kind(actor, "authority")
    answer = text(answer, field="answer", maximum=2000)
    public_id = parse_public_id(appeal_id)
    async with db.transaction():
        appeal = (
            await Appeal.filter(public_id=public_id).select_for_update().first()
            if public_id
            else None
        )
        if appeal is None:
            raise NotFound(what="appeal", what_zh="申诉")
        if appeal.status != AppealStatus.OPEN:
            raise InvalidInput(
                field="appealId", reason="already answered", reason_zh="该申诉已处理"
            )
        status = AppealStatus.UPHELD if uphold else AppealStatus.DISMISSED
        await Appeal.filter(id=appeal.id).update(
            status=status, answer=answer, answered_by=actor.audit_name, answered_at=clock.now()
        )
        await audit.record(
            actor=actor,
            action="supervision.appeal_answered",
            object_type="appeal",
            object_id=str(appeal.public_id),
            details={"status": status.value},
        )
    return await Appeal.get(id=appeal.id)


async def my_appeals(actor: Actor) -> list[Appeal]:
    person = require_person(actor)
    return await Appeal.filter(person_id=person).order_by("-id").limit(100)


async def appeals(actor: Actor, status: str | None) -> list[Appeal]:
    require_kind(actor, "authority")
    queryset = Appeal.all()
    if status is not None:
        queryset = queryset.filter(status=AppealStatus(status))
    return await queryset.order_by("filed_at").limit(200)
