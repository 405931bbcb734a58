"""GraphQL types of credit projects (public: no personal data)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from backend.api.errors import Error, error_type
from backend.credits import errors, models

ProjectStatus = models.ProjectStatus
ProjectKind = models.ProjectKind
strawberry.enum(ProjectStatus, name="ProjectStatus")
strawberry.enum(ProjectKind, name="ProjectKind")


@strawberry.type
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


@strawberry.type
class ProjectDocumentType:
    title: str
    url: str
    sha256: str
    added_at: datetime


@strawberry.type
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
