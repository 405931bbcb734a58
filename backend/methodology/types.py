"""GraphQL types of methodologies, scenarios and the earning ratio."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.api.errors import Error, error_type
from backend.methodology import errors, models

MethodologyStatus = models.MethodologyStatus
strawberry.enum(MethodologyStatus, name="MethodologyStatus")


@strawberry.type(name="Methodology", description="One version of a methodology (方法学).")
class MethodologyType:
    id: strawberry.ID
    code: str
    version: int
    name_zh: str
    name_en: str
    unit: str
    baseline_factor: str = strawberry.field(description="g CO2e per unit, a decimal string.")
    project_factor: str
    reduction_per_unit: str = strawberry.field(description="baselineFactor - projectFactor.")
    status: MethodologyStatus
    effective_from: datetime | None
    retired_at: datetime | None

    @classmethod
    def from_row(cls, row: models.Methodology) -> MethodologyType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            code=row.code,
            version=row.version,
            name_zh=row.name_zh,
            name_en=row.name_en,
            unit=row.unit,
            baseline_factor=str(row.baseline_factor),
            project_factor=str(row.project_factor),
            reduction_per_unit=str(row.baseline_factor - row.project_factor),
            status=row.status,
            effective_from=row.effective_from,
            retired_at=row.retired_at,
        )


@strawberry.type(name="Scenario", description="A low-carbon behaviour (低碳场景) and its limits.")
class ScenarioType:
    id: strawberry.ID
    code: str
    name_zh: str
    name_en: str
    methodology_code: str
    category: str
    max_quantity_per_record: str
    daily_cap_grams: int
    allowed_platforms: list[strawberry.ID]
    active: bool

    @classmethod
    def from_row(cls, row: models.Scenario) -> ScenarioType:
        from strawberry.relay import to_base64

        return cls(
            id=strawberry.ID(str(row.public_id)),
            code=row.code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            methodology_code=row.methodology_code,
            category=row.category,
            max_quantity_per_record=str(row.max_quantity_per_record),
            daily_cap_grams=row.daily_cap_grams,
            allowed_platforms=[
                strawberry.ID(to_base64("Organisation", p)) for p in row.allowed_platforms
            ],
            active=row.active,
        )


@strawberry.type(name="EarningRatio")
class EarningRatioType:
    points_per_gram: str
    effective_at: datetime | None


@error_type(errors.WrongMethodologyState)
@strawberry.type
class WrongMethodologyStateError(Error):
    pass


@error_type(errors.MethodologyUnknown)
@strawberry.type
class MethodologyUnknownError(Error):
    pass
