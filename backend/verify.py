"""`tanpuhui verify-ledger`: reconciliation checks (RELIABILITY.md 2).

Each check returns its findings as lines; none means it holds. The ledger (issue 5) adds the real
checks: stored balances against the sum of postings, lots against their postings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[list[str]]]
CHECKS: list[tuple[str, Check]] = []


async def verify_all() -> list[str]:
    findings: list[str] = []
    for name, check in CHECKS:
        findings.extend(f"{name}: {finding}" for finding in await check())
    return findings
