"""Who is acting: the caller of a request or a job, as the service layer and the audit log see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """kind: anonymous | citizen | member | authority | verifier | platform | system.

    `id` is the public id of the acting person, platform or job; `organisation_id` the organisation a
    member acts for (its kind in `organisation_kind`); `roles` what that membership allows;
    `session_id` the login session of a person's token.
    """

    kind: str
    id: str | None = None
    organisation_id: str | None = None
    organisation_kind: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    # When the token that identified this actor expires (seconds since the epoch).
    token_expires_at: int | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def is_person(self) -> bool:
        return self.kind in ("citizen", "member", "authority", "verifier")

    @property
    def is_end_user(self) -> bool:
        """Callers whose apps may send only trusted documents in production."""
        return self.kind in ("anonymous", "citizen", "member")

    @property
    def audit_name(self) -> str:
        return f"{self.kind}:{self.id}" if self.id else self.kind


ANONYMOUS = Actor(kind="anonymous")


def system_actor(job: str) -> Actor:
    return Actor(kind="system", id=job)


def require_person(actor: Actor) -> str:
    """The acting person's public id; Unauthenticated or Forbidden otherwise."""
    from backend.kit.errors import Forbidden, Unauthenticated

    if actor.is_anonymous:
        raise Unauthenticated()
    if not actor.is_person or not actor.id:
        raise Forbidden()
    return actor.id


def require_kind(actor: Actor, *kinds: str) -> str:
    """The actor's id when it is one of `kinds` (authority, platform ...); else the error due."""
    from backend.kit.errors import Forbidden, Unauthenticated

    if actor.is_anonymous:
        raise Unauthenticated()
    if actor.kind not in kinds or not actor.id:
        raise Forbidden()
    return actor.id
