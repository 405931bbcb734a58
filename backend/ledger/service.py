"""Moving points (RELIABILITY.md 1-9): earn, spend, hold / post / void, expire, claw back.

Every function runs in its own transaction, or inside the caller's (a redemption's stock, hold and
voucher commit together). A subject account is locked (PostgreSQL row lock) before its lots are
read, so concurrent spends, holds and the expiry job serialise per account and never overdraw;
the balance decrement is conditional as well, and the database refuses a negative balance.
Lots are taken oldest-expiring first. Each movement is one ledger transaction whose postings sum to
zero, idempotent per (owner, key): a replay returns the first answer.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.accounts.subjects import Subject
from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.errors import IdempotencyKeyReused, InvalidInput
from backend.kit.faults import crash_point
from backend.kit.ids import new_public_id, parse_public_id
from backend.ledger.errors import (
    AlreadyClawedBack,
    EarningNotFound,
    HoldNotFound,
    HoldResolved,
    InsufficientPoints,
)
from backend.ledger.models import (
    AccountKind,
    Hold,
    HoldPart,
    HoldStatus,
    LedgerAccount,
    LedgerTransaction,
    Lot,
    TransactionKind,
)
from backend.ledger.notify import wallet_changed

SYSTEM_OWNERS = {
    AccountKind.ISSUANCE: uuid.UUID("00000000-0000-4000-8000-00000000f001"),
    AccountKind.EXPIRY: uuid.UUID("00000000-0000-4000-8000-00000000f002"),
    AccountKind.BURN: uuid.UUID("00000000-0000-4000-8000-00000000f003"),
    AccountKind.CLAWBACK: uuid.UUID("00000000-0000-4000-8000-00000000f004"),
}
MAX_VALIDITY_YEARS = 10
MAX_AMOUNT = 10**12


@dataclass(frozen=True)
class Movement:
    """The answer of a movement: its transaction, amount and (for an earning) its lot."""

    transaction_id: str
    kind: str
    amount: int
    lot_id: str | None = None
    expires_at: datetime | None = None
    replayed: bool = False


def default_expiry(earned_at: datetime) -> datetime:
    """The end of the 24th month after the month of earning, in Shanghai time."""
    local = earned_at.astimezone(clock.SHANGHAI)
    month_index = local.year * 12 + (local.month - 1) + 24
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    end = datetime(year, month + 1, last_day, tzinfo=clock.SHANGHAI) + timedelta(days=1)
    return end.astimezone(earned_at.tzinfo)


def _request_hash(kind: str, owner: Subject, payload: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"kind": kind, "owner": [owner.kind.value, owner.id], **payload},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(
            field="amount", reason="a whole number of points above zero", reason_zh="须为正整数积分"
        )


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 160:
        raise InvalidInput(
            field="idempotencyKey", reason="1 to 160 characters", reason_zh="须为 1 至 160 个字符"
        )


_system_ids: dict[AccountKind, int] = {}


async def _system_account(kind: AccountKind) -> int:
    if kind not in _system_ids:
        row = await LedgerAccount.get(kind=kind, owner_id=SYSTEM_OWNERS[kind]).only("id")
        _system_ids[kind] = row.id
    return _system_ids[kind]


async def _account(owner: Subject, *, lock: bool) -> LedgerAccount:
    """The owner's account, made on first use; row-locked when `lock` (inside a transaction)."""
    kind = AccountKind(owner.kind.value)
    await db.execute(
        "INSERT INTO ledger_account (public_id, kind, owner_id, balance, held, created_at)"
        " VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT (owner_id, kind) DO NOTHING",
        new_public_id(),
        kind.value,
        uuid.UUID(owner.id),
        clock.now(),
    )
    query = LedgerAccount.filter(owner_id=owner.id, kind=kind)
    if lock:
        query = query.select_for_update()
    account = await query.first()
    assert account is not None
    return account


async def _claim(
    *,
    owner: Subject,
    key: str,
    kind: TransactionKind,
    request_hash: str,
    cause: dict[str, Any],
    memo: str | None = None,
    parent_id: int | None = None,
) -> tuple[LedgerTransaction, bool]:
    """(transaction, replayed): claimed in the caller's transaction with ON CONFLICT."""
    _check_key(key)
    public_id = new_public_id()
    inserted = await db.fetch(
        "INSERT INTO ledger_transaction (public_id, kind, owner_id, idempotency_key, request_hash,"
        " cause, parent_id, memo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (owner_id, idempotency_key) DO NOTHING RETURNING id",
        public_id,
        kind.value,
        uuid.UUID(owner.id),
        key,
        request_hash,
        json.dumps(cause, default=str),
        parent_id,
        memo,
        clock.now(),
    )
    transaction = await LedgerTransaction.get(owner_id=owner.id, idempotency_key=key)
    if inserted:
        return transaction, False
    if transaction.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return transaction, True


async def _post(transaction_id: int, entries: list[tuple[int, uuid.UUID, int, int | None]]) -> None:
    """Postings (account, owner, amount, lot) of one transaction, in one statement."""
    if sum(amount for _, _, amount, _ in entries) != 0:
        raise AssertionError("postings must sum to zero")
    rows = [(account, owner, amount, lot) for account, owner, amount, lot in entries if amount]
    if not rows:
        return
    # One INSERT statement (not an executemany): PostgreSQL checks the zero sum per statement.
    values: list[object] = []
    groups = []
    for account, owner, amount, lot in rows:
        n = len(values)
        groups.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, ${n + 5}, ${n + 6})")
        values += [transaction_id, account, owner, amount, lot, clock.now()]
    await db.execute(
        "INSERT INTO ledger_posting (transaction_id, account_id, owner_id, amount, lot_id, created_at)"
        " VALUES " + ", ".join(groups),
        *values,
    )


async def _change_balance(account: LedgerAccount, *, available: int = 0, held: int = 0) -> None:
    """Conditional: never below zero, even if a lock were missed (RELIABILITY.md 3)."""
    changed = await db.execute(
        "UPDATE ledger_account SET balance = balance + $1, held = held + $2"
        " WHERE id = $3 AND balance + $1 >= 0 AND held + $2 >= 0",
        available,
        held,
        account.id,
    )
    if changed != 1:
        raise InsufficientPoints(available=account.balance, requested=-available)
    account.balance += available
    account.held += held


def _notify(owner: Subject) -> None:
    db.after_commit(lambda: wallet_changed(owner.id))


async def earn(
    *,
    owner: Subject,
    amount: int,
    idempotency_key: str,
    cause: dict[str, Any],
    expires_at: datetime | None = None,
) -> Movement:
    """Credit points from the issuance source into a new lot of the owner."""
    _check_amount(amount)
    now = clock.now()
    expiry = expires_at or default_expiry(now)
    if expiry <= now or expiry > now.replace(year=now.year + MAX_VALIDITY_YEARS):
        raise InvalidInput(
            field="expiresAt", reason="between now and ten years away", reason_zh="须在十年以内"
        )
    request = _request_hash(
        "EARN", owner, {"amount": amount, "cause": cause, "expires_at": expires_at}
    )
    async with db.transaction():
        transaction, replayed = await _claim(
            owner=owner,
            key=idempotency_key,
            kind=TransactionKind.EARN,
            request_hash=request,
            cause=cause,
        )
        if replayed:
            lot = await Lot.get(earn_transaction_id=transaction.id)
            return Movement(
                str(transaction.public_id),
                "EARN",
                lot.amount,
                str(lot.public_id),
                lot.expires_at,
                True,
            )
        account = await _account(owner, lock=False)
        lot = await Lot.create(
            public_id=new_public_id(),
            account_id=account.id,
            owner_id=owner.id,
            earn_transaction_id=transaction.id,
            amount=amount,
            remaining=amount,
            earned_at=now,
            expires_at=expiry,
        )
        await _post(
            transaction.id,
            [
                (
                    await _system_account(AccountKind.ISSUANCE),
                    SYSTEM_OWNERS[AccountKind.ISSUANCE],
                    -amount,
                    None,
                ),
                (account.id, uuid.UUID(owner.id), amount, lot.id),
            ],
        )
        await _change_balance(account, available=amount)
        crash_point("ledger.earn.before_commit")
        _notify(owner)
    return Movement(str(transaction.public_id), "EARN", amount, str(lot.public_id), expiry)


async def earn_many(entries: list[dict[str, Any]]) -> list[Movement]:
    """Several earnings in one transaction (all or none): dicts of `earn`'s keyword arguments."""
    async with db.transaction():
        results = [await earn(**entry) for entry in entries]
        crash_point("ledger.earn_many.before_commit")
        return results


async def _spendable_lots(account: LedgerAccount) -> list[Lot]:
    """Lots with points left, oldest expiry first (the account row is locked by the caller)."""
    return await Lot.filter(
        account_id=account.id,
        remaining__gt=0,
        expired_at__isnull=True,
        clawed_back_at__isnull=True,
        expires_at__gt=clock.now(),
    ).order_by("expires_at", "id")


async def _take(account: LedgerAccount, amount: int) -> list[tuple[Lot, int]]:
    """Take `amount` from the lots, oldest first; InsufficientPoints when they hold less."""
    await _expire_account(account)
    if account.balance < amount:
        raise InsufficientPoints(available=account.balance, requested=amount)
    taken: list[tuple[Lot, int]] = []
    left = amount
    for lot in await _spendable_lots(account):
        part = min(lot.remaining, left)
        changed = await db.execute(
            "UPDATE ledger_lot SET remaining = remaining - $1 WHERE id = $2 AND remaining >= $1",
            part,
            lot.id,
        )
        if changed != 1:
            raise InsufficientPoints(available=account.balance, requested=amount)
        taken.append((lot, part))
        left -= part
        if left == 0:
            return taken
    # The balance promised more than the lots hold: refuse rather than overdraw.
    raise InsufficientPoints(available=amount - left, requested=amount)


async def spend(
    *, owner: Subject, amount: int, idempotency_key: str, cause: dict[str, Any]
) -> Movement:
    """Burn points at once (oldest lots first), e.g. when points buy credits."""
    _check_amount(amount)
    request = _request_hash("SPEND", owner, {"amount": amount, "cause": cause})
    async with db.transaction():
        transaction, replayed = await _claim(
            owner=owner,
            key=idempotency_key,
            kind=TransactionKind.SPEND,
            request_hash=request,
            cause=cause,
        )
        if replayed:
            return Movement(str(transaction.public_id), "SPEND", amount, replayed=True)
        account = await _account(owner, lock=True)
        taken = await _take(account, amount)
        burn = await _system_account(AccountKind.BURN)
        entries: list[tuple[int, uuid.UUID, int, int | None]] = []
        for lot, part in taken:
            entries += [
                (account.id, uuid.UUID(owner.id), -part, lot.id),
                (burn, SYSTEM_OWNERS[AccountKind.BURN], part, None),
            ]
        await _post(transaction.id, entries)
        await _change_balance(account, available=-amount)
        crash_point("ledger.spend.before_commit")
        _notify(owner)
    return Movement(str(transaction.public_id), "SPEND", amount)


async def place_hold(
    *, owner: Subject, amount: int, idempotency_key: str, cause: dict[str, Any]
) -> Hold:
    """Set points aside (two-phase): they leave `balance` for `held` until posted or voided."""
    _check_amount(amount)
    _check_key(idempotency_key)
    request = _request_hash("HOLD", owner, {"amount": amount, "cause": cause})
    async with db.transaction():
        account = await _account(owner, lock=True)
        inserted = await db.fetch(
            "INSERT INTO ledger_hold (public_id, account_id, owner_id, amount, status, idempotency_key,"
            " request_hash, cause, created_at) VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8)"
            " ON CONFLICT (owner_id, idempotency_key) DO NOTHING RETURNING id",
            new_public_id(),
            account.id,
            uuid.UUID(owner.id),
            amount,
            idempotency_key,
            request,
            json.dumps(cause, default=str),
            clock.now(),
        )
        hold = await Hold.get(owner_id=owner.id, idempotency_key=idempotency_key)
        if not inserted:
            if hold.request_hash != request:
                raise IdempotencyKeyReused()
            return hold
        taken = await _take(account, amount)
        await HoldPart.bulk_create(
            [
                HoldPart(hold_id=hold.id, lot_id=lot.id, owner_id=owner.id, amount=part)
                for lot, part in taken
            ]
        )
        await _change_balance(account, available=-amount, held=amount)
        _notify(owner)
    return hold


async def _pending_hold(owner: Subject, hold_id: str) -> tuple[Hold, LedgerAccount]:
    public_id = parse_public_id(hold_id)
    hold = await Hold.get_or_none(public_id=public_id, owner_id=owner.id) if public_id else None
    if hold is None:
        raise HoldNotFound()
    account = await _account(owner, lock=True)
    return hold, account


async def _resolve(hold: Hold, status: HoldStatus) -> None:
    """Mark the hold resolved, exactly once (conditional on PENDING)."""
    changed = await Hold.filter(id=hold.id, status=HoldStatus.PENDING).update(
        status=status, resolved_at=clock.now()
    )
    if not changed:
        current = await Hold.get(id=hold.id)
        raise HoldResolved(status=current.status.value)
    hold.status = status


async def post_hold(*, owner: Subject, hold_id: str) -> Movement:
    """Burn the held points (Shenzhen: used points are cancelled). Never more than was held."""
    async with db.transaction():
        hold, account = await _pending_hold(owner, hold_id)
        if hold.status == HoldStatus.POSTED and hold.transaction_id:
            transaction = await LedgerTransaction.get(id=hold.transaction_id)
            return Movement(str(transaction.public_id), "HOLD_POST", hold.amount, replayed=True)
        await _resolve(hold, HoldStatus.POSTED)
        parts = await HoldPart.filter(hold_id=hold.id)
        transaction, _ = await _claim(
            owner=owner,
            key=f"hold-post:{hold.public_id}",
            kind=TransactionKind.HOLD_POST,
            request_hash=_request_hash("HOLD_POST", owner, {"hold": str(hold.public_id)}),
            cause={"type": "hold", "id": str(hold.public_id), **(hold.cause or {})},
        )
        burn = await _system_account(AccountKind.BURN)
        entries: list[tuple[int, uuid.UUID, int, int | None]] = []
        for part in parts:
            entries += [
                (account.id, uuid.UUID(owner.id), -part.amount, part.lot_id),
                (burn, SYSTEM_OWNERS[AccountKind.BURN], part.amount, None),
            ]
        assert sum(p.amount for p in parts) == hold.amount
        await _post(transaction.id, entries)
        await Hold.filter(id=hold.id).update(transaction_id=transaction.id)
        await _change_balance(account, held=-hold.amount)
        _notify(owner)
    return Movement(str(transaction.public_id), "HOLD_POST", hold.amount)


async def void_hold(*, owner: Subject, hold_id: str) -> Hold:
    """Release the held points to the lots they came from; points of a lot that expired (or was
    clawed back) meanwhile go to the expiry (or clawback) account instead."""
    async with db.transaction():
        hold, account = await _pending_hold(owner, hold_id)
        if hold.status == HoldStatus.VOIDED:
            return hold
        await _resolve(hold, HoldStatus.VOIDED)
        parts = await HoldPart.filter(hold_id=hold.id)
        lots = {lot.id: lot for lot in await Lot.filter(id__in=[p.lot_id for p in parts])}
        returned = 0
        ended: dict[AccountKind, list[HoldPart]] = {
            AccountKind.EXPIRY: [],
            AccountKind.CLAWBACK: [],
        }
        for part in parts:
            lot = lots[part.lot_id]
            if lot.clawed_back_at is not None:
                ended[AccountKind.CLAWBACK].append(part)
            elif lot.expired_at is not None:
                ended[AccountKind.EXPIRY].append(part)
            else:
                await db.execute(
                    "UPDATE ledger_lot SET remaining = remaining + $1 WHERE id = $2",
                    part.amount,
                    lot.id,
                )
                returned += part.amount
        for sink, sink_parts in ended.items():
            if not sink_parts:
                continue
            kind = (
                TransactionKind.EXPIRE if sink == AccountKind.EXPIRY else TransactionKind.CLAWBACK
            )
            transaction, _ = await _claim(
                owner=owner,
                key=f"hold-void-{sink.value.lower()}:{hold.public_id}",
                kind=kind,
                request_hash=_request_hash(kind.value, owner, {"hold": str(hold.public_id)}),
                cause={"type": "voided_hold", "id": str(hold.public_id)},
            )
            sink_id = await _system_account(sink)
            entries: list[tuple[int, uuid.UUID, int, int | None]] = []
            for part in sink_parts:
                entries += [
                    (account.id, uuid.UUID(owner.id), -part.amount, part.lot_id),
                    (sink_id, SYSTEM_OWNERS[sink], part.amount, None),
                ]
            await _post(transaction.id, entries)
        await _change_balance(account, available=returned, held=-hold.amount)
        _notify(owner)
    return hold


async def _expire_account(account: LedgerAccount) -> int:
    """Expire the account's due lots (the account row is locked by the caller); returns points."""
    now = clock.now()
    due = await Lot.filter(account_id=account.id, expired_at__isnull=True, expires_at__lte=now)
    if not due:
        return 0
    owner = Subject(kind=account.kind, id=str(account.owner_id))  # type: ignore[arg-type]
    expiry = await _system_account(AccountKind.EXPIRY)
    total = 0
    for lot in due:
        await Lot.filter(id=lot.id).update(expired_at=now, remaining=0)
        if lot.remaining == 0:
            continue
        transaction, replayed = await _claim(
            owner=owner,
            key=f"expire:{lot.public_id}",
            kind=TransactionKind.EXPIRE,
            request_hash=_request_hash("EXPIRE", owner, {"lot": str(lot.public_id)}),
            cause={"type": "lot", "id": str(lot.public_id)},
        )
        if replayed:
            continue
        await _post(
            transaction.id,
            [
                (account.id, account.owner_id, -lot.remaining, lot.id),
                (expiry, SYSTEM_OWNERS[AccountKind.EXPIRY], lot.remaining, None),
            ],
        )
        total += lot.remaining
    if total:
        await _change_balance(account, available=-total)
        db.after_commit(lambda: wallet_changed(str(account.owner_id)))
    return total


async def expire_due_lots(limit: int = 1000) -> int:
    """Job: expire what is left of lots past their expiry, account by account; idempotent and
    safe beside concurrent spending (each account is locked while its lots expire)."""
    accounts = (
        await Lot.filter(expired_at__isnull=True, expires_at__lte=clock.now())
        .limit(limit)
        .values_list("account_id", flat=True)
    )
    total = 0
    for account_id in sorted(set(accounts)):
        async with db.transaction():
            account = await LedgerAccount.filter(id=account_id).select_for_update().first()
            if account is not None:
                total += await _expire_account(account)
    return total


@dataclass(frozen=True)
class Clawback:
    transaction_id: str
    taken: int
    shortfall: int


async def clawback(*, actor: Actor, earning_id: str, reason: str) -> Clawback:
    """The authority takes back what remains of an earning found fraudulent; what was already
    spent, held or expired is recorded as the shortfall. Never makes a balance negative."""
    require_kind(actor, "authority")
    if not reason or not reason.strip() or len(reason) > 500:
        raise InvalidInput(
            field="reason", reason="1 to 500 characters", reason_zh="须为 1 至 500 个字符"
        )
    public_id = parse_public_id(earning_id)
    async with db.transaction():
        earning = (
            await LedgerTransaction.get_or_none(public_id=public_id, kind=TransactionKind.EARN)
            if public_id
            else None
        )
        if earning is None:
            raise EarningNotFound()
        lot = await Lot.get(earn_transaction_id=earning.id)
        account = await LedgerAccount.filter(id=lot.account_id).select_for_update().first()
        assert account is not None
        owner = Subject(kind=account.kind, id=str(account.owner_id))  # type: ignore[arg-type]
        await _expire_account(account)
        lot = await Lot.get(id=lot.id)
        if lot.clawed_back_at is not None:
            raise AlreadyClawedBack()
        taken = lot.remaining
        shortfall = lot.amount - taken
        transaction, _ = await _claim(
            owner=owner,
            key=f"clawback:{earning.public_id}",
            kind=TransactionKind.CLAWBACK,
            request_hash=_request_hash("CLAWBACK", owner, {"earning": str(earning.public_id)}),
            cause={"type": "earning", "id": str(earning.public_id)},
            memo=reason.strip(),
            parent_id=earning.id,
        )
        await Lot.filter(id=lot.id).update(remaining=0, clawed_back_at=clock.now())
        if taken:
            await _post(
                transaction.id,
                [
                    (account.id, account.owner_id, -taken, lot.id),
                    (
                        await _system_account(AccountKind.CLAWBACK),
                        SYSTEM_OWNERS[AccountKind.CLAWBACK],
                        taken,
                        None,
                    ),
                ],
            )
            await _change_balance(account, available=-taken)
        await audit.record(
            actor=actor,
            action="points.clawed_back",
            object_type="ledger_transaction",
            object_id=str(earning.public_id),
            details={"reason": reason.strip(), "taken": taken, "shortfall": shortfall},
        )
        _notify(owner)
    return Clawback(str(transaction.public_id), taken, shortfall)
