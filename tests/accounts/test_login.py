"""Phone login (RELIABILITY.md 16-17): codes, sessions, refresh rotation, logout."""

import asyncio

import pytest

from backend.accounts.models import Person, RefreshToken
from backend.audit.models import AuditEvent
from backend.kit.redis import get_redis
from tests.conftest import LOG_IN, REQUEST_CODE, bearer, gql, log_in

PHONE = "+8613800000001"
REFRESH = """
mutation ($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on SessionTokens { accessToken refreshToken }
    ... on Error { code }
  }
}
"""
ME = "{ me { id phoneMasked secondFactorEnabled } }"


async def request_code(client, phone=PHONE, headers=None):
    body = await gql(client, REQUEST_CODE, {"input": {"phone": phone}}, headers=headers)
    return body["data"]["requestLoginCode"]


async def submit(client, code, phone=PHONE):
    body = await gql(client, LOG_IN, {"input": {"phone": phone, "code": code}})
    return body["data"]["logIn"]


async def test_a_citizen_logs_in_with_the_code_sent_by_sms(client, sms):
    sent = await request_code(client, "138 0000 0001")
    assert sent["__typename"] == "LoginCodeSent" and sent["resendAfterSeconds"] == 60
    phone, text = sms.messages[-1]
    assert phone == PHONE and "验证码" in text
    tokens = await submit(client, sms.last_code(PHONE))
    assert tokens["__typename"] == "SessionTokens"
    me = await gql(client, ME, headers=bearer(tokens["accessToken"]))
    assert me["data"]["me"]["phoneMasked"] == "138****0001"
    assert await Person.filter(phone=PHONE).count() == 1
    assert await AuditEvent.filter(action="person.registered").count() == 1


async def test_codes_are_six_digits_and_stored_hashed(client, sms):
    await request_code(client)
    code = sms.last_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    stored = [await get_redis().hgetall(key) async for key in get_redis().scan_iter("login:code:*")]
    assert len(stored) == 1 and code not in str(stored)


@pytest.mark.parametrize(
    "phone", ["12345", "+1 415 555 0100", "1380000000", "23800000001", "", "x" * 40]
)
async def test_a_malformed_number_is_a_typed_error_and_sends_nothing(client, sms, phone):
    sent = await request_code(client, phone)
    assert sent["code"] == "INVALID_PHONE"
    assert sms.messages == []


async def test_a_wrong_code_counts_down_then_exhausts(client, sms):
    await request_code(client)
    right = sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        outcome = await submit(client, wrong)
        assert outcome["code"] == "LOGIN_CODE_WRONG"
        assert f"{left} attempts left" in outcome["message"] or str(left) in outcome["message"]
    # Even the right code is refused once the attempts are spent.
    assert (await submit(client, right))["code"] == "LOGIN_CODE_EXHAUSTED"
    assert await Person.all().count() == 0


async def test_a_code_works_once(client, sms):
    await request_code(client)
    code = sms.last_code(PHONE)
    assert (await submit(client, code))["__typename"] == "SessionTokens"
    assert (await submit(client, code))["code"] == "LOGIN_CODE_USED"


async def test_a_code_that_was_never_sent_or_has_expired_is_refused(client, sms):
    assert (await submit(client, "123456"))["code"] == "LOGIN_CODE_EXPIRED"
    await request_code(client)
    keys = [key async for key in get_redis().scan_iter("login:code:*")]
    await get_redis().delete(*keys)  # what Redis does after 5 minutes
    assert (await submit(client, sms.last_code(PHONE)))["code"] == "LOGIN_CODE_EXPIRED"


async def test_codes_expire_after_five_minutes(client, sms):
    await request_code(client)
    keys = [key async for key in get_redis().scan_iter("login:code:*")]
    assert 290 <= await get_redis().ttl(keys[0]) <= 300


async def test_a_new_code_voids_the_old_one(client, sms):
    await request_code(client)
    old = sms.last_code(PHONE)
    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")])
    await request_code(client)
    new = sms.last_code(PHONE)
    if old != new:
        assert (await submit(client, old))["code"] == "LOGIN_CODE_WRONG"
    assert (await submit(client, new))["__typename"] == "SessionTokens"


async def test_one_code_a_minute_per_number_and_the_same_answer_for_any_number(client, sms):
    assert (await request_code(client))["__typename"] == "LoginCodeSent"
    again = await request_code(client)
    assert again["code"] == "RATE_LIMITED" and 0 < again["retryAfterSeconds"] <= 60
    # An unregistered and a registered number get the same kind of answer.
    await submit(client, sms.last_code(PHONE))
    other = await request_code(client, "+8613900000002")
    assert other["__typename"] == "LoginCodeSent"


async def test_aliased_calls_are_counted_one_by_one(client, sms):
    aliases = " ".join(
        f'a{n}: requestLoginCode(input: {{phone: "{PHONE}"}}) {{ __typename ... on Error {{ code }} }}'
        for n in range(5)
    )
    body = await gql(client, "mutation { " + aliases + " }")
    outcomes = [body["data"][f"a{n}"]["__typename"] for n in range(5)]
    assert outcomes.count("LoginCodeSent") == 1
    assert outcomes.count("RateLimitedError") == 4
    assert len(sms.messages) == 1


async def test_ten_codes_a_day_per_number(client, sms):
    for _ in range(10):
        await get_redis().delete(
            *[k async for k in get_redis().scan_iter("rl:code:min:*")] or ["none"]
        )
        assert (await request_code(client))["__typename"] == "LoginCodeSent"
    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")] or ["none"])
    assert (await request_code(client))["code"] == "RATE_LIMITED"


async def test_one_address_cannot_pump_codes_to_many_numbers(client, sms):
    outcomes = [(await request_code(client, f"+86137{n:08d}"))["__typename"] for n in range(35)]
    assert outcomes.count("LoginCodeSent") == 30
    assert set(outcomes[30:]) == {"RateLimitedError"}


async def test_refresh_rotates_and_a_reused_token_ends_the_session(client, sms):
    tokens = await log_in(client, sms, PHONE)
    first = (await gql(client, REFRESH, {"input": {"refreshToken": tokens["refreshToken"]}}))[
        "data"
    ]["refreshSession"]
    assert first["__typename"] == "SessionTokens"
    assert first["refreshToken"] != tokens["refreshToken"]
    # Somebody replays the spent token: the whole session ends, the new tokens included.
    replay = (await gql(client, REFRESH, {"input": {"refreshToken": tokens["refreshToken"]}}))[
        "data"
    ]["refreshSession"]
    assert replay["code"] == "REFRESH_TOKEN_REUSED"
    after = (await gql(client, REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))[
        "data"
    ]["refreshSession"]
    assert after["code"] == "REFRESH_TOKEN_INVALID"
    refused = await client.post(
        "/graphql", json={"query": ME}, headers=bearer(first["accessToken"])
    )
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_refresh_tokens_are_stored_hashed(client, sms):
    tokens = await log_in(client, sms, PHONE)
    hashes = await RefreshToken.all().values_list("token_hash", flat=True)
    assert tokens["refreshToken"] not in hashes and len(hashes) == 1


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "y" * 500])
async def test_unknown_refresh_tokens_are_refused(client, token):
    body = await gql(client, REFRESH, {"input": {"refreshToken": token}})
    assert body["data"]["refreshSession"]["code"] == "REFRESH_TOKEN_INVALID"


@pytest.mark.postgres_only
async def test_two_concurrent_refreshes_of_one_token_yield_one_session_at_most(client, sms):
    tokens = await log_in(client, sms, PHONE)
    variables = {"input": {"refreshToken": tokens["refreshToken"]}}
    results = await asyncio.gather(gql(client, REFRESH, variables), gql(client, REFRESH, variables))
    kinds = sorted(r["data"]["refreshSession"]["__typename"] for r in results)
    assert kinds == ["RefreshTokenError", "SessionTokens"]


async def test_logout_ends_this_session_only(client, sms):
    phone_session = await log_in(client, sms, PHONE)
    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")])
    tablet_session = await log_in(client, sms, PHONE)
    out = await gql(
        client,
        "mutation { logOut(input: {}) { sessionsEnded } }",
        headers=bearer(phone_session["accessToken"]),
    )
    assert out["data"]["logOut"]["sessionsEnded"] == 1
    assert (
        await client.post(
            "/graphql", json={"query": ME}, headers=bearer(phone_session["accessToken"])
        )
    ).status_code == 401
    still = await gql(client, ME, headers=bearer(tablet_session["accessToken"]))
    assert still["data"]["me"]["phoneMasked"] == "138****0001"
    refresh = await gql(client, REFRESH, {"input": {"refreshToken": phone_session["refreshToken"]}})
    assert refresh["data"]["refreshSession"]["code"] == "REFRESH_TOKEN_INVALID"


async def test_logout_everywhere_ends_every_session(client, sms):
    first = await log_in(client, sms, PHONE)
    await get_redis().delete(*[k async for k in get_redis().scan_iter("rl:code:min:*")])
    second = await log_in(client, sms, PHONE)
    out = await gql(
        client,
        "mutation { logOut(input: {everywhere: true}) { sessionsEnded } }",
        headers=bearer(first["accessToken"]),
    )
    assert out["data"]["logOut"]["sessionsEnded"] == 2
    for tokens in (first, second):
        response = await client.post(
            "/graphql", json={"query": ME}, headers=bearer(tokens["accessToken"])
        )
        assert response.status_code == 401


async def test_revocation_holds_when_the_cache_is_lost(client, sms):
    tokens = await log_in(client, sms, PHONE)
    await gql(
        client,
        "mutation { logOut(input: {}) { sessionsEnded } }",
        headers=bearer(tokens["accessToken"]),
    )
    await get_redis().flushdb()  # Redis restarted: the database still knows
    response = await client.post(
        "/graphql", json={"query": ME}, headers=bearer(tokens["accessToken"])
    )
    assert response.status_code == 401


async def test_anonymous_me_is_null_and_a_bad_header_is_refused(client):
    assert (await gql(client, ME))["data"] == {"me": None}
    for header in ("Basic abc", "Bearer", "Bearer not.a.token"):
        response = await client.post(
            "/graphql", json={"query": ME}, headers={"authorization": header}
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_outbox_sender_writes_json_lines_and_logs_masked(tmp_path, caplog):
    import json
    import logging
    from dataclasses import replace

    from backend.accounts.sms import OutboxSender
    from backend.settings import load_settings

    sender = OutboxSender(replace(load_settings({}), sms_outbox_path=tmp_path / "outbox.jsonl"))
    with caplog.at_level(logging.INFO, logger="backend.accounts.sms"):
        await sender.send(phone=PHONE, text="code 123456")
    line = json.loads((tmp_path / "outbox.jsonl").read_text())
    assert line["phone"] == PHONE and line["text"] == "code 123456"
    assert "13800000001" not in caplog.text and "138****0001" in caplog.text


async def test_in_production_an_app_logs_in_with_trusted_documents_only(settings, sms):
    import json
    from dataclasses import replace

    import httpx

    from backend.api.contract import MANIFEST_PATH
    from backend.app import create_app

    hardened = replace(settings, trusted_documents_only=True, introspection=False, graphiql=False)
    app = create_app(hardened, manage_resources=False)
    ids = {op["name"]: op["id"] for op in json.loads(MANIFEST_PATH.read_text())["operations"]}

    def persisted(name, variables=None):
        return {
            "operationName": name,
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": ids[name]}},
        }

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        sent = await http.post(
            "/graphql", json=persisted("RequestLoginCode", {"input": {"phone": PHONE}})
        )
        assert sent.json()["data"]["requestLoginCode"]["__typename"] == "LoginCodeSent"
        logged = await http.post(
            "/graphql",
            json=persisted("LogIn", {"input": {"phone": PHONE, "code": sms.last_code(PHONE)}}),
        )
        tokens = logged.json()["data"]["logIn"]
        me = await http.post(
            "/graphql", json=persisted("Me"), headers=bearer(tokens["accessToken"])
        )
        assert me.json()["data"]["me"]["phoneMasked"] == "138****0001"
        # The same person cannot send an ad-hoc document.
        adhoc = await http.post(
            "/graphql", json={"query": "{ me { id } }"}, headers=bearer(tokens["accessToken"])
        )
        assert adhoc.status_code == 400


async def test_the_http_gateway_posts_each_message_with_its_token():
    import httpx

    from backend.accounts.sms import HttpGatewaySender
    from backend.settings import load_settings

    received = []

    def gateway(request: httpx.Request) -> httpx.Response:
        received.append((request.headers["authorization"], request.read()))
        return httpx.Response(200 if len(received) == 1 else 503)

    settings = load_settings(
        {
            "TPH_SMS_BACKEND": "http",
            "TPH_SMS_GATEWAY_URL": "https://sms.test/send",
            "TPH_SMS_GATEWAY_TOKEN": "t0ken",
        }
    )
    sender = HttpGatewaySender(settings, transport=httpx.MockTransport(gateway))
    await sender.send(phone=PHONE, text="code 123456")
    assert received[0][0] == "Bearer t0ken"
    assert b'"phone":"+8613800000001"' in received[0][1].replace(b" ", b"")
    with pytest.raises(RuntimeError, match="503"):
        await sender.send(phone=PHONE, text="again")


async def test_one_number_block_cannot_be_walked_from_many_addresses(client, sms):
    from backend.accounts import login

    outcomes = []
    for n in range(login.PER_PREFIX_HOUR + 2):
        # As if from many addresses: the per-address count is cleared, only the block is shared.
        await get_redis().delete(
            *[k async for k in get_redis().scan_iter("rl:code:ip:*")] or ["none"]
        )
        outcomes.append((await request_code(client, f"+86138000{n:05d}"))["__typename"])
    assert outcomes.count("LoginCodeSent") == login.PER_PREFIX_HOUR
    assert outcomes[-1] == "RateLimitedError"


@pytest.mark.parametrize(
    "forge",
    ["expired", "wrong_type", "wrong_audience", "unknown_kid", "alg_none", "tampered"],
)
async def test_forged_or_stale_access_tokens_are_refused_over_http(client, sms, settings, forge):
    import base64
    import json
    from dataclasses import replace
    from datetime import timedelta

    import jwt as pyjwt

    from backend.kit import clock, jwt

    tokens = await log_in(client, sms, PHONE)
    claims = pyjwt.decode(tokens["accessToken"], options={"verify_signature": False})
    key = settings.jwt_keys[settings.jwt_active_kid]
    headers = {"kid": settings.jwt_active_kid, "typ": "at+jwt"}
    if forge == "expired":
        with clock.frozen(clock.now() - timedelta(hours=1)):
            token, _ = jwt.issue(
                subject=claims["sub"],
                typ="at+jwt",
                ttl=timedelta(minutes=15),
                claims={"sid": claims["sid"], "kind": "person"},
                settings=settings,
            )
    elif forge == "wrong_type":
        token = pyjwt.encode(claims, key, algorithm="HS256", headers={**headers, "typ": "JWT"})
    elif forge == "wrong_audience":
        token, _ = jwt.issue(
            subject=claims["sub"],
            typ="at+jwt",
            ttl=timedelta(minutes=5),
            claims={"sid": claims["sid"], "kind": "person"},
            settings=replace(settings, jwt_audience="other"),
        )
    elif forge == "unknown_kid":
        token = pyjwt.encode(claims, key, algorithm="HS256", headers={**headers, "kid": "nope"})
    elif forge == "alg_none":
        header = (
            base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt","kid":"dev"}')
            .decode()
            .rstrip("=")
        )
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"{header}.{body}."
    else:
        token = pyjwt.encode(
            {**claims, "sub": "00000000-0000-4000-8000-000000000000"},
            "guessed-key-xxxxxxxxxxxxxxxxxxxxxxxxxx",
            algorithm="HS256",
            headers=headers,
        )
    response = await client.post("/graphql", json={"query": ME}, headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
