"""`POST /oauth/token`: OAuth2 client credentials (RFC 6749 section 4.4) for data platforms."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.accounts.platforms import ClientRejected, exchange_client_credentials
from backend.api.context import client_address
from backend.kit.redis import get_redis
from backend.kit.validation import NUL_MESSAGE, holds_nul

# Failed or not, each address may try this many times a minute.
ATTEMPTS_PER_MINUTE = 60
_HEADERS = {"cache-control": "no-store", "pragma": "no-cache"}


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_HEADERS)
    if status == 401:
        headers["www-authenticate"] = 'Basic realm="tanpuhui"'
    return JSONResponse({"error": error, "error_description": description}, status, headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


async def token_endpoint(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    address = client_address(request)
    key = f"rl:oauth:{address}"
    redis = get_redis()
    attempts = await redis.incr(key)
    if attempts == 1:
        await redis.expire(key, 60)
    if attempts > ATTEMPTS_PER_MINUTE:
        return _error(429, "slow_down", "Too many token requests; wait a minute.")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
    try:
        pairs = parse_qs((await request.body()).decode(), strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_request", "The body is not a valid form.")
    if holds_nul(pairs):
        return _error(400, "invalid_request", NUL_MESSAGE)
    form = {name: values[0] for name, values in pairs.items() if len(values) == 1}
    if any(len(values) > 1 for values in pairs.values()):
        return _error(400, "invalid_request", "Each parameter may appear once.")
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "Only client_credentials is supported.")
    credentials = _basic_credentials(request.headers.get("authorization"))
    if credentials is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            return _error(401, "invalid_client", "Client authentication failed.")
        credentials = (client_id, client_secret)
    try:
        token = await exchange_client_credentials(
            client_id=credentials[0], client_secret=credentials[1], settings=settings
        )
    except ClientRejected:
        return _error(401, "invalid_client", "Client authentication failed.")
    return JSONResponse(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
        },
        headers=_HEADERS,
    )
