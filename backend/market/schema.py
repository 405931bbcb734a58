"""GraphQL of the credit market: listings, orders paid through the provider, refunds, points for
credits, the points-to-credit ratio and the reconciliation's findings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import (
    Error,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    error_type,
    returns_errors,
)
from backend.api.scalars import Int64
from backend.credits.types import BlockNotMovableError, NotEnoughUnitsError
from backend.ledger.types import InsufficientPointsError
from backend.market import errors, models, service

ListingCurrency = models.ListingCurrency
ListingStatus = models.ListingStatus
OrderStatus = models.OrderStatus
strawberry.enum(ListingCurrency, name="ListingCurrency")
strawberry.enum(ListingStatus, name="ListingStatus")
strawberry.enum(OrderStatus, name="CreditOrderStatus")


@strawberry.type(name="CreditListing", description="Units offered for sale (public).")
class CreditListingType:
    id: strawberry.ID
    seller: str = strawberry.field(description="The organisation's name, or 'individual'.")
    currency: ListingCurrency
    price_fen_per_kg: Int64 | None = strawberry.field(description="FEN listings.")
    points_per_kg: Int64 | None = strawberry.field(
        description="POINTS listings: the authority's ratio in force now."
    )
    listed_kg: Int64
    available_kg: Int64
    status: ListingStatus
    created_at: datetime

    @classmethod
    def from_row(
        cls, row: models.CreditListing, seller: str, ratio: int | None
    ) -> CreditListingType:
        points = row.currency == ListingCurrency.POINTS
        return cls(
            id=strawberry.ID(str(row.public_id)),
            seller=seller,
            currency=row.currency,
            price_fen_per_kg=Int64(row.price_fen_per_kg) if row.price_fen_per_kg else None,
            points_per_kg=Int64(ratio) if points and ratio else None,
            listed_kg=Int64(row.listed_kg),
            available_kg=Int64(row.available_kg),
            status=row.status,
            created_at=row.created_at,
        )


@strawberry.type(name="CreditOrder", description="An order for units: yours, as buyer or seller.")
class CreditOrderType:
    id: strawberry.ID
    listing_id: strawberry.ID
    quantity_kg: Int64
    currency: ListingCurrency
    amount: Int64 = strawberry.field(description="Fen, or points for a points order.")
    status: OrderStatus
    pay_url: str | None = strawberry.field(
        description="Where the buyer pays; null until the provider answered (order again with the same key)."
    )
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None

    @classmethod
    def from_row(cls, row: models.CreditOrder, listing_public_id: str) -> CreditOrderType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            listing_id=strawberry.ID(listing_public_id),
            quantity_kg=Int64(row.quantity_kg),
            currency=row.currency,
            amount=Int64(row.amount),
            status=row.status,
            pay_url=row.pay_url,
            created_at=row.created_at,
            expires_at=row.expires_at,
            paid_at=row.paid_at,
        )


@strawberry.type(name="CreditSales", description="What the account you act for has sold.")
class CreditSalesType:
    proceeds_fen: Int64 = strawberry.field(description="Paid orders less refunded ones, in fen.")
    orders: list[CreditOrderType]


@strawberry.type(name="PaymentMismatch", description="A difference the reconciliation found.")
class PaymentMismatchType:
    day: str
    provider: str
    payment_id: str
    order_number: str
    problem: str
    found_at: datetime


@error_type(errors.WrongOrderState)
@strawberry.type
class WrongOrderStateError(Error):
    status: str
    step: str


@error_type(errors.UnitsMovedOn)
@strawberry.type
class UnitsMovedOnError(Error):
    pass


@strawberry.input
class ListCreditsInput:
    block_id: strawberry.ID
    quantity_kg: int
    idempotency_key: str = strawberry.field(
        description="A replay with the same key returns the first answer and moves nothing again."
    )
    currency: ListingCurrency = ListingCurrency.FEN
    price_fen_per_kg: int | None = strawberry.field(
        default=None, description="Required for FEN listings; POINTS listings sell at the ratio."
    )


@strawberry.input
class WithdrawListingInput:
    listing_id: strawberry.ID


@strawberry.input
class OrderCreditsInput:
    listing_id: strawberry.ID
    quantity_kg: int
    idempotency_key: str


@strawberry.input
class RefundCreditOrderInput:
    order_id: strawberry.ID


@strawberry.input
class SetPointsPerKgInput:
    points_per_kg: int
    effective_at: datetime | None = strawberry.field(default=None, description="Now if omitted.")


@strawberry.type(name="PointsPerKgVersion")
class PointsPerKgVersion:
    points_per_kg: Int64
    effective_at: datetime


ListingPayload = Annotated[
    CreditListingType
    | InvalidInputError
    | NotFoundError
    | BlockNotMovableError
    | NotEnoughUnitsError
    | WrongOrderStateError
    | IdempotencyKeyReusedError,
    strawberry.union("ListingPayload"),
]
OrderPayload = Annotated[
    CreditOrderType
    | InvalidInputError
    | NotFoundError
    | NotEnoughUnitsError
    | IdempotencyKeyReusedError
    | InsufficientPointsError
    | WrongOrderStateError
    | UnitsMovedOnError,
    strawberry.union("CreditOrderPayload"),
]
PointsPerKgPayload = Annotated[
    PointsPerKgVersion | InvalidInputError, strawberry.union("PointsPerKgPayload")
]


async def _listing(row: models.CreditListing) -> CreditListingType:
    from backend.accounts import queries as accounts

    names = await accounts.public_names({str(row.seller_id)})
    ratio = await service.points_per_kg()
    return CreditListingType.from_row(row, names[str(row.seller_id)], ratio)


async def _orders(rows: list[models.CreditOrder]) -> list[CreditOrderType]:
    ids = {row.listing_id for row in rows}  # type: ignore[attr-defined]
    listings = dict(await models.CreditListing.filter(id__in=ids).values_list("id", "public_id"))
    return [CreditOrderType.from_row(r, str(listings[r.listing_id])) for r in rows]  # type: ignore[attr-defined]


@strawberry.type
class Query:
    @strawberry.field(description="Units on sale now, newest first (public).")
    async def credit_listings(self) -> list[CreditListingType]:
        ratio = await service.points_per_kg()
        return [
            CreditListingType.from_row(row, seller, ratio)
            for row, seller in await service.active_listings()
        ]

    @strawberry.field(description="Points per kg of credit when points buy units (public).")
    async def points_per_kg(self) -> Int64:
        return Int64(await service.points_per_kg())

    @strawberry.field(description="Orders of the holding account you act for, as buyer.")
    async def my_credit_orders(self, info: Info) -> list[CreditOrderType]:
        return await _orders(await service.orders_of(info.context.actor))

    @strawberry.field(description="One order, to its buyer or seller; null for anyone else.")
    async def credit_order(self, info: Info, id: strawberry.ID) -> CreditOrderType | None:
        row = await service.order_for(info.context.actor, str(id))
        return (await _orders([row]))[0] if row else None

    @strawberry.field(description="Proceeds and orders of the holding account you act for.")
    async def my_credit_sales(self, info: Info) -> CreditSalesType:
        total, rows = await service.sales_of(info.context.actor)
        return CreditSalesType(proceeds_fen=Int64(total), orders=await _orders(rows))

    @strawberry.field(description="What the daily payment reconciliation found. Authority only.")
    async def payment_mismatches(self, info: Info) -> list[PaymentMismatchType]:
        return [
            PaymentMismatchType(
                day=row.day,
                provider=row.provider,
                payment_id=row.payment_id,
                order_number=row.order_number,
                problem=row.problem,
                found_at=row.found_at,
            )
            for row in await service.mismatches(info.context.actor)
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="List units for sale: they stay yours, frozen, until sold or withdrawn. POINTS listings (the points pool) are the authority's."
    )
    @returns_errors
    async def list_credits(self, info: Info, input: ListCreditsInput) -> ListingPayload:
        row = await service.list_credits(
            actor=info.context.actor,
            block_id=str(input.block_id),
            quantity=input.quantity_kg,
            currency=input.currency.value,
            price_fen_per_kg=input.price_fen_per_kg,
            idempotency_key=input.idempotency_key,
        )
        return await _listing(row)

    @strawberry.mutation(description="Take your unsold listed units back.")
    @returns_errors
    async def withdraw_listing(self, info: Info, input: WithdrawListingInput) -> ListingPayload:
        row = await service.withdraw_listing(
            actor=info.context.actor, listing_id=str(input.listing_id)
        )
        return await _listing(row)

    @strawberry.mutation(
        description="Order units of a listing: they are locked for you until you pay at payUrl or the order expires."
    )
    @returns_errors
    async def order_credits(self, info: Info, input: OrderCreditsInput) -> OrderPayload:
        row = await service.order_credits(
            actor=info.context.actor,
            listing_id=str(input.listing_id),
            quantity=input.quantity_kg,
            idempotency_key=input.idempotency_key,
        )
        return (await _orders([row]))[0]

    @strawberry.mutation(
        description="Buy units of the points pool with your points at the authority's ratio: the points are burned and the units are yours at once."
    )
    @returns_errors
    async def buy_credits_with_points(self, info: Info, input: OrderCreditsInput) -> OrderPayload:
        row = await service.buy_with_points(
            actor=info.context.actor,
            listing_id=str(input.listing_id),
            quantity=input.quantity_kg,
            idempotency_key=input.idempotency_key,
        )
        return (await _orders([row]))[0]

    @strawberry.mutation(
        description="Refund a paid order whose units the buyer still holds. Authority only."
    )
    @returns_errors
    async def refund_credit_order(self, info: Info, input: RefundCreditOrderInput) -> OrderPayload:
        row = await service.refund_order(actor=info.context.actor, order_id=str(input.order_id))
        return (await _orders([row]))[0]

    @strawberry.mutation(description="Set points per kg of credit from a time on. Authority only.")
    @returns_errors
    async def set_points_per_kg(self, info: Info, input: SetPointsPerKgInput) -> PointsPerKgPayload:
        row = await service.set_points_per_kg(
            actor=info.context.actor, points=input.points_per_kg, effective_at=input.effective_at
        )
        return PointsPerKgVersion(
            points_per_kg=Int64(row.points_per_kg), effective_at=row.effective_at
        )
