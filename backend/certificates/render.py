"""A certificate as the public sees it: its facts and lineage (claim → retirements → serial blocks →
issuance → project → methodology) without personal data, as an HTML page and a printable PDF, both
with the QR code that opens the page."""

from __future__ import annotations

import html
import io
from typing import Any
from urllib.parse import quote

from reportlab.graphics import renderPDF, renderSVG
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from backend.certificates import service
from backend.certificates.models import Certificate
from backend.credits.models import CreditRetirement
from backend.credits.registry import serial_label
from backend.kit import clock
from backend.settings import get_settings

CJK_FONT = "STSong-Light"  # built into reportlab: no font file needed
KIND_ZH = {"ANNUAL": "年度个人碳足迹", "TRIP": "出行", "EVENT": "活动", "BUSINESS_YEAR": "企业年度"}


def tonnes(kg: int) -> str:
    return f"{kg // 1000}.{kg % 1000:03d}"


def page_url(certificate: Certificate) -> str:
    base = get_settings().public_url.rstrip("/")
    return f"{base}/certificates/{quote(certificate.number)}?code={certificate.verification_code}"


async def facts(
    certificate: Certificate, backing: list[CreditRetirement] | None = None
) -> dict[str, Any]:
    """Everything the page and the PDF show. `backing`: its retirements, when already loaded."""
    claim = certificate.claim
    if backing is None:
        backing = (await service.retirements_of([certificate]))[certificate.id]
    retirements = []
    for retirement in backing:
        block = retirement.block
        issuance = block.issuance
        project = issuance.project
        retirements.append(
            {
                "number": retirement.id,
                "serial_from": serial_label(
                    block.project_number, block.vintage, block.serial_start
                ),
                "serial_to": serial_label(block.project_number, block.vintage, block.serial_end),
                "kg": block.serial_end - block.serial_start + 1,
                "issuance_period": f"{issuance.period_start} – {issuance.period_end}",
                "project_number": project.id,
                "project_title": f"{project.title_zh} / {project.title_en}",
                "methodology": project.methodology_code,
            }
        )
    return {
        "number": certificate.number,
        "display_name": certificate.display_name,
        "kg": certificate.total_kg,
        "tonnes": tonnes(certificate.total_kg),
        "issued_on": certificate.issued_at.astimezone(clock.SHANGHAI).date().isoformat(),
        "status": certificate.status.value,
        "revoked_reason": certificate.revoked_reason,
        "claim_kind": claim.kind.value,
        "claim_title": claim.title,
        "items": claim.items,
        "declared_kg": claim.declared_kg,
        "retirements": retirements,
        "url": page_url(certificate),
    }


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url)
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def page(data: dict[str, Any] | None, verified: bool | None) -> str:
    """The public page; `verified` is whether the code given matched (None: no code given)."""
    e = html.escape
    if data is None:
        body = "<h1>未找到该证书 · No such certificate</h1>"
        return _html("证书 Certificate", body)
    revoked = data["status"] == "REVOKED"
    banners = []
    if revoked:
        banners.append(
            f"<p class='bad' id='status'>已撤销 REVOKED: {e(data['revoked_reason'] or '')}</p>"
        )
    else:
        banners.append("<p class='good' id='status'>有效 VALID</p>")
    if verified is True:
        banners.append("<p class='good' id='code'>验证码正确 Verification code matches</p>")
    elif verified is False:
        banners.append("<p class='bad' id='code'>验证码不符 Verification code does NOT match</p>")
    items = "".join(
        f"<tr><td>{e(i['code'])}</td><td>{e(i['quantity'])} {e(i['unit'])}</td>"
        f"<td>{int(i['grams']) / 1000:.3f} kg</td></tr>"
        for i in data["items"]
    )
    if data["declared_kg"]:
        items += f"<tr><td>DECLARED</td><td>—</td><td>{data['declared_kg']} kg</td></tr>"
    retirements = "".join(
        f"<tr><td>{r['number']}</td><td>{e(r['serial_from'])}<br>{e(r['serial_to'])}</td>"
        f"<td>{r['kg']} kg</td><td>{e(r['issuance_period'])}</td>"
        f"<td>P{r['project_number']:04d} {e(r['project_title'])}</td><td>{e(r['methodology'])}</td></tr>"
        for r in data["retirements"]
    )
    qr = renderSVG.drawToString(_qr(data["url"], 160))
    qr = qr[qr.find("<svg") :]
    body = f"""
<h1>碳中和认定 Carbon-neutrality certificate</h1>
{"".join(banners)}
<dl>
<dt>编号 Number</dt><dd id='number'>{e(data["number"])}</dd>
<dt>名称 Name</dt><dd>{e(data["display_name"])}</dd>
<dt>中和量 Neutralised</dt><dd id='amount'>{data["kg"]} kg ({data["tonnes"]} t CO2e)</dd>
<dt>日期 Date</dt><dd>{e(data["issued_on"])}</dd>
<dt>碳足迹 Footprint</dt><dd>{e(KIND_ZH.get(data["claim_kind"], data["claim_kind"]))}: {e(data["claim_title"])}</dd>
</dl>
<h2>碳足迹明细 Footprint items</h2>
<table><tr><th>Activity</th><th>Quantity</th><th>CO2e</th></tr>{items}</table>
<h2>注销与来源 Retirements and lineage</h2>
<table><tr><th>Retirement</th><th>Serials</th><th>Units</th><th>Issuance period</th><th>Project</th><th>Methodology</th></tr>{retirements}</table>
<div class='qr'>{qr}</div>
<p><a href='/certificates/{quote(data["number"])}.pdf'>PDF</a></p>
"""
    return _html(f"碳中和认定 {data['number']}", body)


def _html(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem}"
        ".good{color:#060}.bad{color:#a00;font-weight:bold}"
        f"</style></head><body>{body}</body></html>"
    )


def pdf(data: dict[str, Any]) -> bytes:
    """A4, with the QR code; Chinese text in the built-in STSong-Light font."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    out = io.BytesIO()
    sheet = canvas.Canvas(out, pagesize=A4)
    sheet.setTitle(f"Carbon-neutrality certificate {data['number']}")
    width, height = A4
    y = height - 72

    def line(words: str, size: int = 11, font: str = CJK_FONT) -> None:
        nonlocal y
        sheet.setFont(font, size)
        sheet.drawString(56, y, words)
        y -= size + 8

    line("碳中和认定  Carbon-neutrality certificate", 18)
    line(f"Number {data['number']}", 14, "Helvetica-Bold")
    if data["status"] == "REVOKED":
        line(f"已撤销 REVOKED: {data['revoked_reason'] or ''}", 13)
    line(f"名称 Name: {data['display_name']}")
    line(f"中和量 Neutralised: {data['kg']} kg ({data['tonnes']} t CO2e)")
    line(f"日期 Date: {data['issued_on']}")
    line(f"碳足迹 Footprint: {KIND_ZH.get(data['claim_kind'], '')} {data['claim_title']}")
    y -= 6
    line("注销与来源 Retirements and lineage", 13)
    for r in data["retirements"]:
        line(f"#{r['number']}  {r['kg']} kg  {r['serial_from']} … {r['serial_to'][-12:]}", 9)
        line(
            f"    P{r['project_number']:04d} {r['project_title']}  {r['methodology']}  {r['issuance_period']}",
            9,
        )
        if y < 200:
            break
    renderPDF.draw(_qr(data["url"], 140), sheet, width - 196, 56)
    sheet.setFont("Helvetica", 8)
    sheet.drawString(56, 60, data["url"])
    sheet.showPage()
    sheet.save()
    return out.getvalue()
