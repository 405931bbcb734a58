"""Tokens (RFC 8725): one algorithm, our own keys, an explicit type, the service's clock."""

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from backend.kit import clock, jwt
from backend.settings import load_settings

SETTINGS = load_settings(
    {
        "TPH_ENV": "test",
        "TPH_JWT_KEYS": '{"k1": "first-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "k2": "second-key-xxxxxxxxxxxxxxxxxxxxxxxxxxx"}',
        "TPH_JWT_ACTIVE_KID": "k2",
    }
)
T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


def issue(**overrides):
    with clock.frozen(T0):
        return jwt.issue(
            subject="user-1",
            typ="at+jwt",
            ttl=timedelta(minutes=15),
            settings=SETTINGS,
            **overrides,
        )


def test_a_fresh_token_verifies_with_its_claims():
    token, claims = issue(claims={"sid": "s1"})
    with clock.frozen(T0 + timedelta(minutes=14)):
        verified = jwt.verify(token, typ="at+jwt", settings=SETTINGS)
    assert verified["sub"] == "user-1" and verified["sid"] == "s1"
    assert verified["jti"] == claims["jti"]
    assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k2", "typ": "at+jwt"}


def refused(token, reason, *, at=T0, typ="at+jwt", settings=SETTINGS):
    with clock.frozen(at), pytest.raises(jwt.TokenError) as error:
        jwt.verify(token, typ=typ, settings=settings)
    assert error.value.reason == reason


def test_an_expired_token_is_refused():
    token, _ = issue()
    refused(token, "expired", at=T0 + timedelta(minutes=15))


def test_a_token_from_the_future_is_refused():
    token, _ = issue()
    refused(token, "not yet valid", at=T0 - timedelta(minutes=5))


def test_a_token_of_another_type_is_refused():
    token, _ = issue()
    refused(token, "wrong token type", typ="voucher+jwt")


def test_a_tampered_payload_is_refused():
    token, _ = issue()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused(f"{header}.{forged}.{signature}", "bad signature")


def test_alg_none_is_refused():
    header = (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt","kid":"k2"}').decode().rstrip("=")
    )
    _, claims = issue()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused(f"{header}.{payload}.", "algorithm not allowed")


def test_another_algorithm_even_with_our_key_is_refused():
    _, claims = issue()
    token = pyjwt.encode(
        claims,
        "first-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        algorithm="HS512",
        headers={"kid": "k1", "typ": "at+jwt"},
    )
    refused(token, "algorithm not allowed")


def test_an_unknown_kid_is_refused():
    _, claims = issue()
    token = pyjwt.encode(
        claims,
        "attacker-key-xxxxxxxxxxxxxxxxxxxxxxxxxx",
        algorithm="HS256",
        headers={"kid": "../../etc/passwd", "typ": "at+jwt"},
    )
    refused(token, "unknown key id")


def test_wrong_audience_and_issuer_are_refused():
    other_audience = replace(SETTINGS, jwt_audience="another-service")
    token, _ = issue()
    refused(token, "wrong audience", settings=other_audience)
    refused(token, "wrong issuer", settings=replace(SETTINGS, jwt_issuer="someone-else"))


def test_a_missing_required_claim_is_refused():
    _, claims = issue()
    del claims["jti"]
    token = pyjwt.encode(
        claims, SETTINGS.jwt_keys["k2"], algorithm="HS256", headers={"kid": "k2", "typ": "at+jwt"}
    )
    refused(token, "missing claim jti")


@pytest.mark.parametrize("garbage", ["", "a.b", "not-a-token", "x" * 5000, "...."])
def test_garbage_is_refused(garbage):
    refused(garbage, "malformed")


def test_after_rotation_old_tokens_still_verify_until_the_key_is_dropped():
    with clock.frozen(T0):
        old, _ = jwt.issue(
            subject="u",
            typ="at+jwt",
            ttl=timedelta(minutes=15),
            settings=replace(SETTINGS, jwt_active_kid="k1"),
        )
        assert jwt.verify(old, typ="at+jwt", settings=SETTINGS)["sub"] == "u"
    without_k1 = replace(SETTINGS, jwt_keys={"k2": SETTINGS.jwt_keys["k2"]})
    refused(old, "unknown key id", settings=without_k1)


def test_a_token_verified_once_is_still_refused_when_it_expires():
    token, _ = issue()
    with clock.frozen(T0 + timedelta(minutes=1)):
        assert jwt.verify(token, typ="at+jwt", settings=SETTINGS)["sub"] == "user-1"
    refused(token, "expired", at=T0 + timedelta(minutes=15))
    # ... and as another type, even though its signature was checked before.
    refused(token, "wrong token type", typ="voucher+jwt", at=T0 + timedelta(minutes=2))
