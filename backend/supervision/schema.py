"""GraphQL of appeals (申诉)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.supervision import models, service

AppealKind = models.AppealKind
AppealStatus = models.AppealStatus
strawberry.enum(AppealKind, name="AppealKind")
strawberry.enum(AppealStatus, name="AppealStatus")


@strawberry.type(name="Appeal", description="An appeal (申诉) and the authority's answer.")
class AppealType:
    id: strawberry.ID
    kind: AppealKind
    reference: str
    text: str
    status: AppealStatus
    answer: str | None
    filed_at: datetime
    answered_at: datetime | None

    @classmethod
    def from_row(cls, row: models.Appeal) -> AppealType:
        return cls(
            id=strawberry.ID(str(row.public_id)),
            kind=row.kind,
            reference=row.reference,
            text=row.text,
            status=row.status,
            answer=row.answer,
            filed_at=row.filed_at,
            answered_at=row.answered_at,
        )


@strawberry.input
class FileAppealInput:
    kind: AppealKind
    reference: str = strawberry.field(
        description="CLAWBACK: the clawback's id. REJECTION: the platform and its event id."
    )
    text: str


@strawberry.input
class AnswerAppealInput:
    appeal_id: strawberry.ID
    uphold: bool
    answer: str


AppealPayload = Annotated[
    AppealType | InvalidInputError | NotFoundError, strawberry.union("AppealPayload")
]


@strawberry.type
class Query:
    @strawberry.field(description="Your appeals, newest first.")
    async def my_appeals(self, info: Info) -> list[AppealType]:
        return [AppealType.from_row(r) for r in await service.my_appeals(info.context.actor)]

    @strawberry.field(description="Appeals, oldest first. Authority only.")
    async def appeals(self, info: Info, status: AppealStatus | None = None) -> list[AppealType]:
        rows = await service.appeals(info.context.actor, status.value if status else None)
        return [AppealType.from_row(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Appeal against a rejected record or a clawback of your points."
    )
    @returns_errors
    async def file_appeal(self, info: Info, input: FileAppealInput) -> AppealPayload:
        row = await service.file_appeal(
            actor=info.context.actor,
            kind=input.kind.value,
            reference=input.reference,
            reason=input.text,
        )
        return AppealType.from_row(row)

    @strawberry.mutation(description="Answer an appeal, once. Authority only.")
    @returns_errors
    async def answer_appeal(self, info: Info, input: AnswerAppealInput) -> AppealPayload:
        row = await service.answer_appeal(
            actor=info.context.actor,
            appeal_id=str(input.appeal_id),
            uphold=input.uphold,
            answer=input.answer,
        )
        return AppealType.from_row(row)
