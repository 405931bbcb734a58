"""Phone login: one-time codes, sessions, access and refresh tokens (RELIABILITY.md 15-17).

Codes live in Redis (hashed, 5 minutes, single use, at most 5 attempts, a new code voids the old);
sessions and refresh tokens in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.accounts import sms
from backend.accounts.errors import (
    InvalidPhone,
    LoginCodeExhausted,
    LoginCodeExpired,
    LoginCodeUsed,
    LoginCodeWrong,
    RateLimited,
    RefreshTokenRejected,
    RefreshTokenReused,
)
from backend.accounts.models import Membership, Person, RefreshToken, Session
from backend.accounts.phones import normalise_phone, phone_prefix
from backend.accounts.sessions import revoke_sessions
from backend.audit import service as audit
from backend.kit import clock, db, jwt
from backend.kit.actor import Actor, system_actor
from backend.kit.ids import new_public_id
from backend.kit.redis import get_redis
from backend.settings import Settings

CODE_TTL_SECONDS = 300
MAX_ATTEMPTS = 5
# Issuance limits (SMS pumping): per number, per client address, per number block.
PER_NUMBER_MINUTE = 1
PER_NUMBER_DAY = 10
PER_IP_HOUR = 30
PER_PREFIX_HOUR = 60

_VERIFY = """
local hash = redis.call('HGET', KEYS[1], 'h')
if not hash then return 'expired' end
if redis.call('HGET', KEYS[1], 'used') == '1' then return 'used' end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[2]) then return 'exhausted' end
if hash == ARGV[1] then
  redis.call('HSET', KEYS[1], 'used', '1')
  return 'ok'
end
return 'wrong:' .. (tonumber(ARGV[2]) - attempts)
"""


@dataclass(frozen=True)
class CodeSent:
    expires_at: datetime
    resend_after_seconds: int


@dataclass(frozen=True)
class IssuedSession:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    person_id: str
    organisation_id: str | None


def _keyed(settings: Settings, value: str) -> str:
    return hmac.new(settings.pepper.encode(), value.encode(), hashlib.sha256).hexdigest()


def _code_key(settings: Settings, phone: str) -> str:
    return f"login:code:{_keyed(settings, phone)[:32]}"


def _parse_phone(raw: str) -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise InvalidPhone()
    return phone


async def _take(key: str, limit: int, window_seconds: int) -> int:
    """Count one use in a fixed window; returns seconds to wait when over `limit`, else 0."""
    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    return max(int(ttl), 1) if count > limit else 0


async def request_login_code(*, phone: str, client_ip: str, settings: Settings) -> CodeSent:
    """Send a 6-digit code. The answer is the same whether or not the number is registered."""
    number = _parse_phone(phone)
    who = _keyed(settings, number)[:32]
    day = clock.shanghai_date(clock.now())
    for key, limit, window in (
        (f"rl:code:min:{who}", PER_NUMBER_MINUTE, 60),
        (f"rl:code:day:{who}:{day}", PER_NUMBER_DAY, 86400),
        (f"rl:code:ip:{client_ip}", PER_IP_HOUR, 3600),
        (f"rl:code:prefix:{phone_prefix(number)}", PER_PREFIX_HOUR, 3600),
    ):
        wait = await _take(key, limit, window)
        if wait:
            raise RateLimited(retry_after_seconds=wait)
    code = f"{secrets.randbelow(10**6):06d}"
    key = _code_key(settings, number)
    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)  # a new code voids the old one
        pipe.hset(key, mapping={"h": _keyed(settings, f"{number}:{code}"), "attempts": 0})
        pipe.expire(key, CODE_TTL_SECONDS)
        await pipe.execute()
    await sms.get_sender(settings).send(
        phone=number, text=f"【碳普惠】您的登录验证码为 {code}，5 分钟内有效。请勿告诉他人。"
    )
    return CodeSent(
        expires_at=clock.now() + timedelta(seconds=CODE_TTL_SECONDS), resend_after_seconds=60
    )


async def _check_code(settings: Settings, number: str, code: str) -> None:
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        # Malformed codes still count as attempts, so they cannot be used to probe for free.
        code = "-" * 6
    outcome = await get_redis().eval(
        _VERIFY,
        1,
        _code_key(settings, number),
        _keyed(settings, f"{number}:{code}"),
        MAX_ATTEMPTS,
    )
    if outcome == "ok":
        return
    if outcome == "expired":
        raise LoginCodeExpired()
    if outcome == "used":
        raise LoginCodeUsed()
    if outcome == "exhausted":
        raise LoginCodeExhausted()
    raise LoginCodeWrong(attempts_left=int(str(outcome).split(":", 1)[1]))


def _hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue(
    *, session: Session, person: Person, membership: Membership | None, settings: Settings
) -> IssuedSession:
    """A new refresh token in `session` and an access token; inside the caller's transaction."""
    refresh_token = secrets.token_urlsafe(32)
    await RefreshToken.create(
        session=session, token_hash=_hash_refresh(refresh_token), issued_at=clock.now()
    )
    claims: dict[str, object] = {"sid": str(session.public_id), "kind": "person"}
    organisation_id = None
    if membership is not None:
        organisation = membership.organisation
        organisation_id = str(organisation.public_id)
        claims.update(org=organisation_id, okind=organisation.kind.value, role=membership.role)
    if session.second_factor:
        claims["amr"] = ["sms", "otp"]
    else:
        claims["amr"] = ["sms"]
    ttl = timedelta(minutes=settings.access_token_minutes)
    access_token, issued = jwt.issue(
        subject=str(person.public_id),
        typ=jwt.ACCESS_TOKEN_TYPE,
        ttl=ttl,
        claims=claims,
        settings=settings,
    )
    return IssuedSession(
        access_token=access_token,
        access_token_expires_at=datetime.fromtimestamp(issued["exp"], clock.now().tzinfo),
        refresh_token=refresh_token,
        refresh_token_expires_at=session.expires_at,
        person_id=str(person.public_id),
        organisation_id=organisation_id,
    )


async def start_session(
    *,
    person: Person,
    membership: Membership | None,
    second_factor: bool,
    settings: Settings,
) -> IssuedSession:
    """Open a session (one device) for `person`, optionally acting for `membership`."""
    now = clock.now()
    session = await Session.create(
        public_id=new_public_id(),
        person=person,
        membership=membership,
        second_factor=second_factor,
        created_at=now,
        expires_at=now + timedelta(days=settings.refresh_token_days),
    )
    return await _issue(session=session, person=person, membership=membership, settings=settings)


async def log_in(*, phone: str, code: str, settings: Settings) -> IssuedSession:
    """Exchange a login code for a session; the first login creates the citizen."""
    number = _parse_phone(phone)
    await _check_code(settings, number, code)
    async with db.transaction():
        person = await Person.get_or_none(phone=number)
        now = clock.now()
        if person is None:
            person = await Person.create(public_id=new_public_id(), phone=number, created_at=now)
            await audit.record(
                actor=Actor(kind="citizen", id=str(person.public_id)),
                action="person.registered",
                object_type="person",
                object_id=str(person.public_id),
            )
        person.last_login_at = now
        await person.save(update_fields=["last_login_at"])
        return await start_session(
            person=person, membership=None, second_factor=False, settings=settings
        )


async def refresh(*, refresh_token: str, settings: Settings) -> IssuedSession:
    """Rotate: the token is spent and a new one issued; a spent one revokes its whole session."""
    if not isinstance(refresh_token, str) or not 20 <= len(refresh_token) <= 100:
        raise RefreshTokenRejected()
    reused_session: Session | None = None
    async with db.transaction():
        token = (
            await RefreshToken.filter(token_hash=_hash_refresh(refresh_token))
            .select_related("session", "session__person", "session__membership__organisation")
            .first()
        )
        if token is None:
            raise RefreshTokenRejected()
        session = token.session
        now = clock.now()
        if session.revoked_at is not None or session.expires_at <= now:
            raise RefreshTokenRejected()
        # Spend it in one conditional statement: of two concurrent refreshes, one wins.
        spent = await RefreshToken.filter(id=token.id, used_at__isnull=True).update(used_at=now)
        if spent:
            membership = session.membership if session.membership_id else None  # type: ignore[attr-defined]
            return await _issue(
                session=session, person=session.person, membership=membership, settings=settings
            )
        reused_session = session
    # Reuse of a rotated token: somebody holds a copy. End the session everywhere, at once.
    await revoke_sessions(
        [reused_session],
        reason="refresh_token_reused",
        actor=system_actor("refresh-token-reuse"),
    )
    raise RefreshTokenReused()


async def log_out(*, actor: Actor, everywhere: bool) -> int:
    """End this session, or every session of the person; returns how many ended."""
    if everywhere:
        sessions = await Session.filter(
            person__public_id=actor.id, revoked_at__isnull=True
        ).select_related("person")
    else:
        sessions = await Session.filter(public_id=actor.session_id).select_related("person")
    return await revoke_sessions(sessions, reason="logout", actor=actor)
