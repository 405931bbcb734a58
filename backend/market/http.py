"""HTTP routes of the credit market: the payment provider's callback, and the sandbox provider's
payment page (development and tests only: production refuses the sandbox provider)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from backend.market import service
from backend.market.models import SandboxPayment
from backend.market.payments import SIGNATURE_HEADER, SandboxProvider, get_provider

MAX_CALLBACK_BYTES = 64 * 1024


async def payment_callback(request: Request) -> Response:
    """POST /payments/v1/callback: a signed event from the payment provider."""
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        return JSONResponse({"outcome": "TOO_LARGE"}, status_code=413)
    status, outcome = await service.handle_callback(body, request.headers.get(SIGNATURE_HEADER))
    return JSONResponse({"outcome": outcome}, status_code=status)


def _page(title: str, text: str, form: str = "") -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{form}</body></html>"
    )


async def sandbox_pay(request: Request) -> Response:
    """GET shows the sandbox payment of an order; POST pays it (the sandbox then sends the signed
    callback, as a real provider would)."""
    provider = get_provider()
    if not isinstance(provider, SandboxProvider):
        return Response(status_code=404)
    payment_id = request.path_params["payment_id"]
    payment = await SandboxPayment.get_or_none(payment_id=payment_id)
    if payment is None:
        return _page("沙箱支付 Sandbox payment", "No such payment.")
    amount = f"¥{payment.amount_fen // 100}.{payment.amount_fen % 100:02d}"
    if request.method == "POST":
        outcome = await provider.pay(payment_id)
        if outcome is None:
            return _page("沙箱支付 Sandbox payment", f"Nothing to pay: {payment.status.value}.")
        return _page("沙箱支付 Sandbox payment", f"Paid {amount}. The service answered: {outcome}.")
    form = (
        "<form method='post'><button type='submit'>支付 Pay</button></form>"
        if payment.status.value == "CREATED"
        else ""
    )
    return _page(
        "沙箱支付 Sandbox payment",
        f"{payment.description}: {amount} ({payment.status.value})",
        form,
    )


ROUTES = [
    Route("/payments/v1/callback", payment_callback, methods=["POST"]),
    Route("/sandbox/pay/{payment_id}", sandbox_pay, methods=["GET", "POST"]),
]
