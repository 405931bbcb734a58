"""Footprint claims and carbon-neutrality certificates (碳中和认定).

A claim is a list of activity items times the authority's factors (grams per unit, versioned), or
for a small business a declared total with evidence. Rounding: each item's grams are floored to
whole grams; the claim's total is rounded UP to whole kilograms, so that a neutralisation never
retires less than the footprint.

Neutralising a claim retires its kilograms from the holder's units (oldest vintage, lowest serials
first) for the chosen display name, with the purpose CARBON_NEUTRALITY, and issues a certificate
whose retirements carry its id: one retirement backs at most one certificate, and a certificate is
never for more than was retired for it. When the holder lacks units it buys the shortfall first:
with points from the points pool in the same transaction, or by an order that completes the
retirement and the certificate when the provider's callback says it was paid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from backend.audit import service as audit
from backend.certificates.models import (
    Certificate,
    CertificateStatus,
    ClaimKind,
    ClaimStatus,
    FootprintClaim,
    FootprintFactor,
)
from backend.credits import registry
from backend.credits.errors import NotEnoughUnits
from backend.credits.models import (
    BlockStatus,
    CreditBlock,
    CreditRetirement,
    RetirementPurpose,
)
from backend.kit import clock, db, idempotency
from backend.kit.actor import Actor, require_kind, system_actor
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.ids import new_public_id, parse_public_id
from backend.kit.validation import positive_int, text
from backend.settings import get_settings

# Grams of CO2e per unit until the authority sets a version (development defaults: China's grid
# average for 2022, and DEFRA's factors for fuel, travel and hotel nights).
DEFAULT_FACTORS: dict[str, tuple[str, str, str, Decimal]] = {
    "ELECTRICITY_KWH": ("用电", "Electricity", "kWh", Decimal("570.3")),
    "NATURAL_GAS_M3": ("天然气", "Natural gas", "m³", Decimal("2162")),
    "CAR_KM": ("汽油车出行", "Petrol car", "km", Decimal("192")),
    "FLIGHT_ECONOMY_KM": ("飞机经济舱", "Flight, economy", "km", Decimal("148")),
    "FLIGHT_BUSINESS_KM": ("飞机商务舱", "Flight, business", "km", Decimal("429")),
    "FLIGHT_FIRST_KM": ("飞机头等舱", "Flight, first", "km", Decimal("592")),
    "TRAIN_KM": ("高铁出行", "High-speed train", "km", Decimal("41")),
    "HOTEL_NIGHT": ("酒店住宿", "Hotel night", "night", Decimal("50900")),
}
MAX_ITEMS = 50
MAX_QUANTITY = Decimal("100000000")


class ClaimNotOpen(Exception):
    pass


# --- factors -----------------------------------------------------------------------------------


async def factors_now() -> dict[str, tuple[int | None, str, str, str, Decimal]]:
    """Each activity's factor in force now: (version id or None for the default, names, unit,
    grams per unit)."""
    now = clock.now()
    table: dict[str, tuple[int | None, str, str, str, Decimal]] = {
        code: (None, *values) for code, values in DEFAULT_FACTORS.items()
    }
    versions = await FootprintFactor.filter(effective_at__lte=now).order_by("effective_at", "id")
    for row in versions:  # later versions win
        table[row.code] = (row.id, row.name_zh, row.name_en, row.unit, Decimal(row.grams_per_unit))
    return table


async def set_factor(
    *, actor: Actor, code: str, name_zh: str, name_en: str, unit: str, grams_per_unit: str
) -> FootprintFactor:
    require_kind(actor, "authority")
    code = text(code, field="code", maximum=40).upper()
    try:
        grams = Decimal(grams_per_unit)
    except (InvalidOperation, TypeError):
        grams = Decimal(-1)
    if not grams.is_finite() or grams < 0 or grams > Decimal("100000000"):
        raise InvalidInput(
            field="gramsPerUnit", reason="a decimal of at least 0", reason_zh="须为不小于 0 的小数"
        )
    now = clock.now()
    async with db.transaction():
        row = await FootprintFactor.create(
            code=code,
            name_zh=text(name_zh, field="nameZh", maximum=100),
            name_en=text(name_en, field="nameEn", maximum=100),
            unit=text(unit, field="unit", maximum=20),
            grams_per_unit=grams,
            effective_at=now,
            set_by=actor.audit_name,
            created_at=now,
        )
        await audit.record(
            actor=actor,
            action="certificates.factor_set",
            object_type="footprint_factor",
            object_id=str(row.id),
            details={"code": code, "grams_per_unit": str(grams)},
        )
    return row


# --- claims ------------------------------------------------------------------------------------


def _kg(grams: int) -> int:
    return -(-grams // 1000)  # up to whole kilograms


async def create_claim(
    *,
    actor: Actor,
    kind: str,
    title: str,
    items: list[tuple[str, str]],
    declared_kg: int | None = None,
    evidence_url: str | None = None,
    evidence_sha256: str | None = None,
) -> FootprintClaim:
    holder = registry.holding_account_of(actor)
    owner_kind = registry.holding_account_kind(actor)
    claim_kind = ClaimKind(kind)
    if (claim_kind == ClaimKind.BUSINESS_YEAR) != (owner_kind == "ORGANISATION"):
        raise InvalidInput(
            field="kind",
            reason="BUSINESS_YEAR is for organisations, the other kinds for citizens",
            reason_zh="BUSINESS_YEAR 适用于机构，其他类型适用于个人",
        )
    title = text(title, field="title", maximum=200)
    if len(items) > MAX_ITEMS:
        raise InvalidInput(
            field="items", reason=f"at most {MAX_ITEMS}", reason_zh=f"最多 {MAX_ITEMS} 项"
        )
    factors = await factors_now()
    stored: list[dict[str, Any]] = []
    total_g = 0
    for n, (code, quantity) in enumerate(items):
        factor = factors.get(str(code).upper())
        if factor is None:
            raise InvalidInput(
                field=f"items.{n}.code", reason="no such activity", reason_zh="没有该活动类型"
            )
        try:
            amount = Decimal(quantity)
        except (InvalidOperation, TypeError):
            amount = Decimal(-1)
        if not amount.is_finite() or amount <= 0 or amount > MAX_QUANTITY:
            raise InvalidInput(
                field=f"items.{n}.quantity",
                reason="a positive decimal",
                reason_zh="须为正数",
            )
        factor_id, _, _, unit, per_unit = factor
        grams = int((amount * per_unit).to_integral_value(rounding=ROUND_FLOOR))
        total_g += grams
        stored.append(
            {
                "code": str(code).upper(),
                "quantity": str(amount),
                "unit": unit,
                "grams_per_unit": str(per_unit),
                "factor_id": factor_id,
                "grams": grams,
            }
        )
    if declared_kg is not None:
        if owner_kind != "ORGANISATION":
            raise InvalidInput(
                field="declaredKg",
                reason="a declared total is for businesses",
                reason_zh="申报总量仅适用于企业",
            )
        positive_int(declared_kg, field="declaredKg", maximum=10**12)
        if not evidence_url or not evidence_sha256:
            raise InvalidInput(
                field="evidenceUrl",
                reason="a declared total needs its evidence (URL and sha256)",
                reason_zh="申报总量须附证明材料（链接与 sha256）",
            )
        total_g += declared_kg * 1000
    if total_g <= 0:
        raise InvalidInput(
            field="items", reason="nothing to neutralise", reason_zh="没有可中和的排放"
        )
    if evidence_sha256 is not None and (
        len(evidence_sha256) != 64 or any(c not in "0123456789abcdef" for c in evidence_sha256)
    ):
        raise InvalidInput(
            field="evidenceSha256",
            reason="64 lower-case hex digits",
            reason_zh="须为 64 位十六进制",
        )
    async with db.transaction():
        claim = await FootprintClaim.create(
            public_id=new_public_id(),
            owner_id=holder,
            owner_kind=owner_kind,
            kind=claim_kind,
            title=title,
            items=stored,
            declared_kg=declared_kg,
            evidence_url=text(evidence_url, field="evidenceUrl", maximum=500)
            if evidence_url
            else None,
            evidence_sha256=evidence_sha256,
            total_g=total_g,
            total_kg=_kg(total_g),
            status=ClaimStatus.OPEN,
            created_at=clock.now(),
        )
        await audit.record(
            actor=actor,
            action="certificates.claim_created",
            object_type="footprint_claim",
            object_id=str(claim.public_id),
            details={"kind": claim_kind.value, "total_kg": claim.total_kg},
        )
    return claim


async def claims_of(actor: Actor) -> list[FootprintClaim]:
    holder = registry.holding_account_of(actor)
    return await FootprintClaim.filter(owner_id=holder).order_by("-id").limit(100)


# --- certificates ------------------------------------------------------------------------------


def verification_code(number: str, total_kg: int, issued_on: str, display_name: str) -> str:
    """12 characters that only the service can compute for this certificate's printed facts."""
    key = hmac.new(get_settings().pepper.encode(), b"certificate-code", hashlib.sha256).digest()
    message = f"{number}|{total_kg}|{issued_on}|{display_name}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:12]


def code_matches(certificate: Certificate, code: str | None) -> bool:
    if not code:
        return False
    expected = verification_code(
        certificate.number,
        certificate.total_kg,
        certificate.issued_at.astimezone(clock.SHANGHAI).date().isoformat(),
        certificate.display_name,
    )
    return hmac.compare_digest(expected, code.strip().upper().replace("-", "")[:40])


async def _retire_for(claim: FootprintClaim, display_name: str, actor: Actor) -> Certificate:
    """Retire the claim's kilograms from its owner's held units and issue the certificate (inside
    the caller's transaction; NotEnoughUnits when they do not suffice)."""
    blocks = (
        await CreditBlock.filter(holder_id=claim.owner_id, status=BlockStatus.HELD)
        .order_by("vintage", "project_number", "serial_start")
        .select_for_update()
    )
    held = sum(b.serial_end - b.serial_start + 1 for b in blocks)
    if held < claim.total_kg:
        raise NotEnoughUnits(available=held, requested=claim.total_kg)
    now = clock.now()
    certificate = await Certificate.create(
        number=f"PENDING-{uuid.uuid4().hex[:12]}",
        claim=claim,
        holder_id=claim.owner_id,
        display_name=display_name,
        total_kg=claim.total_kg,
        verification_code="",
        issued_at=now,
        status=CertificateStatus.VALID,
    )
    number = f"CN-{now.astimezone(clock.SHANGHAI).year}-{certificate.id:06d}"
    code = verification_code(
        number, claim.total_kg, now.astimezone(clock.SHANGHAI).date().isoformat(), display_name
    )
    await Certificate.filter(id=certificate.id).update(number=number, verification_code=code)
    remaining = claim.total_kg
    for block in blocks:
        part = min(remaining, block.serial_end - block.serial_start + 1)
        retired = await registry.split(block, part, status=BlockStatus.RETIRED)
        await CreditRetirement.create(
            public_id=new_public_id(),
            block=retired,
            beneficiary=display_name,
            purpose=RetirementPurpose.CARBON_NEUTRALITY,
            retired_by=claim.owner_id,
            certificate_id=certificate.id,
            created_at=now,
        )
        remaining -= part
        if remaining == 0:
            break
    await FootprintClaim.filter(id=claim.id).update(status=ClaimStatus.NEUTRALISED)
    await audit.record(
        actor=actor,
        action="certificates.issued",
        object_type="carbon_certificate",
        object_id=number,
        details={"kg": claim.total_kg, "claim": str(claim.public_id)},
    )
    return await Certificate.get(id=certificate.id)


async def neutralise(
    *,
    actor: Actor,
    claim_id: str,
    display_name: str,
    idempotency_key: str,
    listing_id: str | None = None,
) -> tuple[FootprintClaim, Certificate | None, int | None]:
    """Neutralise a claim: (claim, certificate or None while an order is paid, order id or None).

    Without `listing_id` the holder's own units must suffice. With a points-pool listing, the
    shortfall is bought with points in the same transaction. With a listing in fen, the shortfall is
    ordered; the certificate is issued when the order is paid.
    """
    from backend.market import service as market
    from backend.market.models import CreditListing, CreditOrder, ListingCurrency, OrderStatus

    holder = registry.holding_account_of(actor)
    name = text(display_name, field="displayName", maximum=100)
    idempotency.check_key(idempotency_key)
    public_id = parse_public_id(claim_id)
    claim = await FootprintClaim.get_or_none(public_id=public_id) if public_id else None
    if claim is None or str(claim.owner_id) != holder:
        raise NotFound(what="claim", what_zh="碳足迹")
    listing = None
    if listing_id is not None:
        listing_uuid = parse_public_id(listing_id)
        listing = await CreditListing.get_or_none(public_id=listing_uuid) if listing_uuid else None
        if listing is None:
            raise NotFound(what="listing", what_zh="挂牌")

    async def held_kg() -> int:
        return (await registry.kg_by_status(holder)).get("HELD", 0)

    # An order in fen is placed (and paid) outside this transaction: it is idempotent by its key.
    if listing is not None and listing.currency == ListingCurrency.FEN:
        if claim.status == ClaimStatus.NEUTRALISED:
            return claim, await Certificate.get(claim_id=claim.id), claim.order_id
        if claim.status == ClaimStatus.AWAITING_ORDER and claim.order_id:
            order = await CreditOrder.get(id=claim.order_id)
            if order.status == OrderStatus.PENDING_PAYMENT:
                return claim, None, claim.order_id
        shortfall = claim.total_kg - await held_kg()
        if shortfall > 0:
            order = await market.order_credits(
                actor=actor,
                listing_id=listing_id or "",
                quantity=shortfall,
                idempotency_key=f"{idempotency_key}:order",
            )
            async with db.transaction():
                await FootprintClaim.filter(
                    id=claim.id, status__not=ClaimStatus.NEUTRALISED
                ).update(status=ClaimStatus.AWAITING_ORDER, order_id=order.id, display_name=name)
            fresh = await FootprintClaim.get(id=claim.id)
            if order.status == OrderStatus.PAID and fresh.status != ClaimStatus.NEUTRALISED:
                await order_paid(order)  # it was paid before the link was written
                fresh = await FootprintClaim.get(id=claim.id)
            certificate = await Certificate.get_or_none(claim_id=claim.id)
            return fresh, certificate, order.id

    async def work() -> int:
        locked = await FootprintClaim.filter(id=claim.id).select_for_update().get()
        if locked.status == ClaimStatus.NEUTRALISED:
            return (await Certificate.get(claim_id=claim.id)).id
        if listing is not None and listing.currency == ListingCurrency.POINTS:
            shortfall = locked.total_kg - await held_kg()
            if shortfall > 0:
                await market.buy_with_points(
                    actor=actor,
                    listing_id=listing_id or "",
                    quantity=shortfall,
                    idempotency_key=f"{idempotency_key}:points",
                )
        certificate = await _retire_for(locked, name, actor)
        return certificate.id

    async with db.transaction():
        certificate_id = await idempotency.run_once(
            owner=holder,
            key=idempotency_key,
            operation="neutraliseClaim",
            request={"claim": claim_id, "name": name, "listing": listing_id},
            work=work,
            dump=lambda i: i,
            load=int,
        )
    certificate = await Certificate.get(id=certificate_id)
    return await FootprintClaim.get(id=claim.id), certificate, None


async def order_paid(order: Any) -> None:
    """An order was paid: a claim waiting for it is neutralised now (inside the callback's
    transaction when called from there)."""
    claim = (
        await FootprintClaim.filter(order_id=order.id, status=ClaimStatus.AWAITING_ORDER)
        .select_for_update()
        .first()
    )
    if claim is None:
        return
    try:
        async with db.transaction():
            await _retire_for(claim, claim.display_name or "匿名", system_actor("payments"))
    except NotEnoughUnits:
        # The buyer moved units away meanwhile: the claim stays open for another try.
        await FootprintClaim.filter(id=claim.id).update(status=ClaimStatus.OPEN, order_id=None)


async def revoke(*, actor: Actor, number: str, reason: str) -> Certificate:
    require_kind(actor, "authority")
    reason = text(reason, field="reason", maximum=500)
    number = number.strip().upper() if isinstance(number, str) else ""
    if not 1 <= len(number) <= 20:
        raise NotFound(what="certificate", what_zh="证书")
    async with db.transaction():
        certificate = await Certificate.filter(number=number).select_for_update().first()
        if certificate is None:
            raise NotFound(what="certificate", what_zh="证书")
        if certificate.status == CertificateStatus.REVOKED:
            raise InvalidInput(field="number", reason="already revoked", reason_zh="该证书已撤销")
        await Certificate.filter(id=certificate.id).update(
            status=CertificateStatus.REVOKED, revoked_reason=reason, revoked_at=clock.now()
        )
        await audit.record(
            actor=actor,
            action="certificates.revoked",
            object_type="carbon_certificate",
            object_id=number,
            details={"reason": reason},
        )
    return await Certificate.get(id=certificate.id)


async def find(number: str) -> Certificate | None:
    if not isinstance(number, str) or len(number) > 20:
        return None
    return await Certificate.get_or_none(number=number.strip().upper()).select_related("claim")


async def retirements_of(certificates: list[Certificate]) -> dict[int, list[CreditRetirement]]:
    """The retirements backing each certificate, with their lineage, in one query."""
    found: dict[int, list[CreditRetirement]] = {c.id: [] for c in certificates}
    rows = (
        await CreditRetirement.filter(certificate_id__in=list(found))
        .select_related("block", "block__issuance", "block__issuance__project")
        .order_by("id")
    )
    for row in rows:
        found[row.certificate_id].append(row)  # type: ignore[index]
    return found


async def certificates_of(actor: Actor) -> list[Certificate]:
    holder = registry.holding_account_of(actor)
    return await Certificate.filter(holder_id=holder).select_related("claim").order_by("-id")


async def certificates_match_retirements() -> list[str]:
    """verify-ledger: a certificate's retirements add up to exactly its kilograms."""
    rows = await db.fetch(
        "SELECT c.id, c.total_kg, COALESCE(SUM(b.serial_end - b.serial_start + 1), 0) AS kg"
        " FROM carbon_certificate c LEFT JOIN credit_retirement r ON r.certificate_id = c.id"
        " LEFT JOIN credit_block b ON b.id = r.block_id GROUP BY c.id, c.total_kg"
    )
    return [
        f"certificate {row['id']} is for {row['total_kg']} kg, {row['kg']} kg were retired for it"
        for row in rows
        if int(row["kg"]) != int(row["total_kg"])
    ]
