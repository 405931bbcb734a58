"""Methodologies, scenarios and the earning ratio: lifecycle, versions in force, the rounding rule."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.accounts import organisations
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.methodology import seed, service
from backend.methodology.errors import MethodologyUnknown, WrongMethodologyState
from backend.methodology.models import MethodologyEvent, Scenario

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def registered(code="SZ-METRO", factor="46.7", project="0", at=None):
    draft = await service.draft_methodology(
        actor=AUTHORITY,
        code=code,
        name_zh="地铁",
        name_en="Metro",
        unit="km",
        baseline_factor=factor,
        project_factor=project,
    )
    await service.submit_for_review(actor=AUTHORITY, methodology_id=str(draft.public_id))
    return await service.review(
        actor=AUTHORITY,
        methodology_id=str(draft.public_id),
        approve=True,
        comment="sound",
        effective_from=at,
    )


@pytest.mark.parametrize(
    ("quantity", "factor", "ratio", "expected"),
    [
        ("10", "46.7", "1", (467, 467)),
        ("0.5", "46.7", "1", (23, 23)),  # 23.35 g: floor to whole grams
        ("3.3", "93.3", "1", (307, 307)),  # 307.89 g
        ("18000", "0.0164", "1", (295, 295)),  # 295.2 g
        ("10", "46.7", "0.5", (467, 233)),  # 233.5 points: floor to whole points
        ("0.001", "46.7", "1", (0, 0)),
    ],
)
def test_the_rounding_rule_floors_grams_then_points(quantity, factor, ratio, expected):
    assert service.grams_and_points(Decimal(quantity), Decimal(factor), Decimal(ratio)) == expected


async def test_the_lifecycle_with_expert_comments(settings):
    with clock.frozen(T0):
        draft = await service.draft_methodology(
            actor=AUTHORITY,
            code="SZ-METRO",
            name_zh="地铁",
            name_en="Metro",
            unit="km",
            baseline_factor="60",
            project_factor="13.3",
        )
        await service.submit_for_review(actor=AUTHORITY, methodology_id=str(draft.public_id))
        sent_back = await service.review(
            actor=AUTHORITY,
            methodology_id=str(draft.public_id),
            approve=False,
            comment="cite the survey",
            effective_from=None,
        )
        assert sent_back.status.value == "DRAFT"
        await service.submit_for_review(actor=AUTHORITY, methodology_id=str(draft.public_id))
        done = await service.review(
            actor=AUTHORITY,
            methodology_id=str(draft.public_id),
            approve=True,
            comment="sound",
            effective_from=None,
        )
        assert done.status.value == "REGISTERED" and done.effective_from == T0
        events = (
            await MethodologyEvent.filter(methodology=draft)
            .order_by("id")
            .values_list("event", "comment")
        )
        assert events == [
            ("DRAFTED", None),
            ("SUBMITTED", None),
            ("SENT_BACK", "cite the survey"),
            ("SUBMITTED", None),
            ("REGISTERED", "sound"),
        ]
        with pytest.raises(WrongMethodologyState):
            await service.submit_for_review(actor=AUTHORITY, methodology_id=str(draft.public_id))
        assert await service.factor_at("SZ-METRO", T0) == Decimal("46.7")


async def test_a_review_needs_a_comment_and_the_authority(settings):
    draft = await service.draft_methodology(
        actor=AUTHORITY,
        code="X-1",
        name_zh="x",
        name_en="x",
        unit="km",
        baseline_factor="1",
        project_factor="0",
    )
    await service.submit_for_review(actor=AUTHORITY, methodology_id=str(draft.public_id))
    with pytest.raises(InvalidInput):
        await service.review(
            actor=AUTHORITY,
            methodology_id=str(draft.public_id),
            approve=True,
            comment=" ",
            effective_from=None,
        )
    with pytest.raises(Forbidden):
        await service.review(
            actor=Actor(kind="citizen", id="c"),
            methodology_id=str(draft.public_id),
            approve=True,
            comment="ok",
            effective_from=None,
        )
    with pytest.raises(NotFound):
        await service.submit_for_review(
            actor=AUTHORITY, methodology_id="00000000-0000-4000-8000-000000000000"
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"code": "lower"},
        {"baseline_factor": "abc"},
        {"baseline_factor": "-1"},
        {"baseline_factor": "NaN"},
        {"project_factor": "50"},
        {"unit": ""},
    ],
)
async def test_bad_methodologies_are_refused(settings, bad):
    arguments = {
        "code": "SZ-METRO",
        "name_zh": "地铁",
        "name_en": "Metro",
        "unit": "km",
        "baseline_factor": "46.7",
        "project_factor": "0",
        **bad,
    }
    with pytest.raises(InvalidInput):
        await service.draft_methodology(actor=AUTHORITY, **arguments)


async def test_a_record_uses_the_version_in_force_when_it_happened(settings):
    with clock.frozen(T0) as frozen:
        first = await registered(factor="46.7")
        frozen.advance(timedelta(days=30))
        second = await registered(factor="50", at=T0 + timedelta(days=60))
        assert (first.version, second.version) == (1, 2)
        assert await service.factor_at("SZ-METRO", T0 - timedelta(days=1)) is None
        assert await service.factor_at("SZ-METRO", T0 + timedelta(days=10)) == Decimal("46.7")
        assert await service.factor_at("SZ-METRO", T0 + timedelta(days=61)) == Decimal("50")
        frozen.advance(timedelta(days=40))  # day 70
        await service.retire(actor=AUTHORITY, methodology_id=str(second.public_id))
        assert await service.factor_at("SZ-METRO", T0 + timedelta(days=65)) == Decimal("50")
        assert await service.factor_at("SZ-METRO", T0 + timedelta(days=71)) is None


async def test_the_ratio_is_versioned_and_never_rewritten(settings):
    with clock.frozen(T0) as frozen:
        assert await service.ratio_at(T0) == Decimal(1)
        await service.set_earning_ratio(
            actor=AUTHORITY, points_per_gram="2", effective_at=T0 + timedelta(days=10)
        )
        with pytest.raises(InvalidInput):
            await service.set_earning_ratio(
                actor=AUTHORITY, points_per_gram="3", effective_at=T0 - timedelta(days=1)
            )
        with pytest.raises(InvalidInput):
            await service.set_earning_ratio(actor=AUTHORITY, points_per_gram="0", effective_at=None)
        frozen.advance(timedelta(days=20))
        assert await service.ratio_at(T0 + timedelta(days=5)) == Decimal(1)
        assert await service.ratio_at(T0 + timedelta(days=15)) == Decimal(2)


async def test_scenarios_name_a_methodology_a_category_limits_and_platforms(settings):
    platform = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="P"
    )
    with pytest.raises(MethodologyUnknown):
        await service.define_scenario(
            actor=AUTHORITY,
            code="METRO",
            name_zh="地铁",
            name_en="Metro",
            methodology_code="NOPE",
            category="PUBLIC_TRANSPORT",
            max_quantity_per_record="100",
            daily_cap_grams=5000,
            allowed_platforms=[],
            active=True,
        )
    await registered()
    scenario = await service.define_scenario(
        actor=AUTHORITY,
        code="METRO",
        name_zh="地铁",
        name_en="Metro",
        methodology_code="SZ-METRO",
        category="PUBLIC_TRANSPORT",
        max_quantity_per_record="100",
        daily_cap_grams=5000,
        allowed_platforms=[str(platform.public_id)],
        active=True,
    )
    assert scenario.allowed_platforms == [str(platform.public_id)]
    changed = await service.define_scenario(
        actor=AUTHORITY,
        code="METRO",
        name_zh="地铁",
        name_en="Metro",
        methodology_code="SZ-METRO",
        category="PUBLIC_TRANSPORT",
        max_quantity_per_record="80",
        daily_cap_grams=4000,
        allowed_platforms=[],
        active=True,
    )
    assert changed.id == scenario.id and changed.daily_cap_grams == 4000
    for bad in (
        {"category": "TELEPORT"},
        {"daily_cap_grams": 0},
        {"max_quantity_per_record": "0"},
        {"allowed_platforms": ["00000000-0000-4000-8000-000000000000"]},
    ):
        arguments = {
            "code": "METRO",
            "name_zh": "地铁",
            "name_en": "Metro",
            "methodology_code": "SZ-METRO",
            "category": "PUBLIC_TRANSPORT",
            "max_quantity_per_record": "100",
            "daily_cap_grams": 5000,
            "allowed_platforms": [],
            "active": True,
            **bad,
        }
        with pytest.raises(InvalidInput):
            await service.define_scenario(actor=AUTHORITY, **arguments)


async def test_seed_demo_registers_the_defaults_once(settings):
    assert await seed.seed_methodologies() == 5
    assert await seed.seed_methodologies() == 0
    assert await Scenario.all().count() == 5
    assert await service.factor_at("SZ-METRO", clock.now() + timedelta(seconds=1)) == Decimal(
        "46.7"
    )
