"""GraphQL types of the wallet."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from backend.accounts.subjects import Subject
from backend.api.connection import Connection
from backend.api.context import Info, selects_any
from backend.api.errors import Error, error_type
from backend.api.scalars import Int64
from backend.ledger import errors, queries


@strawberry.type(description="One movement of points: earned, spent, expired, clawed back.")
class LedgerEntry:
    id: strawberry.ID
    kind: str = strawberry.field(description="EARN, SPEND, HOLD_POST, EXPIRE or CLAWBACK.")
    amount: Int64 = strawberry.field(description="Signed: positive when points came in.")
    occurred_at: datetime
    cause: JSON = strawberry.field(
        description="What caused it (for an earning: the behaviour record)."
    )


@strawberry.type
class MonthlyTotal:
    month: str = strawberry.field(description="YYYY-MM, in Shanghai time.")
    earned: Int64
    spent: Int64
    expired: Int64
    clawed_back: Int64


# The wallet's fields read from its balance row.
BALANCE_FIELDS = frozenset({"balance", "held", "expiringWithin30Days"})


@strawberry.type(description="Carbon points (碳积分) of a person, household or business.")
class Wallet:
    owner_kind: str
    owner: strawberry.Private[Subject]
    # The balance row is read once, and only when a balance field is asked for: a history
    # page alone costs no summary read. `of` reads it at once when the selection names a balance
    # field, and the three fields are then plain values; otherwise the first field to be
    # resolved starts the read and all three await it.
    _summary: strawberry.Private[queries.WalletSummary | None] = None
    _reading: strawberry.Private[asyncio.Task[queries.WalletSummary] | None] = None

    def _field(self, pick: Callable[[queries.WalletSummary], int]) -> Any:
        """The field's value when the row has been read, else an awaitable of it."""
        if self._summary is not None:
            return Int64(pick(self._summary))
        if self._reading is None:
            self._reading = asyncio.ensure_future(queries.summary(self.owner))
        return self._later(self._reading, pick)

    @staticmethod
    async def _later(
        reading: Awaitable[queries.WalletSummary], pick: Callable[[queries.WalletSummary], int]
    ) -> Int64:
        return Int64(pick(await reading))

    @strawberry.field(description="Spendable now.")
    def balance(self) -> Int64:
        return self._field(lambda summary: summary.balance)  # type: ignore[no-any-return]

    @strawberry.field(description="Set aside for vouchers not yet confirmed.")
    def held(self) -> Int64:
        return self._field(lambda summary: summary.held)  # type: ignore[no-any-return]

    @strawberry.field
    def expiring_within_30_days(self) -> Int64:
        return self._field(lambda summary: summary.expiring_soon)  # type: ignore[no-any-return]

    @strawberry.field(description="Newest first.")
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[LedgerEntry]:
        page = await queries.history(self.owner, first=first, after=after)
        return Connection[LedgerEntry].from_page(
            page,
            lambda e: LedgerEntry(
                id=strawberry.ID(e.id),
                kind=e.kind,
                amount=Int64(e.amount),
                occurred_at=e.occurred_at,
                cause=e.cause,
            ),
        )

    @strawberry.field(description="Totals per month, newest first.")
    async def monthly_totals(self, info: Info, months: int = 12) -> list[MonthlyTotal]:
        return [
            MonthlyTotal(
                month=m.month,
                earned=Int64(m.earned),
                spent=Int64(m.spent),
                expired=Int64(m.expired),
                clawed_back=Int64(m.clawed_back),
            )
            for m in await queries.monthly_totals(self.owner, months=months)
        ]

    @classmethod
    async def of(cls, owner: Subject, info: Info | None = None) -> Wallet:
        """The owner's wallet; its balance row read now when `info`'s selection names one of
        the balance fields."""
        wallet = cls(owner_kind=owner.kind.value, owner=owner)
        if info is not None and selects_any(info, BALANCE_FIELDS):
            wallet._summary = await queries.summary(owner)
        return wallet


@strawberry.type
class ClawbackDone:
    transaction_id: strawberry.ID
    taken: Int64
    shortfall: Int64 = strawberry.field(
        description="Points of the earning already spent, held or expired."
    )


@error_type(errors.EarningNotFound)
@strawberry.type
class EarningNotFoundError(Error):
    pass


@error_type(errors.AlreadyClawedBack)
@strawberry.type
class AlreadyClawedBackError(Error):
    pass


@error_type(errors.InsufficientPoints)
@strawberry.type
class InsufficientPointsError(Error):
    available: Int64
    requested: Int64
