"""Default methodologies, scenarios and ratio of DESIGN.md, for `tanpuhui seed-demo`.

The factors are the reductions per unit named in DESIGN.md (entered as the baseline factor with a
project factor of 0): metro 46.7 g per person-km and electric bus 26.9 g per person-km (Shenzhen),
shared bicycle 93.3 g per km (Wuhan), walking up to 296 g a day (Ant Forest's cap, here 0.0164 g a
step, i.e. 296 g at 18,000 steps) and household electricity saved at the grid factor 570.3 g/kWh.
"""

from __future__ import annotations

from backend.kit.actor import Actor
from backend.methodology import service
from backend.methodology.models import Methodology, MethodologyStatus, Scenario

SEEDER = Actor(kind="authority", id="seed-demo")

DEFAULTS = [
    # code, methodology, names, unit, factor, category, max per record, daily cap (g)
    (
        "METRO",
        "SZ-METRO",
        ("地铁出行", "Metro trip"),
        "km",
        "46.7",
        "PUBLIC_TRANSPORT",
        "100",
        5000,
    ),
    (
        "BUS",
        "SZ-EBUS",
        ("电动公交出行", "Electric bus trip"),
        "km",
        "26.9",
        "PUBLIC_TRANSPORT",
        "100",
        3000,
    ),
    (
        "CYCLING",
        "WH-BIKE",
        ("共享单车骑行", "Shared bicycle ride"),
        "km",
        "93.3",
        "CYCLING",
        "50",
        3000,
    ),
    ("WALKING", "AF-WALK", ("步行", "Walking"), "step", "0.0164", "WALKING", "100000", 296),
    (
        "HOUSEHOLD_POWER",
        "GD-POWER",
        ("家庭节电", "Household electricity saved"),
        "kWh",
        "570.3",
        "ELECTRICITY_METER",
        "1000",
        20000,
    ),
]


async def seed_methodologies() -> int:
    """Register what is missing; returns how many scenarios it created."""
    created = 0
    for code, methodology_code, (
        name_zh,
        name_en,
    ), unit, factor, category, maximum, cap in DEFAULTS:
        if not await Methodology.filter(
            code=methodology_code, status=MethodologyStatus.REGISTERED
        ).exists():
            draft = await service.draft_methodology(
                actor=SEEDER,
                code=methodology_code,
                name_zh=name_zh,
                name_en=name_en,
                unit=unit,
                baseline_factor=factor,
                project_factor="0",
            )
            await service.submit_for_review(actor=SEEDER, methodology_id=str(draft.public_id))
            await service.review(
                actor=SEEDER,
                methodology_id=str(draft.public_id),
                approve=True,
                comment="Default of the demonstration data.",
                effective_from=None,
            )
        if not await Scenario.filter(code=code).exists():
            await service.define_scenario(
                actor=SEEDER,
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                methodology_code=methodology_code,
                category=category,
                max_quantity_per_record=maximum,
                daily_cap_grams=cap,
                allowed_platforms=[],
                active=True,
            )
            created += 1
    return created
