"""Demonstration data for `tanpuhui seed-demo`: a data platform, citizens who linked and authorised
it, and a few thousand behaviour records reported through the real service."""

from __future__ import annotations

from datetime import timedelta

from backend.accounts import organisations
from backend.accounts.models import Organisation, Person
from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour import ingestion
from backend.consent import grants, links
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.ids import new_public_id

SEEDER = Actor(kind="authority", id="seed-demo")
PLATFORM_NAME = "演示出行平台 Demo mobility platform"
CITIZENS = 20
RECORDS_EACH = 100


async def seed_demo_reporting() -> int:
    """Returns the number of records accepted (0 when the demo data is already there)."""
    if await Organisation.filter(name=PLATFORM_NAME).exists():
        return 0
    platform = await organisations.register_organisation(
        actor=SEEDER, kind="DATA_PLATFORM", name=PLATFORM_NAME
    )
    platform_id = str(platform.public_id)
    platform_actor = Actor(kind="platform", id=platform_id)
    notice = await grants.publish_notice(
        actor=SEEDER,
        purpose="DEMO_CARBON_POINTS",
        kind="DATA",
        categories=["PUBLIC_TRANSPORT", "CYCLING", "WALKING"],
        text_zh="授权演示平台使用您的出行数据计算碳积分。",
        text_en="Allow the demo platform to use your trip data to compute carbon points.",
    )
    refs = []
    for n in range(CITIZENS):
        phone = f"+86139000{n:05d}"
        person = await Person.get_or_none(phone=phone)
        if person is None:
            person = await Person.create(
                public_id=new_public_id(), phone=phone, created_at=clock.now()
            )
        citizen = Actor(kind="citizen", id=str(person.public_id))
        subject = Subject(SubjectKind.PERSON, citizen.id or "")
        code = await links.issue_link_code(actor=citizen, subject=subject, platform_id=platform_id)
        refs.append(await links.link_with_code(actor=platform_actor, code=code.code))
        await grants.grant(
            actor=citizen,
            subject=subject,
            platform_id=platform_id,
            notice_id=str(notice.public_id),
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
    scenarios = [("METRO", "0.5"), ("BUS", "1.2"), ("CYCLING", "0.8"), ("WALKING", "400")]
    now = clock.now()
    accepted = 0
    records = []
    for n in range(CITIZENS * RECORDS_EACH):
        scenario, quantity = scenarios[n % len(scenarios)]
        records.append(
            {
                "eventId": f"demo-{n}",
                "subjectId": refs[n % CITIZENS],
                "scenario": scenario,
                "quantity": quantity,
                "occurredAt": (now + timedelta(milliseconds=n)).isoformat(),
            }
        )
    for start in range(0, len(records), ingestion.MAX_BATCH):
        outcomes = await ingestion.report(
            actor=platform_actor, records=records[start : start + ingestion.MAX_BATCH]
        )
        accepted += sum(1 for o in outcomes if o.status == "ACCEPTED")
    return accepted
