"""The audit log: written with its change, append-only, read by the authority alone."""

from datetime import UTC, datetime, timedelta

import pytest
from strawberry.relay import to_base64

from backend.audit import service
from backend.audit.models import AuditEvent
from backend.kit import clock, db
from backend.kit.actor import Actor
from backend.kit.errors import BadUserInput, Forbidden, Unauthenticated
from tests.conftest import assert_constant_queries

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-00000000a001")
CITIZEN = Actor(kind="citizen", id="00000000-0000-4000-8000-00000000c001")

LIST = """
query ($first: Int, $after: String, $objectId: String) {
  auditEvents(first: $first, after: $after, objectId: $objectId) {
    edges { cursor node { id action objectId actorKind occurredAt } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def add_events(count: int, *, at: datetime | None = None, object_id: str = "obj") -> None:
    with clock.frozen(at or datetime(2026, 6, 1, tzinfo=UTC)):
        async with db.transaction():
            for n in range(count):
                await service.record(
                    actor=AUTHORITY,
                    action="platform.suspended",
                    object_type="platform",
                    object_id=f"{object_id}-{n}" if object_id == "obj" else object_id,
                    details={"n": n},
                )


async def test_an_event_commits_with_its_change_and_rolls_back_with_it(settings):
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await service.record(
                actor=AUTHORITY, action="x.changed", object_type="x", object_id="1"
            )
            raise RuntimeError("the change failed")
    assert await AuditEvent.all().count() == 0
    await add_events(1)
    event = await AuditEvent.get()
    assert (event.actor_kind, event.actor_id, event.action) == (
        "authority",
        AUTHORITY.id,
        "platform.suspended",
    )


async def test_events_are_only_recorded_inside_a_transaction(settings):
    with pytest.raises(RuntimeError, match="transaction"):
        await service.record(actor=AUTHORITY, action="x.changed", object_type="x", object_id="1")


async def test_action_names_are_checked(settings):
    with pytest.raises(ValueError):
        async with db.transaction():
            await service.record(
                actor=AUTHORITY, action="DROP TABLE", object_type="x", object_id="1"
            )


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET action = 'forged.action'", "DELETE FROM audit_event"],
)
async def test_the_database_refuses_to_rewrite_history(settings, statement):
    await add_events(1)
    with pytest.raises(Exception, match="append-only"):
        await db.execute(statement)
    assert (await AuditEvent.get()).action == "platform.suspended"


async def test_only_the_authority_reads_the_log(settings):
    await add_events(1)
    with pytest.raises(Unauthenticated):
        await service.list_events(
            actor=Actor(kind="anonymous"), object_type=None, object_id=None, first=5, after=None
        )
    with pytest.raises(Forbidden):
        await service.list_events(
            actor=CITIZEN, object_type=None, object_id=None, first=5, after=None
        )


async def test_pages_walk_the_whole_log_once_even_when_times_are_equal(settings, execute):
    await add_events(7)  # all at the same instant: the public id breaks ties
    seen, after = [], None
    while True:
        result = await execute(LIST, {"first": 3, "after": after}, actor=AUTHORITY)
        assert result.errors is None
        page = result.data["auditEvents"]
        seen.extend(edge["node"]["objectId"] for edge in page["edges"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(f"obj-{n}" for n in range(7))
    assert len(seen) == len(set(seen)) == 7


async def test_newest_events_come_first(settings, execute):
    base = datetime(2026, 6, 1, tzinfo=UTC)
    for n in range(3):
        await add_events(1, at=base + timedelta(minutes=n), object_id=f"t{n}")
    result = await execute(LIST, {"first": 10}, actor=AUTHORITY)
    assert [e["node"]["objectId"] for e in result.data["auditEvents"]["edges"]] == [
        "t2",
        "t1",
        "t0",
    ]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_is_between_1_and_100(settings, first):
    with pytest.raises(BadUserInput):
        await service.list_events(
            actor=AUTHORITY, object_type=None, object_id=None, first=first, after=None
        )


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        "bm90IGpzb24",
        to_base64("x", "y"),
        "W10",
        "x" * 600,
        # a well-formed cursor of another list
        "WyJvdGhlcl9saXN0IixbWyJkIiwiMjAyNi0wNi0wMVQwMDowMDowMCswMDowMCJdLFsicyIsImEiXV1d",
    ],
)
async def test_a_tampered_cursor_is_bad_user_input(settings, execute, cursor):
    await add_events(2)
    result = await execute(LIST, {"first": 1, "after": cursor}, actor=AUTHORITY)
    assert result.data is None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_listing_costs_the_same_statements_for_any_page_size(settings, execute):
    await add_events(40)

    async def list_page(first: int) -> None:
        result = await execute(LIST, {"first": first}, actor=AUTHORITY)
        assert result.errors is None
        assert len(result.data["auditEvents"]["edges"]) == first

    assert await assert_constant_queries(list_page, sizes=(2, 40)) == 1


async def test_node_lookup_shows_an_event_to_the_authority_only(settings, execute):
    await add_events(1)
    listed = await execute(LIST, {"first": 1}, actor=AUTHORITY)
    global_id = listed.data["auditEvents"]["edges"][0]["node"]["id"]
    query = "query ($id: ID!) { node(id: $id) { id ... on AuditEvent { action } } }"
    as_authority = await execute(query, {"id": global_id}, actor=AUTHORITY)
    assert as_authority.data["node"] == {"id": global_id, "action": "platform.suspended"}
    as_citizen = await execute(query, {"id": global_id}, actor=CITIZEN)
    assert as_citizen.data["node"] is None and as_citizen.errors is None


async def test_global_ids_hide_row_numbers(settings, execute):
    await add_events(1)
    listed = await execute(LIST, {"first": 1}, actor=AUTHORITY)
    global_id = listed.data["auditEvents"]["edges"][0]["node"]["id"]
    event = await AuditEvent.get()
    from strawberry.relay import from_base64

    type_name, node_id = from_base64(global_id)
    assert type_name == "AuditEvent"
    assert node_id == str(event.public_id) and node_id != str(event.id)


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "garbage",
        to_base64("AuditEvent", "1"),
        to_base64("Query", "00000000-0000-4000-8000-000000000001"),
        to_base64("NoSuchType", "00000000-0000-4000-8000-000000000001"),
        to_base64("AuditEvent", "00000000-0000-4000-8000-000000000001"),
    ],
)
async def test_bad_or_unknown_node_ids_are_null_not_errors(settings, execute, bad_id):
    result = await execute(
        "query ($id: ID!) { node(id: $id) { id } }", {"id": bad_id}, actor=AUTHORITY
    )
    assert result.errors is None
    assert result.data == {"node": None}
