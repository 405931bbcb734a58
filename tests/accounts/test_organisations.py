"""Organisations, households, members, the second factor, platforms and suspension."""

import base64
from datetime import timedelta

import pyotp
import pytest
from strawberry.relay import from_base64, to_base64

from backend.accounts.models import Membership, Organisation
from backend.kit import clock
from tests.conftest import SELECT, bearer, gql, log_in, make_admin

ADMIN = "+8613900000001"
OWNER = "+8613900000002"
CASHIER = "+8613900000003"
STRANGER = "+8613900000004"

REGISTER = """
mutation ($input: RegisterOrganisationInput!) {
  registerOrganisation(input: $input) { __typename ... on Organisation { id kind status } ... on Error { code } }
}
"""
INVITE = """
mutation ($input: InviteMemberInput!) {
  inviteMember(input: $input) { __typename ... on Membership { id role status } ... on Error { code message } }
}
"""
ACCEPT = """
mutation ($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { __typename ... on Membership { id status } ... on Error { code } }
}
"""
SUSPEND = """
mutation ($input: SuspendOrganisationInput!) {
  suspendOrganisation(input: $input) { __typename ... on Organisation { status } ... on Error { code } }
}
"""
ISSUE = """
mutation ($input: IssuePlatformCredentialInput!) {
  issuePlatformCredential(input: $input) { __typename ... on PlatformCredentialIssued { clientId clientSecret } ... on Error { code } }
}
"""
ME = "{ me { memberships { id role status organisation { id kind name } } } }"


async def register(client, admin, kind, name="Shop"):
    body = await gql(
        client,
        REGISTER,
        {"input": {"kind": kind, "name": name}},
        headers=bearer(admin["accessToken"]),
    )
    return body["data"]["registerOrganisation"]


async def join(client, sms, admin, organisation_id, phone, role):
    """Invite `phone` as `role`, log them in, accept; returns their person tokens."""
    invited = await gql(
        client,
        INVITE,
        {"input": {"organisationId": organisation_id, "phone": phone, "role": role}},
        headers=bearer(admin["accessToken"]),
    )
    membership = invited["data"]["inviteMember"]
    assert membership["__typename"] == "Membership" and membership["status"] == "INVITED", invited
    tokens = await log_in(client, sms, phone)
    accepted = await gql(
        client,
        ACCEPT,
        {"input": {"membershipId": membership["id"]}},
        headers=bearer(tokens["accessToken"]),
    )
    assert accepted["data"]["acceptInvitation"]["status"] == "ACTIVE"
    return tokens


async def act_for(client, tokens, organisation_id, totp=None):
    body = await gql(
        client,
        SELECT,
        {"input": {"organisationId": organisation_id, "totpCode": totp}},
        headers=bearer(tokens["accessToken"]),
    )
    return body["data"]["selectOrganisation"]


async def test_the_authority_registers_a_merchant_and_its_staff_act_for_it(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    merchant = await register(client, admin, "MERCHANT", "绿色小店")
    assert merchant["__typename"] == "Organisation" and merchant["status"] == "ACTIVE"
    owner = await join(client, sms, admin, merchant["id"], OWNER, "owner")
    acting = await act_for(client, owner, merchant["id"])
    assert acting["__typename"] == "SessionTokens" and acting["actingFor"] == merchant["id"]
    # The owner invites a cashier into their own merchant.
    cashier_invite = await gql(
        client,
        INVITE,
        {"input": {"organisationId": merchant["id"], "phone": CASHIER, "role": "cashier"}},
        headers=bearer(acting["accessToken"]),
    )
    assert cashier_invite["data"]["inviteMember"]["role"] == "cashier"


async def test_a_member_cannot_act_for_an_organisation_they_do_not_belong_to(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    merchant = await register(client, admin, "MERCHANT")
    other = await register(client, admin, "MERCHANT", "Other")
    owner = await join(client, sms, admin, merchant["id"], OWNER, "owner")
    assert (await act_for(client, owner, other["id"]))["code"] == "NOT_A_MEMBER"
    # Nor invite people into it with a session acting for their own.
    acting = await act_for(client, owner, merchant["id"])
    body = await gql(
        client,
        INVITE,
        {"input": {"organisationId": other["id"], "phone": CASHIER, "role": "cashier"}},
        headers=bearer(acting["accessToken"]),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other_public_id = from_base64(other["id"])[1]
    assert await Membership.filter(organisation__public_id=other_public_id).count() == 0


async def test_an_invitation_is_only_accepted_by_the_invited_person(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    merchant = await register(client, admin, "MERCHANT")
    invited = await gql(
        client,
        INVITE,
        {"input": {"organisationId": merchant["id"], "phone": OWNER, "role": "owner"}},
        headers=bearer(admin["accessToken"]),
    )
    stranger = await log_in(client, sms, STRANGER)
    body = await gql(
        client,
        ACCEPT,
        {"input": {"membershipId": invited["data"]["inviteMember"]["id"]}},
        headers=bearer(stranger["accessToken"]),
    )
    assert body["data"]["acceptInvitation"]["code"] == "INVITATION_INVALID"
    # Unaccepted, the owner cannot act for it yet.
    owner = await log_in(client, sms, OWNER)
    assert (await act_for(client, owner, merchant["id"]))["code"] == "NOT_A_MEMBER"


@pytest.mark.parametrize("role", ["cashier", "admin", "", "OWNER"])
async def test_roles_must_fit_the_organisation(client, sms, role):
    admin = await make_admin(client, sms, ADMIN)
    business = await register(client, admin, "SMALL_BUSINESS")
    body = await gql(
        client,
        INVITE,
        {"input": {"organisationId": business["id"], "phone": OWNER, "role": role}},
        headers=bearer(admin["accessToken"]),
    )
    assert body["data"]["inviteMember"]["code"] == "INVALID_INPUT"


async def test_authority_staff_need_the_second_factor(client, sms):
    earlier = clock.now() - timedelta(seconds=60)
    with clock.frozen(earlier):
        admin = await make_admin(client, sms, ADMIN)
    # The admin's person token, without TOTP, cannot act for the authority.
    from backend.kit.redis import get_redis

    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")])
    person = await log_in(client, sms, ADMIN)
    assert (await act_for(client, person, admin["authorityId"]))["code"] == "SECOND_FACTOR_REQUIRED"
    assert (await act_for(client, person, admin["authorityId"], "000000"))["code"] in (
        "SECOND_FACTOR_INVALID",
        "SECOND_FACTOR_REQUIRED",
    )
    # the code the admin used a minute ago is spent (RFC 6238 5.2): replayed inside its step,
    # or once that step has passed, it is refused
    used = pyotp.TOTP(admin["secret"]).at(earlier)
    with clock.frozen(earlier + timedelta(seconds=1)):
        replayed = await act_for(client, person, admin["authorityId"], used)
    assert replayed["code"] == "SECOND_FACTOR_INVALID"
    good = pyotp.TOTP(admin["secret"]).at(clock.now())
    assert (await act_for(client, person, admin["authorityId"], good))[
        "__typename"
    ] == "SessionTokens"
    # and the code just used is spent too
    assert (await act_for(client, person, admin["authorityId"], good))[
        "code"
    ] == "SECOND_FACTOR_INVALID"


@pytest.mark.postgres_only
async def test_one_code_used_twice_at_once_selects_once(client, sms):
    import asyncio

    with clock.frozen(clock.now() - timedelta(seconds=60)):
        admin = await make_admin(client, sms, ADMIN)
    from backend.kit.redis import get_redis

    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")])
    person = await log_in(client, sms, ADMIN)
    code = pyotp.TOTP(admin["secret"]).at(clock.now())
    answers = await asyncio.gather(
        *(act_for(client, person, admin["authorityId"], code) for _ in range(3))
    )
    assert sorted(a["__typename"] for a in answers) == [
        "SecondFactorError",
        "SecondFactorError",
        "SessionTokens",
    ], answers


async def test_citizens_cannot_use_authority_operations(client, sms):
    citizen = await log_in(client, sms, STRANGER)
    body = await gql(
        client,
        REGISTER,
        {"input": {"kind": "MERCHANT", "name": "x"}},
        headers=bearer(citizen["accessToken"]),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Organisation.all().count() == 0


async def test_a_household_is_formed_and_family_invited(client, sms):
    owner = await log_in(client, sms, OWNER)
    created = await gql(
        client,
        'mutation { createHousehold(input: {name: "王家"}) { __typename ... on Membership { role organisation { id kind } } } }',
        headers=bearer(owner["accessToken"]),
    )
    household = created["data"]["createHousehold"]
    assert household["role"] == "owner" and household["organisation"]["kind"] == "HOUSEHOLD"
    invited = await gql(
        client,
        INVITE,
        {
            "input": {
                "organisationId": household["organisation"]["id"],
                "phone": CASHIER,
                "role": "member",
            }
        },
        headers=bearer(owner["accessToken"]),
    )
    member_id = invited["data"]["inviteMember"]["id"]
    relative = await log_in(client, sms, CASHIER)
    await gql(
        client,
        ACCEPT,
        {"input": {"membershipId": member_id}},
        headers=bearer(relative["accessToken"]),
    )
    mine = await gql(client, ME, headers=bearer(relative["accessToken"]))
    assert [m["organisation"]["name"] for m in mine["data"]["me"]["memberships"]] == ["王家"]
    # A plain member cannot invite others; a stranger cannot either.
    again = await gql(
        client,
        INVITE,
        {
            "input": {
                "organisationId": household["organisation"]["id"],
                "phone": STRANGER,
                "role": "member",
            }
        },
        headers=bearer(relative["accessToken"]),
    )
    assert again["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_platform_exchanges_its_credentials_and_is_refused_once_suspended(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    platform = await register(client, admin, "DATA_PLATFORM", "出行平台")
    issued = (
        await gql(
            client,
            ISSUE,
            {"input": {"platformId": platform["id"]}},
            headers=bearer(admin["accessToken"]),
        )
    )["data"]["issuePlatformCredential"]
    form = {
        "grant_type": "client_credentials",
        "client_id": issued["clientId"],
        "client_secret": issued["clientSecret"],
    }
    token = await client.post("/oauth/token", data=form)
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    assert token.json()["expires_in"] <= 900
    access = token.json()["access_token"]
    ok = await client.post(
        "/graphql", json={"query": "{ serverInfo { version } }"}, headers=bearer(access)
    )
    assert ok.status_code == 200
    suspended = await gql(
        client,
        SUSPEND,
        {"input": {"organisationId": platform["id"], "reason": "fraudulent records"}},
        headers=bearer(admin["accessToken"]),
    )
    assert suspended["data"]["suspendOrganisation"]["status"] == "SUSPENDED"
    refused = await client.post(
        "/graphql", json={"query": "{ serverInfo { version } }"}, headers=bearer(access)
    )
    assert refused.status_code == 401
    again = await client.post("/oauth/token", data=form)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


async def test_basic_auth_works_and_wrong_secrets_are_refused(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    platform = await register(client, admin, "DATA_PLATFORM")
    issued = (
        await gql(
            client,
            ISSUE,
            {"input": {"platformId": platform["id"]}},
            headers=bearer(admin["accessToken"]),
        )
    )["data"]["issuePlatformCredential"]
    basic = base64.b64encode(f"{issued['clientId']}:{issued['clientSecret']}".encode()).decode()
    ok = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200
    for form in (
        {
            "grant_type": "client_credentials",
            "client_id": issued["clientId"],
            "client_secret": "wrong",
        },
        {
            "grant_type": "client_credentials",
            "client_id": "tph_nobody",
            "client_secret": issued["clientSecret"],
        },
        {"grant_type": "client_credentials"},
    ):
        refused = await client.post("/oauth/token", data=form)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    grant = await client.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    as_json = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400


async def test_rotating_a_secret_retires_the_old_one_and_its_tokens(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    platform = await register(client, admin, "DATA_PLATFORM")
    first = (
        await gql(
            client,
            ISSUE,
            {"input": {"platformId": platform["id"]}},
            headers=bearer(admin["accessToken"]),
        )
    )["data"]["issuePlatformCredential"]
    token = (
        await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": first["clientId"],
                "client_secret": first["clientSecret"],
            },
        )
    ).json()["access_token"]
    second = (
        await gql(
            client,
            ISSUE,
            {"input": {"platformId": platform["id"]}},
            headers=bearer(admin["accessToken"]),
        )
    )["data"]["issuePlatformCredential"]
    assert second["clientId"] != first["clientId"]
    assert (
        await client.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token))
    ).status_code == 401
    old = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": first["clientId"],
            "client_secret": first["clientSecret"],
        },
    )
    assert old.status_code == 401


async def test_a_suspended_merchant_s_staff_are_refused_at_once(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    merchant = await register(client, admin, "MERCHANT")
    owner = await join(client, sms, admin, merchant["id"], OWNER, "owner")
    acting = await act_for(client, owner, merchant["id"])
    await gql(
        client,
        SUSPEND,
        {"input": {"organisationId": merchant["id"], "reason": "fraud"}},
        headers=bearer(admin["accessToken"]),
    )
    refused = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers=bearer(acting["accessToken"])
    )
    assert refused.status_code == 401
    assert (await act_for(client, owner, merchant["id"]))["code"] == "ORGANISATION_SUSPENDED"
    # Suspension needs a reason.
    other = await register(client, admin, "MERCHANT", "Other")
    body = await gql(
        client,
        SUSPEND,
        {"input": {"organisationId": other["id"], "reason": "  "}},
        headers=bearer(admin["accessToken"]),
    )
    assert body["data"]["suspendOrganisation"]["code"] == "INVALID_INPUT"


async def test_ids_of_the_wrong_type_are_invalid_input(client, sms):
    admin = await make_admin(client, sms, ADMIN)
    wrong = to_base64("AuditEvent", "00000000-0000-4000-8000-000000000001")
    body = await gql(
        client,
        SUSPEND,
        {"input": {"organisationId": wrong, "reason": "x"}},
        headers=bearer(admin["accessToken"]),
    )
    assert body["data"]["suspendOrganisation"]["code"] == "INVALID_INPUT"
    missing = to_base64("Organisation", "00000000-0000-4000-8000-000000000001")
    body = await gql(
        client,
        SUSPEND,
        {"input": {"organisationId": missing, "reason": "x"}},
        headers=bearer(admin["accessToken"]),
    )
    assert body["data"]["suspendOrganisation"]["code"] == "NOT_FOUND"
