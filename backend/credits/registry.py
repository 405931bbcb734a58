"""The credit registry (first part): issued units as serial blocks in holding accounts, serial
numbers as DESIGN.md writes them, the public registry and its search by serial, and the
reconciliation of blocks against issuances.

Transfer, retirement and the exchange connection (issue 9) split and move these blocks.
"""

from __future__ import annotations

import re

from backend.credits.models import BlockStatus, CreditBlock, IssuanceRequest, IssuanceStatus
from backend.kit import clock, db
from backend.kit.ids import new_public_id

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
