"""GraphQL of footprint claims and carbon-neutrality certificates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    returns_errors,
)
from backend.api.scalars import Int64
from backend.certificates import disclosure, models, render, service
from backend.credits.models import CreditRetirement
from backend.credits.types import NotEnoughUnitsError
from backend.ledger.types import InsufficientPointsError

ClaimKind = models.ClaimKind
ClaimStatus = models.ClaimStatus
CertificateStatus = models.CertificateStatus
strawberry.enum(ClaimKind, name="FootprintClaimKind")
strawberry.enum(ClaimStatus, name="FootprintClaimStatus")
strawberry.enum(CertificateStatus, name="CertificateStatus")


@strawberry.type(name="FootprintFactor", description="Grams of CO2e per unit of an activity.")
class FootprintFactorType:
    code: str
    name_zh: str
    name_en: str
    unit: str
    grams_per_unit: str = strawberry.field(description="A decimal, as a string.")
    version: int | None = strawberry.field(description="Null: the development default.")


@strawberry.type(name="FootprintItem")
class FootprintItemType:
    code: str
    quantity: str
    unit: str
    grams_per_unit: str
    grams: Int64


@strawberry.type(name="FootprintClaim", description="A footprint to neutralise (yours).")
class FootprintClaimType:
    id: strawberry.ID
    kind: ClaimKind
    title: str
    items: list[FootprintItemType]
    declared_kg: Int64 | None
    total_g: Int64
    total_kg: Int64 = strawberry.field(description="Grams rounded up to whole kilograms.")
    status: ClaimStatus
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.FootprintClaim) -> FootprintClaimType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            kind=row.kind,
            title=row.title,
            items=[
                FootprintItemType(
                    code=i["code"],
                    quantity=i["quantity"],
                    unit=i["unit"],
                    grams_per_unit=i["grams_per_unit"],
                    grams=Int64(i["grams"]),
                )
                for i in row.items
            ],
            declared_kg=Int64(row.declared_kg) if row.declared_kg else None,
            total_g=Int64(row.total_g),
            total_kg=Int64(row.total_kg),
            status=row.status,
            created_at=row.created_at,
        )


@strawberry.type(name="CertificateRetirement", description="A retirement backing a certificate.")
class CertificateRetirementType:
    number: int
    serial_from: str
    serial_to: str
    quantity_kg: Int64
    issuance_period: str
    project_number: int
    project_title: str
    methodology_code: str


@strawberry.type(
    name="Certificate",
    description="A carbon-neutrality certificate (碳中和认定), public, without personal data.",
)
class CertificateType:
    number: str
    display_name: str
    total_kg: Int64
    tonnes: str = strawberry.field(description="t CO2e with three decimals.")
    issued_on: str
    status: CertificateStatus
    revoked_reason: str | None
    claim_kind: ClaimKind
    claim_title: str
    retirements: list[CertificateRetirementType]
    url: str = strawberry.field(description="The public page, as its QR code encodes it.")
    code_matches: bool | None = strawberry.field(
        description="Whether the verification code given matched; null when none was given."
    )


async def certificate_type(
    row: models.Certificate,
    code_matches: bool | None,
    backing: list[CreditRetirement] | None = None,
) -> CertificateType:
    data = await render.facts(row, backing)
    return CertificateType(
        number=data["number"],
        display_name=data["display_name"],
        total_kg=Int64(data["kg"]),
        tonnes=data["tonnes"],
        issued_on=data["issued_on"],
        status=row.status,
        revoked_reason=row.revoked_reason,
        claim_kind=row.claim.kind,
        claim_title=row.claim.title,
        retirements=[
            CertificateRetirementType(
                number=r["number"],
                serial_from=r["serial_from"],
                serial_to=r["serial_to"],
                quantity_kg=Int64(r["kg"]),
                issuance_period=r["issuance_period"],
                project_number=r["project_number"],
                project_title=r["project_title"],
                methodology_code=r["methodology"],
            )
            for r in data["retirements"]
        ],
        url=data["url"],
        code_matches=code_matches,
    )


@strawberry.type(name="Neutralisation")
class NeutralisationType:
    claim: FootprintClaimType
    certificate: CertificateType | None = strawberry.field(
        description="Null while the order for the missing units awaits payment."
    )
    order_id: strawberry.ID | None


@strawberry.input
class FootprintItemInput:
    code: str
    quantity: str = strawberry.field(description="A positive decimal, as a string.")


@strawberry.input
class CreateFootprintClaimInput:
    kind: ClaimKind
    title: str
    items: list[FootprintItemInput]
    declared_kg: int | None = None
    evidence_url: str | None = None
    evidence_sha256: str | None = None


@strawberry.input
class NeutraliseClaimInput:
    claim_id: strawberry.ID
    display_name: str = strawberry.field(description="Shown on the certificate.")
    idempotency_key: str
    listing_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Buy what you lack from this listing: the points pool (points, at once) or a listing in fen (an order to pay).",
    )


@strawberry.input
class SetFootprintFactorInput:
    code: str
    name_zh: str
    name_en: str
    unit: str
    grams_per_unit: str


@strawberry.input
class RevokeCertificateInput:
    number: str
    reason: str


ClaimPayload = Annotated[
    FootprintClaimType | InvalidInputError, strawberry.union("FootprintClaimPayload")
]
NeutralisePayload = Annotated[
    NeutralisationType
    | InvalidInputError
    | NotFoundError
    | NotEnoughUnitsError
    | InsufficientPointsError
    | IdempotencyKeyReusedError,
    strawberry.union("NeutraliseClaimPayload"),
]
FactorPayload = Annotated[
    FootprintFactorType | InvalidInputError, strawberry.union("FootprintFactorPayload")
]
CertificatePayload = Annotated[
    CertificateType | InvalidInputError | NotFoundError, strawberry.union("CertificatePayload")
]


@strawberry.type(name="ReductionTotal")
class ReductionTotalType:
    scenario: str
    month: str = strawberry.field(description="YYYY-MM, Asia/Shanghai.")
    grams: Int64


@strawberry.type(
    name="Disclosure",
    description="The scheme's public totals (信息披露), from what the ledger and the registry hold.",
)
class DisclosureType:
    reductions: list[ReductionTotalType]
    reduction_grams: Int64
    points_earned: Int64
    points_burned: Int64
    points_expired: Int64
    points_clawed_back: Int64
    credits_issued_kg: Int64
    credits_retired_kg: Int64
    credits_exported_kg: Int64
    active_grants: int
    certificates: int
    certificates_kg: Int64
    as_of: str


@strawberry.type(name="LeaderboardRow")
class LeaderboardRowType:
    rank: int
    alias: str
    reduction_grams: Int64


@strawberry.type(name="Impact", description="Your own impact.")
class ImpactType:
    reduction_grams: Int64
    points_earned: Int64
    points_balance: Int64
    certificates: int
    certificates_kg: Int64
    rank: int | None = strawberry.field(description="On the leaderboard, if you opted in.")
    alias: str | None


@strawberry.type(name="LeaderboardMembership")
class LeaderboardMembershipType:
    opted_in: bool
    alias: str | None


@strawberry.input
class SetLeaderboardOptInInput:
    opt_in: bool
    alias: str | None = strawberry.field(
        default=None, description="The pseudonym shown; required to opt in."
    )


LeaderboardPayload = Annotated[
    LeaderboardMembershipType | InvalidInputError, strawberry.union("LeaderboardPayload")
]


def _disclosure(t: disclosure.Totals) -> DisclosureType:
    return DisclosureType(
        reductions=[
            ReductionTotalType(scenario=r["scenario"], month=r["month"], grams=Int64(r["grams"]))
            for r in t.reductions
        ],
        reduction_grams=Int64(t.reduction_grams),
        points_earned=Int64(t.points_earned),
        points_burned=Int64(t.points_burned),
        points_expired=Int64(t.points_expired),
        points_clawed_back=Int64(t.points_clawed_back),
        credits_issued_kg=Int64(t.credits_issued_kg),
        credits_retired_kg=Int64(t.credits_retired_kg),
        credits_exported_kg=Int64(t.credits_exported_kg),
        active_grants=t.active_grants,
        certificates=t.certificates,
        certificates_kg=Int64(t.certificates_kg),
        as_of=t.as_of,
    )


@strawberry.type
class Query:
    @strawberry.field(description="The scheme's public totals, at most a minute old (public).")
    async def disclosure(self) -> DisclosureType:
        return _disclosure(await disclosure.cached_totals())

    @strawberry.field(description="Citizens who opted in, by the grams they reduced (public).")
    async def leaderboard(self, first: int = 20) -> list[LeaderboardRowType]:
        return [
            LeaderboardRowType(rank=rank, alias=alias, reduction_grams=Int64(grams))
            for rank, alias, grams in await disclosure.leaderboard(first)
        ]

    @strawberry.field(description="Your reduction, points, certificates and rank.")
    async def my_impact(self, info: Info) -> ImpactType:
        mine = await disclosure.impact(info.context.actor)
        return ImpactType(
            reduction_grams=Int64(mine.reduction_grams),
            points_earned=Int64(mine.points_earned),
            points_balance=Int64(mine.points_balance),
            certificates=mine.certificates,
            certificates_kg=Int64(mine.certificates_kg),
            rank=mine.rank,
            alias=mine.alias,
        )

    @strawberry.field(description="The activity factors in force now (public).")
    async def footprint_factors(self) -> list[FootprintFactorType]:
        return [
            FootprintFactorType(
                code=code,
                name_zh=zh,
                name_en=en,
                unit=unit,
                grams_per_unit=str(Decimal(grams).normalize()),
                version=version,
            )
            for code, (version, zh, en, unit, grams) in sorted(
                (await service.factors_now()).items()
            )
        ]

    @strawberry.field(description="Your footprint claims (or your organisation's), newest first.")
    async def my_footprint_claims(self, info: Info) -> list[FootprintClaimType]:
        return [FootprintClaimType.from_row(r) for r in await service.claims_of(info.context.actor)]

    @strawberry.field(description="Your certificates (or your organisation's), newest first.")
    async def my_certificates(self, info: Info) -> list[CertificateType]:
        rows = await service.certificates_of(info.context.actor)
        backing = await service.retirements_of(rows)  # one query for all of them
        return [await certificate_type(r, None, backing[r.id]) for r in rows]

    @strawberry.field(
        description="Verify a certificate by its number, and its code if you have it (public)."
    )
    async def certificate(self, number: str, code: str | None = None) -> CertificateType | None:
        row = await service.find(number)
        if row is None:
            return None
        return await certificate_type(row, service.code_matches(row, code) if code else None)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Compute a footprint claim from activity items (or declare one)."
    )
    @returns_errors
    async def create_footprint_claim(
        self, info: Info, input: CreateFootprintClaimInput
    ) -> ClaimPayload:
        row = await service.create_claim(
            actor=info.context.actor,
            kind=input.kind.value,
            title=input.title,
            items=[(i.code, i.quantity) for i in input.items],
            declared_kg=input.declared_kg,
            evidence_url=input.evidence_url,
            evidence_sha256=input.evidence_sha256,
        )
        return FootprintClaimType.from_row(row)

    @strawberry.mutation(
        description="Neutralise a claim: its kilograms are retired from your units and a certificate is issued."
    )
    @returns_errors
    async def neutralise_claim(self, info: Info, input: NeutraliseClaimInput) -> NeutralisePayload:
        claim, certificate, order_id = await service.neutralise(
            actor=info.context.actor,
            claim_id=str(input.claim_id),
            display_name=input.display_name,
            idempotency_key=input.idempotency_key,
            listing_id=str(input.listing_id) if input.listing_id else None,
        )
        order_public = None
        if order_id is not None:
            from backend.market.models import CreditOrder

            order_public = strawberry.ID(str((await CreditOrder.get(id=order_id)).public_id))
        if certificate is not None:
            certificate = await models.Certificate.get(id=certificate.id).select_related("claim")
        return NeutralisationType(
            claim=FootprintClaimType.from_row(claim),
            certificate=await certificate_type(certificate, None) if certificate else None,
            order_id=order_public,
        )

    @strawberry.mutation(description="Set an activity's factor from now on. Authority only.")
    @returns_errors
    async def set_footprint_factor(
        self, info: Info, input: SetFootprintFactorInput
    ) -> FactorPayload:
        row = await service.set_factor(
            actor=info.context.actor,
            code=input.code,
            name_zh=input.name_zh,
            name_en=input.name_en,
            unit=input.unit,
            grams_per_unit=input.grams_per_unit,
        )
        return FootprintFactorType(
            code=row.code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            unit=row.unit,
            grams_per_unit=str(Decimal(row.grams_per_unit).normalize()),
            version=row.id,
        )

    @strawberry.mutation(description="Join the public leaderboard under a pseudonym, or leave it.")
    @returns_errors
    async def set_leaderboard_opt_in(
        self, info: Info, input: SetLeaderboardOptInInput
    ) -> LeaderboardPayload:
        entry = await disclosure.opt_in(
            actor=info.context.actor, alias=input.alias, join=input.opt_in
        )
        return LeaderboardMembershipType(
            opted_in=entry is not None, alias=entry.alias if entry else None
        )

    @strawberry.mutation(description="Revoke a certificate with a reason. Authority only.")
    @returns_errors
    async def revoke_certificate(
        self, info: Info, input: RevokeCertificateInput
    ) -> CertificatePayload:
        row = await service.revoke(
            actor=info.context.actor, number=input.number, reason=input.reason
        )
        fresh = await models.Certificate.get(id=row.id).select_related("claim")
        return await certificate_type(fresh, None)
