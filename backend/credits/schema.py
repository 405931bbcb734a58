"""Query and Mutation fields of credit projects and the working-day calendar."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    returns_errors,
)
from backend.api.node import optional_organisation_id, public_id_of
from backend.api.scalars import Int64
from backend.credits import exports, issuance, projects, registry
from backend.credits.models import CreditProject
from backend.credits.types import (
    BlockNotMovableError,
    CalendarDayType,
    CreditBlockType,
    CreditExportType,
    CreditProjectType,
    CreditRetirementType,
    CreditTransferType,
    ExportRefusedError,
    IssuanceRequestType,
    IssuanceStatus,
    NotEnoughUnitsError,
    NothingToIssueError,
    NoticeEnd,
    NoticeNotOverError,
    ObjectionType,
    OpenObjectionsError,
    PeriodOverlapsError,
    ProjectDocumentType,
    ProjectStatus,
    RetirementPurpose,
    WrongIssuanceStateError,
    WrongProjectStateError,
)
from backend.kit.errors import InvalidInput
from backend.methodology.types import MethodologyUnknownError


@strawberry.input
class CreateProjectInput:
    title_zh: str
    title_en: str
    description: str
    methodology_code: str


@strawberry.input
class AddProjectDocumentInput:
    project_id: strawberry.ID
    title: str
    url: str
    sha256: str


@strawberry.input
class SubmitProjectInput:
    project_id: strawberry.ID
    verifier_id: strawberry.ID = strawberry.field(
        description="The verifier organisation (its global id)."
    )


@strawberry.input
class ProjectDecisionInput:
    project_id: strawberry.ID
    approve: bool
    comment: str


@strawberry.input
class SetCalendarDayInput:
    day: str = strawberry.field(description="YYYY-MM-DD")
    is_working: bool = strawberry.field(
        description="False for a holiday, true for a make-up workday."
    )
    note: str


ProjectPayload = Annotated[
    CreditProjectType
    | InvalidInputError
    | NotFoundError
    | WrongProjectStateError
    | MethodologyUnknownError,
    strawberry.union("ProjectPayload"),
]
DocumentPayload = Annotated[
    ProjectDocumentType | InvalidInputError | NotFoundError | WrongProjectStateError,
    strawberry.union("ProjectDocumentPayload"),
]
CalendarDayPayload = Annotated[
    CalendarDayType | InvalidInputError, strawberry.union("CalendarDayPayload")
]


IssuancePayload = Annotated[
    IssuanceRequestType
    | InvalidInputError
    | NotFoundError
    | WrongIssuanceStateError
    | NoticeNotOverError
    | OpenObjectionsError
    | PeriodOverlapsError
    | NothingToIssueError,
    strawberry.union("IssuancePayload"),
]
ObjectionPayload = Annotated[
    ObjectionType | InvalidInputError | NotFoundError | WrongIssuanceStateError,
    strawberry.union("ObjectionPayload"),
]


@strawberry.input
class EvidenceInput:
    url: str
    sha256: str


@strawberry.input
class FileIssuanceRequestInput:
    project_id: strawberry.ID
    period_start: str = strawberry.field(description="YYYY-MM-DD, Shanghai days, inclusive.")
    period_end: str
    declared_kg: int | None = strawberry.field(
        default=None, description="A business's own project only."
    )
    evidence: list[EvidenceInput] | None = None


@strawberry.input
class IssuanceStepInput:
    request_id: strawberry.ID
    comment: str | None = None


@strawberry.input
class FileObjectionInput:
    request_id: strawberry.ID
    text: str


@strawberry.input
class ResolveObjectionInput:
    objection_id: strawberry.ID
    resolution: str


async def _requests(rows: list) -> list[IssuanceRequestType]:  # type: ignore[type-arg]
    objections = await issuance.objections_of([r.id for r in rows])
    return [IssuanceRequestType.from_row(r, objections[r.id]) for r in rows]


async def _one(row: object) -> IssuanceRequestType:
    from backend.credits.models import IssuanceRequest

    assert isinstance(row, IssuanceRequest)
    fresh = await IssuanceRequest.get(id=row.id).select_related("project")
    return (await _requests([fresh]))[0]


async def _convert(rows: list[CreditProject]) -> list[CreditProjectType]:
    events = await projects.events_of([r.id for r in rows])
    return [CreditProjectType.from_row(r, events[r.id]) for r in rows]


@strawberry.type
class Query:
    @strawberry.field(description="Projects and their history, newest first (public).")
    async def credit_projects(self, status: ProjectStatus | None = None) -> list[CreditProjectType]:
        return await _convert(
            await projects.public_projects(status=status.value if status else None)
        )

    @strawberry.field(
        description="When a public notice starting on a day ends, in working days (public)."
    )
    async def notice_end(self, start: str, working_days: int = 7) -> NoticeEnd | None:
        from datetime import date

        try:
            first = date.fromisoformat(start)
        except ValueError:
            return None
        if not 1 <= working_days <= 60:
            return None
        end = await projects.working_days_after(first, working_days)
        return NoticeEnd(
            start=first.isoformat(), working_days=working_days, ends_on=end.isoformat()
        )


@strawberry.type
class IssuanceQuery:
    @strawberry.field(description="Issuance requests with their notices and objections (public).")
    async def issuance_requests(
        self, status: IssuanceStatus | None = None
    ) -> list[IssuanceRequestType]:
        return await _requests(
            await issuance.public_requests(status=status.value if status else None)
        )


@strawberry.input(description="Name the receiver by one of toOrganisationId or toHoldingAccountId.")
class TransferCreditsInput:
    block_id: strawberry.ID
    quantity_kg: int
    idempotency_key: str = strawberry.field(
        description="A replay with the same key returns the first answer and moves nothing again."
    )
    to_organisation_id: strawberry.ID | None = None
    to_holding_account_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A holding account's id, as its holder reads it in myCreditHoldings (a citizen's too).",
    )


@strawberry.input
class RetireCreditsInput:
    block_id: strawberry.ID
    quantity_kg: int
    idempotency_key: str = strawberry.field(
        description="A replay with the same key returns the first answer and moves nothing again."
    )
    beneficiary: str | None = strawberry.field(
        default=None, description="Omit to retire anonymously."
    )
    purpose: RetirementPurpose


@strawberry.input
class ExportCreditsInput:
    block_id: strawberry.ID
    quantity_kg: int
    idempotency_key: str = strawberry.field(
        description="A replay with the same key returns the first answer and moves nothing again."
    )
    exchange_account: str = strawberry.field(
        description="Your account at the carbon trading platform (3-40 letters, digits, hyphens)."
    )


ExportCreditsPayload = Annotated[
    CreditExportType
    | InvalidInputError
    | NotFoundError
    | BlockNotMovableError
    | NotEnoughUnitsError
    | ExportRefusedError
    | IdempotencyKeyReusedError,
    strawberry.union("ExportCreditsPayload"),
]
TransferCreditsPayload = Annotated[
    CreditBlockType
    | InvalidInputError
    | NotFoundError
    | BlockNotMovableError
    | NotEnoughUnitsError
    | IdempotencyKeyReusedError,
    strawberry.union("TransferCreditsPayload"),
]
RetireCreditsPayload = Annotated[
    CreditRetirementType
    | InvalidInputError
    | NotFoundError
    | BlockNotMovableError
    | NotEnoughUnitsError
    | IdempotencyKeyReusedError,
    strawberry.union("RetireCreditsPayload"),
]


async def _block(row: object) -> CreditBlockType:
    from backend.credits.models import CreditBlock

    assert isinstance(row, CreditBlock)
    return CreditBlockType.from_row(await CreditBlock.get(id=row.id).select_related("issuance"))


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(
        description="Transfer (转移) units to another organisation; a part splits the block, you keep the lower serials."
    )
    @returns_errors
    async def transfer_credits(
        self, info: Info, input: TransferCreditsInput
    ) -> TransferCreditsPayload:
        if (input.to_organisation_id is None) == (input.to_holding_account_id is None):
            raise InvalidInput(
                field="toOrganisationId",
                reason="name the receiver by exactly one of toOrganisationId or toHoldingAccountId",
                reason_zh="请只填写 toOrganisationId 或 toHoldingAccountId 之一",
            )
        if input.to_organisation_id is not None:
            field, to = "toOrganisationId", str(input.to_organisation_id)
            target = public_id_of(to, "Organisation", field=field)
        else:
            field, to = "toHoldingAccountId", str(input.to_holding_account_id)
            target = public_id_of(to, "HoldingAccount", field=field)
        moved = await registry.transfer(
            actor=info.context.actor,
            block_id=str(input.block_id),
            quantity=input.quantity_kg,
            to_holder=target,
            field=field,
            idempotency_key=input.idempotency_key,
        )
        return await _block(moved)

    @strawberry.mutation(
        description="Retire (注销) units for a beneficiary, or anonymously; they never move again."
    )
    @returns_errors
    async def retire_credits(self, info: Info, input: RetireCreditsInput) -> RetireCreditsPayload:
        from backend.credits.models import CreditRetirement

        row = await registry.retire(
            actor=info.context.actor,
            block_id=str(input.block_id),
            quantity=input.quantity_kg,
            beneficiary=input.beneficiary,
            purpose=input.purpose.value,
            idempotency_key=input.idempotency_key,
        )
        fresh = await CreditRetirement.get(id=row.id).select_related("block", "block__issuance")
        return CreditRetirementType.from_row(fresh)

    @strawberry.mutation(
        description="Export (转出) units to your account at the carbon trading platform; they are"
        " then held there and cannot move here. CONFIRMED with the exchange's reference, or"
        " PENDING while the exchange has not answered (it is asked again until it does)."
    )
    @returns_errors
    async def export_credits(self, info: Info, input: ExportCreditsInput) -> ExportCreditsPayload:
        from backend.accounts import queries as accounts
        from backend.credits.models import CreditExport

        row = await exports.export(
            actor=info.context.actor,
            block_id=str(input.block_id),
            quantity=input.quantity_kg,
            account=input.exchange_account,
            idempotency_key=input.idempotency_key,
        )
        fresh = await CreditExport.get(id=row.id).select_related("block")
        names = await accounts.public_names({str(fresh.from_holder)})
        return CreditExportType.from_row(fresh, names[str(fresh.from_holder)])


@strawberry.type(
    name="CreditHoldings", description="Your holding account (持有账户) and its units."
)
class CreditHoldingsType:
    account_id: strawberry.ID = strawberry.field(
        description="Give it to someone who transfers units to you (toHoldingAccountId)."
    )
    held_kg: Int64
    exporting_kg: Int64
    exported_kg: Int64
    retired_kg: Int64
    blocks: list[CreditBlockType] = strawberry.field(description="The first 500, by serial.")


@strawberry.type
class RegistryQuery:
    @strawberry.field(
        description="The holding account you act for: yours, or your organisation's (owners and managers)."
    )
    async def my_credit_holdings(self, info: Info) -> CreditHoldingsType:
        holder, blocks, kg = await registry.holdings(info.context.actor)
        return CreditHoldingsType(
            account_id=strawberry.ID(relay.to_base64("HoldingAccount", holder)),
            held_kg=Int64(kg.get("HELD", 0)),
            exporting_kg=Int64(kg.get("EXPORTING", 0)),
            exported_kg=Int64(kg.get("EXPORTED", 0)),
            retired_kg=Int64(kg.get("RETIRED", 0)),
            blocks=[CreditBlockType.from_row(b) for b in blocks],
        )

    @strawberry.field(description="Exports to the carbon trading platform, newest first (public).")
    async def credit_exports(self) -> list[CreditExportType]:
        return [CreditExportType.from_row(*e) for e in await exports.public_exports()]

    @strawberry.field(description="Retirements, newest first (public).")
    async def credit_retirements(self) -> list[CreditRetirementType]:
        return [CreditRetirementType.from_row(r) for r in await registry.public_retirements()]

    @strawberry.field(description="Transfers, newest first (public).")
    async def credit_transfers(self) -> list[CreditTransferType]:
        return [CreditTransferType.from_row(*t) for t in await registry.public_transfers()]

    @strawberry.field(description="The public registry: issued blocks, optionally of one holder.")
    async def credit_blocks(self, holder_id: strawberry.ID | None = None) -> list[CreditBlockType]:
        holder = optional_organisation_id(holder_id, field="holderId") if holder_id else None
        return [CreditBlockType.from_row(b) for b in await registry.public_blocks(holder_id=holder)]

    @strawberry.field(description="The block that holds a serial number (public).")
    async def credit_block_by_serial(self, serial: str) -> CreditBlockType | None:
        block = await registry.find_by_serial(serial)
        return CreditBlockType.from_row(block) if block else None


@strawberry.type
class IssuanceMutation:
    @strawberry.mutation(
        description="File a request for a monitoring period of a registered project. Project owners."
    )
    @returns_errors
    async def file_issuance_request(
        self, info: Info, input: FileIssuanceRequestInput
    ) -> IssuancePayload:
        row = await issuance.file_request(
            actor=info.context.actor,
            project_id=str(input.project_id),
            period_start=input.period_start,
            period_end=input.period_end,
            declared_kg=input.declared_kg,
            evidence=[{"url": e.url, "sha256": e.sha256} for e in input.evidence]
            if input.evidence
            else None,
        )
        return await _one(row)

    @strawberry.mutation(description="Verify (核算/核查) a request. The project's verifier.")
    @returns_errors
    async def verify_issuance_request(
        self, info: Info, input: IssuanceStepInput
    ) -> IssuancePayload:
        return await _one(
            await issuance.verify(
                actor=info.context.actor,
                request_id=str(input.request_id),
                comment=input.comment or "",
            )
        )

    @strawberry.mutation(description="Review (审核) a verified request. Authority only.")
    @returns_errors
    async def review_issuance_request(
        self, info: Info, input: IssuanceStepInput
    ) -> IssuancePayload:
        return await _one(
            await issuance.review(
                actor=info.context.actor,
                request_id=str(input.request_id),
                comment=input.comment or "",
            )
        )

    @strawberry.mutation(
        description="Put a reviewed request on public notice (公示) for 7 working days. Authority only."
    )
    @returns_errors
    async def start_public_notice(self, info: Info, input: IssuanceStepInput) -> IssuancePayload:
        return await _one(
            await issuance.start_notice(actor=info.context.actor, request_id=str(input.request_id))
        )

    @strawberry.mutation(
        description="Issue (签发) after the notice, every objection resolved. Authority only."
    )
    @returns_errors
    async def issue_credits(self, info: Info, input: IssuanceStepInput) -> IssuancePayload:
        return await _one(
            await issuance.issue(actor=info.context.actor, request_id=str(input.request_id))
        )

    @strawberry.mutation(
        description="Reject a request (its records are free again). Authority, or the verifier before verifying."
    )
    @returns_errors
    async def reject_issuance_request(
        self, info: Info, input: IssuanceStepInput
    ) -> IssuancePayload:
        return await _one(
            await issuance.reject(
                actor=info.context.actor,
                request_id=str(input.request_id),
                comment=input.comment or "",
            )
        )

    @strawberry.mutation(description="Object to a request on public notice; anyone may.")
    @returns_errors
    async def file_objection(self, info: Info, input: FileObjectionInput) -> ObjectionPayload:
        row = await issuance.file_objection(request_id=str(input.request_id), text=input.text)
        return ObjectionType(
            id=strawberry.ID(str(row.public_id)),
            text=row.text,
            filed_at=row.filed_at,
            resolution=None,
            resolved_at=None,
        )

    @strawberry.mutation(description="Resolve an objection. Authority only.")
    @returns_errors
    async def resolve_objection(self, info: Info, input: ResolveObjectionInput) -> ObjectionPayload:
        row = await issuance.resolve_objection(
            actor=info.context.actor,
            objection_id=str(input.objection_id),
            resolution=input.resolution,
        )
        return ObjectionType(
            id=strawberry.ID(str(row.public_id)),
            text=row.text,
            filed_at=row.filed_at,
            resolution=row.resolution,
            resolved_at=row.resolved_at,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A draft project of the platform or business you act for.")
    @returns_errors
    async def create_project(self, info: Info, input: CreateProjectInput) -> ProjectPayload:
        row = await projects.create_project(
            actor=info.context.actor,
            title_zh=input.title_zh,
            title_en=input.title_en,
            description=input.description,
            methodology_code=input.methodology_code,
        )
        return (await _convert([row]))[0]

    @strawberry.mutation(description="Attach a document (its URL and the sha256 of its content).")
    @returns_errors
    async def add_project_document(
        self, info: Info, input: AddProjectDocumentInput
    ) -> DocumentPayload:
        row = await projects.add_document(
            actor=info.context.actor,
            project_id=str(input.project_id),
            title=input.title,
            url=input.url,
            sha256=input.sha256,
        )
        return ProjectDocumentType(
            title=row.title, url=row.url, sha256=row.sha256, added_at=row.added_at
        )

    @strawberry.mutation(description="Submit to a verifier for validation (审定).")
    @returns_errors
    async def submit_project(self, info: Info, input: SubmitProjectInput) -> ProjectPayload:
        row = await projects.submit(
            actor=info.context.actor,
            project_id=str(input.project_id),
            verifier_id=public_id_of(input.verifier_id, "Organisation", field="verifierId"),
        )
        return (await _convert([row]))[0]

    @strawberry.mutation(
        description="Validate (审定), or ask the owner for changes. The named verifier."
    )
    @returns_errors
    async def validate_project(self, info: Info, input: ProjectDecisionInput) -> ProjectPayload:
        row = await projects.validate(
            actor=info.context.actor,
            project_id=str(input.project_id),
            approve=input.approve,
            comment=input.comment,
        )
        return (await _convert([row]))[0]

    @strawberry.mutation(
        description="Register (登记) a validated project, or reject it with reasons. Authority only."
    )
    @returns_errors
    async def register_project(self, info: Info, input: ProjectDecisionInput) -> ProjectPayload:
        row = await projects.register(
            actor=info.context.actor,
            project_id=str(input.project_id),
            approve=input.approve,
            comment=input.comment,
        )
        return (await _convert([row]))[0]

    @strawberry.mutation(description="Mark a holiday or a make-up workday. Authority only.")
    @returns_errors
    async def set_calendar_day(self, info: Info, input: SetCalendarDayInput) -> CalendarDayPayload:
        row = await projects.set_calendar_day(
            actor=info.context.actor, day=input.day, is_working=input.is_working, note=input.note
        )
        return CalendarDayType(day=row.day, is_working=row.is_working, note=row.note)
