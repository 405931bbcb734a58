"""Query and Mutation fields of credit projects and the working-day calendar."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.api.node import public_id_of
from backend.credits import projects
from backend.credits.models import CreditProject
from backend.credits.types import (
    CalendarDayType,
    CreditProjectType,
    NoticeEnd,
    ProjectDocumentType,
    ProjectStatus,
    WrongProjectStateError,
)
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
