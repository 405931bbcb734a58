"""Who is acting: the caller of a request or a job, as the service layer and the audit log see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """kind: anonymous | citizen | member | platform | authority | system.

    `id` is the public id of the acting person, platform or job; `organisation_id` the organisation a
    member acts for; `roles` what that membership allows.
    """

    kind: str
    id: str | None = None
    organisation_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

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
