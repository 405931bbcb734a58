"""Payment providers: the interface the market talks to, signed callbacks, and the sandbox provider
that lives in the repo.

A provider takes a payment for an order, later tells us by a callback that it succeeded (or that a
refund did), refunds on request, and lists its payments for the daily reconciliation. A callback
is JSON signed as a real provider signs it (Stripe's scheme): the header
`x-tph-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the shared secret;
one older than five minutes is refused, so a captured callback cannot be replayed later.
A real provider plugs in by implementing `PaymentProvider`, without touching the registry.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backend.kit import clock
from backend.market.models import SandboxPayment, SandboxPaymentStatus
from backend.settings import Settings, get_settings

SIGNATURE_HEADER = "x-tph-signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class PaymentIntent:
    payment_id: str
    pay_url: str


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider's books have it (for the reconciliation)."""

    payment_id: str
    order_number: str
    amount_fen: int
    status: str  # CREATED, SUCCEEDED or REFUNDED


class ProviderUnavailable(Exception):
    """The provider did not answer; nothing is known to have happened there."""


class PaymentProvider(Protocol):
    name: str

    async def create_payment(
        self, *, order_number: str, amount_fen: int, description: str
    ) -> PaymentIntent: ...

    async def refund(self, *, payment_id: str, amount_fen: int) -> None:
        """Ask for a refund; the provider confirms it later by a `refund.succeeded` callback."""

    async def payments(self, *, start: datetime, end: datetime) -> list[ProviderPayment]:
        """The payments created in [start, end)."""


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    timestamp = int(clock.now().timestamp()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` signs `body` with `secret` within the tolerance."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(clock.now().timestamp() - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def event_body(*, event_type: str, payment_id: str, order_number: str, amount_fen: int) -> bytes:
    event: dict[str, Any] = {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "paymentId": payment_id,
        "orderNumber": order_number,
        "amountFen": amount_fen,
        "occurredAt": clock.now().isoformat(),
    }
    return json.dumps(event, separators=(",", ":")).encode()


class SandboxProvider:
    """The provider in the repo. Its book is the `sandbox_payment` table; a person "pays" on the page
    `/sandbox/pay/<paymentId>` or with `tanpuhui sandbox-pay <paymentId>`, and the sandbox then
    sends the signed `payment.succeeded` callback, exactly as a real provider would. Refunds it
    confirms with a `refund.succeeded` callback."""

    name = "sandbox"

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.payment_secret

    async def create_payment(
        self, *, order_number: str, amount_fen: int, description: str
    ) -> PaymentIntent:
        payment_id = f"sbx_{secrets.token_hex(12)}"
        await SandboxPayment.create(
            payment_id=payment_id,
            order_number=order_number,
            amount_fen=amount_fen,
            description=description[:200],
            status=SandboxPaymentStatus.CREATED,
            created_at=clock.now(),
        )
        return PaymentIntent(payment_id=payment_id, pay_url=f"/sandbox/pay/{payment_id}")

    async def pay(self, payment_id: str) -> str | None:
        """The payer pays: the sandbox sends the signed `payment.succeeded` callback and returns
        what it did, or None when there is nothing to pay."""
        payment = await SandboxPayment.get_or_none(payment_id=payment_id)
        if payment is None or payment.status != SandboxPaymentStatus.CREATED:
            return None
        await SandboxPayment.filter(id=payment.id).update(
            status=SandboxPaymentStatus.SUCCEEDED, paid_at=clock.now()
        )
        return await self._send("payment.succeeded", payment)

    async def refund(self, *, payment_id: str, amount_fen: int) -> None:
        payment = await SandboxPayment.get_or_none(
            payment_id=payment_id, status=SandboxPaymentStatus.SUCCEEDED
        )
        if payment is None:
            return
        await SandboxPayment.filter(id=payment.id).update(
            status=SandboxPaymentStatus.REFUNDED, refunded_at=clock.now()
        )
        await self._send("refund.succeeded", payment)

    async def _send(self, event_type: str, payment: SandboxPayment) -> str:
        """Deliver a signed callback to the service, as the provider's webhook would."""
        from backend.market.service import handle_callback

        body = event_body(
            event_type=event_type,
            payment_id=payment.payment_id,
            order_number=payment.order_number,
            amount_fen=payment.amount_fen,
        )
        _, outcome = await handle_callback(body, sign(body, self.secret))
        return outcome

    async def payments(self, *, start: datetime, end: datetime) -> list[ProviderPayment]:
        rows = await SandboxPayment.filter(created_at__gte=start, created_at__lt=end)
        return [
            ProviderPayment(r.payment_id, r.order_number, r.amount_fen, r.status.value)
            for r in rows
        ]


_provider: PaymentProvider | None = None


def get_provider() -> PaymentProvider:
    """The configured provider: the sandbox, or TPH_PAYMENT_PROVIDER's class made with the settings."""
    global _provider
    if _provider is None:
        settings = get_settings()
        if settings.payment_provider == "sandbox":
            _provider = SandboxProvider(settings)
        else:
            module, _, name = settings.payment_provider.partition(":")
            _provider = getattr(importlib.import_module(module), name)(settings)
    return _provider


def set_provider(provider: PaymentProvider | None) -> None:
    """Replace the provider (tests; a deployment's own provider)."""
    global _provider
    _provider = provider
