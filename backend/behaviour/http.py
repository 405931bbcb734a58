"""`POST /platform/v1/records`: the bulk route for platforms' servers, beside the GraphQL mutation.

JSON (`{"records": [...]}`) or NDJSON (one record a line); the same bearer token, the same service
and the same outcomes as `reportBehaviourRecords`, without typed GraphQL input coercion, which
costs more than the records' own processing (PERFORMANCE-NOTES.md 2).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.accounts.authn import authenticate
from backend.api import cost
from backend.api.context import client_address
from backend.behaviour import ingestion
from backend.kit.errors import (
    Busy,
    DomainError,
    Forbidden,
    PublicApiError,
    Unauthenticated,
    pick_language,
)
from backend.kit.validation import NUL_MESSAGE, holds_nul, may_hold_nul


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def records_endpoint(request: Request) -> JSONResponse:
    language = pick_language(request.headers.get("accept-language"))
    try:
        actor = await authenticate(request.headers.get("authorization"), request.app.state.settings)
    except Unauthenticated as refused:
        return _error(401, refused.code, refused.message(language))
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    try:
        if content_type == "application/json":
            data = json.loads(body)
            records = data.get("records") if isinstance(data, dict) else None
        elif content_type in ("application/x-ndjson", "application/jsonl"):
            records = [json.loads(line) for line in body.splitlines() if line.strip()]
        else:
            return _error(
                415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or application/x-ndjson."
            )
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "BAD_REQUEST", "The body is not valid JSON.")
    if not isinstance(records, list):
        return _error(400, "BAD_REQUEST", 'The body must be {"records": [...]}.')
    if may_hold_nul(body) and holds_nul(records):
        return _error(400, "BAD_REQUEST", NUL_MESSAGE)
    # The same budget as the GraphQL mutation: an outcome costs one, the request MUTATION_COST.
    settings = request.app.state.settings
    admission = await cost.admit(
        cost.budgets_for(actor, client_address(request), settings), settings
    )
    requested = len(records) + cost.MUTATION_COST
    if requested > admission.available:
        throttled = _error(429, "THROTTLED", cost.throttled_message(requested, admission))
        throttled.headers["Retry-After"] = str(admission.retry_after_seconds)
        return throttled
    try:
        outcomes = await ingestion.report(actor=actor, records=records)
    except Busy as refused:
        busy = _error(503, refused.code, refused.message(language))
        busy.headers["Retry-After"] = str(refused.retry_after_seconds)
        return busy
    except Forbidden as refused:
        return _error(403, refused.code, refused.message(language))
    except Unauthenticated as refused:
        return _error(401, refused.code, refused.message(language))
    except PublicApiError as refused:
        return _error(400, refused.code, refused.message(language))
    except DomainError as refused:
        return _error(400, refused.code, refused.message(language))
    admission.charge(len(outcomes) + cost.MUTATION_COST)
    return JSONResponse(
        {
            "outcomes": [
                {
                    "eventId": o.event_id,
                    "status": o.status,
                    "code": o.code,
                    "grams": str(o.grams),
                    "points": str(o.points),
                    "capped": o.capped,
                }
                for o in outcomes
            ]
        }
    )
