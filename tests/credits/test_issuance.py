"""Issuance requests: quantity from delegated records, the double-counting rule, verification,
review, public notice with objections, issuance as a serial block."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from backend.accounts import organisations
from backend.accounts.models import Person
from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour.models import BehaviourRecord
from backend.consent import grants
from backend.credits import issuance, projects
from backend.credits.errors import (
    NothingToIssue,
    NoticeNotOver,
    OpenObjections,
    PeriodOverlaps,
    WrongIssuanceState,
)
from backend.credits.models import IssuanceEvent
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.errors import InvalidInput, NotFound
from backend.kit.ids import new_public_id
from backend.methodology import seed
from tests.credits.test_projects import AUTHORITY, SHA, member


async def registered_project(owner, verifier, verifier_id, title="Metro"):
    project = await projects.create_project(
        actor=owner, title_zh=title, title_en=title, description="d", methodology_code="SZ-METRO"
    )
    pid = str(project.public_id)
    await projects.add_document(
        actor=owner, project_id=pid, title="PDD", url="https://x.org/pdd", sha256=SHA
    )
    await projects.submit(actor=owner, project_id=pid, verifier_id=verifier_id)
    await projects.validate(actor=verifier, project_id=pid, approve=True, comment="ok")
    return await projects.register(actor=AUTHORITY, project_id=pid, approve=True, comment="ok")


@pytest.fixture
async def world(settings):
    await seed.seed_methodologies()
    platform = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="出行平台"
    )
    verifier = await organisations.register_organisation(
        actor=AUTHORITY, kind="VERIFIER", name="核查机构"
    )
    owner = member(str(platform.public_id), "DATA_PLATFORM", "owner")
    checker = member(str(verifier.public_id), "VERIFIER", "reviewer", "verifier")
    delegation = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="DELEGATION",
        kind="DELEGATION",
        categories=[],
        text_zh="委托",
        text_en="Delegation",
    )
    now = clock.now()
    people = []
    for n in range(3):
        person = await Person.create(
            public_id=new_public_id(), phone=f"+8613800009{n:03d}", created_at=now
        )
        people.append(Subject(SubjectKind.PERSON, str(person.public_id)))
    # Two delegate from 20 days ago; the third never delegates.
    with clock.frozen(now - timedelta(days=20)):
        for subject in people[:2]:
            await grants.grant(
                actor=Actor(kind="citizen", id=subject.id),
                subject=subject,
                platform_id=str(platform.public_id),
                notice_id=str(delegation.public_id),
                categories=None,
                expires_at=None,
                meter_accounts=None,
            )
    # 600 g a day each over 10 days, 15 to 6 days ago.
    for subject in people:
        for day in range(6, 16):
            await BehaviourRecord.create(
                public_id=new_public_id(),
                subject_id=subject.id,
                platform_id=platform.id,
                event_id=f"{subject.id}-{day}",
                scenario_code="METRO",
                methodology_code="SZ-METRO",
                quantity=Decimal("12.85"),
                occurred_at=now - timedelta(days=day),
                grams=600,
                points=600,
                capped=False,
                received_at=now,
            )
    period = (
        (now - timedelta(days=16)).astimezone(clock.SHANGHAI).date().isoformat(),
        (now - timedelta(days=2)).astimezone(clock.SHANGHAI).date().isoformat(),
    )
    project = await registered_project(owner, checker, str(verifier.public_id))
    return {
        "owner": owner,
        "verifier": checker,
        "verifier_id": str(verifier.public_id),
        "project": project,
        "period": period,
    }


async def file(world, project=None, period=None):
    start, end = period or world["period"]
    return await issuance.file_request(
        actor=world["owner"],
        project_id=str((project or world["project"]).public_id),
        period_start=start,
        period_end=end,
    )


async def test_the_quantity_is_whole_kg_of_delegated_records(world):
    request = await file(world)
    # 2 delegating subjects x 10 days x 600 g = 12,000 g; the third subject's records are not counted.
    assert (request.reserved_grams, request.quantity_kg) == (12000, 12)
    assert await BehaviourRecord.filter(issuance_id=request.id).count() == 20


async def test_the_lifecycle_through_notice_and_objections(world):
    request = await file(world)
    rid = str(request.public_id)
    with pytest.raises(WrongIssuanceState):
        await issuance.review(actor=AUTHORITY, request_id=rid, comment="too early")
    await issuance.verify(actor=world["verifier"], request_id=rid, comment="records checked")
    await issuance.review(actor=AUTHORITY, request_id=rid, comment="reviewed")
    noticed = await issuance.start_notice(actor=AUTHORITY, request_id=rid)
    assert noticed.notice_start and noticed.notice_end > noticed.notice_start
    with pytest.raises(NoticeNotOver):
        await issuance.issue(actor=AUTHORITY, request_id=rid)
    objection = await issuance.file_objection(request_id=rid, text="These trips look duplicated.")
    after_notice = clock.now() + timedelta(days=14)
    with clock.frozen(after_notice):
        with pytest.raises(OpenObjections):
            await issuance.issue(actor=AUTHORITY, request_id=rid)
        await issuance.resolve_objection(
            actor=AUTHORITY,
            objection_id=str(objection.public_id),
            resolution="Checked: no duplicates.",
        )
        issued = await issuance.issue(actor=AUTHORITY, request_id=rid)
    assert (issued.status.value, issued.serial_start, issued.serial_end) == ("ISSUED", 1, 12)
    events = (
        await IssuanceEvent.filter(request=request).order_by("id").values_list("event", flat=True)
    )
    assert events == [
        "FILED",
        "VERIFIED",
        "REVIEWED",
        "NOTICE_STARTED",
        "OBJECTION_RESOLVED",
        "ISSUED",
    ]
    with pytest.raises(WrongIssuanceState):
        await issuance.reject(actor=AUTHORITY, request_id=rid, comment="too late")


async def test_a_record_counts_in_one_request_and_a_rejection_frees_it(world):
    first = await file(world)
    with pytest.raises(PeriodOverlaps):
        await file(world)
    other = await registered_project(
        world["owner"], world["verifier"], world["verifier_id"], title="Metro 2"
    )
    with pytest.raises(NothingToIssue):  # the same records are reserved by the first request
        await file(world, project=other)
    await issuance.reject(
        actor=world["verifier"], request_id=str(first.public_id), comment="wrong period"
    )
    assert await BehaviourRecord.filter(issuance_id__isnull=False).count() == 0
    second = await file(world, project=other)
    assert second.quantity_kg == 12


async def test_steps_by_the_wrong_party_are_refused(world):
    request = await file(world)
    rid = str(request.public_id)
    other_verifier = member(str(uuid.uuid4()), "VERIFIER", "reviewer", "verifier")
    with pytest.raises(NotFound):
        await issuance.verify(actor=other_verifier, request_id=rid, comment="ok")
    with pytest.raises(Exception):  # noqa: B017 - Forbidden for anyone but the authority
        await issuance.review(actor=world["owner"], request_id=rid, comment="ok")
    with pytest.raises(InvalidInput):
        await issuance.file_request(
            actor=world["owner"],
            project_id=str(world["project"].public_id),
            period_start="2026-01-10",
            period_end="2026-01-01",
        )


async def test_a_business_declares_its_quantity_with_evidence(world):
    business = await organisations.register_organisation(
        actor=AUTHORITY, kind="SMALL_BUSINESS", name="Solar roof"
    )
    owner = member(str(business.public_id), "SMALL_BUSINESS", "owner")
    project = await registered_project(
        owner, world["verifier"], world["verifier_id"], title="Rooftop solar"
    )
    start, end = world["period"]
    with pytest.raises(InvalidInput):
        await issuance.file_request(
            actor=owner,
            project_id=str(project.public_id),
            period_start=start,
            period_end=end,
            declared_kg=500,
        )
    request = await issuance.file_request(
        actor=owner,
        project_id=str(project.public_id),
        period_start=start,
        period_end=end,
        declared_kg=500,
        evidence=[{"url": "https://x.org/meter.csv", "sha256": SHA}],
    )
    assert request.quantity_kg == 500 and request.evidence[0]["sha256"] == SHA


@pytest.mark.postgres_only
async def test_concurrent_requests_never_count_a_record_twice(world):
    projects_ = [world["project"]] + [
        await registered_project(
            world["owner"], world["verifier"], world["verifier_id"], title=f"M{n}"
        )
        for n in range(3)
    ]

    async def attempt(project):
        try:
            return (await file(world, project=project)).id
        except NothingToIssue:
            return None

    ids = [i for i in await asyncio.gather(*(attempt(p) for p in projects_)) if i]
    reserved = await BehaviourRecord.filter(issuance_id__isnull=False).values_list(
        "issuance_id", flat=True
    )
    assert len(reserved) == 20 and set(reserved) <= set(ids)
