"""Who is calling: the bearer token of a request, verified and checked against current state.

A person's token is refused once its session is revoked; a member's once the membership or the
organisation is no longer active; a platform's once its credential is rotated or it is suspended.
"""

from __future__ import annotations

from backend.accounts.platforms import check_platform_token
from backend.accounts.queries import active_role
from backend.accounts.sessions import is_session_active
from backend.kit import jwt
from backend.kit.actor import ANONYMOUS, Actor
from backend.kit.errors import Unauthenticated
from backend.settings import Settings

_KIND_OF_ORGANISATION = {"AUTHORITY": "authority", "VERIFIER": "verifier"}


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


async def authenticate(authorization: str | None, settings: Settings) -> Actor:
    token = bearer_token(authorization)
    if token is None:
        return ANONYMOUS
    try:
        claims = jwt.verify(token, typ=jwt.ACCESS_TOKEN_TYPE, settings=settings)
    except jwt.TokenError as exc:
        raise Unauthenticated(f"The access token is refused: {exc.reason}.") from exc
    kind = claims.get("kind")
    subject = claims["sub"]
    if kind == "platform":
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or not await check_platform_token(
            platform_id=subject, client_id=client_id
        ):
            raise Unauthenticated("The platform's credential or status no longer allows access.")
        return Actor(
            kind="platform", id=subject, organisation_id=subject, organisation_kind="DATA_PLATFORM"
        )
    if kind != "person":
        raise Unauthenticated("The access token is refused: unknown subject kind.")
    session_id = claims.get("sid")
    if not isinstance(session_id, str) or not await is_session_active(session_id):
        raise Unauthenticated("The session has ended; sign in again.")
    organisation_id = claims.get("org")
    if organisation_id is None:
        return Actor(
            kind="citizen", id=subject, session_id=session_id, token_expires_at=claims["exp"]
        )
    organisation_kind = claims.get("okind")
    actor_kind = _KIND_OF_ORGANISATION.get(str(organisation_kind), "member")
    if actor_kind != "member" and "otp" not in (claims.get("amr") or []):
        raise Unauthenticated("The access token is refused: a second factor is required.")
    membership = await active_role(person_id=subject, organisation_id=organisation_id)
    if membership is None:
        raise Unauthenticated("The membership or organisation no longer allows access.")
    return Actor(
        kind=actor_kind,
        id=subject,
        organisation_id=organisation_id,
        organisation_kind=str(organisation_kind),
        roles=frozenset({membership[1]}),
        session_id=session_id,
        token_expires_at=claims["exp"],
    )


async def still_valid(actor: Actor) -> None:
    """For long-lived connections: Unauthenticated once the token has expired, the session was
    revoked, the membership ended or the platform was suspended."""
    from backend.kit import clock

    if actor.is_anonymous:
        return
    if actor.token_expires_at is not None and clock.now().timestamp() >= actor.token_expires_at:
        raise Unauthenticated("The access token has expired.")
    if actor.session_id is not None and not await is_session_active(actor.session_id):
        raise Unauthenticated("The session has ended; sign in again.")
    if actor.kind == "platform" and actor.id:
        from backend.accounts.queries import data_platform

        platform = await data_platform(actor.id)
        if platform is None or not platform[2]:
            raise Unauthenticated("The platform is suspended.")
    elif actor.organisation_id and actor.id:
        if await active_role(person_id=actor.id, organisation_id=actor.organisation_id) is None:
            raise Unauthenticated("The membership or organisation no longer allows access.")
