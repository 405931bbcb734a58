"""Set-based earning for ingestion's hot path (PostgreSQL only; SQLite earns one by one).

One call credits many earnings in a handful of statements whatever their number: it touches
ledger_account (creates missing subject accounts, locks the touched ones in id order, adds to their
balances), ledger_transaction (one EARN per entry, idempotent on (owner, key)), ledger_lot (one lot
each) and ledger_posting (issuance source -amount, owner +amount). The same rows `service.earn`
writes, so verify-ledger and replays through `service.earn` see no difference.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from backend.accounts.subjects import Subject
from backend.kit import clock, db
from backend.kit.errors import IdempotencyKeyReused
from backend.kit.ids import new_public_id
from backend.ledger.models import AccountKind
from backend.ledger.notify import wallets_changed
from backend.ledger.service import (
    SYSTEM_OWNERS,
    _check_amount,
    _check_key,
    _request_hash,
    _system_account,
    default_expiry,
)


@dataclass(frozen=True)
class Earning:
    owner: Subject
    amount: int
    idempotency_key: str
    cause: dict[str, Any]


async def earn_many_set_based(entries: list[Earning]) -> dict[str, str]:
    """Credit `entries` inside the caller's transaction; returns key -> EARN transaction public id.

    A key already used for the same request returns its first transaction; for another request,
    IdempotencyKeyReused (the whole batch rolls back).
    """
    if not entries:
        return {}
    if not db.is_postgres():
        raise RuntimeError("the set-based path needs PostgreSQL")
    for entry in entries:
        _check_amount(entry.amount)
        _check_key(entry.idempotency_key)
    now = clock.now()
    expiry = default_expiry(now)
    owners = sorted({(e.owner.id, e.owner.kind.value) for e in entries})
    await db.execute(
        "INSERT INTO ledger_account (public_id, kind, owner_id, balance, held, created_at)"
        " SELECT p, k, o, 0, 0, $4 FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(p, k, o)"
        " ON CONFLICT (owner_id, kind) DO NOTHING",
        [new_public_id() for _ in owners],
        [k for _, k in owners],
        [uuid.UUID(o) for o, _ in owners],
        now,
    )
    accounts = await db.fetch(
        "SELECT id, owner_id, kind FROM ledger_account WHERE owner_id = ANY($1::uuid[])"
        " AND kind = ANY($2::text[]) ORDER BY id FOR UPDATE",
        [uuid.UUID(o) for o, _ in owners],
        sorted({k for _, k in owners}),
    )
    account_of = {(str(a["owner_id"]), a["kind"]): int(a["id"]) for a in accounts}
    hashes = [
        _request_hash("EARN", e.owner, {"amount": e.amount, "cause": e.cause, "expires_at": None})
        for e in entries
    ]
    inserted = await db.fetch(
        "INSERT INTO ledger_transaction (public_id, kind, owner_id, idempotency_key, request_hash,"
        " cause, created_at)"
        " SELECT p, 'EARN', o, k, h, c::jsonb, $6 FROM unnest($1::uuid[], $2::uuid[], $3::text[],"
        " $4::text[], $5::text[]) AS t(p, o, k, h, c)"
        " ON CONFLICT (owner_id, idempotency_key) DO NOTHING RETURNING id, public_id, owner_id, idempotency_key",
        [new_public_id() for _ in entries],
        [uuid.UUID(e.owner.id) for e in entries],
        [e.idempotency_key for e in entries],
        hashes,
        [json.dumps(e.cause, default=str) for e in entries],
        now,
    )
    fresh = {(str(r["owner_id"]), r["idempotency_key"]): r for r in inserted}
    result: dict[str, str] = {}
    replayed = [e for e in entries if (e.owner.id, e.idempotency_key) not in fresh]
    if replayed:
        existing = await db.fetch(
            "SELECT public_id, owner_id, idempotency_key, request_hash FROM ledger_transaction"
            " WHERE (owner_id, idempotency_key) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
            [uuid.UUID(e.owner.id) for e in replayed],
            [e.idempotency_key for e in replayed],
        )
        by_key = {(str(r["owner_id"]), r["idempotency_key"]): r for r in existing}
        for entry in replayed:
            row = by_key[(entry.owner.id, entry.idempotency_key)]
            if row["request_hash"] != hashes[entries.index(entry)]:
                raise IdempotencyKeyReused()
            result[entry.idempotency_key] = str(row["public_id"])
    new = [e for e in entries if (e.owner.id, e.idempotency_key) in fresh]
    if not new:
        return result
    transaction_ids = [int(fresh[(e.owner.id, e.idempotency_key)]["id"]) for e in new]
    account_ids = [account_of[(e.owner.id, e.owner.kind.value)] for e in new]
    lots = await db.fetch(
        "INSERT INTO ledger_lot (public_id, account_id, owner_id, earn_transaction_id, amount,"
        " remaining, earned_at, expires_at)"
        " SELECT p, a, o, t, n, n, $6, $7 FROM unnest($1::uuid[], $2::bigint[], $3::uuid[],"
        " $4::bigint[], $5::bigint[]) AS x(p, a, o, t, n) RETURNING id, earn_transaction_id",
        [new_public_id() for _ in new],
        account_ids,
        [uuid.UUID(e.owner.id) for e in new],
        transaction_ids,
        [e.amount for e in new],
        now,
        expiry,
    )
    lot_of = {int(r["earn_transaction_id"]): int(r["id"]) for r in lots}
    issuance = await _system_account(AccountKind.ISSUANCE)
    issuance_owner = SYSTEM_OWNERS[AccountKind.ISSUANCE]
    posting_tx, posting_account, posting_owner, posting_amount, posting_lot = [], [], [], [], []
    for entry, tx_id, account_id in zip(new, transaction_ids, account_ids, strict=True):
        posting_tx += [tx_id, tx_id]
        posting_account += [issuance, account_id]
        posting_owner += [issuance_owner, uuid.UUID(entry.owner.id)]
        posting_amount += [-entry.amount, entry.amount]
        posting_lot += [None, lot_of[tx_id]]
    await db.execute(
        "INSERT INTO ledger_posting (transaction_id, account_id, owner_id, amount, lot_id, created_at)"
        " SELECT t, a, o, n, l, $6 FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::bigint[],"
        " $5::bigint[]) AS x(t, a, o, n, l)",
        posting_tx,
        posting_account,
        posting_owner,
        posting_amount,
        posting_lot,
        now,
    )
    totals: dict[int, int] = {}
    for entry, account_id in zip(new, account_ids, strict=True):
        totals[account_id] = totals.get(account_id, 0) + entry.amount
    ids = sorted(totals)
    await db.execute(
        "UPDATE ledger_account a SET balance = a.balance + d.total"
        " FROM unnest($1::bigint[], $2::bigint[]) AS d(id, total) WHERE a.id = d.id",
        ids,
        [totals[i] for i in ids],
    )
    for entry in new:
        result[entry.idempotency_key] = str(
            fresh[(entry.owner.id, entry.idempotency_key)]["public_id"]
        )
    changed = sorted({e.owner.id for e in new})
    db.after_commit(lambda: wallets_changed(changed))
    return result
