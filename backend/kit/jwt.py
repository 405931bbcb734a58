"""Signed tokens (RFC 8725, RFC 9068): one pinned algorithm, `kid` only as a lookup into our own key
set, an explicit `typ` so a token is never accepted as another kind, required registered claims,
and time checked against the injectable clock.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import jwt as pyjwt

from backend.kit import clock
from backend.settings import Settings, get_settings

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a token type, not a secret
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")


class TokenError(Exception):
    """The token is refused; `reason` says why (for logs and the error message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def issue(
    *,
    subject: str,
    typ: str,
    ttl: timedelta,
    claims: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed token with the active key; returns the token and its claims."""
    settings = settings or get_settings()
    now = clock.now()
    payload: dict[str, Any] = {
        **(claims or {}),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    kid = settings.jwt_active_kid
    token = pyjwt.encode(
        payload,
        settings.jwt_keys[kid],
        algorithm=ALGORITHM,
        headers={"kid": kid, "typ": typ},
    )
    return token, payload


# Tokens whose signature, type, issuer and audience were checked, by (token, type, key set): a
# client sends the same access token with every request for up to 15 minutes. Times are checked
# on every use; a key dropped from the key set changes the fingerprint, so its tokens are checked
# (and refused) again.
_VERIFIED: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
_VERIFIED_MAX = 8192


@functools.lru_cache(maxsize=16)
def _fingerprint(issuer: str, audience: str, keys: tuple[tuple[str, str], ...]) -> str:
    return hashlib.sha256(repr((issuer, audience, keys)).encode()).hexdigest()


def verify(token: str, *, typ: str, settings: Settings | None = None) -> dict[str, Any]:
    """The claims of a valid token of type `typ`; TokenError otherwise."""
    settings = settings or get_settings()
    if not isinstance(token, str) or len(token) > 4096:
        raise TokenError("malformed")
    cache_key = (
        token,
        typ,
        _fingerprint(
            settings.jwt_issuer, settings.jwt_audience, tuple(sorted(settings.jwt_keys.items()))
        ),
    )
    claims = _VERIFIED.get(cache_key)
    if claims is None:
        claims = _verify_signed(token, typ=typ, settings=settings)
        _VERIFIED[cache_key] = claims
        if len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)
    _check_times(claims)
    return dict(claims)


def _verify_signed(token: str, *, typ: str, settings: Settings) -> dict[str, Any]:
    try:
        header = pyjwt.get_unverified_header(token)
    except pyjwt.PyJWTError as exc:
        raise TokenError("malformed") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("algorithm not allowed")
    if header.get("typ") != typ:
        raise TokenError("wrong token type")
    kid = header.get("kid")
    key = settings.jwt_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError("unknown key id")
    try:
        claims = pyjwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            # Time is checked below against the service's clock, not the process's.
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except pyjwt.InvalidAudienceError as exc:
        raise TokenError("wrong audience") from exc
    except pyjwt.InvalidIssuerError as exc:
        raise TokenError("wrong issuer") from exc
    except pyjwt.MissingRequiredClaimError as exc:
        raise TokenError(f"missing claim {exc.claim}") from exc
    except pyjwt.InvalidSignatureError as exc:
        raise TokenError("bad signature") from exc
    except pyjwt.PyJWTError as exc:
        raise TokenError("malformed") from exc
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise TokenError("malformed")
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("jti"), str):
        raise TokenError("malformed")
    return claims


def _check_times(claims: dict[str, Any]) -> None:
    now = clock.now().timestamp()
    if now >= claims["exp"]:
        raise TokenError("expired")
    # A little slack for clocks of other replicas; never more than a minute.
    if claims["iat"] > now + 60 or ("nbf" in claims and claims["nbf"] > now + 60):
        raise TokenError("not yet valid")
