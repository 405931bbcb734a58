"""Data platforms' OAuth2 client credentials: a client id and a secret shown once, stored as
sha256 (the secret is 256 random bits, so a slow hash adds nothing), rotatable; exchanged at
`POST /oauth/token` for a short-lived access token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from backend.accounts.models import (
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    PlatformCredential,
)
from backend.accounts.organisations import require_authority
from backend.audit import service as audit
from backend.kit import clock, db, jwt
from backend.kit.actor import Actor
from backend.kit.errors import NotFound
from backend.kit.ids import parse_public_id
from backend.settings import Settings

PLATFORM_TOKEN_MINUTES = 10


@dataclass(frozen=True)
class IssuedCredential:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class PlatformToken:
    access_token: str
    expires_in: int


class ClientRejected(Exception):
    """OAuth2 `invalid_client` (wrong id or secret, revoked credential, suspended platform)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_credential(*, actor: Actor, platform_id: str) -> IssuedCredential:
    """A new client id and secret for a platform; any earlier credential stops working."""
    require_authority(actor)
    public_id = parse_public_id(platform_id)
    async with db.transaction():
        platform = (
            await Organisation.filter(public_id=public_id, kind=OrganisationKind.DATA_PLATFORM)
            .select_for_update()
            .first()
            if public_id
            else None
        )
        if platform is None:
            raise NotFound(what="data platform", what_zh="数据平台")
        now = clock.now()
        await PlatformCredential.filter(organisation=platform, revoked_at__isnull=True).update(
            revoked_at=now
        )
        client_id = f"tph_{secrets.token_hex(12)}"
        client_secret = secrets.token_urlsafe(32)
        await PlatformCredential.create(
            organisation=platform,
            client_id=client_id,
            secret_hash=_hash(client_secret),
            created_at=now,
        )
        await audit.record(
            actor=actor,
            action="platform.credential_issued",
            object_type="organisation",
            object_id=str(platform.public_id),
            details={"client_id": client_id},
        )
    return IssuedCredential(client_id=client_id, client_secret=client_secret)


async def exchange_client_credentials(
    *, client_id: str, client_secret: str, settings: Settings
) -> PlatformToken:
    if not (isinstance(client_id, str) and isinstance(client_secret, str)) or len(client_id) > 64:
        raise ClientRejected()
    credential = (
        await PlatformCredential.filter(client_id=client_id, revoked_at__isnull=True)
        .select_related("organisation")
        .first()
    )
    # Compare even when there is no such client, so timing does not tell which part was wrong.
    expected = credential.secret_hash if credential else _hash("no-such-client")
    if not hmac.compare_digest(expected, _hash(client_secret)) or credential is None:
        raise ClientRejected()
    if credential.organisation.status != OrganisationStatus.ACTIVE:
        raise ClientRejected()
    ttl = timedelta(minutes=PLATFORM_TOKEN_MINUTES)
    token, _ = jwt.issue(
        subject=str(credential.organisation.public_id),
        typ=jwt.ACCESS_TOKEN_TYPE,
        ttl=ttl,
        claims={"kind": "platform", "client_id": client_id},
        settings=settings,
    )
    return PlatformToken(access_token=token, expires_in=int(ttl.total_seconds()))


async def check_platform_token(*, platform_id: str, client_id: str) -> bool:
    """The credential is current and the platform active (one indexed query per request)."""
    return await PlatformCredential.filter(
        client_id=client_id,
        revoked_at__isnull=True,
        organisation__public_id=platform_id,
        organisation__status=OrganisationStatus.ACTIVE,
    ).exists()
