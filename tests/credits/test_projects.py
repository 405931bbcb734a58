"""Credit projects through validation and registration, and the working-day calendar."""

import uuid
from datetime import date

import pytest

from backend.accounts import organisations
from backend.credits import projects
from backend.credits.errors import WrongProjectState
from backend.credits.models import ProjectEvent
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from backend.methodology import seed
from backend.methodology.errors import MethodologyUnknown

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")
SHA = "a" * 64


def member(org: str, kind: str, role: str, actor_kind: str = "member") -> Actor:
    return Actor(
        kind=actor_kind,
        id=str(uuid.uuid4()),
        organisation_id=org,
        organisation_kind=kind,
        roles=frozenset({role}),
    )


@pytest.fixture
async def parties(settings):
    await seed.seed_methodologies()
    platform = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="出行平台"
    )
    verifier = await organisations.register_organisation(
        actor=AUTHORITY, kind="VERIFIER", name="核查机构"
    )
    other_verifier = await organisations.register_organisation(
        actor=AUTHORITY, kind="VERIFIER", name="Other"
    )
    return {
        "owner": member(str(platform.public_id), "DATA_PLATFORM", "owner"),
        "verifier": member(str(verifier.public_id), "VERIFIER", "reviewer", "verifier"),
        "other_verifier": member(str(other_verifier.public_id), "VERIFIER", "reviewer", "verifier"),
        "verifier_id": str(verifier.public_id),
    }


async def draft(parties):
    project = await projects.create_project(
        actor=parties["owner"],
        title_zh="地铁出行减排",
        title_en="Metro trips",
        description="Aggregated metro trips of delegated citizens.",
        methodology_code="SZ-METRO",
    )
    await projects.add_document(
        actor=parties["owner"],
        project_id=str(project.public_id),
        title="Design document",
        url="https://docs.example.org/pdd.pdf",
        sha256=SHA,
    )
    return project


async def test_the_whole_lifecycle_with_comments(parties):
    project = await draft(parties)
    pid = str(project.public_id)
    await projects.submit(
        actor=parties["owner"], project_id=pid, verifier_id=parties["verifier_id"]
    )
    await projects.validate(
        actor=parties["verifier"], project_id=pid, approve=False, comment="baseline survey missing"
    )
    with pytest.raises(WrongProjectState):
        await projects.register(actor=AUTHORITY, project_id=pid, approve=True, comment="ok")
    await projects.add_document(
        actor=parties["owner"],
        project_id=pid,
        title="Survey",
        url="https://docs.example.org/s.pdf",
        sha256="b" * 64,
    )
    await projects.submit(
        actor=parties["owner"], project_id=pid, verifier_id=parties["verifier_id"]
    )
    await projects.validate(
        actor=parties["verifier"], project_id=pid, approve=True, comment="validated"
    )
    registered = await projects.register(
        actor=AUTHORITY, project_id=pid, approve=True, comment="registered"
    )
    assert registered.status.value == "REGISTERED" and registered.registered_at is not None
    events = (
        await ProjectEvent.filter(project=project).order_by("id").values_list("event", flat=True)
    )
    assert events == [
        "CREATED",
        "DOCUMENT_ADDED",
        "SUBMITTED",
        "CHANGES_REQUESTED",
        "DOCUMENT_ADDED",
        "SUBMITTED",
        "VALIDATED",
        "REGISTERED",
    ]
    with pytest.raises(WrongProjectState):
        await projects.add_document(
            actor=parties["owner"], project_id=pid, title="Late", url="https://x.org/a", sha256=SHA
        )


async def test_steps_by_the_wrong_party_are_refused(parties):
    project = await draft(parties)
    pid = str(project.public_id)
    await projects.submit(
        actor=parties["owner"], project_id=pid, verifier_id=parties["verifier_id"]
    )
    with pytest.raises(NotFound):  # not the verifier the owner named
        await projects.validate(
            actor=parties["other_verifier"], project_id=pid, approve=True, comment="ok"
        )
    with pytest.raises(Forbidden):
        await projects.validate(actor=parties["owner"], project_id=pid, approve=True, comment="ok")
    with pytest.raises(Forbidden):
        await projects.register(
            actor=parties["verifier"], project_id=pid, approve=True, comment="ok"
        )
    citizen = Actor(kind="citizen", id=str(uuid.uuid4()))
    with pytest.raises(Forbidden):
        await projects.create_project(
            actor=citizen, title_zh="x", title_en="x", description="x", methodology_code="SZ-METRO"
        )
    cashier = member(str(uuid.uuid4()), "MERCHANT", "owner")
    with pytest.raises(Forbidden):
        await projects.create_project(
            actor=cashier, title_zh="x", title_en="x", description="x", methodology_code="SZ-METRO"
        )


async def test_bad_projects_and_documents_are_refused(parties):
    with pytest.raises(MethodologyUnknown):
        await projects.create_project(
            actor=parties["owner"],
            title_zh="x",
            title_en="x",
            description="x",
            methodology_code="NOPE",
        )
    project = await projects.create_project(
        actor=parties["owner"],
        title_zh="x",
        title_en="x",
        description="x",
        methodology_code="SZ-METRO",
    )
    pid = str(project.public_id)
    with pytest.raises(InvalidInput):  # nothing attached yet
        await projects.submit(
            actor=parties["owner"], project_id=pid, verifier_id=parties["verifier_id"]
        )
    for url, sha in (
        ("http://insecure.org/a", SHA),
        ("https://x.org/a", "XYZ"),
        ("https://x.org/a", "A" * 64),
    ):
        with pytest.raises(InvalidInput):
            await projects.add_document(
                actor=parties["owner"], project_id=pid, title="t", url=url, sha256=sha
            )
    await projects.add_document(
        actor=parties["owner"], project_id=pid, title="t", url="https://x.org/a", sha256=SHA
    )
    with pytest.raises(InvalidInput):  # a data platform is no verifier
        await projects.submit(
            actor=parties["owner"], project_id=pid, verifier_id=parties["owner"].organisation_id
        )


@pytest.mark.parametrize(
    ("start", "count", "end"),
    [
        ("2026-11-20", 7, "2026-12-01"),  # Friday: the next Monday is the first working day
        ("2026-11-23", 1, "2026-11-24"),
        ("2026-11-27", 1, "2026-11-30"),
    ],
)
async def test_working_days_skip_weekends(settings, start, count, end):
    assert await projects.working_days_after(
        date.fromisoformat(start), count
    ) == date.fromisoformat(end)


async def test_holidays_and_make_up_workdays_count_as_the_authority_sets_them(settings):
    # A holiday week from Thursday 1 October, with a make-up workday on Sunday 27 September.
    await projects.set_calendar_day(
        actor=AUTHORITY, day="2026-09-27", is_working=True, note="调休上班"
    )
    for day in ("2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"):
        await projects.set_calendar_day(actor=AUTHORITY, day=day, is_working=False, note="国庆节")
    # From Friday 25 September: Sun 27, Mon 28, Tue 29, Wed 30, Thu 8, Fri 9, Mon 12.
    assert await projects.working_days_after(date(2026, 9, 25), 7) == date(2026, 10, 12)
    with pytest.raises(InvalidInput):
        await projects.set_calendar_day(
            actor=AUTHORITY, day="2026-13-01", is_working=False, note="x"
        )
    with pytest.raises(Forbidden):
        await projects.set_calendar_day(
            actor=Actor(kind="citizen", id="c"), day="2026-10-08", is_working=False, note="x"
        )
