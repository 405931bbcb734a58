"""A business's own project from creation to issued credits, over HTTP as each party sends it."""

from datetime import timedelta

from backend.credits import issuance
from backend.kit import clock
from backend.methodology import seed
from tests.conftest import bearer, gql
from tests.credits.test_projects import AUTHORITY, SHA
from tests.test_authorisation_matrix import build_world

PROJECT = """
mutation ($i: CreateProjectInput!) { createProject(input: $i) { ... on CreditProject { id status } ... on Error { code } } }
"""


async def step(client, token, mutation, field, variables):
    body = await gql(client, mutation, {"i": variables}, headers=bearer(token) if token else {})
    assert "errors" not in body, body
    return body["data"][field]


async def test_a_project_from_creation_to_issued_credits(client, sms):
    await seed.seed_methodologies()
    world = await build_world(client, sms)
    owner, verifier, authority = (
        world.tokens["business_member"],
        world.tokens["verifier"],
        world.tokens["authority"],
    )
    project = await step(
        client,
        owner,
        PROJECT,
        "createProject",
        {
            "titleZh": "屋顶光伏",
            "titleEn": "Rooftop solar",
            "description": "120 kW on the shop roof",
            "methodologyCode": "GD-POWER",
        },
    )
    pid = project["id"]
    await step(
        client,
        owner,
        "mutation ($i: AddProjectDocumentInput!) { addProjectDocument(input: $i) { ... on ProjectDocument { sha256 } } }",
        "addProjectDocument",
        {
            "projectId": pid,
            "title": "Design",
            "url": "https://docs.example.org/pdd.pdf",
            "sha256": SHA,
        },
    )
    submitted = await step(
        client,
        owner,
        "mutation ($i: SubmitProjectInput!) { submitProject(input: $i) { ... on CreditProject { status } ... on Error { code } } }",
        "submitProject",
        {"projectId": pid, "verifierId": world.ids["verifier_org"]},
    )
    assert submitted["status"] == "SUBMITTED"
    decision = "mutation ($i: ProjectDecisionInput!) { %s(input: $i) { ... on CreditProject { status } ... on Error { code } } }"
    assert (
        await step(
            client,
            verifier,
            decision % "validateProject",
            "validateProject",
            {"projectId": pid, "approve": True, "comment": "validated"},
        )
    )["status"] == "VALIDATED"
    assert (
        await step(
            client,
            authority,
            decision % "registerProject",
            "registerProject",
            {"projectId": pid, "approve": True, "comment": "registered"},
        )
    )["status"] == "REGISTERED"

    today = clock.now().astimezone(clock.SHANGHAI).date()
    filed = await step(
        client,
        owner,
        "mutation ($i: FileIssuanceRequestInput!) { fileIssuanceRequest(input: $i) { ... on IssuanceRequest { id quantityKg status } ... on Error { code } } }",
        "fileIssuanceRequest",
        {
            "projectId": pid,
            "periodStart": (today - timedelta(days=31)).isoformat(),
            "periodEnd": (today - timedelta(days=1)).isoformat(),
            "declaredKg": 1250,
            "evidence": [{"url": "https://docs.example.org/meter.csv", "sha256": SHA}],
        },
    )
    rid = filed["id"]
    assert (filed["quantityKg"], filed["status"]) == (1250, "SUBMITTED")
    move = "mutation ($i: IssuanceStepInput!) { %s(input: $i) { ... on IssuanceRequest { status noticeEnd } ... on Error { code } } }"
    assert (
        await step(
            client,
            verifier,
            move % "verifyIssuanceRequest",
            "verifyIssuanceRequest",
            {"requestId": rid, "comment": "meter data checked"},
        )
    )["status"] == "VERIFIED"
    assert (
        await step(
            client,
            authority,
            move % "reviewIssuanceRequest",
            "reviewIssuanceRequest",
            {"requestId": rid, "comment": "reviewed"},
        )
    )["status"] == "REVIEWED"
    notice = await step(
        client, authority, move % "startPublicNotice", "startPublicNotice", {"requestId": rid}
    )
    assert notice["status"] == "PUBLIC_NOTICE"
    early = await step(client, authority, move % "issueCredits", "issueCredits", {"requestId": rid})
    assert early["code"] == "NOTICE_NOT_OVER"
    # Anyone may object, without signing in; the public list shows it.
    objection = await step(
        client,
        None,
        "mutation ($i: FileObjectionInput!) { fileObjection(input: $i) { ... on Objection { id } } }",
        "fileObjection",
        {"requestId": rid, "text": "Is the roof really 120 kW?"},
    )
    public = await gql(
        client, "{ issuanceRequests(status: PUBLIC_NOTICE) { id objections { text resolution } } }"
    )
    assert public["data"]["issuanceRequests"][0]["objections"] == [
        {"text": "Is the roof really 120 kW?", "resolution": None}
    ]
    await step(
        client,
        authority,
        "mutation ($i: ResolveObjectionInput!) { resolveObjection(input: $i) { ... on Objection { resolvedAt } } }",
        "resolveObjection",
        {"objectionId": objection["id"], "resolution": "Inverter records confirm 120 kW."},
    )
    # After the notice (the session tokens would have expired by then: the authority's client
    # signs in again; here the service is called as the authority directly).
    with clock.frozen(clock.now() + timedelta(days=15)):
        issued = await issuance.issue(actor=AUTHORITY, request_id=rid)
    assert (issued.status.value, issued.serial_start, issued.serial_end) == ("ISSUED", 1, 1250)
    listed = await gql(client, "{ creditProjects(status: REGISTERED) { id history { event } } }")
    assert [e["event"] for e in listed["data"]["creditProjects"][0]["history"]] == [
        "CREATED",
        "DOCUMENT_ADDED",
        "SUBMITTED",
        "VALIDATED",
        "REGISTERED",
    ]
