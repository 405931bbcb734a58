"""Reconciliation of the ledger (RELIABILITY.md 2): each check returns what it found wrong."""

from __future__ import annotations

from backend.kit import db

SUBJECTS = "('PERSON', 'HOUSEHOLD', 'BUSINESS')"


async def _rows(sql: str) -> list[dict]:
    return await db.fetch(sql)


async def unbalanced_transactions() -> list[str]:
    rows = await _rows(
        "SELECT transaction_id, SUM(amount) AS total FROM ledger_posting"
        " GROUP BY transaction_id HAVING SUM(amount) <> 0"
    )
    return [f"transaction {r['transaction_id']} sums to {r['total']}" for r in rows]


async def balances_against_postings() -> list[str]:
    rows = await _rows(
        "SELECT a.id, a.balance + a.held AS stored, COALESCE(SUM(p.amount), 0) AS posted"
        " FROM ledger_account a LEFT JOIN ledger_posting p ON p.account_id = a.id"
        f" WHERE a.kind IN {SUBJECTS} GROUP BY a.id, a.balance, a.held"
        " HAVING a.balance + a.held <> COALESCE(SUM(p.amount), 0)"
    )
    return [
        f"account {r['id']}: balance + held {r['stored']} but postings {r['posted']}" for r in rows
    ]


async def balances_against_lots() -> list[str]:
    rows = await _rows(
        "SELECT a.id, a.balance, COALESCE(SUM(l.remaining), 0) AS in_lots"
        " FROM ledger_account a LEFT JOIN ledger_lot l ON l.account_id = a.id"
        f" WHERE a.kind IN {SUBJECTS} GROUP BY a.id, a.balance"
        " HAVING a.balance <> COALESCE(SUM(l.remaining), 0)"
    )
    return [f"account {r['id']}: balance {r['balance']} but lots hold {r['in_lots']}" for r in rows]


async def held_against_holds() -> list[str]:
    rows = await _rows(
        "SELECT a.id, a.held, COALESCE(SUM(h.amount), 0) AS pending"
        " FROM ledger_account a LEFT JOIN ledger_hold h ON h.account_id = a.id AND h.status = 'PENDING'"
        f" WHERE a.kind IN {SUBJECTS} GROUP BY a.id, a.held"
        " HAVING a.held <> COALESCE(SUM(h.amount), 0)"
    )
    problems = [
        f"account {r['id']}: held {r['held']} but pending holds {r['pending']}" for r in rows
    ]
    parts = await _rows(
        "SELECT h.id, h.amount, COALESCE(SUM(p.amount), 0) AS parts FROM ledger_hold h"
        " LEFT JOIN ledger_hold_part p ON p.hold_id = h.id WHERE h.status <> 'VOIDED'"
        " GROUP BY h.id, h.amount HAVING h.amount <> COALESCE(SUM(p.amount), 0)"
    )
    problems += [f"hold {r['id']}: amount {r['amount']} but parts {r['parts']}" for r in parts]
    posted = await _rows(
        "SELECT id FROM ledger_hold WHERE status = 'POSTED' AND transaction_id IS NULL"
    )
    problems += [f"hold {r['id']}: posted without a transaction" for r in posted]
    return problems


async def lots_against_postings() -> list[str]:
    rows = await _rows(
        "SELECT l.id, l.remaining, COALESCE(p.total, 0) AS posted, COALESCE(h.total, 0) AS held"
        " FROM ledger_lot l"
        " LEFT JOIN (SELECT lot_id, SUM(amount) AS total FROM ledger_posting"
        "   WHERE lot_id IS NOT NULL GROUP BY lot_id) p ON p.lot_id = l.id"
        " LEFT JOIN (SELECT hp.lot_id, SUM(hp.amount) AS total FROM ledger_hold_part hp"
        "   JOIN ledger_hold hh ON hh.id = hp.hold_id WHERE hh.status = 'PENDING'"
        "   GROUP BY hp.lot_id) h ON h.lot_id = l.id"
        " WHERE COALESCE(p.total, 0) <> l.remaining + COALESCE(h.total, 0)"
    )
    return [
        f"lot {r['id']}: postings {r['posted']} but remaining {r['remaining']} + held {r['held']}"
        for r in rows
    ]


async def nothing_negative() -> list[str]:
    accounts = await _rows(
        f"SELECT id FROM ledger_account WHERE kind IN {SUBJECTS} AND (balance < 0 OR held < 0)"
    )
    lots = await _rows("SELECT id FROM ledger_lot WHERE remaining < 0 OR remaining > amount")
    return [f"account {r['id']} is negative" for r in accounts] + [
        f"lot {r['id']} is out of range" for r in lots
    ]


CHECKS = [
    ("zero-sum transactions", unbalanced_transactions),
    ("balances = postings", balances_against_postings),
    ("balances = lots", balances_against_lots),
    ("holds consistent", held_against_holds),
    ("lots = postings", lots_against_postings),
    ("nothing negative", nothing_negative),
]
