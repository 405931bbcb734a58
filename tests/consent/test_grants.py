"""Notices and grants (RELIABILITY.md 18-22): consent given, seen and withdrawn in one step."""

from datetime import timedelta

import pytest

from backend.accounts import organisations, subjects
from backend.consent import grants, links
from backend.consent.errors import GrantEnded, NoticeUnknown, PlatformUnavailable
from backend.consent.models import ConsentNotice, DataGrant, GrantEvent, GrantStatus, Notification
from backend.kit import clock, db
from backend.kit.actor import Actor
from backend.kit.errors import Forbidden, InvalidInput, NotFound
from tests.consent.conftest import AUTHORITY


async def give(world, actor=None, subject=None, **overrides):
    actor = actor or world.alice
    arguments = {
        "platform_id": world.platform,
        "notice_id": str(world.notice.public_id),
        "categories": None,
        "expires_at": None,
        "meter_accounts": None,
        **overrides,
    }
    subject = subject or await subjects.subject_for(actor)
    return await grants.grant(actor=actor, subject=subject, **arguments)


async def test_notices_are_versioned_per_purpose_and_hashed(world):
    again = await grants.publish_notice(
        actor=AUTHORITY,
        purpose="CARBON_POINTS",
        kind="DATA",
        categories=["CYCLING"],
        text_zh="第二版",
        text_en="Second version",
    )
    assert (world.notice.version, again.version) == (1, 2)
    assert again.sha256 != world.notice.sha256 and len(again.sha256) == 64
    current = {n.purpose: n.version for n in await grants.current_notices()}
    assert current["CARBON_POINTS"] == 2


@pytest.mark.postgres_only
async def test_a_published_notice_cannot_be_changed(world):
    with pytest.raises(Exception, match="append-only"):
        await db.execute("UPDATE consent_notice SET text_en = 'changed'")
    assert (
        await ConsentNotice.get(id=world.notice.id)
    ).text_en == "Use trip data to compute carbon points."


@pytest.mark.parametrize(
    "bad",
    [
        {"purpose": "x"},
        {"purpose": "lower_case"},
        {"categories": ["TELEPATHY"]},
        {"categories": []},
        {"text_zh": " "},
        {"kind": "DELEGATION"},
    ],
)
async def test_bad_notices_are_refused(world, bad):
    arguments = {
        "purpose": "CARBON_POINTS",
        "kind": "DATA",
        "categories": ["CYCLING"],
        "text_zh": "文",
        "text_en": "t",
        **bad,
    }
    with pytest.raises((InvalidInput, ValueError)):
        await grants.publish_notice(actor=AUTHORITY, **arguments)
    assert await ConsentNotice.all().count() == 3


async def test_only_the_authority_publishes(world):
    with pytest.raises(Forbidden):
        await grants.publish_notice(
            actor=world.alice,
            purpose="X_Y",
            kind="DATA",
            categories=["CYCLING"],
            text_zh="a",
            text_en="b",
        )


async def test_a_grant_records_the_notice_shown_and_an_event(world):
    grant = await give(world)
    assert grant.status == GrantStatus.AUTHORISED
    assert grant.notice_sha256 == world.notice.sha256
    assert sorted(grant.categories) == ["CYCLING", "PUBLIC_TRANSPORT", "WALKING"]
    assert grant.expires_at - grant.authorised_at == timedelta(days=365)
    events = await GrantEvent.filter(grant=grant).values_list("event", flat=True)
    assert events == ["AUTHORISED"]


async def test_the_receipt_carries_the_kantara_fields(world):
    grant = await give(world, categories=["CYCLING"])
    receipt = await grants.receipt(actor=world.alice, grant_id=str(grant.public_id))
    for field in (
        "consentReceiptID",
        "jurisdiction",
        "consentTimestamp",
        "piiControllers",
        "services",
    ):
        assert field in receipt
    purpose = receipt["services"][0]["purposes"][0]
    assert purpose["piiCategory"] == ["CYCLING"]
    assert purpose["termination"] == grant.expires_at.isoformat()
    assert purpose["thirdPartyDisclosure"] is False
    assert receipt["piiControllers"][0]["piiController"] == "出行平台"
    with pytest.raises(NotFound):
        await grants.receipt(actor=world.bob, grant_id=str(grant.public_id))


async def _count():
    return await DataGrant.all().count()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"platform_id": "00000000-0000-4000-8000-000000000999"}, PlatformUnavailable),
        ({"notice_id": "00000000-0000-4000-8000-000000000999"}, NoticeUnknown),
        ({"expires_at": "past"}, InvalidInput),
        ({"expires_at": "too_far"}, InvalidInput),
        ({"categories": ["ELECTRICITY_METER"]}, InvalidInput),
        ({"categories": []}, InvalidInput),
        ({"meter_accounts": ["M-1"]}, InvalidInput),
    ],
)
async def test_bad_grants_are_typed_errors_and_change_nothing(world, overrides, error):
    if overrides.get("expires_at") == "past":
        overrides["expires_at"] = clock.now() - timedelta(minutes=1)
    elif overrides.get("expires_at") == "too_far":
        overrides["expires_at"] = clock.now() + timedelta(days=366)
    with pytest.raises(error):
        await give(world, **overrides)
    assert await _count() == 0


async def test_a_suspended_platform_cannot_be_granted(world):
    await organisations.set_suspended(
        actor=AUTHORITY, organisation_id=world.platform, suspended=True, reason="fraud"
    )
    with pytest.raises(PlatformUnavailable):
        await give(world)
    assert await _count() == 0


async def test_withdrawal_is_one_step_final_and_only_the_subjects(world):
    grant = await give(world)
    with pytest.raises(NotFound):
        await grants.withdraw(actor=world.bob, grant_id=str(grant.public_id))
    assert (await DataGrant.get(id=grant.id)).status == GrantStatus.AUTHORISED
    withdrawn = await grants.withdraw(actor=world.alice, grant_id=str(grant.public_id))
    assert withdrawn.status == GrantStatus.WITHDRAWN and withdrawn.ended_at is not None
    with pytest.raises(GrantEnded):
        await grants.withdraw(actor=world.alice, grant_id=str(grant.public_id))
    events = await GrantEvent.filter(grant=grant).order_by("id").values_list("event", flat=True)
    assert events == ["AUTHORISED", "WITHDRAWN"]


async def test_consenting_again_makes_a_new_grant(world):
    first = await give(world)
    await grants.withdraw(actor=world.alice, grant_id=str(first.public_id))
    second = await give(world)
    assert second.id != first.id
    assert (await DataGrant.get(id=first.id)).status == GrantStatus.WITHDRAWN


async def test_a_platform_revokes_its_own_grants_only_with_a_reason(world):
    grant = await give(world)
    with pytest.raises(NotFound):
        await grants.revoke(
            actor=world.other_platform_actor, grant_id=str(grant.public_id), reason="x"
        )
    with pytest.raises(InvalidInput):
        await grants.revoke(actor=world.platform_actor, grant_id=str(grant.public_id), reason=" ")
    with pytest.raises(Forbidden):
        await grants.revoke(actor=world.alice, grant_id=str(grant.public_id), reason="x")
    revoked = await grants.revoke(
        actor=world.platform_actor, grant_id=str(grant.public_id), reason="account closed"
    )
    assert revoked.status == GrantStatus.REVOKED and revoked.end_reason == "account closed"
    with pytest.raises(GrantEnded):
        await grants.revoke(actor=AUTHORITY, grant_id=str(grant.public_id), reason="again")


async def test_grants_expire_and_are_reminded_once_before(world):
    grant = await give(world, expires_at=clock.now() + timedelta(days=20))
    assert await grants.remind_expiring() == 0
    with clock.frozen(clock.now() + timedelta(days=7)) as frozen:
        assert await grants.remind_expiring() == 1
        assert await grants.remind_expiring() == 0
        assert await Notification.filter(grant=grant, person_id=world.alice.id).count() == 1
        assert await grants.expire_due() == 0
        frozen.advance(timedelta(days=14))
        assert await grants.expire_due() == 1
        assert (await DataGrant.get(id=grant.id)).status == GrantStatus.EXPIRED
        assert await grants.expire_due() == 0


async def test_a_household_member_consents_for_the_household_naming_its_meters(world):
    subject = await subjects.subject_for(world.alice, household_id=world.household)
    with pytest.raises(InvalidInput):
        await give(world, subject=subject, notice_id=str(world.meter_notice.public_id))
    grant = await give(
        world,
        subject=subject,
        notice_id=str(world.meter_notice.public_id),
        meter_accounts=["0755-001", "0755-002"],
    )
    assert grant.subject_kind.value == "HOUSEHOLD" and grant.meter_accounts == [
        "0755-001",
        "0755-002",
    ]
    with pytest.raises(Forbidden):
        await subjects.subject_for(world.bob, household_id=world.household)
    # A person cannot authorise meter data as themselves.
    with pytest.raises(InvalidInput):
        await give(world, notice_id=str(world.meter_notice.public_id), meter_accounts=["0755-001"])


async def test_a_business_owner_consents_for_the_business(world):
    subject = await subjects.subject_for(world.alice, business_id=world.business)
    grant = await give(
        world, subject=subject, notice_id=str(world.meter_notice.public_id), meter_accounts=["SZ-9"]
    )
    assert grant.subject_kind.value == "BUSINESS"
    with pytest.raises(Forbidden):
        await subjects.subject_for(world.bob, business_id=world.business)


async def test_delegation_is_a_separate_consent(world):
    grant = await give(world, notice_id=str(world.delegation_notice.public_id))
    assert grant.kind.value == "DELEGATION" and grant.separate_consent
    assert grant.categories == []


async def test_the_subject_lists_every_grant_of_theirs_only(world):
    mine = await give(world)
    await give(world, actor=world.bob)
    page = await grants.list_grants(actor=world.alice, first=10, after=None, status=None)
    assert [g.id for g in page.items] == [mine.id]


async def test_links_give_each_platform_its_own_random_id(world):
    subject = await subjects.subject_for(world.alice)
    code = await links.issue_link_code(
        actor=world.alice, subject=subject, platform_id=world.platform
    )
    ref = await links.link_with_code(actor=world.platform_actor, code=code.code)
    other_code = await links.issue_link_code(
        actor=world.alice, subject=subject, platform_id=world.other_platform
    )
    other_ref = await links.link_with_code(
        actor=world.other_platform_actor, code=other_code.code.lower()
    )
    assert ref != other_ref and ref != world.alice.id


async def test_link_codes_work_once_for_their_platform_within_ten_minutes(world):
    from backend.consent.errors import LinkCodeRejected

    subject = await subjects.subject_for(world.alice)
    code = await links.issue_link_code(
        actor=world.alice, subject=subject, platform_id=world.platform
    )
    with pytest.raises(LinkCodeRejected):
        await links.link_with_code(actor=world.other_platform_actor, code=code.code)
    await links.link_with_code(actor=world.platform_actor, code=code.code)
    with pytest.raises(LinkCodeRejected):
        await links.link_with_code(actor=world.platform_actor, code=code.code)
    late = await links.issue_link_code(
        actor=world.alice, subject=subject, platform_id=world.platform
    )
    with clock.frozen(clock.now() + timedelta(minutes=11)), pytest.raises(LinkCodeRejected):
        await links.link_with_code(actor=world.platform_actor, code=late.code)
    with pytest.raises(LinkCodeRejected):
        await links.link_with_code(actor=world.platform_actor, code="WRONG123")


async def test_a_platform_link_request_is_approved_by_the_person(world):
    request = await links.request_link(actor=world.platform_actor, phone="13700000001")
    # Same answer for a number nobody has registered.
    await links.request_link(actor=world.platform_actor, phone="13799999999")
    pending = await links.pending_link_requests(actor=world.alice)
    assert [(r.public_id, name) for r, name in pending] == [(request.public_id, "出行平台")]
    assert await links.pending_link_requests(actor=world.bob) == []
    with pytest.raises(NotFound):
        await links.decide_link_request(
            actor=world.bob, request_id=str(request.public_id), approve=True
        )
    decided = await links.decide_link_request(
        actor=world.alice, request_id=str(request.public_id), approve=True
    )
    seen = await links.link_request_for_platform(
        actor=world.platform_actor, request_id=str(request.public_id)
    )
    assert seen.status == "APPROVED" and str(seen.subject_ref) == str(decided.subject_ref)
    with pytest.raises(NotFound):
        await links.link_request_for_platform(
            actor=world.other_platform_actor, request_id=str(request.public_id)
        )


async def test_a_platform_learns_only_about_its_own_subjects(world):
    from backend.consent.errors import UnknownSubjects

    subject = await subjects.subject_for(world.alice)
    code = await links.issue_link_code(
        actor=world.alice, subject=subject, platform_id=world.platform
    )
    ref = await links.link_with_code(actor=world.platform_actor, code=code.code)
    bob_code = await links.issue_link_code(
        actor=world.bob, subject=await subjects.subject_for(world.bob), platform_id=world.platform
    )
    bob_ref = await links.link_with_code(actor=world.platform_actor, code=bob_code.code)
    await give(world)
    authorised = await grants.subjects_authorising(
        actor=world.platform_actor, subject_refs=[ref, bob_ref], category="CYCLING"
    )
    assert authorised == [ref]
    with pytest.raises(UnknownSubjects):
        await grants.subjects_authorising(
            actor=world.other_platform_actor, subject_refs=[ref], category="CYCLING"
        )
    with pytest.raises(Forbidden):
        await grants.subjects_authorising(actor=world.alice, subject_refs=[ref], category="CYCLING")


async def test_an_actor_who_is_no_person_cannot_consent(world):
    with pytest.raises(Forbidden):
        await subjects.subject_for(Actor(kind="platform", id=world.platform))
