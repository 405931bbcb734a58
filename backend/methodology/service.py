"""Registering methodologies (DRAFT → UNDER_REVIEW → REGISTERED → RETIRED), defining scenarios and
versioning the earning ratio; and what ingestion asks of them: the factor and ratio in force at the
time a behaviour happened, and the rounding rule.

Rounding (DESIGN.md): grams = floor(quantity × (baseline − project factor)); points =
floor(grams × points per gram). Factors and ratios are Decimal; grams and points are integers.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from backend.accounts import queries as accounts
from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int, text
from backend.methodology.errors import MethodologyUnknown, WrongMethodologyState
from backend.methodology.models import (
    EarningRatio,
    Methodology,
    MethodologyEvent,
    MethodologyStatus,
    Scenario,
)

DEFAULT_POINTS_PER_GRAM = Decimal(1)
_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,39}$")
CATEGORIES = frozenset(
    {
        "PUBLIC_TRANSPORT",
        "CYCLING",
        "WALKING",
        "NEV_DRIVING",
        "ELECTRICITY_METER",
        "PAPERLESS_BILLING",
    }
)


def grams_and_points(
    quantity: Decimal, factor: Decimal, points_per_gram: Decimal
) -> tuple[int, int]:
    """The written rounding rule: floor to whole grams, then to whole points."""
    grams = int((quantity * factor).to_integral_value(rounding=ROUND_FLOOR))
    points = int((Decimal(grams) * points_per_gram).to_integral_value(rounding=ROUND_FLOOR))
    return grams, points


def _decimal(value: str, field: str, *, positive: bool = False) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(
            field=field, reason="not a decimal number", reason_zh="不是有效的数字"
        ) from exc
    if (
        not number.is_finite()
        or number < 0
        or (positive and number == 0)
        or number > Decimal("1e9")
    ):
        raise InvalidInput(
            field=field, reason="a finite number, not negative", reason_zh="须为非负有限数"
        )
    return number


def _code(value: str, field: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise InvalidInput(
            field=field,
            reason="2 to 40 of A-Z, 0-9, _ and -",
            reason_zh="须为 2 至 40 个大写字母、数字、_ 或 -",
        )
    return value


async def _event(
    methodology: Methodology, event: str, actor: Actor, comment: str | None = None
) -> None:
    await MethodologyEvent.create(
        methodology=methodology,
        event=event,
        comment=comment,
        actor=actor.audit_name,
        occurred_at=clock.now(),
    )
    await audit.record(
        actor=actor,
        action=f"methodology.{event.lower()}",
        object_type="methodology",
        object_id=str(methodology.public_id),
        details={"code": methodology.code, "version": methodology.version},
    )


async def draft_methodology(
    *,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    unit: str,
    baseline_factor: str,
    project_factor: str,
) -> Methodology:
    """A new version (the next number for its code) as a draft."""
    require_kind(actor, "authority")
    baseline = _decimal(baseline_factor, "baselineFactor")
    project = _decimal(project_factor, "projectFactor")
    if project > baseline:
        raise InvalidInput(
            field="projectFactor",
            reason="exceeds the baseline: no reduction",
            reason_zh="项目排放因子高于基准，无减排",
        )
    if not isinstance(unit, str) or not 1 <= len(unit) <= 20:
        raise InvalidInput(
            field="unit", reason="1 to 20 characters", reason_zh="须为 1 至 20 个字符"
        )
    async with db.transaction():
        latest = await Methodology.filter(code=_code(code, "code")).order_by("-version").first()
        methodology = await Methodology.create(
            public_id=new_public_id(),
            code=code,
            version=(latest.version + 1) if latest else 1,
            name_zh=text(name_zh, field="nameZh", maximum=200),
            name_en=text(name_en, field="nameEn", maximum=200),
            unit=unit,
            baseline_factor=baseline,
            project_factor=project,
            status=MethodologyStatus.DRAFT,
            created_at=clock.now(),
        )
        await _event(methodology, "DRAFTED", actor)
    return methodology


async def _methodology(methodology_id: str) -> Methodology:
    public_id = parse_public_id(methodology_id)
    found = await Methodology.get_or_none(public_id=public_id) if public_id else None
    if found is None:
        raise NotFound(what="methodology", what_zh="方法学")
    return found


async def _move(
    methodology_id: str,
    *,
    actor: Actor,
    needed: MethodologyStatus,
    to: MethodologyStatus,
    event: str,
    comment: str | None = None,
    **changes: Any,
) -> Methodology:
    require_kind(actor, "authority")
    async with db.transaction():
        methodology = await _methodology(methodology_id)
        moved = await Methodology.filter(id=methodology.id, status=needed).update(
            status=to, **changes
        )
        if not moved:
            raise WrongMethodologyState(status=methodology.status.value, needed=needed.value)
        await methodology.refresh_from_db()
        await _event(methodology, event, actor, comment)
    return methodology


async def submit_for_review(*, actor: Actor, methodology_id: str) -> Methodology:
    return await _move(
        methodology_id,
        actor=actor,
        needed=MethodologyStatus.DRAFT,
        to=MethodologyStatus.UNDER_REVIEW,
        event="SUBMITTED",
    )


async def review(
    *,
    actor: Actor,
    methodology_id: str,
    approve: bool,
    comment: str,
    effective_from: datetime | None,
) -> Methodology:
    """The expert review: approve (registered, in force from `effective_from`) or send back."""
    if not comment or not comment.strip() or len(comment) > 2000:
        raise InvalidInput(
            field="comment",
            reason="the review needs a comment of up to 2000 characters",
            reason_zh="评审须附意见（最多 2000 字）",
        )
    if not approve:
        return await _move(
            methodology_id,
            actor=actor,
            needed=MethodologyStatus.UNDER_REVIEW,
            to=MethodologyStatus.DRAFT,
            event="SENT_BACK",
            comment=comment.strip(),
        )
    now = clock.now()
    start = effective_from or now
    if start.tzinfo is None or start < now:
        raise InvalidInput(
            field="effectiveFrom",
            reason="now or later, with an offset",
            reason_zh="须为当前或之后的时间（带时区）",
        )
    return await _move(
        methodology_id,
        actor=actor,
        needed=MethodologyStatus.UNDER_REVIEW,
        to=MethodologyStatus.REGISTERED,
        event="REGISTERED",
        comment=comment.strip(),
        effective_from=start,
    )


async def retire(*, actor: Actor, methodology_id: str) -> Methodology:
    return await _move(
        methodology_id,
        actor=actor,
        needed=MethodologyStatus.REGISTERED,
        to=MethodologyStatus.RETIRED,
        event="RETIRED",
        retired_at=clock.now(),
    )


async def factor_at(code: str, at: datetime) -> Decimal | None:
    """The reduction per unit of the version of `code` in force at `at`, or None."""
    versions = await Methodology.filter(
        code=code,
        status__in=[MethodologyStatus.REGISTERED, MethodologyStatus.RETIRED],
        effective_from__lte=at,
    ).order_by("-effective_from", "-version")
    for version in versions:
        if version.retired_at is None or version.retired_at > at:
            return Decimal(version.baseline_factor) - Decimal(version.project_factor)
        return None  # the latest version in force then had been retired
    return None


async def define_scenario(
    *,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    methodology_code: str,
    category: str,
    max_quantity_per_record: str,
    daily_cap_grams: int,
    allowed_platforms: list[str],
    active: bool,
) -> Scenario:
    """Create or change a scenario; every change is audited."""
    require_kind(actor, "authority")
    if category not in CATEGORIES:
        raise InvalidInput(
            field="category", reason="not a data category", reason_zh="不是有效的数据类别"
        )
    positive_int(daily_cap_grams, field="dailyCapGrams", maximum=10**9)
    maximum = _decimal(max_quantity_per_record, "maxQuantityPerRecord", positive=True)
    for platform_id in allowed_platforms:
        platform = await accounts.data_platform(platform_id)
        if platform is None:
            raise InvalidInput(
                field="allowedPlatforms",
                reason=f"{platform_id} is not a data platform",
                reason_zh="包含无效的数据平台",
            )
    if not await Methodology.filter(code=methodology_code).exists():
        raise MethodologyUnknown(code=methodology_code)
    values: dict[str, Any] = {
        "name_zh": text(name_zh, field="nameZh", maximum=200),
        "name_en": text(name_en, field="nameEn", maximum=200),
        "methodology_code": methodology_code,
        "category": category,
        "max_quantity_per_record": maximum,
        "daily_cap_grams": daily_cap_grams,
        "allowed_platforms": sorted(set(allowed_platforms)),
        "active": active,
        "updated_at": clock.now(),
    }
    async with db.transaction():
        scenario = await Scenario.get_or_none(code=_code(code, "code"))
        if scenario is None:
            scenario = await Scenario.create(
                public_id=new_public_id(), code=code, created_at=clock.now(), **values
            )
        else:
            await Scenario.filter(id=scenario.id).update(**values)
            await scenario.refresh_from_db()
        await audit.record(
            actor=actor,
            action="scenario.defined",
            object_type="scenario",
            object_id=str(scenario.public_id),
            details={k: str(v) for k, v in values.items()},
        )
    return scenario


async def set_earning_ratio(
    *, actor: Actor, points_per_gram: str, effective_at: datetime | None
) -> EarningRatio:
    """A new ratio version from `effective_at` (now by default); earlier versions stay as they were."""
    require_kind(actor, "authority")
    ratio = _decimal(points_per_gram, "pointsPerGram", positive=True)
    now = clock.now()
    start = effective_at or now
    if start.tzinfo is None or start < now:
        raise InvalidInput(
            field="effectiveAt",
            reason="now or later, with an offset",
            reason_zh="须为当前或之后的时间（带时区）",
        )
    async with db.transaction():
        created = await EarningRatio.create(
            points_per_gram=ratio, effective_at=start, created_at=now, set_by=actor.audit_name
        )
        await audit.record(
            actor=actor,
            action="earning_ratio.set",
            object_type="earning_ratio",
            object_id=str(created.id),
            details={"points_per_gram": str(ratio), "effective_at": start.isoformat()},
        )
    return created


async def ratio_at(at: datetime) -> Decimal:
    """Points per gram in force at `at` (DESIGN.md's default of 1 before any is set)."""
    ratio = await EarningRatio.filter(effective_at__lte=at).order_by("-effective_at", "-id").first()
    return Decimal(ratio.points_per_gram) if ratio else DEFAULT_POINTS_PER_GRAM


async def methodologies() -> list[Methodology]:
    return await Methodology.all().order_by("code", "version")


async def scenarios() -> list[Scenario]:
    return await Scenario.all().order_by("code")


class Rates:
    """The factors and ratios a batch needs, loaded once: look-ups by time then cost no query."""

    def __init__(self, versions: list[Methodology], ratios: list[EarningRatio]) -> None:
        self._versions: dict[str, list[Methodology]] = {}
        for version in sorted(versions, key=lambda v: (v.effective_from, v.version), reverse=True):
            self._versions.setdefault(version.code, []).append(version)
        self._ratios = sorted(ratios, key=lambda r: (r.effective_at, r.id), reverse=True)

    def factor_at(self, code: str, at: datetime) -> Decimal | None:
        """As `factor_at`, from what was loaded."""
        for version in self._versions.get(code, []):
            if version.effective_from is not None and version.effective_from <= at:
                if version.retired_at is None or version.retired_at > at:
                    return Decimal(version.baseline_factor) - Decimal(version.project_factor)
                return None
        return None

    def ratio_at(self, at: datetime) -> Decimal:
        for ratio in self._ratios:
            if ratio.effective_at <= at:
                return Decimal(ratio.points_per_gram)
        return DEFAULT_POINTS_PER_GRAM


async def rates_for(codes: list[str]) -> Rates:
    """Two queries for any number of records."""
    versions = await Methodology.filter(
        code__in=codes, status__in=[MethodologyStatus.REGISTERED, MethodologyStatus.RETIRED]
    )
    return Rates(versions, await EarningRatio.all())
