"""Query and Mutation fields of methodologies, scenarios and the earning ratio."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.api.node import public_id_of
from backend.kit import clock
from backend.methodology import service
from backend.methodology.types import (
    EarningRatioType,
    MethodologyType,
    MethodologyUnknownError,
    ScenarioType,
    WrongMethodologyStateError,
)


@strawberry.input
class DraftMethodologyInput:
    code: str
    name_zh: str
    name_en: str
    unit: str
    baseline_factor: str = strawberry.field(description="g CO2e per unit, a decimal string.")
    project_factor: str


@strawberry.input
class MethodologyStepInput:
    methodology_id: strawberry.ID


@strawberry.input
class ReviewMethodologyInput:
    methodology_id: strawberry.ID
    approve: bool
    comment: str
    effective_from: datetime | None = None


@strawberry.input
class DefineScenarioInput:
    code: str
    name_zh: str
    name_en: str
    methodology_code: str
    category: str
    max_quantity_per_record: str
    daily_cap_grams: int
    allowed_platforms: list[strawberry.ID] = strawberry.field(default_factory=list)
    active: bool = True


@strawberry.input
class SetEarningRatioInput:
    points_per_gram: str
    effective_at: datetime | None = None


MethodologyPayload = Annotated[
    MethodologyType | InvalidInputError | NotFoundError | WrongMethodologyStateError,
    strawberry.union("MethodologyPayload"),
]
ScenarioPayload = Annotated[
    ScenarioType | InvalidInputError | MethodologyUnknownError, strawberry.union("ScenarioPayload")
]
EarningRatioPayload = Annotated[
    EarningRatioType | InvalidInputError, strawberry.union("EarningRatioPayload")
]


@strawberry.type
class Query:
    @strawberry.field(description="Every version of every methodology (public).")
    async def methodologies(self) -> list[MethodologyType]:
        return [MethodologyType.from_row(m) for m in await service.methodologies()]

    @strawberry.field(description="Every scenario (public).")
    async def scenarios(self) -> list[ScenarioType]:
        return [ScenarioType.from_row(s) for s in await service.scenarios()]

    @strawberry.field(description="Points per gram in force now (public).")
    async def earning_ratio(self) -> EarningRatioType:
        return EarningRatioType(
            points_per_gram=str(await service.ratio_at(clock.now())), effective_at=None
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A new methodology version, as a draft. Authority only.")
    @returns_errors
    async def draft_methodology(
        self, info: Info, input: DraftMethodologyInput
    ) -> MethodologyPayload:
        row = await service.draft_methodology(
            actor=info.context.actor,
            code=input.code,
            name_zh=input.name_zh,
            name_en=input.name_en,
            unit=input.unit,
            baseline_factor=input.baseline_factor,
            project_factor=input.project_factor,
        )
        return MethodologyType.from_row(row)

    @strawberry.mutation(description="Send a draft to expert review. Authority only.")
    @returns_errors
    async def submit_methodology_for_review(
        self, info: Info, input: MethodologyStepInput
    ) -> MethodologyPayload:
        row = await service.submit_for_review(
            actor=info.context.actor, methodology_id=str(input.methodology_id)
        )
        return MethodologyType.from_row(row)

    @strawberry.mutation(
        description="The expert review: register it, or send it back with a comment. Authority only."
    )
    @returns_errors
    async def review_methodology(
        self, info: Info, input: ReviewMethodologyInput
    ) -> MethodologyPayload:
        row = await service.review(
            actor=info.context.actor,
            methodology_id=str(input.methodology_id),
            approve=input.approve,
            comment=input.comment,
            effective_from=input.effective_from,
        )
        return MethodologyType.from_row(row)

    @strawberry.mutation(description="Retire a registered methodology. Authority only.")
    @returns_errors
    async def retire_methodology(
        self, info: Info, input: MethodologyStepInput
    ) -> MethodologyPayload:
        row = await service.retire(
            actor=info.context.actor, methodology_id=str(input.methodology_id)
        )
        return MethodologyType.from_row(row)

    @strawberry.mutation(description="Create or change a scenario. Authority only.")
    @returns_errors
    async def define_scenario(self, info: Info, input: DefineScenarioInput) -> ScenarioPayload:
        row = await service.define_scenario(
            actor=info.context.actor,
            code=input.code,
            name_zh=input.name_zh,
            name_en=input.name_en,
            methodology_code=input.methodology_code,
            category=input.category,
            max_quantity_per_record=input.max_quantity_per_record,
            daily_cap_grams=input.daily_cap_grams,
            allowed_platforms=[
                public_id_of(p, "Organisation", field="allowedPlatforms")
                for p in input.allowed_platforms
            ],
            active=input.active,
        )
        return ScenarioType.from_row(row)

    @strawberry.mutation(
        description="A new earning ratio from a time on; history is never rewritten. Authority only."
    )
    @returns_errors
    async def set_earning_ratio(
        self, info: Info, input: SetEarningRatioInput
    ) -> EarningRatioPayload:
        row = await service.set_earning_ratio(
            actor=info.context.actor,
            points_per_gram=input.points_per_gram,
            effective_at=input.effective_at,
        )
        return EarningRatioType(
            points_per_gram=str(row.points_per_gram), effective_at=row.effective_at
        )
