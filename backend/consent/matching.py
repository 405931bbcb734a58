"""Whether a reported behaviour record may be accepted (DESIGN.md, behaviour record).

A record is accepted when (a) its subject has an AUTHORISED grant to the platform for the record's
category at submission, and (b) the record's time lies in [authorised_at, expires_at) of a grant of
that subject to that platform for that category that was not withdrawn or revoked (so a renewal
keeps the previous window's records acceptable; a withdrawal ends acceptance at once). Meter data
must also name a meter account the grant covers.

Ingestion calls `judge` once per batch: two queries whatever the batch size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from backend.consent.models import DataGrant, GrantKind, GrantStatus, SubjectLink
from backend.kit import db

UNKNOWN_SUBJECT = "UNKNOWN_SUBJECT"
NOT_AUTHORISED = "NOT_AUTHORISED"
OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
# Why a subject does not authorise now: the latest grant that covered the record ended this way.
NO_GRANT = "NO_GRANT"
GRANT_WITHDRAWN = "GRANT_WITHDRAWN"
GRANT_REVOKED = "GRANT_REVOKED"
GRANT_EXPIRED = "GRANT_EXPIRED"


@dataclass(frozen=True)
class RecordClaim:
    subject_ref: str
    category: str
    occurred_at: datetime
    meter_account: str | None = None


@dataclass(frozen=True)
class Verdict:
    """`reason` is None when accepted; `subject_id` names the owner for the ledger. When the
    reason is NOT_AUTHORISED, `why` says how the last covering grant ended (or NO_GRANT)."""

    reason: str | None
    subject_id: str | None
    why: str | None = None


# What judging a record reads of a grant (plain rows: a batch reads a thousand).
GRANT_COLUMNS = (
    "id",
    "subject_id",
    "categories",
    "meter_accounts",
    "status",
    "authorised_at",
    "expires_at",
)


def _covers(grant: Any, claim: RecordClaim, check_meters: bool) -> bool:
    if claim.category not in grant.categories:
        return False
    if check_meters and (grant.meter_accounts or claim.category == "ELECTRICITY_METER"):
        return claim.meter_account is not None and claim.meter_account in grant.meter_accounts
    return True


async def judge(
    *, platform_pk: int, claims: list[RecordClaim], at: datetime, check_meters: bool = True
) -> list[Verdict]:
    """A verdict per claim, in order, as of submission time `at`."""
    refs = set()
    for claim in claims:
        try:
            refs.add(uuid.UUID(claim.subject_ref))
        except (ValueError, AttributeError, TypeError):
            continue
    links = await db.values_matching(
        SubjectLink,
        ("subject_ref", "subject_id"),
        equal={"platform_id": platform_pk},
        any_of=("subject_ref", list(refs)),
    )
    subject_of = {str(row["subject_ref"]): str(row["subject_id"]) for row in links}
    grants = await db.values_matching(
        DataGrant,
        GRANT_COLUMNS,
        equal={"platform_id": platform_pk, "kind": GrantKind.DATA},
        any_of=("subject_id", list({uuid.UUID(s) for s in subject_of.values()})),
    )
    by_subject: dict[str, list[Any]] = {}
    for row in grants:
        by_subject.setdefault(str(row["subject_id"]), []).append(SimpleNamespace(**row))
    verdicts = []
    for claim in claims:
        subject_id = subject_of.get(str(claim.subject_ref))
        if subject_id is None:
            verdicts.append(Verdict(UNKNOWN_SUBJECT, None))
            continue
        covering = [g for g in by_subject.get(subject_id, []) if _covers(g, claim, check_meters)]
        current = any(g.status == GrantStatus.AUTHORISED and g.expires_at > at for g in covering)
        if not current:
            verdicts.append(Verdict(NOT_AUTHORISED, subject_id, _why(covering)))
            continue
        # Windows of grants withdrawn or revoked never count again.
        inside = any(
            g.authorised_at <= claim.occurred_at < g.expires_at
            for g in covering
            if g.status in (GrantStatus.AUTHORISED, GrantStatus.EXPIRED)
        )
        verdicts.append(Verdict(None if inside else OUTSIDE_WINDOW, subject_id))
    return verdicts


def _why(covering: list[Any]) -> str:
    if not covering:
        return NO_GRANT
    latest = max(covering, key=lambda g: (g.authorised_at, g.id))
    if latest.status == GrantStatus.WITHDRAWN:
        return GRANT_WITHDRAWN
    if latest.status == GrantStatus.REVOKED:
        return GRANT_REVOKED
    return GRANT_EXPIRED


async def authorised_refs(
    *, platform_pk: int, subject_refs: list[str], category: str, at: datetime
) -> tuple[list[str], list[str]]:
    """(refs that authorise the platform for `category` now, refs not linked to the platform)."""
    claims = [RecordClaim(ref, category, at) for ref in subject_refs]
    # Which subjects authorise the category at all, whatever meter accounts their grants name.
    verdicts = await judge(platform_pk=platform_pk, claims=claims, at=at, check_meters=False)
    authorised = [c.subject_ref for c, v in zip(claims, verdicts, strict=True) if v.reason is None]
    unknown = [
        c.subject_ref for c, v in zip(claims, verdicts, strict=True) if v.reason == UNKNOWN_SUBJECT
    ]
    return authorised, unknown
