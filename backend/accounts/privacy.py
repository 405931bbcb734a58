"""A citizen's rights over their personal data (PIPL arts. 45 and 47; RELIABILITY.md 22).

Export: everything held about the person, as one JSON document.

Deletion, in one transaction: open vouchers are cancelled (their points come back first, so the
wallet stays whole), authorisations withdrawn, memberships ended and sessions revoked; the phone
number, second factor, meter numbers, notifications, link codes and leaderboard place are erased.
What remains is pseudonymous: the ledger, the registry and the audit log keep the person's random
public id, which nothing any longer ties to a phone number. Credits the person held stay in that
de-identified holding account, which the operator sees (`deidentifiedHoldings`). The same number
logging in again starts a new, empty account: a recycled number never reaches the old one.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.accounts.models import Membership, MembershipStatus, Person, Session
from backend.accounts.sessions import revoke_sessions
from backend.audit import service as audit
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind, require_person
from backend.kit.errors import InvalidInput, NotFound


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: _iso(v) if not isinstance(v, uuid.UUID) else str(v) for k, v in r.items()} for r in rows
    ]


async def export(actor: Actor) -> dict[str, Any]:
    """All the personal data held about the acting person."""
    from backend.accounts.subjects import Subject, SubjectKind
    from backend.behaviour.models import BehaviourRecord
    from backend.certificates.models import Certificate, FootprintClaim, LeaderboardEntry
    from backend.consent.models import DataGrant, GrantEvent, LinkRequest, Notification, SubjectLink
    from backend.credits.models import CreditBlock
    from backend.ledger import queries as wallet
    from backend.market.models import CreditOrder
    from backend.rewards.models import Voucher

    person_id = require_person(actor)
    person = await Person.get_or_none(public_id=person_id)
    if person is None:
        raise NotFound(what="person", what_zh="用户")
    grants = await DataGrant.filter(subject_id=person_id).values(
        "id",
        "public_id",
        "platform_id",
        "kind",
        "purpose",
        "categories",
        "meter_accounts",
        "status",
        "authorised_at",
        "expires_at",
        "ended_at",
        "end_reason",
        "notice_sha256",
    )
    grant_ids = [g.pop("id") for g in grants]
    summary = await wallet.summary(Subject(SubjectKind.PERSON, person_id))
    transactions = await db.fetch(
        "SELECT t.public_id, t.kind, t.created_at, SUM(p.amount) AS amount FROM ledger_transaction t"
        " JOIN ledger_posting p ON p.transaction_id = t.id"
        " WHERE t.owner_id = $1 AND p.owner_id = $1 GROUP BY t.public_id, t.kind, t.created_at"
        " ORDER BY t.created_at",
        uuid.UUID(person_id),
    )
    return {
        "exportedAt": clock.now().isoformat(),
        "person": {
            "id": person_id,
            "phone": person.phone,
            "createdAt": _iso(person.created_at),
            "lastLoginAt": _iso(person.last_login_at),
            "secondFactor": person.totp_confirmed_at is not None,
        },
        "memberships": _rows(
            await Membership.filter(person=person).values(
                "public_id",
                "organisation__public_id",
                "organisation__name",
                "role",
                "status",
                "created_at",
                "accepted_at",
            )
        ),
        "sessions": _rows(
            await Session.filter(person=person).values(
                "public_id", "created_at", "expires_at", "revoked_at", "revoked_reason"
            )
        ),
        "dataGrants": _rows(grants),
        "grantEvents": _rows(
            await GrantEvent.filter(grant_id__in=grant_ids).values(
                "grant_id", "event", "occurred_at", "reason"
            )
        )
        if grant_ids
        else [],
        "platformLinks": _rows(
            await SubjectLink.filter(subject_id=person_id).values("platform_id", "linked_at")
        ),
        "linkRequests": _rows(
            await LinkRequest.filter(phone=person.phone).values(
                "public_id", "platform_id", "status", "created_at", "decided_at"
            )
        ),
        "notifications": _rows(
            await Notification.filter(person_id=person_id).values(
                "public_id", "kind", "created_at", "read_at"
            )
        ),
        "behaviourRecords": _rows(
            await BehaviourRecord.filter(subject_id=person_id)
            .order_by("occurred_at")
            .values(
                "public_id",
                "platform_id",
                "event_id",
                "scenario_code",
                "quantity",
                "occurred_at",
                "meter_account",
                "grams",
                "points",
                "capped",
            )
        ),
        "wallet": {
            "balance": summary.balance,
            "held": summary.held,
            "transactions": _rows(transactions),
        },
        "vouchers": _rows(
            await Voucher.filter(owner_id=person_id).values(
                "public_id", "code", "points", "status", "created_at", "expires_at", "confirmed_at"
            )
        ),
        "creditBlocks": _rows(
            await CreditBlock.filter(holder_id=person_id).values(
                "public_id", "project_number", "vintage", "serial_start", "serial_end", "status"
            )
        ),
        "creditOrders": _rows(
            await CreditOrder.filter(buyer_id=person_id).values(
                "public_id", "quantity_kg", "currency", "amount", "status", "created_at", "paid_at"
            )
        ),
        "footprintClaims": _rows(
            await FootprintClaim.filter(owner_id=person_id).values(
                "public_id", "kind", "title", "items", "total_g", "total_kg", "status", "created_at"
            )
        ),
        "certificates": _rows(
            await Certificate.filter(holder_id=person_id).values(
                "number", "display_name", "total_kg", "issued_at", "status"
            )
        ),
        "leaderboard": _rows(
            await LeaderboardEntry.filter(person_id=person_id).values("alias", "opted_in_at")
        ),
    }


async def delete_account(*, actor: Actor, confirm_phone: str) -> Person:
    """Erase the acting person's personal data; see the module's description."""
    from backend.accounts.phones import normalise_phone
    from backend.behaviour.models import BehaviourRecord
    from backend.certificates import disclosure
    from backend.certificates.models import LeaderboardEntry
    from backend.consent import grants
    from backend.consent.models import DataGrant, GrantStatus, LinkCode, LinkRequest, Notification
    from backend.rewards import service as rewards
    from backend.rewards.models import Voucher, VoucherStatus

    person_id = require_person(actor)
    person = await Person.get_or_none(public_id=person_id, deleted_at__isnull=True)
    if person is None:
        raise NotFound(what="person", what_zh="用户")
    if normalise_phone(confirm_phone) != person.phone:
        raise InvalidInput(
            field="confirmPhone",
            reason="type your phone number to confirm",
            reason_zh="请输入本人手机号以确认注销",
        )
    now = clock.now()
    async with db.transaction():
        person = await Person.filter(id=person.id).select_for_update().get()
        for voucher in await Voucher.filter(owner_id=person_id, status=VoucherStatus.ISSUED):
            await rewards.cancel(
                actor=actor, voucher_id=str(voucher.public_id), subjects=[person_id]
            )
        for grant in await DataGrant.filter(subject_id=person_id, status=GrantStatus.AUTHORISED):
            await grants.withdraw(actor=actor, grant_id=str(grant.public_id))
        await DataGrant.filter(subject_id=person_id).update(meter_accounts=[])
        await BehaviourRecord.filter(subject_id=person_id).update(meter_account=None)
        await (
            Membership.filter(person=person)
            .exclude(status=MembershipStatus.REMOVED)
            .update(status=MembershipStatus.REMOVED)
        )
        await revoke_sessions(
            await Session.filter(person=person), reason="account_deleted", actor=actor
        )
        await Notification.filter(person_id=person_id).delete()
        await LinkCode.filter(subject_id=person_id).delete()
        await LinkRequest.filter(phone=person.phone).update(phone="deleted")
        entry = await LeaderboardEntry.get_or_none(person_id=person_id)
        if entry is not None:
            await LeaderboardEntry.filter(id=entry.id).delete()
        await Person.filter(id=person.id).update(
            phone=f"deleted-{person.id}",
            totp_secret=None,
            totp_confirmed_at=None,
            deleted_at=now,
        )
        await audit.record(
            actor=actor,
            action="accounts.deleted",
            object_type="person",
            object_id=person_id,
            details={"vouchers_cancelled": True, "grants_withdrawn": True},
        )

        async def forget_rank() -> None:
            if entry is not None:
                await disclosure.rebuild_leaderboard()

        db.after_commit(forget_rank)
    return await Person.get(id=person.id)


async def deidentified_holdings(actor: Actor) -> list[dict[str, Any]]:
    """The operator's view of credits held by deleted accounts (pseudonymous holders)."""
    require_kind(actor, "authority")
    rows = await db.fetch(
        "SELECT b.holder_id, b.status, SUM(b.serial_end - b.serial_start + 1) AS kg"
        " FROM credit_block b JOIN person p ON p.public_id = b.holder_id"
        " WHERE b.holder_kind = 'PERSON' AND p.deleted_at IS NOT NULL"
        " GROUP BY b.holder_id, b.status ORDER BY 1, 2"
    )
    return [
        {"holder": str(r["holder_id"]), "status": r["status"], "kg": int(r["kg"])} for r in rows
    ]
