"""`GET /merchant/v1/settlement.csv?start=...&end=...`: the settlement statement as CSV, for the
operator's reimbursement (the same figures as the `settlement` query)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.accounts.authn import authenticate
from backend.kit.errors import DomainError, PublicApiError, Unauthenticated, pick_language
from backend.rewards import service


async def settlement_csv(request: Request) -> Response:
    language = pick_language(request.headers.get("accept-language"))
    try:
        actor = await authenticate(request.headers.get("authorization"), request.app.state.settings)
        start = datetime.fromisoformat(request.query_params.get("start", ""))
        end = datetime.fromisoformat(request.query_params.get("end", ""))
        lines = await service.settlement(actor=actor, start=start, end=end)
    except Unauthenticated as refused:
        return JSONResponse(
            {"error": {"code": refused.code, "message": refused.message(language)}}, 401
        )
    except PublicApiError as refused:
        return JSONResponse(
            {"error": {"code": refused.code, "message": refused.message(language)}}, 403
        )
    except (DomainError, ValueError) as refused:
        message = (
            refused.message(language)
            if isinstance(refused, DomainError)
            else "start and end must be ISO 8601 times"
        )
        return JSONResponse({"error": {"code": "INVALID_INPUT", "message": message}}, 400)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["offer_id", "title", "vouchers", "points"])
    for line in lines:
        writer.writerow([line["offer_id"], line["title"], line["vouchers"], line["points"]])
    writer.writerow(
        [
            "total",
            "",
            sum(line["vouchers"] for line in lines),
            sum(line["points"] for line in lines),
        ]
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="settlement.csv"'},
    )
