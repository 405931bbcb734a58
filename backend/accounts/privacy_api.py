"""The privacy rights over GraphQL and HTTP: deleting one's account, the operator's view of
de-identified holdings, and the data export as a JSON download."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import strawberry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.accounts import privacy
from backend.accounts.authn import authenticate
from backend.api.context import Info
from backend.api.errors import InvalidInputError, NotFoundError, returns_errors
from backend.api.scalars import Int64
from backend.kit.errors import PublicApiError, Unauthenticated, pick_language


@strawberry.type(name="AccountDeleted")
class AccountDeletedType:
    deleted_at: datetime


@strawberry.type(name="DeidentifiedHolding", description="Credits of a deleted account.")
class DeidentifiedHoldingType:
    holder: str = strawberry.field(description="The pseudonymous holding account id.")
    status: str
    quantity_kg: Int64


@strawberry.input
class DeleteMyAccountInput:
    confirm_phone: str = strawberry.field(description="Your phone number, to confirm.")


DeletePayload = Annotated[
    AccountDeletedType | InvalidInputError | NotFoundError,
    strawberry.union("DeleteMyAccountPayload"),
]


@strawberry.type
class Query:
    @strawberry.field(description="Credits left in deleted accounts' holdings. Authority only.")
    async def deidentified_holdings(self, info: Info) -> list[DeidentifiedHoldingType]:
        return [
            DeidentifiedHoldingType(
                holder=r["holder"], status=r["status"], quantity_kg=Int64(r["kg"])
            )
            for r in await privacy.deidentified_holdings(info.context.actor)
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Delete your account: personal data erased, open vouchers cancelled, authorisations withdrawn; the pseudonymous ledger stays. Download your data first (GET /privacy/v1/export)."
    )
    @returns_errors
    async def delete_my_account(self, info: Info, input: DeleteMyAccountInput) -> DeletePayload:
        person = await privacy.delete_account(
            actor=info.context.actor, confirm_phone=input.confirm_phone
        )
        assert person.deleted_at is not None
        return AccountDeletedType(deleted_at=person.deleted_at)


async def export_endpoint(request: Request) -> Response:
    """GET /privacy/v1/export: everything held about the signed-in person, as JSON."""
    language = pick_language(request.headers.get("accept-language"))
    try:
        actor = await authenticate(request.headers.get("authorization"), request.app.state.settings)
        data = await privacy.export(actor)
    except Unauthenticated as refused:
        return JSONResponse(
            {"error": {"code": refused.code, "message": refused.message(language)}}, 401
        )
    except PublicApiError as refused:
        return JSONResponse(
            {"error": {"code": refused.code, "message": refused.message(language)}}, 403
        )
    return Response(
        json.dumps(data, ensure_ascii=False, default=str, indent=1),
        media_type="application/json",
        headers={"content-disposition": 'attachment; filename="tanpuhui-my-data.json"'},
    )


ROUTES = [Route("/privacy/v1/export", export_endpoint, methods=["GET"])]
