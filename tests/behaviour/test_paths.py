"""The GraphQL mutation and the bulk route give the same outcomes, through the same service."""

import json

from backend.accounts.subjects import Subject, SubjectKind
from backend.consent import grants
from backend.kit import clock
from backend.ledger import queries
from tests.behaviour.conftest import citizen, link


async def platform_token(world) -> str:
    from datetime import timedelta

    from backend.accounts.platforms import issue_credential
    from backend.kit import jwt
    from tests.behaviour.conftest import AUTHORITY

    issued = await issue_credential(actor=AUTHORITY, platform_id=world.platform_id)
    token, _ = jwt.issue(
        subject=world.platform_id,
        typ=jwt.ACCESS_TOKEN_TYPE,
        ttl=timedelta(minutes=5),
        claims={"kind": "platform", "client_id": issued.client_id},
    )
    return token


def batch(ref: str) -> list[dict]:
    now = clock.now()
    return [
        {
            "eventId": "m1",
            "subjectId": ref,
            "scenario": "METRO",
            "quantity": "12.3",
            "occurredAt": now.isoformat(),
        },
        {
            "eventId": "m1",
            "subjectId": ref,
            "scenario": "METRO",
            "quantity": "12.3",
            "occurredAt": now.isoformat(),
        },
        {
            "eventId": "c1",
            "subjectId": ref,
            "scenario": "CYCLING",
            "quantity": "3.3",
            "occurredAt": now.isoformat(),
        },
        {
            "eventId": "w1",
            "subjectId": ref,
            "scenario": "WALKING",
            "quantity": "999999",
            "occurredAt": now.isoformat(),
        },
        {
            "eventId": "x1",
            "subjectId": ref,
            "scenario": "NOPE",
            "quantity": "1",
            "occurredAt": now.isoformat(),
        },
    ]


MUTATION = """
mutation ($input: ReportBehaviourRecordsInput!) {
  reportBehaviourRecords(input: $input) {
    ... on BatchReport { outcomes { eventId status code grams points capped } }
    ... on Error { code }
  }
}
"""


async def test_both_paths_give_the_same_outcomes(world, client):
    token = await platform_token(world)
    headers = {"authorization": f"Bearer {token}"}
    # Two citizens in the same situation, one reported through each path.
    carol = await citizen("+8613900003333")
    carol_ref = await link(carol, world.platform_id, world.platform)
    await grants.grant(
        actor=carol,
        subject=Subject(SubjectKind.PERSON, carol.id),
        platform_id=world.platform_id,
        notice_id=world.notice_id,
        categories=None,
        expires_at=None,
        meter_accounts=None,
    )
    through_graphql = await client.post(
        "/graphql",
        json={"query": MUTATION, "variables": {"input": {"records": batch(world.alice_ref)}}},
        headers=headers,
    )
    graphql_outcomes = through_graphql.json()["data"]["reportBehaviourRecords"]["outcomes"]
    through_bulk = await client.post(
        "/platform/v1/records", json={"records": batch(carol_ref)}, headers=headers
    )
    assert through_bulk.status_code == 200, through_bulk.text
    assert through_bulk.json()["outcomes"] == graphql_outcomes
    assert [o["status"] for o in graphql_outcomes] == [
        "ACCEPTED",
        "DUPLICATE",
        "ACCEPTED",
        "REJECTED",
        "REJECTED",
    ]
    assert [o["code"] for o in graphql_outcomes][3:] == [
        "IMPLAUSIBLE_QUANTITY",
        "SCENARIO_NOT_ALLOWED",
    ]
    for person in (world.alice, carol):
        assert (await queries.summary(Subject(SubjectKind.PERSON, person.id))).balance == 574 + 307


async def test_the_bulk_route_takes_ndjson(world, client):
    token = await platform_token(world)
    body = "\n".join(json.dumps(r) for r in batch(world.alice_ref)[:1])
    response = await client.post(
        "/platform/v1/records",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
    )
    assert response.json()["outcomes"][0]["status"] == "ACCEPTED"


async def test_the_bulk_route_refuses_what_is_not_a_platform_or_not_a_batch(world, client, sms):
    from tests.conftest import bearer, log_in

    assert (await client.post("/platform/v1/records", json={"records": []})).status_code == 401
    token = await platform_token(world)
    headers = {"authorization": f"Bearer {token}"}
    assert (
        await client.post("/platform/v1/records", json={"records": []}, headers=headers)
    ).status_code == 400
    assert (await client.post("/platform/v1/records", json=[1], headers=headers)).status_code == 400
    assert (
        await client.post(
            "/platform/v1/records",
            content=b"{oops",
            headers={**headers, "content-type": "application/json"},
        )
    ).status_code == 400
    assert (
        await client.post(
            "/platform/v1/records", content=b"x", headers={**headers, "content-type": "text/csv"}
        )
    ).status_code == 415
    assert (
        await client.post(
            "/platform/v1/records",
            json={"records": [{}]},
            headers={"authorization": "Bearer forged"},
        )
    ).status_code == 401
    citizen_tokens = await log_in(client, sms, "+8613900004444")
    assert (
        await client.post(
            "/platform/v1/records",
            json={"records": [{}]},
            headers=bearer(citizen_tokens["accessToken"]),
        )
    ).status_code == 403


async def test_a_platform_has_one_budget_for_both_paths(world, settings):
    """A platform is counted by platform (its servers' addresses do not matter): each outcome
    costs one on either path, and past the budget both refuse before anything is written."""
    import time
    from dataclasses import replace

    import httpx

    from backend.api.cost import WINDOW_SECONDS
    from backend.app import create_app
    from backend.kit.redis import get_redis

    # 200 a minute for the platform; 10 for an address, which would refuse the first batch
    tight = replace(settings, cost_per_minute=10, cost_per_address_minute=10, cost_sync_seconds=0)
    app = create_app(tight, manage_resources=False)
    headers = {"authorization": f"Bearer {await platform_token(world)}"}
    transport = httpx.ASGITransport(app=app, client=("10.0.2.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        first = await http.post(
            "/platform/v1/records", json={"records": batch(world.alice_ref)[:1]}, headers=headers
        )
        assert first.status_code == 200, first.text
        balance = (await queries.summary(Subject(SubjectKind.PERSON, world.alice.id))).balance
        assert balance > 0
        window = int(time.time()) // WINDOW_SECONDS
        await get_redis().incrby(f"cost:platform:{world.platform_id}:{window}", 180)  # 11 + 180
        records = batch(world.alice_ref)[2:3]  # a new record
        refused = await http.post(
            "/platform/v1/records", json={"records": records}, headers=headers
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "THROTTLED"
        assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_SECONDS
        through_graphql = (
            await http.post(
                "/graphql",
                json={"query": MUTATION, "variables": {"input": {"records": records}}},
                headers=headers,
            )
        ).json()
        [error] = through_graphql["errors"]
        assert error["extensions"]["code"] == "THROTTLED"
        assert error["extensions"]["budget"] == "PLATFORM"
        assert (
            await queries.summary(Subject(SubjectKind.PERSON, world.alice.id))
        ).balance == balance


async def test_a_nul_character_in_a_batch_is_refused_and_nothing_is_written(world, client):
    token = await platform_token(world)
    records = [*batch(world.alice_ref)[:1], {**batch(world.alice_ref)[2], "eventId": "c\x001"}]
    response = await client.post(
        "/platform/v1/records",
        json={"records": records},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, response.text
    assert "U+0000" in response.json()["error"]["message"]
    assert (await queries.summary(Subject(SubjectKind.PERSON, world.alice.id))).balance == 0


async def test_batches_beyond_what_a_process_takes_are_refused_and_write_nothing(
    world, client, monkeypatch
):
    import asyncio
    import dataclasses

    from backend.behaviour import ingestion
    from backend.behaviour.models import BehaviourRecord
    from backend.settings import get_settings

    # one batch at a time, and one more may wait
    limited = dataclasses.replace(get_settings(), ingest_running=1, ingest_waiting=1)
    monkeypatch.setattr(ingestion, "get_settings", lambda: limited)
    headers = {"authorization": f"Bearer {await platform_token(world)}"}
    async with ingestion.GATE.slot():  # the one running batch
        waiting = asyncio.create_task(
            client.post(
                "/platform/v1/records", json={"records": batch(world.alice_ref)}, headers=headers
            )
        )
        for _ in range(500):  # until the request waits for the slot
            if ingestion.GATE.waiting:
                break
            await asyncio.sleep(0.01)
        assert ingestion.GATE.waiting == 1
        refused = await client.post(
            "/platform/v1/records", json={"records": batch(world.alice_ref)}, headers=headers
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "BUSY"
        through_graphql = await client.post(
            "/graphql",
            json={"query": MUTATION, "variables": {"input": {"records": batch(world.alice_ref)}}},
            headers=headers,
        )
        assert [e["extensions"]["code"] for e in through_graphql.json()["errors"]] == ["BUSY"]
        assert await BehaviourRecord.all().count() == 0
        assert not waiting.done()
    answered = await waiting  # the waiting batch ran once the slot was free
    assert answered.status_code == 200
    assert [o["status"] for o in answered.json()["outcomes"]][:2] == ["ACCEPTED", "DUPLICATE"]
    assert await BehaviourRecord.all().count() == 2
