"""GraphQL types of the wallet."""

from __future__ import annotations

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
    balance: Int64 = strawberry.field(description="Spendable now.")
    held: Int64 = strawberry.field(description="Set aside for vouchers not yet confirmed.")
    expiring_within_30_days: Int64
    owner: strawberry.Private[Subject]

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
        found = await queries.summary(owner)
        return cls(
            owner_kind=owner.kind.value,
            balance=Int64(found.balance),
            held=Int64(found.held),
            expiring_within_30_days=Int64(found.expiring_soon),
            owner=owner,
        )


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
