"""`tanpuhui verify-ledger`: reconciliation checks (RELIABILITY.md 2).

Each check returns its findings as lines; none means it holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from backend.certificates import service as certificates
from backend.credits import exports, registry
from backend.ledger import verify as ledger
from backend.market import service as market

Check = Callable[[], Awaitable[list[str]]]
CHECKS: list[tuple[str, Check]] = [
    *ledger.CHECKS,
    ("credit blocks partition their issuances", registry.blocks_partition_issuances),
    ("a retired block has one retirement", registry.retired_blocks_have_retirements),
    ("an exported block has its export", exports.exports_match_blocks),
    ("listings and orders hold their blocks", market.listings_match_blocks),
    (
        "a certificate is backed by exactly its retirements",
        certificates.certificates_match_retirements,
    ),
]


async def verify_all() -> list[str]:
    findings: list[str] = []
    for name, check in CHECKS:
        findings.extend(f"{name}: {finding}" for finding in await check())
    return findings
