"""Footprint claims and carbon-neutrality certificates: claims computed from factors, neutralised by
retiring units (own, bought with points, or ordered and paid), certificates anyone verifies by
number and code on a public page, as a PDF or in GraphQL, with their lineage; revocation."""

import io
import uuid

import pypdf
import pytest

from backend import verify
from backend.certificates import service
from backend.credits import registry
from backend.credits.errors import NotEnoughUnits
from backend.credits.models import CreditBlock, CreditRetirement
from backend.kit import db
from backend.kit.errors import InvalidInput, NotFound
from backend.market import service as market
from backend.market.models import CreditOrder
from backend.market.payments import get_provider
from tests.credits.test_projects import AUTHORITY
from tests.market.test_market import earned, points_pool
from tests.registry.test_holdings import citizen
from tests.registry.test_moves import holding

TRIP = [("TRAIN_KM", "1200"), ("HOTEL_NIGHT", "2"), ("CAR_KM", "35.5")]


async def given(world, person, kg: int, pieces: int = 1):
    """`person` receives `kg` units from the project owner, in `pieces` transfers."""
    block, _ = await holding(world)
    for n in range(pieces):
        await registry.transfer(
            actor=world["owner"],
            block_id=str(block.public_id),
            quantity=kg // pieces + (kg % pieces if n == 0 else 0),
            to_holder=person.id,
        )
    return block


async def test_a_claim_is_items_times_factors_rounded_up_to_kilograms(settings):
    alice = await citizen()
    claim = await service.create_claim(actor=alice, kind="TRIP", title="成都出差", items=TRIP)
    grams = [i["grams"] for i in claim.items]
    assert grams == [1200 * 41, 2 * 50900, int(35.5 * 192)]
    assert claim.total_g == sum(grams) == 157_816
    assert claim.total_kg == 158  # never less than the footprint
    with_factor = await service.set_factor(
        actor=AUTHORITY,
        code="TRAIN_KM",
        name_zh="高铁",
        name_en="Train",
        unit="km",
        grams_per_unit="30.5",
    )
    later = await service.create_claim(
        actor=alice, kind="TRIP", title="again", items=[("train_km", "10")]
    )
    assert later.items[0]["factor_id"] == with_factor.id and later.total_g == 305
    assert claim.items[0]["grams_per_unit"] == "41"  # the earlier claim kept its version


@pytest.mark.parametrize(
    ("kind", "items", "extra", "field"),
    [
        ("TRIP", [("ROCKET_KM", "1")], {}, "items.0.code"),
        ("TRIP", [("CAR_KM", "-3")], {}, "items.0.quantity"),
        ("TRIP", [("CAR_KM", "NaN")], {}, "items.0.quantity"),
        ("TRIP", [("CAR_KM", "1e30")], {}, "items.0.quantity"),
        ("TRIP", [], {}, "items"),
        ("BUSINESS_YEAR", [("CAR_KM", "1")], {}, "kind"),
        ("ANNUAL", [("CAR_KM", "1")], {"declared_kg": 10}, "declaredKg"),
    ],
)
async def test_bad_claims_are_refused_by_field(settings, kind, items, extra, field):
    alice = await citizen()
    with pytest.raises(InvalidInput) as refused:
        await service.create_claim(actor=alice, kind=kind, title="x", items=items, **extra)
    assert refused.value.params["field"] == field
    assert await service.claims_of(alice) == []


async def test_a_business_declares_its_year_with_evidence(world):
    owner = world["owner"]
    with pytest.raises(InvalidInput):
        await service.create_claim(
            actor=owner, kind="BUSINESS_YEAR", title="2026", items=[], declared_kg=40
        )
    claim = await service.create_claim(
        actor=owner,
        kind="BUSINESS_YEAR",
        title="2026",
        items=[("ELECTRICITY_KWH", "1000")],
        declared_kg=40,
        evidence_url="https://docs.example.org/audit.pdf",
        evidence_sha256="b" * 64,
    )
    assert claim.total_g == 570_300 + 40_000 and claim.total_kg == 611


async def test_neutralising_retires_the_claim_from_several_blocks_and_certifies_it(world):
    alice = await citizen()
    await given(world, alice, 10, pieces=3)
    claim = await service.create_claim(
        actor=alice, kind="TRIP", title="short", items=[("CAR_KM", "40")]
    )  # 7,680 g: 8 kg
    done, certificate, order = await service.neutralise(
        actor=alice, claim_id=str(claim.public_id), display_name="小绿", idempotency_key="neutral-1"
    )
    assert order is None and done.status.value == "NEUTRALISED"
    assert certificate.total_kg == 8 and certificate.number.startswith("CN-")
    retirements = await CreditRetirement.filter(certificate_id=certificate.id)
    assert len(retirements) >= 2  # it took more than one block
    assert all(
        r.beneficiary == "小绿" and r.purpose.value == "CARBON_NEUTRALITY" for r in retirements
    )
    retired = 0
    for r in retirements:
        block = await CreditBlock.get(id=r.block_id)  # type: ignore[attr-defined]
        retired += block.serial_end - block.serial_start + 1
    assert retired == 8
    held = await CreditBlock.filter(holder_id=alice.id, status="HELD")
    assert sum(b.serial_end - b.serial_start + 1 for b in held) == 2
    # The same request again, and another request for the same claim: the one certificate.
    for key in ("neutral-1", "neutral-2"):
        _, again, _ = await service.neutralise(
            actor=alice, claim_id=str(claim.public_id), display_name="小绿", idempotency_key=key
        )
        assert again.id == certificate.id
    assert await CreditRetirement.filter(certificate_id=certificate.id).count() == len(retirements)
    assert await verify.verify_all() == []


async def test_without_enough_units_nothing_is_retired(world):
    alice = await citizen()
    await given(world, alice, 3)
    claim = await service.create_claim(
        actor=alice, kind="TRIP", title="long", items=[("CAR_KM", "40")]
    )
    with pytest.raises(NotEnoughUnits):
        await service.neutralise(
            actor=alice, claim_id=str(claim.public_id), display_name="x", idempotency_key="short-01"
        )
    assert await CreditRetirement.all().count() == 0
    bob = await citizen()
    with pytest.raises(NotFound):  # someone else's claim
        await service.neutralise(
            actor=bob, claim_id=str(claim.public_id), display_name="x", idempotency_key="short-02"
        )


async def test_points_buy_what_is_missing_in_the_same_transaction(world):
    alice = await citizen()
    block = await given(world, alice, 3)
    pool = await points_pool(world, quantity=8, block=block)
    await earned(alice, 5000)
    claim = await service.create_claim(
        actor=alice, kind="TRIP", title="trip", items=[("CAR_KM", "40")]
    )  # 8 kg: 3 held, 5 bought
    _, certificate, _ = await service.neutralise(
        actor=alice,
        claim_id=str(claim.public_id),
        display_name="小绿",
        idempotency_key="with-points",
        listing_id=str(pool.public_id),
    )
    assert certificate.total_kg == 8
    assert (await CreditOrder.get(buyer_id=alice.id)).quantity_kg == 5
    assert await verify.verify_all() == []


async def test_an_order_paid_later_completes_the_certificate(world):
    alice = await citizen()
    block, _ = await holding(world)
    listing = await market.list_credits(
        actor=world["owner"],
        block_id=str(block.public_id),
        quantity=10,
        currency="FEN",
        price_fen_per_kg=20,
    )
    claim = await service.create_claim(
        actor=alice, kind="EVENT", title="婚礼", items=[("CAR_KM", "20")]
    )  # 3,840 g: 4 kg
    waiting, certificate, order_id = await service.neutralise(
        actor=alice,
        claim_id=str(claim.public_id),
        display_name="新人",
        idempotency_key="wedding-1",
        listing_id=str(listing.public_id),
    )
    assert certificate is None and waiting.status.value == "AWAITING_ORDER"
    order = await CreditOrder.get(id=order_id)
    assert order.quantity_kg == 4
    assert await get_provider().pay(order.payment_id) == "APPLIED"  # type: ignore[attr-defined]
    [certificate] = await service.certificates_of(alice)
    assert certificate.display_name == "新人" and certificate.total_kg == 4
    assert await verify.verify_all() == []


async def certified(world, name="小绿"):
    alice = await citizen()
    await given(world, alice, 8)
    claim = await service.create_claim(
        actor=alice, kind="TRIP", title="trip", items=[("CAR_KM", "40")]
    )
    _, certificate, _ = await service.neutralise(
        actor=alice, claim_id=str(claim.public_id), display_name=name, idempotency_key="cert-0001"
    )
    return alice, await service.find(certificate.number)


async def test_anyone_verifies_a_certificate_and_a_forged_code_fails(world, client):
    alice, certificate = await certified(world)
    query = "query ($n: String!, $c: String) { certificate(number: $n, code: $c) { number totalKg tonnes status codeMatches retirements { serialFrom projectTitle methodologyCode } } }"

    async def check(code):
        from tests.conftest import gql

        body = await gql(client, query, {"n": certificate.number, "c": code})
        return body["data"]["certificate"]

    good = await check(certificate.verification_code)
    assert good["codeMatches"] is True and good["tonnes"] == "0.008"
    assert good["retirements"][0]["methodologyCode"] == world["project"].methodology_code
    forged = certificate.verification_code[:-1] + (
        "A" if certificate.verification_code[-1] != "A" else "B"
    )
    assert (await check(forged))["codeMatches"] is False
    assert (await check(None))["codeMatches"] is None
    # A code is bound to its certificate: another certificate's code does not verify this one.
    assert (
        service.code_matches(
            certificate, service.verification_code("CN-2026-999999", 8, "2026-11-24", "小绿")
        )
        is False
    )
    page = await client.get(
        f"/certificates/{certificate.number}?code={certificate.verification_code}"
    )
    assert page.status_code == 200 and "Verification code matches" in page.text
    assert certificate.number in page.text and world["project"].title_zh in page.text
    assert alice.id not in page.text  # no personal data
    bad = await client.get(f"/certificates/{certificate.number}?code={forged}")
    assert "does NOT match" in bad.text
    assert (await client.get("/certificates/CN-2026-999999")).status_code == 404


async def test_the_pdf_is_a_pdf_holding_the_number(world, client):
    _, certificate = await certified(world)
    response = await client.get(f"/certificates/{certificate.number}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert certificate.number in text and "0.008" in text


async def test_a_revoked_certificate_says_so_everywhere(world, client):
    from tests.conftest import gql

    _, certificate = await certified(world)
    with pytest.raises(Exception):  # noqa: B017 - Forbidden for anyone but the authority
        await service.revoke(actor=await citizen(), number=certificate.number, reason="x")
    await service.revoke(actor=AUTHORITY, number=certificate.number, reason="重复申报 double claim")
    with pytest.raises(InvalidInput):
        await service.revoke(actor=AUTHORITY, number=certificate.number, reason="again")
    with pytest.raises(NotFound):  # longer than any number: no certificate, not a database error
        await service.revoke(actor=AUTHORITY, number=certificate.number * 2, reason="x")
    body = await gql(
        client,
        "query ($n: String!) { certificate(number: $n) { status revokedReason } }",
        {"n": certificate.number},
    )
    assert body["data"]["certificate"] == {
        "status": "REVOKED",
        "revokedReason": "重复申报 double claim",
    }
    page = await client.get(f"/certificates/{certificate.number}")
    assert "REVOKED" in page.text and "double claim" in page.text
    pdf = await client.get(f"/certificates/{certificate.number}.pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "REVOKED" in text


async def test_verify_ledger_finds_a_certificate_for_more_than_was_retired(world):
    _, certificate = await certified(world)
    assert await verify.verify_all() == []
    async with db.transaction():
        await db.execute(
            "UPDATE carbon_certificate SET total_kg = total_kg + 1 WHERE id = $1", certificate.id
        )
    findings = await verify.verify_all()
    assert any("9 kg, 8 kg were retired" in f for f in findings)


async def test_one_retirement_backs_one_certificate(world):
    alice = await citizen()
    await given(world, alice, 12)
    numbers = []
    for n in range(2):
        claim = await service.create_claim(
            actor=alice, kind="TRIP", title=f"t{n}", items=[("CAR_KM", "20")]
        )
        _, certificate, _ = await service.neutralise(
            actor=alice,
            claim_id=str(claim.public_id),
            display_name="x",
            idempotency_key=f"two-{n}-{uuid.uuid4().hex[:6]}",
        )
        numbers.append(certificate.id)
    backing = [
        {r.id for r in await CreditRetirement.filter(certificate_id=number)} for number in numbers
    ]
    assert backing[0] and backing[1] and not backing[0] & backing[1]
    assert await verify.verify_all() == []


async def test_my_certificates_read_their_retirements_in_one_query(world, execute):
    from tests.conftest import count_queries

    alice = await citizen()
    await given(world, alice, 12)
    for n in range(3):
        claim = await service.create_claim(
            actor=alice, kind="TRIP", title=f"t{n}", items=[("CAR_KM", "20")]
        )
        await service.neutralise(
            actor=alice,
            claim_id=str(claim.public_id),
            display_name="x",
            idempotency_key=f"many-{n}-{uuid.uuid4().hex[:6]}",
        )
    with count_queries() as counter:
        body = await execute(
            "{ myCertificates { number retirements { serialFrom } } }", actor=alice
        )
    assert [len(c["retirements"]) for c in body.data["myCertificates"]] == [1, 1, 1]
    assert sum("credit_retirement" in s for s in counter.statements) == 1
