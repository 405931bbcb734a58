"""GraphQL types of credit projects (public: no personal data)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from backend.api.context import Info
from backend.api.errors import Error, error_type
from backend.credits import errors, models

ProjectStatus = models.ProjectStatus
ProjectKind = models.ProjectKind
strawberry.enum(ProjectStatus, name="ProjectStatus")
strawberry.enum(ProjectKind, name="ProjectKind")


@strawberry.type(name="ProjectEvent")
class ProjectEventType:
    event: str
    comment: str | None
    occurred_at: datetime


@strawberry.type(name="CreditProject", description="A carbon-inclusive project (碳普惠项目).")
class CreditProjectType:
    id: strawberry.ID
    number: int = strawberry.field(description="Public; serial numbers of its credits carry it.")
    owner_id: strawberry.ID
    kind: ProjectKind
    title_zh: str
    title_en: str
    description: str
    methodology_code: str
    verifier_id: strawberry.ID | None
    status: ProjectStatus
    created_at: datetime
    registered_at: datetime | None
    history: list[ProjectEventType]

    @classmethod
    def from_row(
        cls, row: models.CreditProject, events: list[models.ProjectEvent]
    ) -> CreditProjectType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            number=row.id,
            owner_id=strawberry.ID(relay.to_base64("Organisation", str(row.owner_id))),
            kind=row.kind,
            title_zh=row.title_zh,
            title_en=row.title_en,
            description=row.description,
            methodology_code=row.methodology_code,
            verifier_id=strawberry.ID(relay.to_base64("Organisation", str(row.verifier_id)))
            if row.verifier_id
            else None,
            status=row.status,
            created_at=row.created_at,
            registered_at=row.registered_at,
            history=[
                ProjectEventType(event=e.event, comment=e.comment, occurred_at=e.occurred_at)
                for e in events
            ],
        )


@strawberry.type(name="ProjectDocument")
class ProjectDocumentType:
    title: str
    url: str
    sha256: str
    added_at: datetime


@strawberry.type(name="CalendarDay")
class CalendarDayType:
    day: str
    is_working: bool
    note: str


@strawberry.type
class NoticeEnd:
    start: str
    working_days: int
    ends_on: str = strawberry.field(description="The last working day of the notice.")


@error_type(errors.WrongProjectState)
@strawberry.type
class WrongProjectStateError(Error):
    pass


IssuanceStatus = models.IssuanceStatus
strawberry.enum(IssuanceStatus, name="IssuanceStatus")


@strawberry.type(name="Objection")
class ObjectionType:
    id: strawberry.ID
    text: str
    filed_at: datetime
    resolution: str | None
    resolved_at: datetime | None


@strawberry.type(
    name="IssuanceRequest",
    description="Credits asked for a monitoring period (public, no personal data).",
)
class IssuanceRequestType:
    id: strawberry.ID
    project_id: strawberry.ID
    project_number: int
    period_start: str
    period_end: str
    quantity_kg: int
    status: IssuanceStatus
    notice_start: str | None
    notice_end: str | None
    serial_start: int | None
    serial_end: int | None
    issued_at: datetime | None
    objections: list[ObjectionType]

    @classmethod
    def from_row(
        cls, row: models.IssuanceRequest, objections: list[models.Objection]
    ) -> IssuanceRequestType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            project_id=strawberry.ID(str(row.project.public_id)),
            project_number=row.project.id,
            period_start=row.period_start,
            period_end=row.period_end,
            quantity_kg=row.quantity_kg,
            status=row.status,
            notice_start=row.notice_start,
            notice_end=row.notice_end,
            serial_start=row.serial_start,
            serial_end=row.serial_end,
            issued_at=row.issued_at,
            objections=[
                ObjectionType(
                    id=strawberry.ID(str(o.public_id)),
                    text=o.text,
                    filed_at=o.filed_at,
                    resolution=o.resolution,
                    resolved_at=o.resolved_at,
                )
                for o in objections
            ],
        )


@error_type(errors.WrongIssuanceState)
@strawberry.type
class WrongIssuanceStateError(Error):
    pass


@error_type(errors.NoticeNotOver)
@strawberry.type
class NoticeNotOverError(Error):
    ends_on: str


@error_type(errors.OpenObjections)
@strawberry.type
class OpenObjectionsError(Error):
    count: int


@error_type(errors.PeriodOverlaps)
@strawberry.type
class PeriodOverlapsError(Error):
    pass


@error_type(errors.NothingToIssue)
@strawberry.type
class NothingToIssueError(Error):
    pass


BlockStatus = models.BlockStatus
strawberry.enum(BlockStatus, name="CreditBlockStatus")


@strawberry.type(
    name="CreditBlock",
    description="Serial-numbered units (1 unit = 1 kg CO2e) in one holding account.",
)
class CreditBlockType:
    id: strawberry.ID
    serial_from: str
    serial_to: str
    quantity_kg: int
    vintage: int
    project_number: int
    issuance_id: strawberry.ID
    holder: str = strawberry.field(description="The organisation's global id, or 'individual'.")
    status: BlockStatus

    @strawberry.field(
        description="Where the block came from: its issuance, project and methodology (public)."
    )
    async def lineage(self, info: Info) -> CreditLineage:
        # one query for all the blocks a response asks about
        request = await info.context.loader("credits.lineage", _lineage_loader).load(
            str(self.issuance_id)
        )
        return CreditLineage(
            issuance_id=strawberry.ID(str(request.public_id)),
            period_start=request.period_start,
            period_end=request.period_end,
            issued_at=request.issued_at,
            project_id=strawberry.ID(str(request.project.public_id)),
            project_number=request.project.id,
            project_title_zh=request.project.title_zh,
            project_title_en=request.project.title_en,
            methodology_code=request.project.methodology_code,
        )

    @strawberry.field(description="The retirement that retired this block, if it is retired.")
    async def retirement(self, info: Info) -> CreditRetirementType | None:
        if self.status != BlockStatus.RETIRED:
            return None
        row = await info.context.loader("credits.retirement", _retirement_loader).load(str(self.id))
        return CreditRetirementType.from_row(row) if row else None

    @strawberry.field(description="The export that took this block out, if it was exported.")
    async def export(self, info: Info) -> CreditExportType | None:
        if self.status not in (BlockStatus.EXPORTING, BlockStatus.EXPORTED):
            return None
        found = await info.context.loader("credits.export", _export_loader).load(str(self.id))
        return CreditExportType.from_row(*found) if found else None

    @classmethod
    def from_row(cls, row: models.CreditBlock) -> CreditBlockType:
        from backend.credits.registry import serial_label

        holder = (
            relay.to_base64("Organisation", str(row.holder_id))
            if row.holder_kind == "ORGANISATION"
            else "individual"
        )
        return cls(
            id=strawberry.ID(str(row.public_id)),
            serial_from=serial_label(row.project_number, row.vintage, row.serial_start),
            serial_to=serial_label(row.project_number, row.vintage, row.serial_end),
            quantity_kg=row.serial_end - row.serial_start + 1,
            vintage=row.vintage,
            project_number=row.project_number,
            issuance_id=strawberry.ID(str(row.issuance.public_id)),
            holder=holder,
            status=row.status,
        )


def _retirement_loader() -> DataLoader[str, models.CreditRetirement | None]:
    async def load(block_ids: list[str]) -> list[models.CreditRetirement | None]:
        from backend.credits.registry import retirements_of

        found = await retirements_of(list(block_ids))
        return [found.get(i) for i in block_ids]

    return DataLoader(load_fn=load)


def _export_loader() -> DataLoader[str, tuple[models.CreditExport, str] | None]:
    async def load(block_ids: list[str]) -> list[tuple[models.CreditExport, str] | None]:
        from backend.credits.exports import live_exports_of

        found = await live_exports_of(list(block_ids))
        return [found.get(i) for i in block_ids]

    return DataLoader(load_fn=load)


def _lineage_loader() -> DataLoader[str, models.IssuanceRequest]:
    async def load(issuance_ids: list[str]) -> list[models.IssuanceRequest]:
        from backend.credits.registry import lineages

        found = await lineages(list(issuance_ids))
        return [found[i] for i in issuance_ids]  # a block always has its issuance (foreign key)

    return DataLoader(load_fn=load)


@strawberry.type(
    name="CreditLineage",
    description="A block's origin: the issuance that created its serials, the project and methodology.",
)
class CreditLineage:
    issuance_id: strawberry.ID
    period_start: str
    period_end: str
    issued_at: datetime | None
    project_id: strawberry.ID
    project_number: int
    project_title_zh: str
    project_title_en: str
    methodology_code: str


@strawberry.type(
    name="CreditTransfer",
    description="A transfer (转移), public: holders shown by organisation name or 'individual'.",
)
class CreditTransferType:
    number: int
    from_holder: str
    to_holder: str
    quantity_kg: int
    serial_from: str = strawberry.field(
        description="The serials moved: a block keeps its lower serials when later split."
    )
    serial_to: str
    block: CreditBlockType = strawberry.field(description="The block as it is now.")
    created_at: datetime

    @classmethod
    def from_row(
        cls, row: models.CreditTransfer, from_holder: str, to_holder: str
    ) -> CreditTransferType:
        from backend.credits.registry import serial_label

        block = row.block
        first, last = block.serial_start, block.serial_start + row.quantity_kg - 1
        return cls(
            number=row.id,
            from_holder=from_holder,
            to_holder=to_holder,
            quantity_kg=row.quantity_kg,
            serial_from=serial_label(block.project_number, block.vintage, first),
            serial_to=serial_label(block.project_number, block.vintage, last),
            block=CreditBlockType.from_row(row.block),
            created_at=row.created_at,
        )


RetirementPurpose = models.RetirementPurpose
strawberry.enum(RetirementPurpose, name="RetirementPurpose")


@strawberry.type(
    name="CreditRetirement", description="A retirement (注销): public, with its serial range."
)
class CreditRetirementType:
    id: strawberry.ID
    number: int
    beneficiary: str | None = strawberry.field(description="None: retired anonymously.")
    purpose: RetirementPurpose
    block: CreditBlockType
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.CreditRetirement) -> CreditRetirementType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            number=row.id,
            beneficiary=row.beneficiary,
            purpose=row.purpose,
            block=CreditBlockType.from_row(row.block),
            created_at=row.created_at,
        )


@error_type(errors.BlockNotMovable)
@strawberry.type
class BlockNotMovableError(Error):
    pass


@error_type(errors.NotEnoughUnits)
@strawberry.type
class NotEnoughUnitsError(Error):
    available: int
    requested: int


ExportStatus = models.ExportStatus
strawberry.enum(ExportStatus, name="ExportStatus")


@strawberry.type(
    name="CreditExport",
    description="An export (转出) to the carbon trading platform: the units are held there.",
)
class CreditExportType:
    id: strawberry.ID
    number: int
    from_holder: str = strawberry.field(description="The organisation's name, or 'individual'.")
    exchange: str
    exchange_account: str | None = strawberry.field(
        description="The account at the exchange; not shown for an individual's export."
    )
    exchange_reference: str | None = strawberry.field(
        description="The exchange's reference, once it confirmed."
    )
    status: ExportStatus
    failure: str | None
    quantity_kg: int
    serial_from: str
    serial_to: str
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def from_row(cls, row: models.CreditExport, from_holder: str) -> CreditExportType:
        from backend.credits.registry import serial_label

        block = row.block
        return cls(
            id=strawberry.ID(str(row.public_id)),
            number=row.id,
            from_holder=from_holder,
            exchange=row.exchange,
            exchange_account=None if from_holder == "individual" else row.external_account,
            exchange_reference=row.reference,
            status=row.status,
            failure=row.failure,
            quantity_kg=row.quantity_kg,
            serial_from=serial_label(block.project_number, block.vintage, row.serial_start),
            serial_to=serial_label(block.project_number, block.vintage, row.serial_end),
            created_at=row.created_at,
            settled_at=row.settled_at,
        )


@error_type(errors.ExportRefused)
@strawberry.type
class ExportRefusedError(Error):
    reason: str
