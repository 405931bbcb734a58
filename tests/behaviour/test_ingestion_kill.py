"""Crash safety of ingestion under load (RELIABILITY.md 9; issue 12): a platform's servers send
batches to the bulk route of a real server, which is killed with SIGKILL at a random moment and
started again; each sender sends the same batch again until it is answered (tests/kill.py).
Every record is credited exactly once: the answer to a batch, first or replayed, gives each record
the grams and points that were stored for it, each citizen's wallet holds the sum of their stored
points, and `verify-ledger` is clean."""

import json

import httpx
import pytest

from backend import verify
from backend.accounts.subjects import Subject, SubjectKind
from backend.behaviour.models import BehaviourRecord
from backend.consent import grants
from backend.kit import clock
from backend.ledger import queries
from tests.behaviour.conftest import citizen, link
from tests.behaviour.test_paths import platform_token
from tests.kill import RANDOM, Run

pytestmark = pytest.mark.slow

SENDERS = 4
EACH = 10  # batches per sender
BATCH = 50  # records per batch
CITIZENS = 4


@pytest.mark.parametrize(
    "kill_at",
    [
        RANDOM,
        "behaviour.batch.before_commit",
        # SQLite credits record by record through ledger.earn; PostgreSQL set-based, without it
        pytest.param("ledger.earn.before_commit", marks=pytest.mark.sqlite_only),
    ],
)
async def test_batches_survive_a_kill_exactly_once(world, live_server_factory, kill_at):
    refs = [world.alice_ref]
    people = [world.alice]
    for n in range(1, CITIZENS):
        person = await citizen(f"+861390000{n:04d}")
        refs.append(await link(person, world.platform_id, world.platform))
        await grants.grant(
            actor=person,
            subject=Subject(SubjectKind.PERSON, person.id),
            platform_id=world.platform_id,
            notice_id=world.notice_id,
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
        people.append(person)
    token = await platform_token(world)
    occurred = clock.now().isoformat()  # within every grant, given just before

    def batch(key: str) -> list[dict]:
        return [
            {
                "eventId": f"{key}-{j:03d}",
                "subjectId": refs[j % CITIZENS],
                "scenario": "METRO" if j % 2 else "CYCLING",
                "quantity": str(1 + j % 7),
                "occurredAt": occurred,
            }
            for j in range(BATCH)
        ]

    async def send(http: httpx.AsyncClient, token: str, key: str) -> str | None:
        response = await http.post(
            "/platform/v1/records",
            json={"records": batch(key)},
            headers={"authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            return None
        outcomes = response.json()["outcomes"]
        # a record first accepted before the kill is a DUPLICATE in the answer to the retry,
        # with the outcome it first had
        assert {o["status"] for o in outcomes} <= {"ACCEPTED", "DUPLICATE"}, outcomes
        return json.dumps([[o["eventId"], o["grams"], o["points"], o["capped"]] for o in outcomes])

    run = Run(live_server_factory, send, EACH, kill_at)
    await run.go([(f"sender{n}-", token) for n in range(SENDERS)])
    stored = {r.event_id: r for r in await BehaviourRecord.all()}
    assert len(stored) == SENDERS * EACH * BATCH  # every record once
    for answer in run.answers.values():
        for event_id, grams, points, capped in json.loads(answer):
            record = stored[event_id]
            assert (str(record.grams), str(record.points), record.capped) == (grams, points, capped)
    for person in people:
        earned = sum(r.points for r in stored.values() if str(r.subject_id) == person.id)
        assert earned > 0
        assert (await queries.summary(Subject(SubjectKind.PERSON, person.id))).balance == earned
    assert await verify.verify_all() == []
