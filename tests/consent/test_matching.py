"""The matching rule that ingestion calls (DESIGN.md, behaviour record)."""

from datetime import timedelta

import pytest

from backend.accounts import queries, subjects
from backend.consent import grants, links
from backend.consent.matching import (
    NOT_AUTHORISED,
    OUTSIDE_WINDOW,
    UNKNOWN_SUBJECT,
    RecordClaim,
    judge,
)
from backend.kit import clock
from tests.conftest import count_queries
from tests.consent.conftest import AUTHORITY
from tests.consent.test_grants import give


async def linked(world, actor, subject=None):
    subject = subject or await subjects.subject_for(actor)
    code = await links.issue_link_code(actor=actor, subject=subject, platform_id=world.platform)
    return await links.link_with_code(actor=world.platform_actor, code=code.code)


async def platform_pk(world):
    return (await queries.data_platform(world.platform))[0]


async def verdicts(world, claims, at=None):
    results = await judge(platform_pk=await platform_pk(world), claims=claims, at=at or clock.now())
    return [v.reason for v in results]


async def test_a_record_inside_a_current_grant_is_accepted_and_names_its_subject(world):
    ref = await linked(world, world.alice)
    start = clock.now()
    await give(world)
    result = await judge(
        platform_pk=await platform_pk(world),
        claims=[RecordClaim(ref, "CYCLING", start + timedelta(seconds=1))],
        at=start + timedelta(minutes=1),
    )
    assert result[0].reason is None and result[0].subject_id == world.alice.id


async def test_records_before_consent_or_of_another_category_are_refused(world):
    ref = await linked(world, world.alice)
    before = clock.now() - timedelta(hours=1)
    await give(world, categories=["CYCLING"])
    now = clock.now() + timedelta(seconds=1)
    assert await verdicts(
        world,
        [
            RecordClaim(ref, "CYCLING", before),
            RecordClaim(ref, "WALKING", now),
            RecordClaim(ref, "CYCLING", now),
        ],
        at=now,
    ) == [OUTSIDE_WINDOW, NOT_AUTHORISED, None]


async def test_unlinked_and_malformed_subject_ids_are_unknown(world):
    await give(world)
    now = clock.now()
    code = await links.issue_link_code(
        actor=world.alice,
        subject=await subjects.subject_for(world.alice),
        platform_id=world.other_platform,
    )
    other_platform_ref = await links.link_with_code(
        actor=world.other_platform_actor, code=code.code
    )
    assert await verdicts(
        world,
        [
            RecordClaim(other_platform_ref, "CYCLING", now),
            RecordClaim("not-a-uuid", "CYCLING", now),
        ],
    ) == [UNKNOWN_SUBJECT, UNKNOWN_SUBJECT]


async def test_withdrawal_stops_acceptance_at_once_even_for_older_records(world):
    ref = await linked(world, world.alice)
    grant = await give(world)
    during = clock.now() + timedelta(seconds=1)
    await grants.withdraw(actor=world.alice, grant_id=str(grant.public_id))
    assert await verdicts(
        world, [RecordClaim(ref, "CYCLING", during)], at=during + timedelta(seconds=1)
    ) == [NOT_AUTHORISED]


async def test_revocation_stops_acceptance(world):
    ref = await linked(world, world.alice)
    grant = await give(world)
    await grants.revoke(actor=AUTHORITY, grant_id=str(grant.public_id), reason="fraud")
    assert await verdicts(world, [RecordClaim(ref, "CYCLING", clock.now())]) == [NOT_AUTHORISED]


async def test_after_expiry_nothing_is_accepted(world):
    ref = await linked(world, world.alice)
    start = clock.now()
    await give(world, expires_at=start + timedelta(days=30))
    inside = start + timedelta(days=10)
    after = start + timedelta(days=31)
    assert await verdicts(world, [RecordClaim(ref, "CYCLING", inside)], at=after) == [
        NOT_AUTHORISED
    ]


async def test_a_renewal_keeps_the_previous_windows_records_acceptable(world):
    ref = await linked(world, world.alice)
    start = clock.now()
    await give(world, expires_at=start + timedelta(days=30))
    in_first_window = start + timedelta(days=10)
    gap = start + timedelta(days=31)
    with clock.frozen(start + timedelta(days=35)):
        await grants.expire_due()
        await give(world)
        at = clock.now() + timedelta(minutes=1)
        assert await verdicts(
            world,
            [
                RecordClaim(ref, "CYCLING", in_first_window),
                RecordClaim(ref, "CYCLING", gap),
                RecordClaim(ref, "CYCLING", at - timedelta(seconds=30)),
            ],
            at=at,
        ) == [None, OUTSIDE_WINDOW, None]


async def test_a_withdrawn_grants_window_does_not_come_back_with_a_new_grant(world):
    ref = await linked(world, world.alice)
    first = await give(world)
    during_first = clock.now() + timedelta(seconds=1)
    with clock.frozen(clock.now() + timedelta(days=1)):
        await grants.withdraw(actor=world.alice, grant_id=str(first.public_id))
        await give(world)
        assert await verdicts(
            world, [RecordClaim(ref, "CYCLING", during_first)], at=clock.now()
        ) == [OUTSIDE_WINDOW]


async def test_meter_records_must_name_a_covered_meter_account(world):
    household = await subjects.subject_for(world.alice, household_id=world.household)
    ref = await linked(world, world.alice, household)
    await give(
        world,
        subject=household,
        notice_id=str(world.meter_notice.public_id),
        meter_accounts=["M-1"],
    )
    now = clock.now() + timedelta(seconds=1)
    assert await verdicts(
        world,
        [
            RecordClaim(ref, "ELECTRICITY_METER", now, "M-1"),
            RecordClaim(ref, "ELECTRICITY_METER", now, "M-2"),
            RecordClaim(ref, "ELECTRICITY_METER", now, None),
        ],
        at=now,
    ) == [None, NOT_AUTHORISED, NOT_AUTHORISED]


async def test_a_delegation_is_not_a_data_authorisation(world):
    ref = await linked(world, world.alice)
    await give(world, notice_id=str(world.delegation_notice.public_id))
    assert await verdicts(world, [RecordClaim(ref, "CYCLING", clock.now())]) == [NOT_AUTHORISED]


@pytest.mark.parametrize("size", [1, 200])
async def test_a_batch_costs_the_same_queries_whatever_its_size(world, size):
    refs = [await linked(world, world.alice)]
    await give(world)
    now = clock.now() + timedelta(seconds=1)
    claims = [RecordClaim(refs[0], "CYCLING", now) for _ in range(size)]
    pk = await platform_pk(world)
    with count_queries() as counter:
        await judge(platform_pk=pk, claims=claims, at=now)
    assert counter.count == 2
