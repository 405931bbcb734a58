"""The credit registry (first part): issued units as serial blocks in holding accounts, serial
numbers as DESIGN.md writes them, the public registry and its search by serial, and the
reconciliation of blocks against issuances.

Transfer, retirement and the exchange connection (issue 9) split and move these blocks.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from backend.accounts import queries as accounts
from backend.audit import service as audit
from backend.credits.errors import BlockNotMovable, NotEnoughUnits
from backend.credits.models import (
    BlockStatus,
    CreditBlock,
    CreditRetirement,
    CreditTransfer,
    IssuanceRequest,
    IssuanceStatus,
    RetirementPurpose,
)
from backend.kit import clock, db, idempotency
from backend.kit.actor import Actor, require_person
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int, text

SCHEME = "SZ-CGSP"
_SERIAL = re.compile(r"^SZ-CGSP-P(\d{4,})-(\d{4})-(\d{12})(?:-(\d{12}))?$")


def serial_label(project_number: int, vintage: int, start: int, end: int | None = None) -> str:
    """SZ-CGSP-P0042-2026-000000000001-000000001000 (one unit: no end part)."""
    label = f"{SCHEME}-P{project_number:04d}-{vintage}-{start:012d}"
    return f"{label}-{end:012d}" if end is not None else label


def parse_serial(value: str) -> tuple[int, int, int, int] | None:
    """(project number, vintage, start, end) of a serial or serial range, or None."""
    match = _SERIAL.match(value.strip().upper()) if isinstance(value, str) else None
    if match is None:
        return None
    start = int(match.group(3))
    end = int(match.group(4)) if match.group(4) else start
    return int(match.group(1)), int(match.group(2)), start, end


async def issue_block(request: IssuanceRequest) -> CreditBlock:
    """The issued range, whole, in the owner organisation's holding account (inside the
    issuance's transaction)."""
    assert request.serial_start is not None and request.serial_end is not None
    vintage = int(request.period_end[:4])
    return await CreditBlock.create(
        public_id=new_public_id(),
        issuance=request,
        project_number=request.project_id,  # type: ignore[attr-defined]
        vintage=vintage,
        serial_start=request.serial_start,
        serial_end=request.serial_end,
        holder_id=request.owner_id,
        holder_kind="ORGANISATION",
        status=BlockStatus.HELD,
        created_at=clock.now(),
    )


async def find_by_serial(serial: str) -> CreditBlock | None:
    """The block holding a serial number (or the start of a range), split blocks included."""
    parsed = parse_serial(serial)
    if parsed is None:
        return None
    project_number, vintage, start, _ = parsed
    return (
        await CreditBlock.filter(
            project_number=project_number,
            vintage=vintage,
            serial_start__lte=start,
            serial_end__gte=start,
        )
        .select_related("issuance")
        .first()
    )


async def holdings(actor: Actor) -> tuple[str, list[CreditBlock], dict[str, int]]:
    """The actor's holding account, its blocks (the first 500 by serial) and its kg by status."""
    holder = holding_account_of(actor)
    blocks = (
        await CreditBlock.filter(holder_id=holder)
        .select_related("issuance")
        .order_by("project_number", "serial_start")
        .limit(500)
    )
    return holder, blocks, await kg_by_status(holder)


async def kg_by_status(holder: str) -> dict[str, int]:
    """A holding account's kilograms by block status (HELD, LISTED, RETIRED ...)."""
    rows = await db.fetch(
        "SELECT status, SUM(serial_end - serial_start + 1) AS kg FROM credit_block"
        " WHERE holder_id = $1 GROUP BY status",
        uuid.UUID(holder),
    )
    return {row["status"]: int(row["kg"]) for row in rows}


async def public_blocks(*, holder_id: str | None = None) -> list[CreditBlock]:
    queryset = CreditBlock.all().select_related("issuance")
    if holder_id is not None:
        queryset = queryset.filter(holder_id=holder_id)
    return await queryset.order_by("project_number", "serial_start").limit(500)


async def blocks_partition_issuances() -> list[str]:
    """verify-ledger: each issued request's blocks cover its range exactly, without overlap."""
    findings = []
    issued = await IssuanceRequest.filter(status=IssuanceStatus.ISSUED).values(
        "id", "serial_start", "serial_end"
    )
    blocks: dict[int, list[tuple[int, int]]] = {}
    for block in await CreditBlock.all().values("issuance_id", "serial_start", "serial_end"):
        blocks.setdefault(block["issuance_id"], []).append(
            (block["serial_start"], block["serial_end"])
        )
    for request in issued:
        ranges = sorted(blocks.get(request["id"], []))
        expected = request["serial_start"]
        for start, end in ranges:
            if start != expected:
                findings.append(
                    f"issuance {request['id']}: serial {expected} is missing or doubled"
                )
                break
            expected = end + 1
        else:
            if expected != (request["serial_end"] or 0) + 1:
                findings.append(
                    f"issuance {request['id']}: blocks end at {expected - 1}, not {request['serial_end']}"
                )
    orphans = await db.fetch(
        "SELECT b.id FROM credit_block b JOIN credit_issuance_request r ON r.id = b.issuance_id"
        " WHERE r.status <> 'ISSUED'"
    )
    findings += [f"block {row['id']} belongs to an issuance that is not issued" for row in orphans]
    return findings


def holding_account_of(actor: Actor) -> str:
    """The holding account an actor moves units from: the organisation a member acts for (owners
    and managers), or the person's own."""
    if actor.kind in ("member", "authority", "verifier"):
        if not actor.organisation_id or not actor.roles & {"owner", "manager", "admin"}:
            raise Forbidden()
        return actor.organisation_id
    return require_person(actor)


def holding_account_kind(actor: Actor) -> str:
    """ORGANISATION or PERSON: the kind of the account `holding_account_of` gives."""
    return "ORGANISATION" if actor.kind in ("member", "authority", "verifier") else "PERSON"


async def held_block(actor: Actor, block_id: str, quantity: int) -> CreditBlock:
    """The actor's block, row-locked, able to give `quantity` kg (inside a transaction)."""
    holder = holding_account_of(actor)
    positive_int(quantity, field="quantityKg", maximum=10**12)
    public_id = parse_public_id(block_id)
    block = (
        await CreditBlock.filter(public_id=public_id).select_for_update().first()
        if public_id
        else None
    )
    if block is None or str(block.holder_id) != holder:
        raise NotFound(what="credit block", what_zh="减排量区块")
    if block.status != BlockStatus.HELD:
        status_zh = {
            "LISTED": "已挂牌出售",
            "LOCKED": "已被订单锁定",
            "RETIRED": "已注销",
            "EXPORTING": "正在转出至交易平台",
            "EXPORTED": "已转出至交易平台",
        }.get(block.status.value, block.status.value)
        raise BlockNotMovable(status=block.status.value.lower(), status_zh=status_zh)
    available = block.serial_end - block.serial_start + 1
    if quantity > available:
        raise NotEnoughUnits(available=available, requested=quantity)
    return block


async def split(block: CreditBlock, quantity: int, **moved: Any) -> CreditBlock:
    """Give the upper `quantity` serials of `block` (the holder keeps the lower ones) as a new
    block with `moved` fields; a whole block moves as it is."""
    size = block.serial_end - block.serial_start + 1
    if quantity == size:
        await CreditBlock.filter(id=block.id).update(**moved)
        await block.refresh_from_db()
        return block
    cut = block.serial_end - quantity + 1
    await CreditBlock.filter(id=block.id).update(serial_end=cut - 1)
    fields: dict[str, Any] = {
        "holder_id": block.holder_id,
        "holder_kind": block.holder_kind,
        "status": block.status,
        "listing_id": block.listing_id,
        "order_id": block.order_id,
    }
    fields.update(moved)
    return await CreditBlock.create(
        public_id=new_public_id(),
        issuance_id=block.issuance_id,  # type: ignore[attr-defined]
        project_number=block.project_number,
        vintage=block.vintage,
        serial_start=cut,
        serial_end=block.serial_end,
        created_at=clock.now(),
        **fields,
    )


async def holder_kind(holder_id: str) -> str | None:
    """ORGANISATION or PERSON for a holding account that can receive units, else None."""
    if await accounts.is_any_active_organisation(holder_id):
        return "ORGANISATION"
    if await accounts.person_exists(holder_id):
        return "PERSON"
    return None


async def transfer(
    *,
    actor: Actor,
    block_id: str,
    quantity: int,
    to_holder: str,
    field: str = "toHolder",
    idempotency_key: str | None = None,
) -> CreditBlock:
    """转移: units to another holding account (an organisation's or a citizen's). A replay of
    the key returns the block the first call moved."""

    async def work() -> int:
        block = await held_block(actor, block_id, quantity)
        target = parse_public_id(to_holder)
        kind = await holder_kind(str(target)) if target is not None else None
        if target is None or kind is None:
            raise InvalidInput(
                field=field,
                reason="not a holding account that can receive units",
                reason_zh="不是可以接收减排量的持有账户",
            )
        if str(target) == str(block.holder_id):
            raise InvalidInput(
                field=field,
                reason="the block is already there",
                reason_zh="不能转给自己",
            )
        giver = block.holder_id
        moved = await split(block, quantity, holder_id=target, holder_kind=kind)
        await CreditTransfer.create(
            block=moved,
            from_holder=giver,
            to_holder=target,
            quantity_kg=quantity,
            created_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="credits.transferred",
            object_type="credit_block",
            object_id=str(moved.public_id),
            details={"quantity_kg": quantity, "to": str(target)},
        )
        crash_point("credits.transfer.before_commit")
        return int(moved.id)

    async with db.transaction():
        moved_id = await idempotency.keyed_id(
            key=idempotency_key,
            owner=holding_account_of(actor),
            operation="transferCredits",
            request={"block": block_id, "quantity": quantity, "to": to_holder},
            work=work,
        )
    return await CreditBlock.get(id=moved_id)


async def retire(
    *,
    actor: Actor,
    block_id: str,
    quantity: int,
    beneficiary: str | None,
    purpose: str,
    idempotency_key: str | None = None,
) -> CreditRetirement:
    """注销: units retired for a beneficiary (or anonymously) with a purpose; never again moved.
    A replay of the key returns the first call's retirement."""
    if beneficiary is not None:
        beneficiary = text(beneficiary, field="beneficiary", maximum=200)
    reason = RetirementPurpose(purpose)

    async def work() -> int:
        block = await held_block(actor, block_id, quantity)
        retired = await split(block, quantity, status=BlockStatus.RETIRED)
        retirement = await CreditRetirement.create(
            public_id=new_public_id(),
            block=retired,
            beneficiary=beneficiary,
            purpose=reason,
            retired_by=block.holder_id,
            created_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="credits.retired",
            object_type="credit_retirement",
            object_id=str(retirement.public_id),
            details={"quantity_kg": quantity, "purpose": reason.value},
        )
        crash_point("credits.retire.before_commit")
        return int(retirement.id)

    async with db.transaction():
        retirement_id = await idempotency.keyed_id(
            key=idempotency_key,
            owner=holding_account_of(actor),
            operation="retireCredits",
            request={
                "block": block_id,
                "quantity": quantity,
                "beneficiary": beneficiary,
                "purpose": reason.value,
            },
            work=work,
        )
    return await CreditRetirement.get(id=retirement_id)


async def public_retirements() -> list[CreditRetirement]:
    return (
        await CreditRetirement.all()
        .select_related("block", "block__issuance")
        .order_by("-created_at")
        .limit(500)
    )


async def public_transfers() -> list[tuple[CreditTransfer, str, str]]:
    """Transfers, newest first, with the giver's and receiver's public names."""
    rows = (
        await CreditTransfer.all()
        .select_related("block", "block__issuance")
        .order_by("-id")
        .limit(500)
    )
    names = await accounts.public_names(
        {str(r.from_holder) for r in rows} | {str(r.to_holder) for r in rows}
    )
    return [(r, names[str(r.from_holder)], names[str(r.to_holder)]) for r in rows]


async def lineages(issuance_public_ids: list[str]) -> dict[str, IssuanceRequest]:
    """Blocks' origins in one query: each issuance with the project (and so the methodology)."""
    wanted = [p for p in (parse_public_id(i) for i in issuance_public_ids) if p is not None]
    rows = await IssuanceRequest.filter(public_id__in=wanted).select_related("project")
    return {str(row.public_id): row for row in rows}


async def retirements_of(block_public_ids: list[str]) -> dict[str, CreditRetirement]:
    """The retirements of retired blocks, by block public id, in one query."""
    wanted = [p for p in (parse_public_id(i) for i in block_public_ids) if p is not None]
    rows = await CreditRetirement.filter(block__public_id__in=wanted).select_related(
        "block", "block__issuance"
    )
    return {str(row.block.public_id): row for row in rows}


async def retired_blocks_have_retirements() -> list[str]:
    """verify-ledger: every retired block has exactly one retirement (a unit retired once)."""
    rows = await db.fetch(
        "SELECT b.id, COUNT(r.id) AS n FROM credit_block b LEFT JOIN credit_retirement r ON r.block_id = b.id"
        " WHERE b.status = 'RETIRED' GROUP BY b.id HAVING COUNT(r.id) <> 1"
    )
    extra = await db.fetch(
        "SELECT r.id FROM credit_retirement r JOIN credit_block b ON b.id = r.block_id WHERE b.status <> 'RETIRED'"
    )
    return [f"retired block {r['id']} has {r['n']} retirements" for r in rows] + [
        f"retirement {r['id']} points at a block that is not retired" for r in extra
    ]
