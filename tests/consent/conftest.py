"""A small world for consent tests: the authority, two platforms, people, a household, notices."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backend.accounts import organisations
from backend.accounts.models import Membership, MembershipStatus, Person
from backend.consent import grants
from backend.consent.models import ConsentNotice
from backend.kit import clock
from backend.kit.actor import Actor
from backend.kit.ids import new_public_id

AUTHORITY = Actor(
    kind="authority", id="00000000-0000-4000-8000-0000000000a1", roles=frozenset({"admin"})
)


@dataclass
class World:
    platform: str
    other_platform: str
    platform_actor: Actor
    other_platform_actor: Actor
    alice: Actor
    bob: Actor
    household: str
    business: str
    notice: ConsentNotice
    meter_notice: ConsentNotice
    delegation_notice: ConsentNotice


async def person(phone: str) -> Actor:
    row = await Person.create(public_id=new_public_id(), phone=phone, created_at=clock.now())
    return Actor(kind="citizen", id=str(row.public_id))


@pytest.fixture
async def world(settings) -> World:
    platform = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="出行平台"
    )
    other = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name="Other"
    )
    alice = await person("+8613700000001")
    bob = await person("+8613700000002")
    household = await organisations.create_household(actor=alice, name="Alice's home")
    business = await organisations.register_organisation(
        actor=AUTHORITY, kind="SMALL_BUSINESS", name="Shop"
    )
    await Membership.create(
        public_id=new_public_id(),
        organisation=business,
        person=await Person.get(public_id=alice.id),
        role="owner",
        status=MembershipStatus.ACTIVE,
        created_at=clock.now(),
    )
    notice = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="CARBON_POINTS",
        kind="DATA",
        categories=["PUBLIC_TRANSPORT", "CYCLING", "WALKING"],
        text_zh="授权平台使用出行数据计算碳积分。",
        text_en="Use trip data to compute carbon points.",
    )
    meter_notice = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="METER_POINTS",
        kind="DATA",
        categories=["ELECTRICITY_METER"],
        text_zh="授权使用电表数据。",
        text_en="Use meter readings.",
    )
    delegation = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="CREDIT_DELEGATION",
        kind="DELEGATION",
        categories=[],
        text_zh="委托平台开发碳普惠项目。",
        text_en="Delegate project development.",
    )
    return World(
        platform=str(platform.public_id),
        other_platform=str(other.public_id),
        platform_actor=Actor(kind="platform", id=str(platform.public_id)),
        other_platform_actor=Actor(kind="platform", id=str(other.public_id)),
        alice=alice,
        bob=bob,
        household=str(household.organisation.public_id),
        business=str(business.public_id),
        notice=notice,
        meter_notice=meter_notice,
        delegation_notice=delegation,
    )
