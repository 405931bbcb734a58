"""The GraphQL endpoint: strict HTTP handling, the typed context and trusted documents.

POST with a JSON object body only (no GET queries, no multipart, no array batching); every refusal
is a JSON body `{"errors": [{"message", "extensions": {"code"}}]}` with a 4xx status.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from backend.accounts.authn import authenticate
from backend.api.compiled import Plans
from backend.api.context import Context
from backend.api.extensions import validation_rules
from backend.api.trusted import DocumentRefused, TrustedDocuments
from backend.kit.actor import ANONYMOUS, Actor
from backend.kit.errors import Unauthenticated, pick_language
from backend.kit.logging import current_request_id
from backend.kit.validation import NUL_MESSAGE, document_holds_nul, holds_nul, may_hold_nul
from backend.settings import Settings

log = logging.getLogger("backend.api")

_STATUS_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class RequestRefused(HTTPException):
    def __init__(self, status_code: int, reason: str, code: str | None = None) -> None:
        super().__init__(status_code, reason)
        self.code = code or _STATUS_CODES.get(status_code, "BAD_REQUEST")


def error_response(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


def refusal_response(refused: HTTPException) -> JSONResponse:
    """A refused request's answer: its status, and its code (RequestRefused's, or the status's)."""
    code = getattr(refused, "code", None) or _STATUS_CODES.get(refused.status_code, "BAD_REQUEST")
    return error_response(refused.status_code, refused.reason, code)


def encode_response(data: object) -> bytes:
    """An HTTP answer's JSON body, UTF-8 encoded. orjson writes it several times faster than the
    standard library; an integer beyond 64 bits (which orjson refuses) goes to the latter. (The
    WebSocket handlers keep strawberry's encoder: they send what it returns as text frames.)"""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def parse_post(content_type_header: str | None, body: bytes) -> GraphQLRequestData:
    """A POST body as one GraphQL request, or RequestRefused saying what is wrong with it."""
    content_type = (content_type_header or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise RequestRefused(415, "The body must be application/json.")
    if not body:
        raise RequestRefused(400, "The request body is empty.")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestRefused(400, "The body is not valid JSON.") from exc
    if isinstance(data, list):
        raise RequestRefused(400, "Batched requests are not supported.", "BATCHING_NOT_SUPPORTED")
    if not isinstance(data, dict):
        raise RequestRefused(400, "The body must be a JSON object.")
    variables = data.get("variables")
    if not isinstance(variables, dict | None):
        raise RequestRefused(400, "`variables` must be an object.")
    operation_name = data.get("operationName")
    if not isinstance(operation_name, str | None):
        raise RequestRefused(400, "`operationName` must be a string.")
    extensions = data.get("extensions")
    if not isinstance(extensions, dict | None):
        raise RequestRefused(400, "`extensions` must be an object.")
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestRefused(400, "`query` must be a string.")
    if may_hold_nul(body) and (holds_nul(data) or document_holds_nul(query or "")):
        raise RequestRefused(400, NUL_MESSAGE)
    if data.get("documentId") is not None:
        # Carried to execute_single, where the caller is known, inside the extensions.
        extensions = {**(extensions or {}), "_documentId": data["documentId"]}
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        protocol="http",
    )


class TrustedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the same trusted-document check as HTTP."""

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        view: GraphQLView = self.view  # type: ignore[assignment]
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid subscribe payload")
            return
        try:
            payload["query"] = view.resolve_document(
                query=payload.get("query"),
                extensions=payload.get("extensions"),
                document_id_field=payload.get("documentId"),
                actor=self.context.actor,
            )
        except DocumentRefused as refused:
            if self.connection_acknowledged and isinstance(message.get("id"), str):
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [
                            {"message": refused.message, "extensions": {"code": refused.code}}
                        ],
                    }
                )
            else:
                await self.websocket.close(code=4401, reason="Unauthorized")
            return
        await super().handle_subscribe(message)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TrustedTransportWSHandler

    def __init__(self, *, schema: Any, settings: Settings, documents: TrustedDocuments) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=20,
        )
        self.settings = settings
        self.documents = documents
        self.plans = (
            Plans(schema, settings, validation_rules(settings))
            if settings.compiled_queries
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope["method"] == "POST":
            await self.serve_post(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as refused:  # RequestRefused among them
            response = refusal_response(refused)
        await response(scope, receive, send)

    async def serve_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A POSTed operation: what strawberry's `run` does for a JSON POST (context, body,
        `execute_single`, `process_result`, a 200 JSON answer), without its request adapters and
        sub-response, which nothing here reads. The app hands POST /graphql here directly.

        A body over the limit or a client gone before its body arrived propagates to
        BodyLimitMiddleware; anything else unexpected is logged and answered 500."""
        request = Request(scope=scope, receive=receive)
        body = await request.body()
        try:
            context = await self.get_context(request, None)
            request_data = parse_post(request.headers.get("content-type"), body)
            result = await self.execute_single(None, None, None, context, None, request_data)
            payload = encode_response(process_result(result))
        except HTTPException as refused:  # RequestRefused among them
            await refusal_response(refused)(scope, receive, send)
            return
        except Exception:
            log.exception("the GraphQL request failed outside any field")
            await error_response(500, "Internal server error.", "INTERNAL_SERVER_ERROR")(
                scope, receive, send
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        actor = ANONYMOUS
        if isinstance(request, Request):
            try:
                actor = await authenticate(request.headers.get("authorization"), self.settings)
            except Unauthenticated as refused:
                language = pick_language(request.headers.get("accept-language"))
                raise RequestRefused(401, refused.message(language), refused.code) from refused
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            language=pick_language(request.headers.get("accept-language")),
            request_id=current_request_id(),
            actor=actor,
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws: the token comes in connection_init's payload."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError()
        try:
            context.actor = await authenticate(authorization, self.settings)
        except Unauthenticated as refused:
            raise ConnectionRejectionError() from refused
        return UNSET

    def resolve_document(
        self, *, query: Any, extensions: Any, document_id_field: Any, actor: Actor
    ) -> str:
        if extensions is not None and not isinstance(extensions, dict):
            raise DocumentRefused("BAD_REQUEST", "`extensions` must be an object.")
        return self.documents.resolve(
            query=query,
            extensions=extensions,
            document_id_field=document_id_field,
            trusted_only=self.settings.trusted_documents_only and actor.is_end_user,
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        # POSTs are served by serve_post; strawberry's `run` sees only the other methods.
        raise RequestRefused(405, "GraphQL requests are POSTed as JSON.")

    async def execute_single(  # type: ignore[override]
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> Any:
        extensions = dict(request_data.extensions or {})
        document_id_field = extensions.pop("_documentId", None)
        try:
            query = self.resolve_document(
                query=request_data.query,
                extensions=extensions,
                document_id_field=document_id_field,
                actor=context.actor,
            )
        except DocumentRefused as refused:
            raise RequestRefused(refused.status, refused.message, refused.code) from refused
        if self.plans is not None and query:
            plan = self.plans.plan(query, request_data.operation_name)
            if plan is not None:
                result = await self.plans.run(
                    plan,
                    context,
                    request_data.variables,
                    request_data.operation_name,
                    extensions or None,
                )
                if result is not None:
                    return result
        try:
            return await self.schema.execute(
                query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                # Subscriptions go over graphql-transport-ws, never over plain HTTP.
                allowed_operation_types={OperationType.QUERY, OperationType.MUTATION},
                operation_extensions=extensions or None,
            )
        except InvalidOperationTypeError as exc:
            raise RequestRefused(
                400,
                "Subscriptions are served over WebSocket (graphql-transport-ws).",
                "OPERATION_NOT_ALLOWED",
            ) from exc
        except CannotGetOperationTypeError as exc:
            raise RequestRefused(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise RequestRefused(400, "No GraphQL query found in the request.") from exc
