"""The authorisation matrix: every GraphQL operation x every role, through HTTP (RELIABILITY.md 13).

Outcomes: "allowed" (no UNAUTHENTICATED or FORBIDDEN; typed domain errors are fine), "null" (the
field is null: nothing visible), "unauthenticated", "forbidden", or a domain error code that the
payload must carry. Every operation of the schema must have a row; later issues add theirs.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from strawberry.relay import to_base64

from backend.api.schema import build_schema
from backend.kit import clock
from backend.settings import load_settings
from tests.conftest import SELECT, bearer, gql, log_in, make_admin

ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "business_member",
    "merchant_cashier",
    "other_merchant_member",
    "platform",
    "suspended_platform",
    "verifier",
    "authority",
)
PERSONS = {
    "citizen",
    "other_citizen",
    "business_member",
    "merchant_cashier",
    "other_merchant_member",
    "verifier",
    "authority",
}

REGISTER = "mutation ($i: RegisterOrganisationInput!) { registerOrganisation(input: $i) { __typename ... on Organisation { id } } }"
INVITE = "mutation ($i: InviteMemberInput!) { inviteMember(input: $i) { __typename ... on Membership { id } ... on Error { code } } }"
ACCEPT = "mutation ($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { __typename ... on Error { code } } }"
ISSUE = "mutation ($i: IssuePlatformCredentialInput!) { issuePlatformCredential(input: $i) { __typename ... on PlatformCredentialIssued { clientId clientSecret } } }"


class World:
    """Every role of the matrix, signed in."""

    tokens: dict[str, str | None]
    ids: dict[str, str]


async def build_world(client, sms) -> World:
    world = World()
    world.ids = {}
    admin = await make_admin(client, sms, "+8613600000001")
    admin_headers = bearer(admin["accessToken"])

    async def register(kind: str, name: str) -> str:
        body = await gql(
            client, REGISTER, {"i": {"kind": kind, "name": name}}, headers=admin_headers
        )
        return body["data"]["registerOrganisation"]["id"]

    async def member(org: str, phone: str, role: str, totp: bool = False) -> str:
        invited = await gql(
            client,
            INVITE,
            {"i": {"organisationId": org, "phone": phone, "role": role}},
            headers=admin_headers,
        )
        person = await log_in(client, sms, phone)
        await gql(
            client,
            ACCEPT,
            {"i": {"membershipId": invited["data"]["inviteMember"]["id"]}},
            headers=bearer(person["accessToken"]),
        )
        code = None
        if totp:
            enrolment = await gql(
                client,
                "mutation { enrolTotp { ... on TotpEnrolment { secret } } }",
                headers=bearer(person["accessToken"]),
            )
            secret = enrolment["data"]["enrolTotp"]["secret"]
            # confirmed with the previous step's code (inside the drift window), so that the
            # current step's code is still unused for selecting the organisation
            await gql(
                client,
                "mutation ($i: ConfirmTotpInput!) { confirmTotp(input: $i) { __typename } }",
                {"i": {"code": pyotp.TOTP(secret).at(clock.now() - timedelta(seconds=30))}},
                headers=bearer(person["accessToken"]),
            )
            code = pyotp.TOTP(secret).at(clock.now())
        selected = await gql(
            client,
            SELECT,
            {"input": {"organisationId": org, "totpCode": code}},
            headers=bearer(person["accessToken"]),
        )
        assert selected["data"]["selectOrganisation"]["__typename"] == "SessionTokens", selected
        return selected["data"]["selectOrganisation"]["accessToken"]

    async def platform_token(org: str) -> str:
        issued = await gql(client, ISSUE, {"i": {"platformId": org}}, headers=admin_headers)
        credential = issued["data"]["issuePlatformCredential"]
        response = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": credential["clientId"],
                "client_secret": credential["clientSecret"],
            },
        )
        return response.json()["access_token"]

    world.ids["merchant"] = await register("MERCHANT", "Merchant A")
    world.ids["other_merchant"] = await register("MERCHANT", "Merchant B")
    world.ids["business"] = await register("SMALL_BUSINESS", "Business")
    world.ids["verifier_org"] = await register("VERIFIER", "Verifier")
    world.ids["platform"] = await register("DATA_PLATFORM", "Platform")
    world.ids["spare_platform"] = await register("DATA_PLATFORM", "Spare platform")
    world.ids["suspended_platform"] = await register("DATA_PLATFORM", "Suspended platform")
    world.ids["target"] = await register("MERCHANT", "Suspension target")
    world.tokens = {
        "anonymous": None,
        "authority": admin["accessToken"],
        "citizen": (await log_in(client, sms, "+8613600000002"))["accessToken"],
        "other_citizen": (await log_in(client, sms, "+8613600000003"))["accessToken"],
        "business_member": await member(world.ids["business"], "+8613600000004", "owner"),
        "merchant_cashier": await member(world.ids["merchant"], "+8613600000005", "cashier"),
        "other_merchant_member": await member(
            world.ids["other_merchant"], "+8613600000006", "owner"
        ),
        "verifier": await member(
            world.ids["verifier_org"], "+8613600000007", "reviewer", totp=True
        ),
        "platform": await platform_token(world.ids["platform"]),
        "suspended_platform": await platform_token(world.ids["suspended_platform"]),
    }
    notice = await gql(
        client,
        "mutation ($i: PublishConsentNoticeInput!) { publishConsentNotice(input: $i) { ... on ConsentNotice { id } } }",
        {
            "i": {
                "purpose": "CARBON_POINTS",
                "kind": "DATA",
                "categories": ["CYCLING"],
                "textZh": "授权",
                "textEn": "Consent",
            }
        },
        headers=admin_headers,
    )
    world.ids["notice"] = notice["data"]["publishConsentNotice"]["id"]
    suspended = await gql(
        client,
        "mutation ($i: SuspendOrganisationInput!) { suspendOrganisation(input: $i) { __typename } }",
        {"i": {"organisationId": world.ids["suspended_platform"], "reason": "matrix"}},
        headers=admin_headers,
    )
    assert suspended["data"]["suspendOrganisation"]["__typename"] == "Organisation"
    return world


def row(default: str, /, **overrides: str) -> dict[str, str]:
    outcomes = {role: default for role in ROLES}
    outcomes["suspended_platform"] = "unauthenticated"
    outcomes.update(overrides)
    return outcomes


def persons_only(**overrides: str) -> dict[str, str]:
    return row("allowed", anonymous="unauthenticated", platform="forbidden", **overrides)


def authority_only() -> dict[str, str]:
    return row("forbidden", anonymous="unauthenticated", authority="allowed")


def holders(default: str) -> dict[str, str]:
    """Holding accounts: persons for themselves, owners and managers for their organisation."""
    return row(
        default,
        anonymous="unauthenticated",
        platform="forbidden",
        merchant_cashier="forbidden",
        verifier="forbidden",
    )


_phones = iter(f"+86135{n:08d}" for n in range(10**6))

# operation: (document, variables(world), field, expected outcomes by role)
MATRIX: dict[str, tuple[str, Any, dict[str, str]]] = {
    "node": (
        "query ($id: ID!) { node(id: $id) { id } }",
        lambda w: {"id": w.ids["merchant"]},
        row("null", authority="allowed", merchant_cashier="allowed"),
    ),
    "serverInfo": ("{ serverInfo { version } }", lambda w: None, row("allowed")),
    "me": ("{ me { id } }", lambda w: None, row("allowed", anonymous="null", platform="null")),
    "organisations": (
        "{ organisations(first: 5) { edges { cursor } } }",
        lambda w: None,
        authority_only(),
    ),
    "auditEvents": (
        "{ auditEvents(first: 5) { edges { cursor } } }",
        lambda w: None,
        authority_only(),
    ),
    "requestLoginCode": (
        "mutation ($i: RequestLoginCodeInput!) { requestLoginCode(input: $i) { __typename } }",
        lambda w: {"i": {"phone": next(_phones)}},
        row("allowed"),
    ),
    "logIn": (
        "mutation ($i: LogInInput!) { logIn(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"phone": "+8613500099999", "code": "123456"}},
        row("LOGIN_CODE_EXPIRED"),
    ),
    "refreshSession": (
        "mutation ($i: RefreshSessionInput!) { refreshSession(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"refreshToken": "r" * 43}},
        row("REFRESH_TOKEN_INVALID"),
    ),
    "selectOrganisation": (
        "mutation ($i: SelectOrganisationInput!) { selectOrganisation(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"organisationId": w.ids["merchant"]}},
        persons_only(
            citizen="NOT_A_MEMBER",
            other_citizen="NOT_A_MEMBER",
            business_member="NOT_A_MEMBER",
            other_merchant_member="NOT_A_MEMBER",
            verifier="NOT_A_MEMBER",
            authority="NOT_A_MEMBER",
        ),
    ),
    "enrolTotp": (
        "mutation { enrolTotp { __typename ... on Error { code } } }",
        lambda w: None,
        # Staff who already have an authenticator cannot replace it this way.
        persons_only(verifier="INVALID_INPUT", authority="INVALID_INPUT"),
    ),
    "confirmTotp": (
        "mutation ($i: ConfirmTotpInput!) { confirmTotp(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"code": "000000"}},
        persons_only(**{r: "SECOND_FACTOR_INVALID" for r in PERSONS}),
    ),
    "createHousehold": (
        "mutation ($i: CreateHouseholdInput!) { createHousehold(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"name": "家"}},
        persons_only(),
    ),
    "inviteMember": (
        INVITE,
        lambda w: {
            "i": {"organisationId": w.ids["merchant"], "phone": next(_phones), "role": "cashier"}
        },
        row("forbidden", anonymous="unauthenticated", authority="allowed"),
    ),
    "acceptInvitation": (
        ACCEPT,
        lambda w: {"i": {"membershipId": str(uuid.uuid4())}},
        persons_only(**{r: "INVITATION_INVALID" for r in PERSONS}),
    ),
    "registerOrganisation": (
        REGISTER,
        lambda w: {"i": {"kind": "MERCHANT", "name": "New"}},
        authority_only(),
    ),
    "issuePlatformCredential": (
        "mutation ($i: IssuePlatformCredentialInput!) { issuePlatformCredential(input: $i) { __typename } }",
        lambda w: {"i": {"platformId": w.ids["spare_platform"]}},
        authority_only(),
    ),
    "suspendOrganisation": (
        "mutation ($i: SuspendOrganisationInput!) { suspendOrganisation(input: $i) { __typename } }",
        lambda w: {"i": {"organisationId": w.ids["target"], "reason": "matrix"}},
        authority_only(),
    ),
    "reinstateOrganisation": (
        "mutation ($i: ReinstateOrganisationInput!) { reinstateOrganisation(input: $i) { __typename } }",
        lambda w: {"i": {"organisationId": w.ids["target"]}},
        authority_only(),
    ),
    "consentNotices": ("{ consentNotices { id } }", lambda w: None, row("allowed")),
    "myDataGrants": (
        "{ myDataGrants(first: 5) { edges { cursor } } }",
        lambda w: None,
        persons_only(),
    ),
    "myNotifications": ("{ myNotifications { id } }", lambda w: None, persons_only()),
    "myLinkRequests": ("{ myLinkRequests { id } }", lambda w: None, persons_only()),
    "linkRequest": (
        "query ($id: ID!) { linkRequest(id: $id) { __typename ... on Error { code } } }",
        lambda w: {"id": str(uuid.uuid4())},
        row("forbidden", anonymous="unauthenticated", platform="NOT_FOUND"),
    ),
    "subjectsAuthorising": (
        "query ($refs: [String!]!) { subjectsAuthorising(subjectRefs: $refs, category: CYCLING) { __typename ... on Error { code } } }",
        lambda w: {"refs": [str(uuid.uuid4())]},
        row("forbidden", anonymous="unauthenticated", platform="UNKNOWN_SUBJECTS"),
    ),
    "publishConsentNotice": (
        "mutation ($i: PublishConsentNoticeInput!) { publishConsentNotice(input: $i) { __typename } }",
        lambda w: {
            "i": {
                "purpose": "MATRIX",
                "kind": "DATA",
                "categories": ["WALKING"],
                "textZh": "文",
                "textEn": "t",
            }
        },
        authority_only(),
    ),
    "grantDataAuthorisation": (
        "mutation ($i: GrantDataAuthorisationInput!) { grantDataAuthorisation(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"platformId": w.ids["platform"], "noticeId": w.ids["notice"]}},
        persons_only(),
    ),
    "withdrawDataAuthorisation": (
        "mutation ($i: WithdrawDataAuthorisationInput!) { withdrawDataAuthorisation(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"grantId": to_base64("DataGrant", str(uuid.uuid4()))}},
        persons_only(**{r: "NOT_FOUND" for r in PERSONS}),
    ),
    "revokeDataAuthorisation": (
        "mutation ($i: RevokeDataAuthorisationInput!) { revokeDataAuthorisation(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"grantId": to_base64("DataGrant", str(uuid.uuid4())), "reason": "matrix"}},
        row("forbidden", anonymous="unauthenticated", platform="NOT_FOUND", authority="NOT_FOUND"),
    ),
    "issueLinkCode": (
        "mutation ($i: IssueLinkCodeInput!) { issueLinkCode(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"platformId": w.ids["platform"]}},
        persons_only(),
    ),
    "linkSubject": (
        "mutation ($i: LinkSubjectInput!) { linkSubject(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"code": "ABCDEFGH"}},
        row("forbidden", anonymous="unauthenticated", platform="LINK_CODE_INVALID"),
    ),
    "requestSubjectLink": (
        "mutation ($i: RequestSubjectLinkInput!) { requestSubjectLink(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"phone": "13700000009"}},
        row("forbidden", anonymous="unauthenticated", platform="allowed"),
    ),
    "decideLinkRequest": (
        "mutation ($i: DecideLinkRequestInput!) { decideLinkRequest(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4()), "approve": True}},
        persons_only(**{r: "NOT_FOUND" for r in PERSONS}),
    ),
    "wallet": ("{ wallet { balance } }", lambda w: None, persons_only()),
    "clawBackPoints": (
        "mutation ($i: ClawBackPointsInput!) { clawBackPoints(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"earningId": str(uuid.uuid4()), "reason": "matrix"}},
        row("forbidden", anonymous="unauthenticated", authority="EARNING_NOT_FOUND"),
    ),
    # Subscriptions are refused over HTTP for everyone; their WebSocket side is tested in
    # tests/ledger/test_wallet_api.py and test_subscriptions_need_a_signed_in_person below.
    "walletChanged": (
        "subscription { walletChanged { balance } }",
        lambda w: None,
        row("OPERATION_NOT_ALLOWED"),
    ),
    "methodologies": ("{ methodologies { id } }", lambda w: None, row("allowed")),
    "scenarios": ("{ scenarios { id } }", lambda w: None, row("allowed")),
    "earningRatio": ("{ earningRatio { pointsPerGram } }", lambda w: None, row("allowed")),
    "draftMethodology": (
        "mutation ($i: DraftMethodologyInput!) { draftMethodology(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "code": "MATRIX",
                "nameZh": "x",
                "nameEn": "x",
                "unit": "km",
                "baselineFactor": "1",
                "projectFactor": "0",
            }
        },
        authority_only(),
    ),
    "submitMethodologyForReview": (
        "mutation ($i: MethodologyStepInput!) { submitMethodologyForReview(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"methodologyId": str(uuid.uuid4())}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "reviewMethodology": (
        "mutation ($i: ReviewMethodologyInput!) { reviewMethodology(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"methodologyId": str(uuid.uuid4()), "approve": True, "comment": "ok"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "retireMethodology": (
        "mutation ($i: MethodologyStepInput!) { retireMethodology(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"methodologyId": str(uuid.uuid4())}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "defineScenario": (
        "mutation ($i: DefineScenarioInput!) { defineScenario(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "code": "MATRIX",
                "nameZh": "x",
                "nameEn": "x",
                "methodologyCode": "NONE",
                "category": "CYCLING",
                "maxQuantityPerRecord": "1",
                "dailyCapGrams": 1,
            }
        },
        row("forbidden", anonymous="unauthenticated", authority="METHODOLOGY_UNKNOWN"),
    ),
    "setEarningRatio": (
        "mutation ($i: SetEarningRatioInput!) { setEarningRatio(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"pointsPerGram": "1"}},
        authority_only(),
    ),
    "reportBehaviourRecords": (
        "mutation ($i: ReportBehaviourRecordsInput!) { reportBehaviourRecords(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "records": [
                    {
                        "eventId": "m",
                        "subjectId": str(uuid.uuid4()),
                        "scenario": "METRO",
                        "quantity": "1",
                        "occurredAt": "2026-11-24T08:00:00+08:00",
                    }
                ]
            }
        },
        row("forbidden", anonymous="unauthenticated", platform="allowed"),
    ),
    "recordOutcomeCounts": (
        "query ($id: ID!) { recordOutcomeCounts(platformId: $id) { code } }",
        lambda w: {"id": w.ids["platform"]},
        authority_only(),
    ),
    "offers": ("{ offers(first: 5) { edges { cursor } } }", lambda w: None, row("allowed")),
    "myVouchers": ("{ myVouchers { id } }", lambda w: None, persons_only()),
    "voucherToken": (
        "query ($id: ID!) { voucherToken(voucherId: $id) { token } }",
        lambda w: {"id": str(uuid.uuid4())},
        persons_only(**{r: "null" for r in PERSONS}),
    ),
    "merchantOffers": (
        "{ merchantOffers { id } }",
        lambda w: None,
        row(
            "forbidden",
            anonymous="unauthenticated",
            merchant_cashier="allowed",
            other_merchant_member="allowed",
        ),
    ),
    "settlement": (
        'query { settlement(start: "2026-01-01T00:00:00+08:00", end: "2026-02-01T00:00:00+08:00") { title } }',
        lambda w: None,
        # Cashiers confirm vouchers; only owners and managers read what is owed.
        row("forbidden", anonymous="unauthenticated", other_merchant_member="allowed"),
    ),
    "createOffer": (
        "mutation ($i: CreateOfferInput!) { createOffer(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "titleZh": "袋",
                "titleEn": "Bag",
                "descriptionZh": "袋",
                "descriptionEn": "Bag",
                "category": "goods",
                "pricePoints": "100",
                "totalStock": 5,
                "perPersonLimit": 1,
                "redeemFrom": "2026-01-01T00:00:00+08:00",
                "redeemUntil": "2027-01-01T00:00:00+08:00",
                "voucherValidDays": 7,
                "unusedPolicy": "REFUND",
            }
        },
        row("forbidden", anonymous="unauthenticated", other_merchant_member="allowed"),
    ),
    "setOfferStatus": (
        "mutation ($i: SetOfferStatusInput!) { setOfferStatus(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"offerId": str(uuid.uuid4()), "status": "ACTIVE"}},
        row("forbidden", anonymous="unauthenticated", other_merchant_member="NOT_FOUND"),
    ),
    "redeemOffer": (
        "mutation ($i: RedeemOfferInput!) { redeemOffer(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"offerId": str(uuid.uuid4()), "idempotencyKey": f"matrix-{uuid.uuid4()}"}},
        persons_only(**{r: "NOT_FOUND" for r in PERSONS}),
    ),
    "confirmVoucher": (
        "mutation ($i: ConfirmVoucherInput!) { confirmVoucher(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"code": "NOPE123456"}},
        row(
            "forbidden",
            anonymous="unauthenticated",
            merchant_cashier="VOUCHER_NOT_FOUND",
            other_merchant_member="VOUCHER_NOT_FOUND",
        ),
    ),
    "cancelVoucher": (
        "mutation ($i: CancelVoucherInput!) { cancelVoucher(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"voucherId": str(uuid.uuid4())}},
        persons_only(**{r: "VOUCHER_NOT_FOUND" for r in PERSONS}),
    ),
    "voucherChanged": (
        "subscription { voucherChanged { id } }",
        lambda w: None,
        row("OPERATION_NOT_ALLOWED"),
    ),
    "creditProjects": ("{ creditProjects { id } }", lambda w: None, row("allowed")),
    "noticeEnd": ('{ noticeEnd(start: "2026-11-20") { endsOn } }', lambda w: None, row("allowed")),
    "createProject": (
        "mutation ($i: CreateProjectInput!) { createProject(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {"titleZh": "x", "titleEn": "x", "description": "x", "methodologyCode": "NONE"}
        },
        # Members of a data platform or a small business own projects.
        row("forbidden", anonymous="unauthenticated", business_member="METHODOLOGY_UNKNOWN"),
    ),
    "addProjectDocument": (
        "mutation ($i: AddProjectDocumentInput!) { addProjectDocument(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "projectId": str(uuid.uuid4()),
                "title": "t",
                "url": "https://x.org/a",
                "sha256": "a" * 64,
            }
        },
        row("forbidden", anonymous="unauthenticated", business_member="NOT_FOUND"),
    ),
    "submitProject": (
        "mutation ($i: SubmitProjectInput!) { submitProject(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"projectId": str(uuid.uuid4()), "verifierId": w.ids["verifier_org"]}},
        row("forbidden", anonymous="unauthenticated", business_member="NOT_FOUND"),
    ),
    "validateProject": (
        "mutation ($i: ProjectDecisionInput!) { validateProject(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"projectId": str(uuid.uuid4()), "approve": True, "comment": "ok"}},
        row("forbidden", anonymous="unauthenticated", verifier="NOT_FOUND"),
    ),
    "registerProject": (
        "mutation ($i: ProjectDecisionInput!) { registerProject(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"projectId": str(uuid.uuid4()), "approve": True, "comment": "ok"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "setCalendarDay": (
        "mutation ($i: SetCalendarDayInput!) { setCalendarDay(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"day": "2026-12-25", "isWorking": False, "note": "matrix"}},
        authority_only(),
    ),
    "issuanceRequests": ("{ issuanceRequests { id } }", lambda w: None, row("allowed")),
    "fileIssuanceRequest": (
        "mutation ($i: FileIssuanceRequestInput!) { fileIssuanceRequest(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "projectId": str(uuid.uuid4()),
                "periodStart": "2026-01-01",
                "periodEnd": "2026-01-31",
            }
        },
        row("forbidden", anonymous="unauthenticated", business_member="NOT_FOUND"),
    ),
    "verifyIssuanceRequest": (
        "mutation ($i: IssuanceStepInput!) { verifyIssuanceRequest(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4()), "comment": "ok"}},
        row("forbidden", anonymous="unauthenticated", verifier="NOT_FOUND"),
    ),
    "reviewIssuanceRequest": (
        "mutation ($i: IssuanceStepInput!) { reviewIssuanceRequest(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4()), "comment": "ok"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "startPublicNotice": (
        "mutation ($i: IssuanceStepInput!) { startPublicNotice(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4())}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "issueCredits": (
        "mutation ($i: IssuanceStepInput!) { issueCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4())}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "rejectIssuanceRequest": (
        "mutation ($i: IssuanceStepInput!) { rejectIssuanceRequest(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4()), "comment": "no"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND", verifier="NOT_FOUND"),
    ),
    "fileObjection": (
        "mutation ($i: FileObjectionInput!) { fileObjection(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"requestId": str(uuid.uuid4()), "text": "objection"}},
        row("NOT_FOUND"),
    ),
    "resolveObjection": (
        "mutation ($i: ResolveObjectionInput!) { resolveObjection(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"objectionId": str(uuid.uuid4()), "resolution": "ok"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "creditBlocks": ("{ creditBlocks { id } }", lambda w: None, row("allowed")),
    "creditBlockBySerial": (
        '{ creditBlockBySerial(serial: "SZ-CGSP-P0001-2026-000000000001") { id } }',
        lambda w: None,
        row("null"),
    ),
    "creditRetirements": ("{ creditRetirements { id } }", lambda w: None, row("allowed")),
    "creditTransfers": ("{ creditTransfers { number } }", lambda w: None, row("allowed")),
    "transferCredits": (
        "mutation ($i: TransferCreditsInput!) { transferCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "blockId": str(uuid.uuid4()),
                "quantityKg": 1,
                "toOrganisationId": w.ids["business"],
                "idempotencyKey": f"matrix-{uuid.uuid4()}",
            }
        },
        # Holders: persons for themselves, owners and managers for their organisation.
        row(
            "NOT_FOUND",
            anonymous="unauthenticated",
            platform="forbidden",
            merchant_cashier="forbidden",
            verifier="forbidden",
        ),
    ),
    "retireCredits": (
        "mutation ($i: RetireCreditsInput!) { retireCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "blockId": str(uuid.uuid4()),
                "quantityKg": 1,
                "purpose": "VOLUNTARY",
                "idempotencyKey": f"matrix-{uuid.uuid4()}",
            }
        },
        row(
            "NOT_FOUND",
            anonymous="unauthenticated",
            platform="forbidden",
            merchant_cashier="forbidden",
            verifier="forbidden",
        ),
    ),
    "myCreditHoldings": (
        "{ myCreditHoldings { accountId heldKg } }",
        lambda w: None,
        # Persons hold for themselves; members for their organisation when owners or managers.
        row(
            "allowed",
            anonymous="unauthenticated",
            platform="forbidden",
            merchant_cashier="forbidden",
            verifier="forbidden",
        ),
    ),
    "creditExports": ("{ creditExports { number } }", lambda w: None, row("allowed")),
    "exportCredits": (
        "mutation ($i: ExportCreditsInput!) { exportCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "blockId": str(uuid.uuid4()),
                "quantityKg": 1,
                "exchangeAccount": "CEEA-1",
                "idempotencyKey": f"matrix-{uuid.uuid4()}",
            }
        },
        row(
            "NOT_FOUND",
            anonymous="unauthenticated",
            platform="forbidden",
            merchant_cashier="forbidden",
            verifier="forbidden",
        ),
    ),
    "creditListings": ("{ creditListings { id } }", lambda w: None, row("allowed")),
    "pointsPerKg": ("{ pointsPerKg }", lambda w: None, row("allowed")),
    "myCreditOrders": ("{ myCreditOrders { id } }", lambda w: None, holders("allowed")),
    "creditOrder": (
        "query ($id: ID!) { creditOrder(id: $id) { id } }",
        lambda w: {"id": str(uuid.uuid4())},
        holders("null"),
    ),
    "myCreditSales": ("{ myCreditSales { proceedsFen } }", lambda w: None, holders("allowed")),
    "paymentMismatches": ("{ paymentMismatches { problem } }", lambda w: None, authority_only()),
    "listCredits": (
        "mutation ($i: ListCreditsInput!) { listCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "blockId": str(uuid.uuid4()),
                "quantityKg": 1,
                "priceFenPerKg": 10,
                "idempotencyKey": f"matrix-{uuid.uuid4()}",
            }
        },
        holders("NOT_FOUND"),
    ),
    "withdrawListing": (
        "mutation ($i: WithdrawListingInput!) { withdrawListing(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"listingId": str(uuid.uuid4())}},
        holders("NOT_FOUND"),
    ),
    "orderCredits": (
        "mutation ($i: OrderCreditsInput!) { orderCredits(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {"listingId": str(uuid.uuid4()), "quantityKg": 1, "idempotencyKey": "matrix-order"}
        },
        holders("NOT_FOUND"),
    ),
    "buyCreditsWithPoints": (
        "mutation ($i: OrderCreditsInput!) { buyCreditsWithPoints(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "listingId": str(uuid.uuid4()),
                "quantityKg": 1,
                "idempotencyKey": "matrix-points",
            }
        },
        # Points are a person's: any signed-in person, for their own wallet and holding account.
        row("NOT_FOUND", anonymous="unauthenticated", platform="forbidden"),
    ),
    "refundCreditOrder": (
        "mutation ($i: RefundCreditOrderInput!) { refundCreditOrder(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"orderId": str(uuid.uuid4())}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "setPointsPerKg": (
        "mutation ($i: SetPointsPerKgInput!) { setPointsPerKg(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"pointsPerKg": 1000}},
        authority_only(),
    ),
    "footprintFactors": ("{ footprintFactors { code } }", lambda w: None, row("allowed")),
    "myFootprintClaims": ("{ myFootprintClaims { id } }", lambda w: None, holders("allowed")),
    "myCertificates": ("{ myCertificates { number } }", lambda w: None, holders("allowed")),
    "certificate": (
        '{ certificate(number: "CN-2026-000001") { number } }',
        lambda w: None,
        row("null"),
    ),
    "createFootprintClaim": (
        "mutation ($i: CreateFootprintClaimInput!) { createFootprintClaim(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"kind": "ANNUAL", "title": "matrix", "items": []}},
        holders("INVALID_INPUT"),
    ),
    "neutraliseClaim": (
        "mutation ($i: NeutraliseClaimInput!) { neutraliseClaim(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {"claimId": str(uuid.uuid4()), "displayName": "m", "idempotencyKey": "matrix-n1"}
        },
        holders("NOT_FOUND"),
    ),
    "setFootprintFactor": (
        "mutation ($i: SetFootprintFactorInput!) { setFootprintFactor(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {
                "code": "BUS_KM",
                "nameZh": "公交",
                "nameEn": "Bus",
                "unit": "km",
                "gramsPerUnit": "60",
            }
        },
        authority_only(),
    ),
    "revokeCertificate": (
        "mutation ($i: RevokeCertificateInput!) { revokeCertificate(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"number": "CN-2026-999999", "reason": "matrix"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    "disclosure": ("{ disclosure { pointsEarned } }", lambda w: None, row("allowed")),
    "leaderboard": ("{ leaderboard(first: 3) { rank } }", lambda w: None, row("allowed")),
    "myImpact": ("{ myImpact { reductionGrams } }", lambda w: None, persons_only()),
    "setLeaderboardOptIn": (
        "mutation ($i: SetLeaderboardOptInInput!) { setLeaderboardOptIn(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"optIn": False}},
        persons_only(),
    ),
    "deleteMyAccount": (
        "mutation ($i: DeleteMyAccountInput!) { deleteMyAccount(input: $i) { __typename ... on Error { code } } }",
        # not the caller's number: refused, nothing deleted
        lambda w: {"i": {"confirmPhone": "+8613000000000"}},
        row("INVALID_INPUT", anonymous="unauthenticated", platform="forbidden"),
    ),
    "deidentifiedHoldings": (
        "{ deidentifiedHoldings { holder } }",
        lambda w: None,
        authority_only(),
    ),
    "myAppeals": ("{ myAppeals { id } }", lambda w: None, persons_only()),
    "appeals": ("{ appeals { id } }", lambda w: None, authority_only()),
    "fileAppeal": (
        "mutation ($i: FileAppealInput!) { fileAppeal(input: $i) { __typename ... on Error { code } } }",
        lambda w: {
            "i": {"kind": "REJECTION", "reference": f"matrix:{uuid.uuid4()}", "text": "matrix"}
        },
        persons_only(),
    ),
    "answerAppeal": (
        "mutation ($i: AnswerAppealInput!) { answerAppeal(input: $i) { __typename ... on Error { code } } }",
        lambda w: {"i": {"appealId": str(uuid.uuid4()), "uphold": False, "answer": "matrix"}},
        row("forbidden", anonymous="unauthenticated", authority="NOT_FOUND"),
    ),
    # Last: it ends the caller's session.
    "logOut": ("mutation { logOut(input: {}) { sessionsEnded } }", lambda w: None, persons_only()),
}


def test_every_operation_of_the_schema_has_a_row():
    schema = build_schema(load_settings({"TPH_ENV": "test"}))._schema
    operations = set(schema.query_type.fields) | set(
        schema.mutation_type.fields if schema.mutation_type else {}
    )
    if schema.subscription_type:
        operations |= set(schema.subscription_type.fields)
    assert operations - set(MATRIX) == set(), "operations without a row in the authorisation matrix"
    assert set(MATRIX) - operations == set(), "rows for operations that no longer exist"
    for name, (_, _, outcomes) in MATRIX.items():
        assert set(outcomes) == set(ROLES), name


def classify(response, field: str) -> str:
    body = response.json()
    if response.status_code == 401:
        return "unauthenticated"
    if response.status_code == 400:
        return body["errors"][0]["extensions"]["code"]
    errors = body.get("errors") or []
    codes = {e.get("extensions", {}).get("code") for e in errors}
    if "UNAUTHENTICATED" in codes:
        return "unauthenticated"
    if "FORBIDDEN" in codes:
        return "forbidden"
    assert not errors, body
    value = body["data"][field]
    if value is None:
        return "null"
    if isinstance(value, dict) and value.get("code"):
        return value["code"]
    return "allowed"


async def test_the_matrix_holds(client, sms):
    world = await build_world(client, sms)
    failures = []
    for operation, (document, variables, outcomes) in MATRIX.items():
        for role in ROLES:
            token = world.tokens[role]
            headers = bearer(token) if token else {}
            response = await client.post(
                "/graphql", json={"query": document, "variables": variables(world)}, headers=headers
            )
            outcome = classify(response, operation)
            if outcome != outcomes[role]:
                failures.append(f"{operation} as {role}: expected {outcomes[role]}, got {outcome}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("role", ["merchant_cashier", "other_merchant_member"])
async def test_members_see_only_their_own_organisation(client, sms, role):
    world = await build_world(client, sms)
    seen = await gql(
        client,
        "query ($id: ID!) { node(id: $id) { id } }",
        {"id": world.ids["merchant"]},
        headers=bearer(world.tokens[role]),
    )
    assert (seen["data"]["node"] is not None) is (role == "merchant_cashier")


def test_subscriptions_need_a_signed_in_person(settings):
    from starlette.testclient import TestClient

    from backend.app import create_app

    with TestClient(create_app(settings, manage_resources=False)) as test_client:
        with test_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { walletChanged { balance } }"},
                }
            )
            message = ws.receive_json()
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
