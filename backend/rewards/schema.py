"""Query and Mutation fields of rewards."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry

from backend.accounts.subjects import subject_for, subjects_of
from backend.api.connection import Connection
from backend.api.context import Info
from backend.api.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    returns_errors,
)
from backend.api.node import optional_organisation_id
from backend.api.scalars import Int64
from backend.ledger.types import InsufficientPointsError
from backend.rewards import service
from backend.rewards.models import Offer
from backend.rewards.types import (
    LimitReachedError,
    OfferStatus,
    OfferType,
    OfferUnavailableError,
    OutOfStockError,
    SettlementLine,
    UnusedPolicy,
    VoucherAlreadyUsedError,
    VoucherEndedError,
    VoucherNotFoundError,
    VoucherToken,
    VoucherType,
    WrongOfferStateError,
)


@strawberry.input
class CreateOfferInput:
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    image_url: str | None = None
    category: str
    price_points: Int64
    total_stock: int
    per_person_limit: int
    redeem_from: datetime
    redeem_until: datetime
    voucher_valid_days: int
    unused_policy: UnusedPolicy


@strawberry.input
class SetOfferStatusInput:
    offer_id: strawberry.ID
    status: OfferStatus


@strawberry.input
class RedeemOfferInput:
    offer_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="One per tap: a retry with it returns the same voucher."
    )
    household_id: strawberry.ID | None = None


@strawberry.input
class ConfirmVoucherInput:
    token: str | None = strawberry.field(default=None, description="The scanned QR token.")
    code: str | None = strawberry.field(default=None, description="Or the code read out.")


@strawberry.input
class CancelVoucherInput:
    voucher_id: strawberry.ID


OfferPayload = Annotated[
    OfferType | InvalidInputError | NotFoundError | WrongOfferStateError,
    strawberry.union("OfferPayload"),
]
RedeemOfferPayload = Annotated[
    VoucherType
    | InsufficientPointsError
    | OutOfStockError
    | LimitReachedError
    | OfferUnavailableError
    | NotFoundError
    | IdempotencyKeyReusedError
    | InvalidInputError,
    strawberry.union("RedeemOfferPayload"),
]
VoucherPayload = Annotated[
    VoucherType
    | VoucherNotFoundError
    | VoucherAlreadyUsedError
    | VoucherEndedError
    | InvalidInputError,
    strawberry.union("VoucherPayload"),
]


async def _voucher(row: object) -> VoucherType:
    from backend.rewards.models import Voucher

    assert isinstance(row, Voucher)
    offer = await Offer.get(id=row.offer_id)  # type: ignore[attr-defined]
    return VoucherType.from_row(row, offer)


@strawberry.type
class Query:
    @strawberry.field(description="Active offers, newest first (public).")
    async def offers(
        self,
        category: str | None = None,
        merchant_id: strawberry.ID | None = None,
        max_price: Int64 | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OfferType]:
        page = await service.catalogue(
            category=category,
            merchant_id=optional_organisation_id(merchant_id, field="merchantId"),
            max_price=max_price,
            first=first,
            after=after,
        )
        return Connection[OfferType].from_page(page, OfferType.from_values)

    @strawberry.field(description="Your vouchers and your households', newest first.")
    async def my_vouchers(self, info: Info) -> list[VoucherType]:
        subjects = [s.id for s in await subjects_of(info.context.actor)]
        return [
            VoucherType.from_row(v, v.offer) for v in await service.my_vouchers(subjects=subjects)
        ]

    @strawberry.field(description="A fresh QR token for one of your vouchers.")
    async def voucher_token(self, info: Info, voucher_id: strawberry.ID) -> VoucherToken | None:
        subjects = {s.id for s in await subjects_of(info.context.actor)}
        for voucher in await service.my_vouchers(subjects=list(subjects)):
            if str(voucher.public_id) == str(voucher_id) and voucher.status == "ISSUED":
                token, expires_at = service.voucher_token(voucher)
                return VoucherToken(token=token, expires_at=expires_at)
        return None

    @strawberry.field(description="The offers of the merchant you act for.")
    async def merchant_offers(self, info: Info) -> list[OfferType]:
        return [
            OfferType.from_row(o) for o in await service.merchant_offers(actor=info.context.actor)
        ]

    @strawberry.field(description="Vouchers confirmed in [from, to), by offer. Merchant managers.")
    async def settlement(self, info: Info, start: datetime, end: datetime) -> list[SettlementLine]:
        lines = await service.settlement(actor=info.context.actor, start=start, end=end)
        return [
            SettlementLine(
                offer_id=strawberry.ID(line["offer_id"]),
                title=line["title"],
                vouchers=line["vouchers"],
                points=Int64(line["points"]),
            )
            for line in lines
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A draft offer of your merchant. Merchant managers.")
    @returns_errors
    async def create_offer(self, info: Info, input: CreateOfferInput) -> OfferPayload:
        values = {k: getattr(input, k) for k in input.__dataclass_fields__}  # type: ignore[attr-defined]
        values["unused_policy"] = input.unused_policy.value
        return OfferType.from_row(
            await service.create_offer(actor=info.context.actor, values=values)
        )

    @strawberry.mutation(description="Publish, pause, resume or end an offer. Merchant managers.")
    @returns_errors
    async def set_offer_status(self, info: Info, input: SetOfferStatusInput) -> OfferPayload:
        row = await service.set_offer_status(
            actor=info.context.actor, offer_id=str(input.offer_id), status=input.status.value
        )
        return OfferType.from_row(row)

    @strawberry.mutation(
        description="Redeem an offer: points held, one unit taken, a voucher issued."
    )
    @returns_errors
    async def redeem_offer(self, info: Info, input: RedeemOfferInput) -> RedeemOfferPayload:
        actor = info.context.actor
        subject = await subject_for(
            actor, household_id=optional_organisation_id(input.household_id, field="householdId")
        )
        voucher = await service.redeem(
            actor=actor,
            offer_id=str(input.offer_id),
            idempotency_key=input.idempotency_key,
            subject=subject,
        )
        return await _voucher(voucher)

    @strawberry.mutation(
        description="Confirm a voucher at the counter: its points are burned. Merchant staff."
    )
    @returns_errors
    async def confirm_voucher(self, info: Info, input: ConfirmVoucherInput) -> VoucherPayload:
        voucher = await service.confirm(
            actor=info.context.actor, token=input.token, code=input.code
        )
        return await _voucher(voucher)

    @strawberry.mutation(description="Cancel an unused voucher of yours: the points come back.")
    @returns_errors
    async def cancel_voucher(self, info: Info, input: CancelVoucherInput) -> VoucherPayload:
        subjects = [s.id for s in await subjects_of(info.context.actor)]
        voucher = await service.cancel(
            actor=info.context.actor, voucher_id=str(input.voucher_id), subjects=subjects
        )
        return await _voucher(voucher)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your vouchers as they are confirmed, cancelled or expire (a household's with "
        "householdId); ends when the token expires or the session is revoked."
    )
    async def voucher_changed(
        self, info: Info, household_id: strawberry.ID | None = None
    ) -> AsyncGenerator[VoucherType, None]:
        from backend.api.live import changes
        from backend.rewards.models import Voucher

        actor = info.context.actor
        owner = await subject_for(
            actor, household_id=optional_organisation_id(household_id, field="householdId")
        )
        async for voucher_id in changes(actor, service.voucher_channel(owner.id)):
            if not voucher_id:
                continue
            voucher = await Voucher.get_or_none(public_id=voucher_id, owner_id=owner.id)
            if voucher is not None:
                yield await _voucher(voucher)
