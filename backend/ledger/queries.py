"""Reading wallets: balance, held, what expires soon, history and monthly totals.

Each read is one or two SQL statements whatever the page size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.accounts.subjects import Subject
from backend.kit import clock, db
from backend.kit.pagination import Page, keyset_page
from backend.ledger.models import LedgerTransaction

EXPIRING_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class WalletSummary:
    balance: int
    held: int
    expiring_soon: int


async def summary(owner: Subject) -> WalletSummary:
    """Spendable now (lots past expiry not yet swept by the job excluded), held, expiring in 30 days."""
    now = clock.now()
    rows = await db.fetch(
        "SELECT a.balance, a.held,"
        " (SELECT COALESCE(SUM(remaining), 0) FROM ledger_lot WHERE account_id = a.id"
        "   AND expired_at IS NULL AND expires_at <= $2) AS due,"
        " (SELECT COALESCE(SUM(remaining), 0) FROM ledger_lot WHERE account_id = a.id"
        "   AND expired_at IS NULL AND expires_at > $2 AND expires_at <= $3) AS expiring"
        " FROM ledger_account a WHERE a.owner_id = $1 AND a.kind = $4",
        uuid.UUID(owner.id),
        now,
        now + EXPIRING_WINDOW,
        owner.kind.value,
    )
    if not rows:
        return WalletSummary(0, 0, 0)
    row = rows[0]
    return WalletSummary(
        balance=int(row["balance"]) - int(row["due"]),
        held=int(row["held"]),
        expiring_soon=int(row["expiring"]),
    )


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    amount: int
    occurred_at: datetime
    cause: dict[str, Any]


async def history(owner: Subject, *, first: int | None, after: str | None) -> Page[Entry]:
    """The owner's ledger transactions, newest first, each with its net amount to the owner."""
    page = await keyset_page(
        LedgerTransaction.filter(owner_id=owner.id),
        scope=f"wallet:{owner.id}",
        first=first,
        after=after,
        key="created_at",
        values=("id", "kind", "cause"),
    )
    ids = [t["id"] for t in page.items]
    amounts: dict[int, int] = {}
    if ids:
        placeholders = ", ".join(f"${n}" for n in range(2, len(ids) + 2))
        rows = await db.fetch(
            "SELECT transaction_id, SUM(amount) AS total FROM ledger_posting"
            f" WHERE owner_id = $1 AND transaction_id IN ({placeholders}) GROUP BY transaction_id",
            uuid.UUID(owner.id),
            *ids,
        )
        amounts = {int(r["transaction_id"]): int(r["total"]) for r in rows}
    entries = [
        Entry(
            str(t["public_id"]),
            getattr(t["kind"], "value", t["kind"]),
            amounts.get(t["id"], 0),
            t["created_at"],
            t["cause"] or {},
        )
        for t in page.items
    ]
    return Page(
        items=entries,
        cursors=page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )


@dataclass(frozen=True)
class MonthTotal:
    month: str
    earned: int
    spent: int
    expired: int
    clawed_back: int


async def monthly_totals(owner: Subject, *, months: int) -> list[MonthTotal]:
    """Per month in Shanghai time, newest first, for the last `months` months."""
    months = max(1, min(months, 120))
    since = clock.now() - timedelta(days=31 * months)
    month = (
        "to_char(p.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        if db.is_postgres()
        else "strftime('%Y-%m', datetime(p.created_at, '+8 hours'))"
    )
    rows = await db.fetch(
        f"SELECT {month} AS month, t.kind AS kind, SUM(p.amount) AS total"
        " FROM ledger_posting p JOIN ledger_transaction t ON t.id = p.transaction_id"
        " WHERE p.owner_id = $1 AND p.created_at >= $2"
        f" GROUP BY {month}, t.kind",
        uuid.UUID(owner.id),
        since,
    )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["month"], {})[row["kind"]] = int(row["total"])
    return [
        MonthTotal(
            month=m,
            earned=k.get("EARN", 0),
            spent=-(k.get("SPEND", 0) + k.get("HOLD_POST", 0)),
            expired=-k.get("EXPIRE", 0),
            clawed_back=-k.get("CLAWBACK", 0),
        )
        for m, k in sorted(totals.items(), reverse=True)
    ]
