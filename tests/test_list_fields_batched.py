"""Every list and connection field of the schema resolves a page in a number of SQL statements that
does not grow with the page (issue 13: list fields go through DataLoaders or one query per page).

`LIST_FIELDS` names, for every list-valued or connection-valued field of every object type, the
test below that proves it; a field added later without a row fails
`test_every_list_field_has_a_row`. Each growth test reads a page through the real schema with the
whole selection of its items (every field without required arguments, nested objects included,
so a field resolver that queries per item shows), first with 2 parents and items, then with 6,
and asserts the same statement count (more than none where the database is read) while the lists
read really grew.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)
from strawberry.relay import to_base64

from backend.accounts import organisations
from backend.accounts.models import Membership, MembershipStatus, Organisation, Person
from backend.accounts.subjects import Subject, SubjectKind
from backend.api.schema import build_schema
from backend.audit import service as audit
from backend.behaviour.models import OutcomeCount
from backend.certificates import disclosure
from backend.certificates import service as certificates
from backend.consent import grants, links
from backend.consent.models import Notification
from backend.credits import exports, registry
from backend.credits.models import CreditBlock, IssuanceRequest, IssuanceStatus, Objection
from backend.kit import clock, db
from backend.kit.actor import Actor
from backend.kit.ids import new_public_id
from backend.kit.redis import get_redis
from backend.market import service as market
from backend.market.models import PaymentMismatch
from backend.methodology import seed
from backend.methodology import service as methodology
from backend.rewards import service as rewards
from backend.settings import load_settings
from backend.supervision import service as supervision
from tests.conftest import count_queries
from tests.credits.test_issuance import world  # noqa: F401 - a fixture, used by name
from tests.credits.test_projects import AUTHORITY
from tests.market.test_market import earned
from tests.registry.test_exports import exchange  # noqa: F401 - a fixture, used by name
from tests.registry.test_holdings import citizen
from tests.registry.test_moves import holding
from tests.rewards.conftest import make_offer

SMALL, LARGE = 2, 6

# Every list or connection field -> the test that proves its page costs a constant number of
# statements. Connection `edges` and `nodes` are built in memory from their connection's page;
# lists computed from the parent row (categories, items, outcomes) are read with their parent.
LIST_FIELDS: dict[str, str] = {
    "Query.organisations": "test_organisations",
    "OrganisationConnection.edges": "test_organisations",
    "OrganisationConnection.nodes": "test_organisations",
    "Person.memberships": "test_memberships",
    "Query.auditEvents": "test_audit_events",
    "AuditEventConnection.edges": "test_audit_events",
    "AuditEventConnection.nodes": "test_audit_events",
    "Query.consentNotices": "test_consent_notices",
    "ConsentNotice.categories": "test_consent_notices",
    "Query.myDataGrants": "test_my_data_grants",
    "DataGrantConnection.edges": "test_my_data_grants",
    "DataGrantConnection.nodes": "test_my_data_grants",
    "DataGrant.history": "test_my_data_grants",
    "DataGrant.categories": "test_my_data_grants",
    "DataGrant.meterAccounts": "test_my_data_grants",
    "Query.myNotifications": "test_my_notifications",
    "Query.myLinkRequests": "test_my_link_requests",
    "SubjectAuthorisations.authorised": "test_subjects_authorising",
    "Wallet.history": "test_wallet",
    "LedgerEntryConnection.edges": "test_wallet",
    "LedgerEntryConnection.nodes": "test_wallet",
    "Wallet.monthlyTotals": "test_wallet",
    "Query.methodologies": "test_methodologies_and_scenarios",
    "Query.scenarios": "test_methodologies_and_scenarios",
    "Scenario.allowedPlatforms": "test_methodologies_and_scenarios",
    "Query.recordOutcomeCounts": "test_record_outcome_counts",
    "BatchReport.outcomes": "test_batch_report_outcomes",
    "Query.offers": "test_offers_and_vouchers",
    "OfferConnection.edges": "test_offers_and_vouchers",
    "OfferConnection.nodes": "test_offers_and_vouchers",
    "Query.merchantOffers": "test_offers_and_vouchers",
    "Query.myVouchers": "test_offers_and_vouchers",
    "Query.settlement": "test_offers_and_vouchers",
    "Query.creditProjects": "test_projects_and_issuance",
    "CreditProject.history": "test_projects_and_issuance",
    "Query.issuanceRequests": "test_projects_and_issuance",
    "IssuanceRequest.objections": "test_projects_and_issuance",
    "Query.creditBlocks": "test_registry",
    "CreditHoldings.blocks": "test_registry",
    "Query.creditTransfers": "test_registry",
    "Query.creditRetirements": "test_registry",
    "Query.creditExports": "test_registry",
    "Query.deidentifiedHoldings": "test_registry",
    "Query.creditListings": "test_market",
    "Query.myCreditOrders": "test_market",
    "CreditSales.orders": "test_market",
    "Query.paymentMismatches": "test_market",
    "Query.footprintFactors": "test_certificates",
    "Query.myFootprintClaims": "test_certificates",
    "FootprintClaim.items": "test_certificates",
    "Query.myCertificates": "test_certificates",
    "Certificate.retirements": "test_certificates",
    "Query.leaderboard": "test_leaderboard_and_disclosure",
    "Disclosure.reductions": "test_leaderboard_and_disclosure",
    "Query.myAppeals": "test_appeals",
    "Query.appeals": "test_appeals",
}

_SCHEMA = build_schema(load_settings({"TPH_ENV": "test"}))._schema  # the graphql-core schema


def _unwrap(kind: Any) -> Any:
    return kind.of_type if isinstance(kind, GraphQLNonNull) else kind


def schema_list_fields() -> set[str]:
    """Type.field of every field, on every object type, whose type is a list or a connection."""
    found = set()
    for name, kind in _SCHEMA.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            inner = _unwrap(field.type)
            if isinstance(inner, GraphQLList) or get_named_type(inner).name.endswith("Connection"):
                found.add(f"{name}.{field_name}")
    return found


def test_every_list_field_has_a_row():
    in_schema = schema_list_fields()
    missing = sorted(in_schema - set(LIST_FIELDS))
    assert not missing, f"list fields without a batching test in LIST_FIELDS: {missing}"
    stale = sorted(set(LIST_FIELDS) - in_schema)
    assert not stale, f"LIST_FIELDS rows for fields the schema no longer has: {stale}"
    tests = {name for name in globals() if name.startswith("test_")}
    unknown = sorted({t for t in LIST_FIELDS.values() if t not in tests})
    assert not unknown, f"LIST_FIELDS names tests that do not exist: {unknown}"


def selection(type_name: str, depth: int = 4) -> str:
    """The whole selection of a type: every field without required arguments, nested objects to
    `depth` levels; unions and interfaces by their typename."""
    kind = _SCHEMA.type_map[type_name]
    if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType):
        return "{ __typename }"
    assert isinstance(kind, GraphQLObjectType)
    parts = []
    for field_name, field in kind.fields.items():
        if any(
            isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
            for arg in field.args.values()
        ):
            continue
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType):
            if depth > 0:
                parts.append(f"{field_name} {selection(named.name, depth - 1)}")
        else:
            parts.append(field_name)
    assert parts, type_name
    return "{ " + " ".join(parts) + " }"


def root(field: str, arguments: str = "") -> str:
    """`{ field(arguments) <its whole selection> }` for a root field of Query."""
    type_name = get_named_type(_SCHEMA.query_type.fields[field].type).name  # type: ignore[union-attr]
    return f"{{ {field}{arguments} {selection(type_name)} }}"


def count_at(data: Any, path: str) -> int:
    """How many items the lists at `path` (dotted, through lists) hold in all."""
    head, _, rest = path.partition(".")
    if isinstance(data, list):
        return sum(count_at(item, path) for item in data)
    value = data[head]
    if not rest:
        return len(value)
    return count_at(value, rest)


@dataclass
class Page:
    """A page to read: the document, who reads it, the lists in it that must grow."""

    query: str
    actor: Actor
    paths: list[str]
    variables: Any = None
    reads_database: bool = True


async def constants(
    execute: Any, grow: Callable[[int], Awaitable[None]], *pages: Page
) -> list[int]:
    """Grow the data to SMALL then LARGE; each page costs the same statements both times while
    every list at its paths holds more. Returns the statement counts."""
    counts: list[list[int]] = [[] for _ in pages]
    sizes: list[list[list[int]]] = [[] for _ in pages]
    for size in (SMALL, LARGE):
        await grow(size)
        for n, page in enumerate(pages):
            await get_redis().delete(disclosure.CACHE_KEY)
            variables = page.variables() if callable(page.variables) else page.variables
            with count_queries() as counter:
                result = await execute(page.query, variables, actor=page.actor)
            assert result.errors is None, result.errors
            counts[n].append(counter.count)
            sizes[n].append([count_at(result.data, path) for path in page.paths])
    for page, (small_count, large_count), (small_sizes, large_sizes) in zip(
        pages, counts, sizes, strict=True
    ):
        for path, small, large in zip(page.paths, small_sizes, large_sizes, strict=True):
            assert 0 < small < large, f"{path}: {small} then {large} items, the page did not grow"
        assert small_count == large_count, (
            f"statements grow with the page: {SMALL} -> {small_count}, {LARGE} -> {large_count}"
            f"\n{page.query}"
        )
        if page.reads_database:
            assert small_count > 0, page.query
    return [c[0] for c in counts]


async def constant(
    execute: Any,
    grow: Callable[[int], Awaitable[None]],
    query: str,
    actor: Actor,
    paths: list[str],
    **options: Any,
) -> int:
    """`constants` of one page."""
    return (await constants(execute, grow, Page(query, actor, paths, **options)))[0]


def grower(add: Callable[[int], Awaitable[None]]) -> Callable[[int], Awaitable[None]]:
    """`grow(size)` calling `add(n)` for each n not made yet, so that `size` parents exist."""
    made = [0]

    async def grow(size: int) -> None:
        while made[0] < size:
            await add(made[0])
            made[0] += 1

    return grow


async def person_actor() -> Actor:
    row = await Person.create(
        public_id=new_public_id(),
        phone=f"+86137{uuid.uuid4().int % 10**8:08d}",
        created_at=clock.now(),
    )
    return Actor(kind="citizen", id=str(row.public_id))


# --- accounts and audit ------------------------------------------------------------------------


async def test_organisations(settings, execute):
    async def add(n: int) -> None:
        await organisations.register_organisation(actor=AUTHORITY, kind="MERCHANT", name=f"M{n}")

    await constant(
        execute,
        grower(add),
        root("organisations", "(first: 50)"),
        AUTHORITY,
        ["organisations.edges", "organisations.nodes"],
    )


async def test_memberships(settings, execute):
    alice = await person_actor()
    person = await Person.get(public_id=alice.id)

    async def add(n: int) -> None:
        organisation = await organisations.register_organisation(
            actor=AUTHORITY, kind="SMALL_BUSINESS", name=f"B{n}"
        )
        await Membership.create(
            public_id=new_public_id(),
            organisation=organisation,
            person=person,
            role="owner",
            status=MembershipStatus.ACTIVE,
            created_at=clock.now(),
        )

    await constant(execute, grower(add), root("me"), alice, ["me.memberships"])


async def test_audit_events(settings, execute):
    async def add(n: int) -> None:
        async with db.transaction():
            await audit.record(
                actor=AUTHORITY,
                action="platform.suspended",
                object_type="platform",
                object_id=f"p{n}",
            )

    await constant(
        execute,
        grower(add),
        root("auditEvents", "(first: 50)"),
        AUTHORITY,
        ["auditEvents.edges", "auditEvents.nodes"],
    )


# --- consent -----------------------------------------------------------------------------------


async def publish(n: int, kind: str = "DATA") -> Any:
    return await grants.publish_notice(
        actor=AUTHORITY,
        purpose=f"PURPOSE_{n}",
        kind=kind,
        categories=["PUBLIC_TRANSPORT", "CYCLING", "WALKING"][: 1 + n % 3]
        if kind == "DATA"
        else [],
        text_zh="授权",
        text_en="Consent",
    )


async def test_consent_notices(settings, execute):
    await constant(
        execute,
        grower(publish),
        root("consentNotices"),
        AUTHORITY,
        ["consentNotices", "consentNotices.categories"],
    )


async def platform(n: int) -> str:
    row = await organisations.register_organisation(
        actor=AUTHORITY, kind="DATA_PLATFORM", name=f"P{n}"
    )
    return str(row.public_id)


async def test_my_data_grants(settings, execute):
    alice = await person_actor()
    subject = Subject(SubjectKind.PERSON, alice.id or "")

    async def add(n: int) -> None:
        notice = await publish(n)
        grant = await grants.grant(
            actor=alice,
            subject=subject,
            platform_id=await platform(n),
            notice_id=str(notice.public_id),
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
        await grants.withdraw(actor=alice, grant_id=str(grant.public_id))

    await constant(
        execute,
        grower(add),
        root("myDataGrants", "(first: 50)"),
        alice,
        [
            "myDataGrants.edges",
            "myDataGrants.nodes",
            "myDataGrants.nodes.history",
            "myDataGrants.nodes.categories",
        ],
    )


async def test_my_notifications(settings, execute):
    alice = await person_actor()

    async def add(n: int) -> None:
        await Notification.create(
            public_id=new_public_id(), person_id=alice.id, kind=f"KIND_{n}", created_at=clock.now()
        )

    await constant(execute, grower(add), root("myNotifications"), alice, ["myNotifications"])


async def test_my_link_requests(settings, execute):
    phone = "+8613700000042"
    person = await Person.create(public_id=new_public_id(), phone=phone, created_at=clock.now())
    alice = Actor(kind="citizen", id=str(person.public_id))

    async def add(n: int) -> None:
        await links.request_link(actor=Actor(kind="platform", id=await platform(n)), phone=phone)

    await constant(execute, grower(add), root("myLinkRequests"), alice, ["myLinkRequests"])


async def test_subjects_authorising(settings, execute):
    platform_id = await platform(0)
    caller = Actor(kind="platform", id=platform_id)
    notice = await publish(0)
    refs: list[str] = []

    async def add(n: int) -> None:
        someone = await person_actor()
        subject = Subject(SubjectKind.PERSON, someone.id or "")
        code = await links.issue_link_code(actor=someone, subject=subject, platform_id=platform_id)
        refs.append(await links.link_with_code(actor=caller, code=code.code))
        await grants.grant(
            actor=someone,
            subject=subject,
            platform_id=platform_id,
            notice_id=str(notice.public_id),
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )

    query = (
        "query ($refs: [String!]!) { subjectsAuthorising(subjectRefs: $refs, category: PUBLIC_TRANSPORT)"
        " { ... on SubjectAuthorisations { authorised } ... on Error { code } } }"
    )
    await constant(
        execute,
        grower(add),
        query,
        caller,
        ["subjectsAuthorising.authorised"],
        variables=lambda: {"refs": list(refs)},
    )


# --- ledger, methodology, behaviour ------------------------------------------------------------


async def test_wallet(settings, execute):
    alice = await person_actor()
    start = clock.now()

    async def add(n: int) -> None:
        # one earning a month back from now, so that the monthly totals grow too
        with clock.frozen(start - timedelta(days=31 * n)):
            await earned(alice, 100 + n)

    await constant(
        execute,
        grower(add),
        root("wallet"),
        alice,
        ["wallet.history.edges", "wallet.history.nodes", "wallet.monthlyTotals"],
    )


async def test_methodologies_and_scenarios(settings, execute):
    platforms: list[str] = []

    async def add(n: int) -> None:
        platforms.append(await platform(n))
        await methodology.draft_methodology(
            actor=AUTHORITY,
            code=f"M-{n}",
            name_zh="方法",
            name_en="Method",
            unit="km",
            baseline_factor="10",
            project_factor="1",
        )
        await methodology.define_scenario(
            actor=AUTHORITY,
            code=f"S{n}",
            name_zh="场景",
            name_en="Scenario",
            methodology_code="SZ-METRO",
            category="PUBLIC_TRANSPORT",
            max_quantity_per_record="100",
            daily_cap_grams=1000,
            allowed_platforms=list(platforms),
            active=True,
        )

    await seed.seed_methodologies()
    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("methodologies"), AUTHORITY, ["methodologies"]),
        Page(root("scenarios"), AUTHORITY, ["scenarios", "scenarios.allowedPlatforms"]),
    )


async def test_record_outcome_counts(settings, execute):
    platform_id = await platform(0)
    platform_pk = (await Organisation.get(public_id=platform_id)).id

    async def add(n: int) -> None:
        day = clock.shanghai_date(clock.now() - timedelta(days=n))
        await OutcomeCount.create(platform_id=platform_pk, day=day, code="ACCEPTED", count=n + 1)

    await constant(
        execute,
        grower(add),
        "query ($p: ID!) " + root("recordOutcomeCounts", "(platformId: $p)"),
        AUTHORITY,
        ["recordOutcomeCounts"],
        variables={"p": to_base64("Organisation", platform_id)},
    )


async def test_batch_report_outcomes(settings, execute):
    """The outcomes of a reported batch are the batch's own: reading them is the mutation's work
    (one pass for the batch), so the statements do not grow with the records either."""
    await seed.seed_methodologies()
    platform_id = await platform(0)
    caller = Actor(kind="platform", id=platform_id)
    refs: list[str] = []

    async def add(n: int) -> None:
        someone = await person_actor()
        subject = Subject(SubjectKind.PERSON, someone.id or "")
        code = await links.issue_link_code(actor=someone, subject=subject, platform_id=platform_id)
        refs.append(await links.link_with_code(actor=caller, code=code.code))

    def records() -> dict[str, Any]:
        # records of subjects without a grant: each refused, nothing written per record
        at = clock.now().isoformat()
        return {
            "input": {
                "records": [
                    {
                        "eventId": f"e-{uuid.uuid4().hex[:12]}",
                        "subjectId": ref,
                        "scenario": "METRO",
                        "quantity": "10",
                        "occurredAt": at,
                    }
                    for ref in refs
                ]
            }
        }

    mutation = (
        "mutation ($input: ReportBehaviourRecordsInput!) { reportBehaviourRecords(input: $input)"
        " { ... on BatchReport " + selection("BatchReport") + " ... on Error { code } } }"
    )
    await constant(
        execute,
        grower(add),
        mutation,
        caller,
        ["reportBehaviourRecords.outcomes"],
        variables=records,
    )


# --- rewards -----------------------------------------------------------------------------------


async def test_offers_and_vouchers(settings, execute):
    from tests.rewards.conftest import fund, member

    merchant = await organisations.register_organisation(
        actor=AUTHORITY, kind="MERCHANT", name="绿色小店"
    )
    manager = member(str(merchant.public_id), "manager")
    cashier = member(str(merchant.public_id), "cashier")
    alice = await person_actor()
    await fund(alice, 100_000)
    subject = Subject(SubjectKind.PERSON, alice.id or "")

    async def add(n: int) -> None:
        offer = await make_offer(manager, title_en=f"Offer {n}", price_points=100 + n)
        voucher = await rewards.redeem(
            actor=alice,
            offer_id=str(offer.public_id),
            idempotency_key=f"tap-{n:08d}",
            subject=subject,
        )
        await rewards.confirm(actor=cashier, token=None, code=voucher.code)

    grow = grower(add)
    span = {
        "start": (clock.now() - timedelta(hours=1)).isoformat(),
        "end": (clock.now() + timedelta(hours=1)).isoformat(),
    }
    await constants(
        execute,
        grow,
        Page(root("offers", "(first: 50)"), alice, ["offers.edges", "offers.nodes"]),
        Page(root("merchantOffers"), manager, ["merchantOffers"]),
        Page(root("myVouchers"), alice, ["myVouchers"]),
        Page(
            "query ($start: DateTime!, $end: DateTime!) "
            + root("settlement", "(start: $start, end: $end)"),
            manager,
            ["settlement"],
            variables=span,
        ),
    )


# --- credits, registry, market, certificates ----------------------------------------------------


async def plenty(world) -> CreditBlock:  # noqa: F811
    """The owner's block, issued from the world's records at ten times their grams (120 kg)."""
    from backend.behaviour.models import BehaviourRecord

    await BehaviourRecord.all().update(grams=6000)
    block, _ = await holding(world)
    return block


async def test_projects_and_issuance(world, execute):  # noqa: F811
    from tests.credits.test_issuance import registered_project

    project = world["project"]

    async def add(n: int) -> None:
        await registered_project(
            world["owner"], world["verifier"], world["verifier_id"], title=f"Project {n}"
        )
        request = await IssuanceRequest.create(
            public_id=new_public_id(),
            project=project,
            owner_id=world["owner"].organisation_id,
            period_start=f"2025-{n + 1:02d}-01",
            period_end=f"2025-{n + 1:02d}-28",
            quantity_kg=10 + n,
            status=IssuanceStatus.PUBLIC_NOTICE,
            created_at=clock.now(),
        )
        for m in range(n + 1):
            await Objection.create(
                public_id=new_public_id(),
                request=request,
                text=f"objection {m}",
                filed_at=clock.now(),
            )

    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("creditProjects"), AUTHORITY, ["creditProjects", "creditProjects.history"]),
        Page(
            root("issuanceRequests"),
            AUTHORITY,
            ["issuanceRequests", "issuanceRequests.objections"],
        ),
    )


async def test_registry(world, execute, exchange):  # noqa: F811
    block = await plenty(world)
    owner = world["owner"]

    async def add(n: int) -> None:
        alice = await citizen()
        await registry.transfer(
            actor=owner, block_id=str(block.public_id), quantity=1 + n, to_holder=alice.id
        )
        await registry.retire(
            actor=owner,
            block_id=str(block.public_id),
            quantity=1,
            beneficiary=f"B{n}",
            purpose="CARBON_NEUTRALITY",
        )
        await exports.export(
            actor=owner, block_id=str(block.public_id), quantity=1, account=f"ceea-{n:04d}"
        )
        await Person.filter(public_id=alice.id).update(deleted_at=clock.now())

    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("creditBlocks"), AUTHORITY, ["creditBlocks"]),
        Page(root("myCreditHoldings"), owner, ["myCreditHoldings.blocks"]),
        Page(root("creditTransfers"), AUTHORITY, ["creditTransfers"]),
        Page(root("creditRetirements"), AUTHORITY, ["creditRetirements"]),
        Page(root("creditExports"), AUTHORITY, ["creditExports"]),
        Page(root("deidentifiedHoldings"), AUTHORITY, ["deidentifiedHoldings"]),
    )


async def test_market(world, execute):  # noqa: F811
    block = await plenty(world)
    owner = world["owner"]
    buyer = await citizen()

    async def add(n: int) -> None:
        listing = await market.list_credits(
            actor=owner,
            block_id=str(block.public_id),
            quantity=3,
            currency="FEN",
            price_fen_per_kg=25 + n,
        )
        await market.order_credits(
            actor=buyer,
            listing_id=str(listing.public_id),
            quantity=1,
            idempotency_key=f"order-{n:06d}",
        )
        await PaymentMismatch.create(
            day="2026-01-01", provider="sandbox", problem=f"problem {n}", found_at=clock.now()
        )

    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("creditListings"), buyer, ["creditListings"]),
        Page(root("myCreditOrders"), buyer, ["myCreditOrders"]),
        Page(root("myCreditSales"), owner, ["myCreditSales.orders"]),
        Page(root("paymentMismatches"), AUTHORITY, ["paymentMismatches"]),
    )


async def test_certificates(world, execute):  # noqa: F811
    block = await plenty(world)
    alice = await citizen()
    await registry.transfer(
        actor=world["owner"], block_id=str(block.public_id), quantity=60, to_holder=alice.id
    )

    async def add(n: int) -> None:
        await certificates.set_factor(
            actor=AUTHORITY,
            code=f"FACTOR_{n}",
            name_zh="因子",
            name_en="Factor",
            unit="km",
            grams_per_unit="100",
        )
        claim = await certificates.create_claim(
            actor=alice,
            kind="TRIP",
            title=f"trip {n}",
            items=[("CAR_KM", "5")] * (n + 1),
        )
        await certificates.neutralise(
            actor=alice,
            claim_id=str(claim.public_id),
            display_name="小绿",
            idempotency_key=f"cert-{n:06d}",
        )

    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("footprintFactors"), alice, ["footprintFactors"]),
        Page(root("myFootprintClaims"), alice, ["myFootprintClaims", "myFootprintClaims.items"]),
        Page(root("myCertificates"), alice, ["myCertificates", "myCertificates.retirements"]),
    )


async def test_leaderboard_and_disclosure(settings, execute):
    from backend.behaviour.models import DailyTotal

    async def add(n: int) -> None:
        someone = await person_actor()
        await DailyTotal.create(
            subject_id=someone.id, scenario_code=f"S{n}", day="2026-01-15", grams=100 * (n + 1)
        )
        await disclosure.opt_in(actor=someone, alias=f"green {n}", join=True)

    grow = grower(add)
    await constants(
        execute,
        grow,
        # the board is read from Redis once it is built
        Page(root("leaderboard"), AUTHORITY, ["leaderboard"], reads_database=False),
        Page(root("disclosure"), AUTHORITY, ["disclosure.reductions"]),
    )


# --- supervision -------------------------------------------------------------------------------


async def test_appeals(settings, execute):
    alice = await person_actor()

    async def add(n: int) -> None:
        await supervision.file_appeal(
            actor=alice, kind="REJECTION", reference=f"metro-app:evt-{n}", reason="I did ride."
        )

    grow = grower(add)
    await constants(
        execute,
        grow,
        Page(root("myAppeals"), alice, ["myAppeals"]),
        Page(root("appeals"), AUTHORITY, ["appeals"]),
    )
