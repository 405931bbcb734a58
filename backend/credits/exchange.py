"""The connection to the carbon trading platform (与交易平台互联互通): an adapter interface, a
sandbox that lives in the repo and an HTTP adapter for a real exchange.

An export is sent with our export number as its idempotency key: the exchange answers a repeated
number with the reference it gave the first time, so a retry after a timeout or a crash never
moves units out twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from backend.settings import Settings

log = logging.getLogger(__name__)

ACCOUNT = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")


@dataclass(frozen=True)
class ExportOrder:
    number: str  # our export's public id, the idempotency key at the exchange
    account: str  # the holder's account at the exchange
    serial_from: str
    serial_to: str
    quantity_kg: int


class ExchangeRefused(Exception):
    """The exchange said no (unknown or closed account, refused units): nothing moved there."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExchangeUnavailable(Exception):
    """No answer, or one that says nothing: the export may or may not have landed; retry it."""


class Exchange(Protocol):
    name: str

    async def check_account(self, account: str) -> None:
        """Raise ExchangeRefused when the exchange will not take units into `account`."""

    async def export(self, order: ExportOrder) -> str:
        """Move the units into the account; returns the exchange's reference (idempotent by
        order.number)."""


class SandboxExchange:
    """The exchange in the repo, for development and tests. Every well-formed account exists,
    except that accounts starting `CLOSED-` are refused and accounts starting `OFFLINE-` find
    the exchange unreachable. References are derived from the export number, so a repeated
    export gets the same one."""

    name = "sandbox"

    async def check_account(self, account: str) -> None:
        if account.startswith("CLOSED-"):
            raise ExchangeRefused("the account is closed")
        if account.startswith("OFFLINE-"):
            raise ExchangeUnavailable("the sandbox exchange is unreachable for OFFLINE- accounts")

    async def export(self, order: ExportOrder) -> str:
        await self.check_account(order.account)
        digest = hashlib.sha256(f"sandbox-export:{order.number}".encode()).hexdigest()
        return f"SBX-{digest[:16].upper()}"


class HttpExchange:
    """A real exchange's gateway: `GET {url}/accounts/{account}` (404: no such account) and
    `POST {url}/exports` with the order as JSON, signed with HMAC-SHA256 of the body in
    `x-signature`; 2xx answers `{"reference": ...}`, 409/422 answer `{"reason": ...}`."""

    name = "exchange"

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.exchange_url or not settings.exchange_secret:
            raise ValueError("TPH_EXCHANGE_URL and TPH_EXCHANGE_SECRET are required")
        self.url = settings.exchange_url.rstrip("/")
        self.secret = settings.exchange_secret.encode()
        self.transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, transport=self.transport)

    async def check_account(self, account: str) -> None:
        try:
            async with self._client() as client:
                response = await client.get(f"{self.url}/accounts/{account}")
        except httpx.HTTPError as exc:
            raise ExchangeUnavailable(str(exc)) from exc
        if response.status_code == 404:
            raise ExchangeRefused("no such account at the exchange")
        if response.status_code >= 300:
            raise ExchangeUnavailable(f"the exchange answered {response.status_code}")

    async def export(self, order: ExportOrder) -> str:
        body = json.dumps(
            {
                "number": order.number,
                "account": order.account,
                "serialFrom": order.serial_from,
                "serialTo": order.serial_to,
                "quantityKg": order.quantity_kg,
            },
            separators=(",", ":"),
        ).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        try:
            async with self._client() as client:
                response = await client.post(
                    f"{self.url}/exports",
                    content=body,
                    headers={"content-type": "application/json", "x-signature": signature},
                )
        except httpx.HTTPError as exc:
            raise ExchangeUnavailable(str(exc)) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code in (409, 422):
            raise ExchangeRefused(str(answer.get("reason") or "refused by the exchange")[:200])
        reference = answer.get("reference") if isinstance(answer, dict) else None
        if response.status_code >= 300 or not isinstance(reference, str) or not reference:
            raise ExchangeUnavailable(f"the exchange answered {response.status_code}")
        return reference[:100]


_exchange: Exchange | None = None


def get_exchange(settings: Settings) -> Exchange:
    global _exchange
    if _exchange is None:
        _exchange = (
            HttpExchange(settings) if settings.exchange_backend == "http" else SandboxExchange()
        )
    return _exchange


def set_exchange(exchange: Exchange | None) -> None:
    """Replace the adapter (tests)."""
    global _exchange
    _exchange = exchange
