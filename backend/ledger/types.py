"""GraphQL types of the wallet."""

from __future__ import annotations

import asyncio
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from backend.accounts.subjects import Subject
from backend.api.connection import Connection
from backend.api.context import Info
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


@strawberry.type(description="Carbon points (碳积分) of a person, household or business.")
class Wallet:
    owner_kind: str
    owner: strawberry.Private[Subject]
    # The balance row is read once, and only when a balance field is asked for: a history
    # page alone costs no summary read.
    _summary: strawberry.Private[asyncio.Task[queries.WalletSummary] | None] = None

    def _read(self) -> asyncio.Task[queries.WalletSummary]:
        if self._summary is None:
            self._summary = asyncio.ensure_future(queries.summary(self.owner))
        return self._summary

    @strawberry.field(description="Spendable now.")
    async def balance(self) -> Int64:
        return Int64((await self._read()).balance)

    @strawberry.field(description="Set aside for vouchers not yet confirmed.")
    async def held(self) -> Int64:
        return Int64((await self._read()).held)

    @strawberry.field
    async def expiring_within_30_days(self) -> Int64:
        return Int64((await self._read()).expiring_soon)

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
    async def of(cls, owner: Subject) -> Wallet:
        return cls(owner_kind=owner.kind.value, owner=owner)


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
