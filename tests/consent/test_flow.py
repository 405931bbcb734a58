"""The citizen's consent flow end to end over HTTP, as the apps send it in production: trusted
documents for the citizen, the platform with its OAuth token."""

import json
from dataclasses import replace

import httpx
import pytest

from backend.accounts import subjects
from backend.api.contract import MANIFEST_PATH
from backend.app import create_app
from tests.conftest import bearer, log_in, make_admin

CITIZEN = "+8613300000001"


@pytest.fixture
async def prod(settings):
    hardened = replace(settings, trusted_documents_only=True, introspection=False, graphiql=False)
    app = create_app(hardened, manage_resources=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        yield http


IDS = {op["name"]: op["id"] for op in json.loads(MANIFEST_PATH.read_text())["operations"]}


async def app_call(http, name, variables=None, token=None):
    body = {"operationName": name, "variables": variables, "documentId": f"sha256:{IDS[name]}"}
    response = await http.post("/graphql", json=body, headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert "errors" not in payload, payload
    return payload["data"]


async def platform_call(http, token, query, variables=None):
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_consent_given_seen_withdrawn_and_enforced(prod, client, sms):
    # The authority sets up a platform and a notice (its admin client signs in as a developer would).
    admin = await make_admin(client, sms, "+8613300000009")
    admin_token = admin["accessToken"]
    platform = await platform_call(
        prod,
        admin_token,
        'mutation { registerOrganisation(input: {kind: DATA_PLATFORM, name: "深圳通"}) { ... on Organisation { id } } }',
    )
    platform_id = platform["registerOrganisation"]["id"]
    credential = await platform_call(
        prod,
        admin_token,
        "mutation ($i: IssuePlatformCredentialInput!) { issuePlatformCredential(input: $i) { ... on PlatformCredentialIssued { clientId clientSecret } } }",
        {"i": {"platformId": platform_id}},
    )
    issued = credential["issuePlatformCredential"]
    oauth = await prod.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": issued["clientId"],
            "client_secret": issued["clientSecret"],
        },
    )
    platform_token = oauth.json()["access_token"]
    await platform_call(
        prod,
        admin_token,
        'mutation { publishConsentNotice(input: {purpose: "CARBON_POINTS", kind: DATA, categories: [PUBLIC_TRANSPORT, CYCLING], textZh: "授权使用出行数据", textEn: "Use trip data"}) { __typename } }',
    )

    # The citizen reads the notice and consents, through the app's trusted documents.
    citizen = (await log_in_app(prod, sms))["accessToken"]
    notices = (await app_call(prod, "ConsentNotices"))["consentNotices"]
    notice = next(n for n in notices if n["purpose"] == "CARBON_POINTS")
    granted = (
        await app_call(
            prod,
            "GrantDataAuthorisation",
            {
                "input": {
                    "platformId": platform_id,
                    "noticeId": notice["id"],
                    "categories": ["CYCLING"],
                }
            },
            citizen,
        )
    )["grantDataAuthorisation"]
    assert granted["status"] == "AUTHORISED" and granted["categories"] == ["CYCLING"]

    # Link the account at the platform with a one-time code.
    code = (await app_call(prod, "IssueLinkCode", {"input": {"platformId": platform_id}}, citizen))[
        "issueLinkCode"
    ]["code"]
    linked = await platform_call(
        prod,
        platform_token,
        "mutation ($i: LinkSubjectInput!) { linkSubject(input: $i) { ... on SubjectLinked { subjectRef } ... on Error { code } } }",
        {"i": {"code": code}},
    )
    ref = linked["linkSubject"]["subjectRef"]
    ask = "query ($refs: [String!]!) { subjectsAuthorising(subjectRefs: $refs, category: CYCLING) { ... on SubjectAuthorisations { authorised } ... on Error { code } } }"
    assert (await platform_call(prod, platform_token, ask, {"refs": [ref]}))["subjectsAuthorising"][
        "authorised"
    ] == [ref]

    # The citizen sees the grant with its history and receipt, then withdraws it in one step.
    grants = (await app_call(prod, "MyDataGrants", {"first": 10}, citizen))["myDataGrants"]["edges"]
    node = grants[0]["node"]
    assert [e["event"] for e in node["history"]] == ["AUTHORISED"]
    assert (
        node["receipt"]["consentReceiptID"]
        == json.loads(json.dumps(node["receipt"]))["consentReceiptID"]
    )
    assert node["receipt"]["services"][0]["purposes"][0]["piiCategory"] == ["CYCLING"]
    withdrawn = (
        await app_call(
            prod, "WithdrawDataAuthorisation", {"input": {"grantId": node["id"]}}, citizen
        )
    )["withdrawDataAuthorisation"]
    assert withdrawn["status"] == "WITHDRAWN"
    again = (
        await app_call(
            prod, "WithdrawDataAuthorisation", {"input": {"grantId": node["id"]}}, citizen
        )
    )["withdrawDataAuthorisation"]
    assert again["code"] == "GRANT_ENDED" and again["status"] == "WITHDRAWN"

    # Effective at once: the platform no longer sees an authorisation.
    assert (await platform_call(prod, platform_token, ask, {"refs": [ref]}))["subjectsAuthorising"][
        "authorised"
    ] == []
    history = (await app_call(prod, "MyDataGrants", {"first": 10}, citizen))["myDataGrants"][
        "edges"
    ][0]["node"]["history"]
    assert [e["event"] for e in history] == ["AUTHORISED", "WITHDRAWN"]


async def log_in_app(http, sms):
    sent = await app_call(http, "RequestLoginCode", {"input": {"phone": CITIZEN}})
    assert "expiresAt" in sent["requestLoginCode"]
    logged = await app_call(
        http, "LogIn", {"input": {"phone": CITIZEN, "code": sms.last_code(CITIZEN)}}
    )
    return logged["logIn"]


async def test_listing_grants_costs_the_same_queries_for_any_page(client, sms, settings):
    from backend.accounts import organisations
    from backend.consent import grants
    from backend.kit.actor import Actor
    from tests.conftest import assert_constant_queries, gql

    tokens = await log_in(client, sms, CITIZEN)
    me = await gql(client, "{ me { id } }", headers=bearer(tokens["accessToken"]))
    citizen = Actor(kind="citizen", id=me["data"]["me"]["id"])
    authority = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")
    platform = await organisations.register_organisation(
        actor=authority, kind="DATA_PLATFORM", name="P"
    )
    notice = await grants.publish_notice(
        actor=authority,
        purpose="CARBON_POINTS",
        kind="DATA",
        categories=["CYCLING"],
        text_zh="a",
        text_en="b",
    )
    for _ in range(12):
        await grants.grant(
            actor=citizen,
            subject=await subjects.subject_for(citizen),
            platform_id=str(platform.public_id),
            notice_id=str(notice.public_id),
            categories=None,
            expires_at=None,
            meter_accounts=None,
        )
    query = "query ($n: Int) { myDataGrants(first: $n) { edges { node { id platformId history { event } } } } }"

    async def page(size):
        body = await gql(client, query, {"n": size}, headers=bearer(tokens["accessToken"]))
        assert len(body["data"]["myDataGrants"]["edges"]) == size, body

    await assert_constant_queries(page, sizes=(2, 12))
