"""Reporting behaviour records (GraphQL), and the authority's view of it."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import InvalidInputError, returns_errors
from backend.api.node import public_id_of
from backend.api.scalars import Int64
from backend.behaviour import ingestion, supervision
from backend.behaviour.types import (
    BatchReport,
    BehaviourRecordInput,
    OutcomeCountType,
    RecordOutcome,
)


@strawberry.input
class ReportBehaviourRecordsInput:
    records: list[BehaviourRecordInput] = strawberry.field(description="1 to 1,000 records.")


ReportBehaviourRecordsPayload = Annotated[
    BatchReport | InvalidInputError, strawberry.union("ReportBehaviourRecordsPayload")
]


@strawberry.type
class Query:
    @strawberry.field(description="A platform's records per day and outcome code. Authority only.")
    async def record_outcome_counts(
        self, info: Info, platform_id: strawberry.ID, days: int = 30
    ) -> list[OutcomeCountType]:
        rows = await supervision.outcome_counts(
            actor=info.context.actor,
            platform_id=public_id_of(platform_id, "Organisation", field="platformId"),
            days=days,
        )
        return [OutcomeCountType(day=r.day, code=r.code, count=Int64(r.count)) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Report up to 1,000 records; each gets its own outcome. Platforms only. "
        "Servers may prefer POST /platform/v1/records (same outcomes, faster)."
    )
    @returns_errors
    async def report_behaviour_records(
        self, info: Info, input: ReportBehaviourRecordsInput
    ) -> ReportBehaviourRecordsPayload:
        outcomes = await ingestion.report(
            actor=info.context.actor,
            records=[
                {
                    "eventId": r.event_id,
                    "subjectId": r.subject_id,
                    "scenario": r.scenario,
                    "quantity": r.quantity,
                    "occurredAt": r.occurred_at,
                    "meterAccount": r.meter_account,
                }
                for r in input.records
            ],
        )
        return BatchReport(outcomes=[RecordOutcome.from_outcome(o) for o in outcomes])
