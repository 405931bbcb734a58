"""A world for ingestion: the default scenarios, a platform, citizens linked to it with grants."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backend import verify
from backend.accounts import organisations, subjects
from backend.accounts.models import Person
from backend.consent import grants, links
from backend.consent.models import DataGrant
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.ids import new_public_id
from backend.methodology import seed

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")


@dataclass
class World:
    platform: Actor
    platform_id: str
    alice: Actor
    alice_ref: str
    alice_grant: DataGrant
    bob: Actor
    bob_ref: str  # linked, but without a grant
    notice_id: str


async def citizen(phone: str) -> Actor:
    person = await Person.create(public_id=new_public_id(), phone=phone, created_at=clock.now())
    return Actor(kind="citizen", id=str(person.public_id))


async def link(actor: Actor, platform_id: str, platform: Actor) -> str:
    code = await links.issue_link_code(
        actor=actor, subject=await subjects.subject_for(actor), platform_id=platform_id
    )
    return await links.link_with_code(actor=platform, code=code.code)


@pytest.fixture
async def world(settings) -> World:
    await seed.seed_methodologies()
    organisation = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="出行平台"
    )
    platform_id = str(organisation.public_id)
    platform = Actor(kind="platform", id=platform_id)
    notice = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="CARBON_POINTS",
        kind="DATA",
        categories=["PUBLIC_TRANSPORT", "CYCLING", "WALKING"],
        text_zh="授权",
        text_en="Consent",
    )
    alice, bob = await citizen("+8613900001111"), await citizen("+8613900002222")
    alice_ref, bob_ref = (
        await link(alice, platform_id, platform),
        await link(bob, platform_id, platform),
    )
    grant = await grants.grant(
        actor=alice,
        subject=await subjects.subject_for(alice),
        platform_id=platform_id,
        notice_id=str(notice.public_id),
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    return World(
        platform, platform_id, alice, alice_ref, grant, bob, bob_ref, str(notice.public_id)
    )


@pytest.fixture(autouse=True)
async def ledger_reconciles(settings):
    yield
    assert await verify.verify_all() == []
