"""Sending SMS: an interface, a development outbox and an HTTP gateway for production.

The development sender appends each message as a JSON line to `var/sms-outbox.jsonl`, where the
developer reads their login code, and logs it with the number masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

import httpx

from backend.accounts.phones import mask
from backend.kit import clock
from backend.settings import Settings

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    async def send(self, *, phone: str, text: str) -> None: ...


class OutboxSender:
    def __init__(self, settings: Settings) -> None:
        self.path = settings.sms_outbox_path
        self._lock = asyncio.Lock()

    async def send(self, *, phone: str, text: str) -> None:
        line = json.dumps(
            {"at": clock.now().isoformat(), "phone": phone, "text": text}, ensure_ascii=False
        )
        async with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")
        log.info("sms to %s written to the outbox", mask(phone))


class HttpGatewaySender:
    """POSTs {phone, text} as JSON with a bearer token to the operator's SMS gateway."""

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.sms_gateway_url:
            raise ValueError("TPH_SMS_GATEWAY_URL is not set")
        self.url = settings.sms_gateway_url
        self.token = settings.sms_gateway_token
        self.transport = transport

    async def send(self, *, phone: str, text: str) -> None:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(timeout=5.0, transport=self.transport) as client:
            response = await client.post(
                self.url, json={"phone": phone, "text": text}, headers=headers
            )
        if response.status_code >= 300:
            log.error("sms gateway refused a message to %s: %s", mask(phone), response.status_code)
            raise RuntimeError(f"SMS gateway answered {response.status_code}")
        log.info("sms to %s sent through the gateway", mask(phone))


_sender: SmsSender | None = None


def get_sender(settings: Settings) -> SmsSender:
    global _sender
    if _sender is None:
        _sender = (
            HttpGatewaySender(settings)
            if settings.sms_backend == "http"
            else OutboxSender(settings)
        )
    return _sender


def set_sender(sender: SmsSender | None) -> None:
    """Replace the sender (tests)."""
    global _sender
    _sender = sender
