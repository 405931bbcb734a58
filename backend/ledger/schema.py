"""Query, Mutation and Subscription fields of the wallet."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from backend.accounts.subjects import subject_for
from backend.api.context import Info
from backend.api.errors import InvalidInputError, returns_errors
from backend.api.live import changes
from backend.api.node import optional_organisation_id
from backend.api.scalars import Int64
from backend.ledger import service
from backend.ledger.notify import channel
from backend.ledger.types import (
    AlreadyClawedBackError,
    ClawbackDone,
    EarningNotFoundError,
    Wallet,
)


@strawberry.input
class ClawBackPointsInput:
    earning_id: strawberry.ID = strawberry.field(description="The id of an EARN ledger entry.")
    reason: str


ClawBackPointsPayload = Annotated[
    ClawbackDone | EarningNotFoundError | AlreadyClawedBackError | InvalidInputError,
    strawberry.union("ClawBackPointsPayload"),
]


@strawberry.type
class Query:
    @strawberry.field(
        description="Your wallet, or a household's or business's you may act for (a session "
        "acting for a business sees the business's)."
    )
    async def wallet(
        self,
        info: Info,
        household_id: strawberry.ID | None = None,
        business_id: strawberry.ID | None = None,
    ) -> Wallet:
        owner = await subject_for(
            info.context.actor,
            household_id=optional_organisation_id(household_id, field="householdId"),
            business_id=optional_organisation_id(business_id, field="businessId"),
        )
        return await Wallet.of(owner, info)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Take back what remains of an earning found fraudulent. Authority only."
    )
    @returns_errors
    async def claw_back_points(
        self, info: Info, input: ClawBackPointsInput
    ) -> ClawBackPointsPayload:
        done = await service.clawback(
            actor=info.context.actor, earning_id=str(input.earning_id), reason=input.reason
        )
        return ClawbackDone(
            transaction_id=strawberry.ID(done.transaction_id),
            taken=Int64(done.taken),
            shortfall=Int64(done.shortfall),
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The wallet now, then again after every change; ends when the token expires "
        "or the session is revoked."
    )
    async def wallet_changed(
        self,
        info: Info,
        household_id: strawberry.ID | None = None,
        business_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[Wallet, None]:
        actor = info.context.actor
        owner = await subject_for(
            actor,
            household_id=optional_organisation_id(household_id, field="householdId"),
            business_id=optional_organisation_id(business_id, field="businessId"),
        )
        async for _ in changes(actor, channel(owner.id)):
            yield await Wallet.of(owner)
