"""Exports (转出) to the carbon trading platform: a holder moves units out to a named account at the
exchange, which answers with its reference; the units are then held outside and never move here.

An export is three steps, so that no crash or timeout ever leaves units both here and there:
1. in one transaction the units are split off as an EXPORTING block (frozen: nobody moves them)
   and a PENDING export is written;
2. the exchange is asked, outside any transaction, with the export's number as idempotency key;
3. its answer settles the export once: CONFIRMED with the reference (the block EXPORTED) or,
   when it refused, FAILED (the block HELD by the holder again).
No answer (a timeout, a crash between the steps) leaves the export PENDING; the job
`retry-exports` asks again with the same number until the exchange answers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from backend.accounts import queries as accounts
from backend.audit import service as audit
from backend.credits import registry
from backend.credits.errors import ExportRefused
from backend.credits.exchange import (
    ACCOUNT,
    Exchange,
    ExchangeRefused,
    ExchangeUnavailable,
    ExportOrder,
    get_exchange,
)
from backend.credits.models import BlockStatus, CreditBlock, CreditExport, ExportStatus
from backend.kit import clock, db, idempotency
from backend.kit.actor import Actor, system_actor
from backend.kit.errors import InvalidInput
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id, parse_public_id
from backend.settings import get_settings

log = logging.getLogger(__name__)

# A pending export younger than this is left to the request that is asking the exchange now.
RETRY_AFTER = timedelta(minutes=1)


def exchange() -> Exchange:
    return get_exchange(get_settings())


def _account(value: str) -> str:
    account = value.strip().upper() if isinstance(value, str) else ""
    if not ACCOUNT.match(account):
        raise InvalidInput(
            field="exchangeAccount",
            reason="3 to 40 letters, digits and hyphens",
            reason_zh="交易平台账户应为 3 至 40 位字母、数字或连字符",
        )
    return account


async def export(
    *,
    actor: Actor,
    block_id: str,
    quantity: int,
    account: str,
    idempotency_key: str | None = None,
) -> CreditExport:
    """转出 `quantity` kg of a block to `account` at the exchange. Returns the export: CONFIRMED,
    or PENDING when the exchange did not answer (the job finishes it). A refusal raises
    ExportRefused and leaves the units with the holder. A replay of the key returns the first
    call's export, asking the exchange again (with the same number) while it is PENDING."""
    account = _account(account)
    owner = registry.holding_account_of(actor)  # Forbidden before asking the exchange anything
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
    adapter = exchange()
    try:
        # Most refusals (an unknown or closed account) come before anything is split.
        await adapter.check_account(account)
    except ExchangeRefused as refused:
        raise ExportRefused(reason=refused.reason) from refused
    except ExchangeUnavailable:
        pass  # the export itself will be retried

    async def work() -> int:
        block = await registry.held_block(actor, block_id, quantity)
        giver = block.holder_id
        frozen = await registry.split(block, quantity, status=BlockStatus.EXPORTING)
        row = await CreditExport.create(
            public_id=new_public_id(),
            block=frozen,
            from_holder=giver,
            exchange=adapter.name,
            external_account=account,
            quantity_kg=quantity,
            serial_start=frozen.serial_start,
            serial_end=frozen.serial_end,
            status=ExportStatus.PENDING,
            created_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="credits.export_requested",
            object_type="credit_export",
            object_id=str(row.public_id),
            details={"quantity_kg": quantity, "account": account, "exchange": adapter.name},
        )
        return int(row.id)

    async with db.transaction():
        export_id = await idempotency.keyed_id(
            key=idempotency_key,
            owner=owner,
            operation="exportCredits",
            request={"block": block_id, "quantity": quantity, "account": account},
            work=work,
        )
    crash_point("credits.export.before_exchange")
    row = await CreditExport.get(id=export_id).select_related("block")
    settled = row
    if row.status == ExportStatus.PENDING:
        settled = await _ask(row, row.block.project_number, row.block.vintage, adapter, actor)
    if settled.status == ExportStatus.FAILED:
        raise ExportRefused(reason=settled.failure or "refused")
    return settled


async def _ask(
    row: CreditExport, project_number: int, vintage: int, adapter: Exchange, actor: Actor
) -> CreditExport:
    order = ExportOrder(
        number=str(row.public_id),
        account=row.external_account,
        serial_from=registry.serial_label(project_number, vintage, row.serial_start),
        serial_to=registry.serial_label(project_number, vintage, row.serial_end),
        quantity_kg=row.quantity_kg,
    )
    try:
        reference = await adapter.export(order)
    except ExchangeRefused as refused:
        return await _settle(row.id, actor, failure=refused.reason)
    except ExchangeUnavailable as unavailable:
        log.warning("export %s: the exchange did not answer (%s)", row.public_id, unavailable)
        await CreditExport.filter(id=row.id, status=ExportStatus.PENDING).update(
            attempts=row.attempts + 1
        )
        return await CreditExport.get(id=row.id)
    crash_point("credits.export.after_exchange")
    return await _settle(row.id, actor, reference=reference)


async def _settle(
    export_id: int, actor: Actor, *, reference: str | None = None, failure: str | None = None
) -> CreditExport:
    """Settle a pending export once (a second answer for it changes nothing)."""
    async with db.transaction():
        row = await CreditExport.filter(id=export_id).select_for_update().get()
        if row.status != ExportStatus.PENDING:
            return row
        now = clock.now()
        if reference is not None:
            status, block_status = ExportStatus.CONFIRMED, BlockStatus.EXPORTED
        else:
            status, block_status = ExportStatus.FAILED, BlockStatus.HELD
        await CreditExport.filter(id=row.id).update(
            status=status,
            reference=reference,
            failure=failure[:200] if failure else None,
            attempts=row.attempts + 1,
            settled_at=now,
        )
        await CreditBlock.filter(id=row.block_id, status=BlockStatus.EXPORTING).update(  # type: ignore[attr-defined]
            status=block_status
        )
        await audit.record(
            actor=actor,
            action="credits.exported" if reference else "credits.export_refused",
            object_type="credit_export",
            object_id=str(row.public_id),
            details={"reference": reference} if reference else {"reason": failure},
        )
    return await CreditExport.get(id=export_id)


async def retry_pending() -> int:
    """Job `retry-exports`: ask the exchange again about exports it has not answered."""
    adapter = exchange()
    actor = system_actor("retry-exports")
    due = (
        await CreditExport.filter(
            status=ExportStatus.PENDING, created_at__lte=clock.now() - RETRY_AFTER
        )
        .select_related("block")
        .order_by("id")
        .limit(200)
    )
    settled = 0
    for row in due:
        answer = await _ask(row, row.block.project_number, row.block.vintage, adapter, actor)
        settled += answer.status != ExportStatus.PENDING
    return settled


async def public_exports() -> list[tuple[CreditExport, str]]:
    """Exports, newest first, with the holder's public name."""
    rows = (
        await CreditExport.all()
        .select_related("block")  # its project number and vintage name the serials
        .order_by("-id")
        .limit(500)
    )
    names = await accounts.public_names({str(r.from_holder) for r in rows})
    return [(r, names[str(r.from_holder)]) for r in rows]


async def live_exports_of(block_public_ids: list[str]) -> dict[str, tuple[CreditExport, str]]:
    """The pending or confirmed export of each block, with the holder's public name."""
    wanted = [p for p in (parse_public_id(i) for i in block_public_ids) if p is not None]
    rows = (
        await CreditExport.filter(block__public_id__in=wanted)
        .exclude(status=ExportStatus.FAILED)
        .select_related("block")
    )
    names = await accounts.public_names({str(r.from_holder) for r in rows})
    return {str(r.block.public_id): (r, names[str(r.from_holder)]) for r in rows}


async def exports_match_blocks() -> list[str]:
    """verify-ledger: an EXPORTED block has one CONFIRMED export with a reference, an EXPORTING
    block one PENDING export, and no export points at a block in another state."""
    rows = await db.fetch(
        "SELECT b.id, b.status, e.status AS export_status, e.reference FROM credit_block b"
        " LEFT JOIN credit_export e ON e.block_id = b.id AND e.status <> 'FAILED'"
        " WHERE b.status IN ('EXPORTING', 'EXPORTED') OR e.id IS NOT NULL"
    )
    findings = []
    seen: dict[int, int] = {}
    expected = {"EXPORTING": "PENDING", "EXPORTED": "CONFIRMED"}
    for row in rows:
        seen[row["id"]] = seen.get(row["id"], 0) + 1
        if expected.get(row["status"]) != row["export_status"]:
            findings.append(
                f"block {row['id']} is {row['status']} with an export {row['export_status'] or 'missing'}"
            )
        elif row["status"] == "EXPORTED" and not row["reference"]:
            findings.append(f"exported block {row['id']} has no exchange reference")
    findings += [f"block {b} has {n} live exports" for b, n in seen.items() if n > 1]
    return findings
