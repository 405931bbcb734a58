"""GraphQL types of behaviour reporting."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.api.scalars import Int64
from backend.behaviour.ingestion import Outcome


@strawberry.input(description="One behaviour record, as the platform saw it.")
class BehaviourRecordInput:
    event_id: str = strawberry.field(
        description="The platform's id of the event; resending it is safe."
    )
    subject_id: str = strawberry.field(
        description="Your pseudonymous id of the subject (from linking)."
    )
    scenario: str
    quantity: str = strawberry.field(description="In the scenario's unit, a decimal string.")
    occurred_at: datetime
    meter_account: str | None = None


@strawberry.type
class RecordOutcome:
    event_id: str
    status: str = strawberry.field(description="ACCEPTED, DUPLICATE or REJECTED.")
    code: str | None = strawberry.field(description="Why it was rejected.")
    grams: Int64
    points: Int64
    capped: bool

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> RecordOutcome:
        return cls(
            event_id=outcome.event_id,
            status=outcome.status,
            code=outcome.code,
            grams=Int64(outcome.grams),
            points=Int64(outcome.points),
            capped=outcome.capped,
        )


@strawberry.type
class BatchReport:
    outcomes: list[RecordOutcome]


@strawberry.type(name="OutcomeCount")
class OutcomeCountType:
    day: str
    code: str
    count: Int64
