"""Public routes: a certificate's page (where its QR code leads) and its PDF. No login."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from backend.certificates import render, service


async def certificate_pdf(request: Request) -> Response:
    certificate = await service.find(request.path_params["number"])
    if certificate is None:
        return Response("no such certificate", status_code=404, media_type="text/plain")
    body = render.pdf(await render.facts(certificate))
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{certificate.number}.pdf"'},
    )


async def certificate_page(request: Request) -> Response:
    certificate = await service.find(request.path_params["number"])
    if certificate is None:
        return HTMLResponse(render.page(None, None), status_code=404)
    code = request.query_params.get("code")
    verified = service.code_matches(certificate, code) if code is not None else None
    return HTMLResponse(render.page(await render.facts(certificate), verified))


ROUTES = [
    Route("/certificates/{number}.pdf", certificate_pdf, methods=["GET"]),
    Route("/certificates/{number}", certificate_page, methods=["GET"]),
]
