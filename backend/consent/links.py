"""Subject references: a platform knows a subject only by a random id, different per platform,
learnt through a link the subject approves in our app (a one-time code, or a platform's request)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.accounts import queries as accounts
from backend.accounts.phones import normalise_phone
from backend.audit import service as audit
from backend.consent.errors import LinkCodeRejected, PlatformUnavailable
from backend.consent.grants import Subject
from backend.consent.models import LinkCode, LinkRequest, SubjectKind, SubjectLink
from backend.kit import clock, db
from backend.kit.actor import Actor, require_kind, require_person
from backend.kit.errors import InvalidInput, NotFound, Unauthenticated
from backend.kit.ids import new_public_id, parse_public_id
from backend.settings import get_settings

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)
REQUEST_TTL = timedelta(days=7)


@dataclass(frozen=True)
class IssuedLinkCode:
    code: str
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(f"{get_settings().pepper}:{code}".encode()).hexdigest()


async def _platform_pk(platform_public_id: str) -> int:
    platform = await accounts.data_platform(platform_public_id)
    if platform is None or not platform[2]:
        raise PlatformUnavailable()
    return platform[0]


async def issue_link_code(*, actor: Actor, subject: Subject, platform_id: str) -> IssuedLinkCode:
    """A code our app shows; the subject types it in at the platform within 10 minutes."""
    platform_pk = await _platform_pk(platform_id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = clock.now()
    async with db.transaction():
        await LinkCode.create(
            code_hash=_hash(code),
            subject_kind=subject.kind,
            subject_id=subject.id,
            platform_id=platform_pk,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    return IssuedLinkCode(code=code, expires_at=now + CODE_TTL)


async def _link(subject_kind: SubjectKind, subject_id: str, platform_pk: int, actor: Actor) -> str:
    """The subject reference of the pair, made on first link (inside the caller's transaction)."""
    existing = await SubjectLink.get_or_none(platform_id=platform_pk, subject_id=subject_id)
    if existing is not None:
        return str(existing.subject_ref)
    link = await SubjectLink.create(
        subject_kind=subject_kind,
        subject_id=subject_id,
        platform_id=platform_pk,
        subject_ref=uuid.uuid4(),
        linked_at=clock.now(),
    )
    await audit.record(
        actor=actor,
        action="subject.linked",
        object_type="subject",
        object_id=str(subject_id),
        details={"platform": platform_pk},
    )
    return str(link.subject_ref)


async def link_with_code(*, actor: Actor, code: str) -> str:
    """The platform redeems a code the subject gave it; returns the subject reference."""
    platform_public_id = require_kind(actor, "platform")
    platform_pk = await _platform_pk(platform_public_id)
    normalised = (
        code.strip().upper().replace("-", "").replace(" ", "") if isinstance(code, str) else ""
    )
    if len(normalised) != CODE_LENGTH:
        raise LinkCodeRejected()
    now = clock.now()
    async with db.transaction():
        record = await LinkCode.get_or_none(code_hash=_hash(normalised))
        if record is None or record.platform_id != platform_pk or record.expires_at <= now:
            raise LinkCodeRejected()
        spent = await LinkCode.filter(id=record.id, used_at__isnull=True).update(used_at=now)
        if not spent:
            raise LinkCodeRejected()
        return await _link(record.subject_kind, str(record.subject_id), platform_pk, actor)


async def request_link(*, actor: Actor, phone: str) -> LinkRequest:
    """A platform asks to link a person by a number it knows; the answer never tells whether
    the number is registered with us."""
    platform_public_id = require_kind(actor, "platform")
    platform_pk = await _platform_pk(platform_public_id)
    number = normalise_phone(phone)
    if number is None:
        raise InvalidInput(
            field="phone",
            reason="not a mainland China mobile number",
            reason_zh="不是有效的手机号码",
        )
    now = clock.now()
    async with db.transaction():
        return await LinkRequest.create(
            public_id=new_public_id(),
            platform_id=platform_pk,
            phone=number,
            status="PENDING",
            created_at=now,
            expires_at=now + REQUEST_TTL,
        )


async def link_request_for_platform(*, actor: Actor, request_id: str) -> LinkRequest:
    platform_pk = await _platform_pk(require_kind(actor, "platform"))
    public_id = parse_public_id(request_id)
    request = (
        await LinkRequest.get_or_none(public_id=public_id, platform_id=platform_pk)
        if public_id
        else None
    )
    if request is None:
        raise NotFound(what="link request", what_zh="绑定请求")
    if request.status == "PENDING" and request.expires_at <= clock.now():
        request.status = "EXPIRED"
    return request


async def pending_link_requests(*, actor: Actor) -> list[tuple[LinkRequest, str]]:
    """Open requests addressed to the person's number, with the platform's name."""
    phone = await _phone_of(actor)
    requests = await LinkRequest.filter(
        phone=phone, status="PENDING", expires_at__gt=clock.now()
    ).order_by("-created_at")
    names = await accounts.platform_public_ids([r.platform_id for r in requests])
    return [(r, names.get(r.platform_id, ("", ""))[1]) for r in requests]


async def _phone_of(actor: Actor) -> str:
    phone = await accounts.phone_of(person_id=require_person(actor))
    if phone is None:
        raise Unauthenticated()
    return phone


async def decide_link_request(*, actor: Actor, request_id: str, approve: bool) -> LinkRequest:
    phone = await _phone_of(actor)
    public_id = parse_public_id(request_id)
    now = clock.now()
    async with db.transaction():
        request = (
            await LinkRequest.get_or_none(public_id=public_id, phone=phone) if public_id else None
        )
        if request is None or request.status != "PENDING" or request.expires_at <= now:
            raise NotFound(what="link request", what_zh="绑定请求")
        status = "APPROVED" if approve else "DECLINED"
        changed = await LinkRequest.filter(id=request.id, status="PENDING").update(
            status=status, decided_at=now
        )
        if not changed:
            raise NotFound(what="link request", what_zh="绑定请求")
        request.status, request.decided_at = status, now
        if approve:
            ref = await _link(SubjectKind.PERSON, actor.id or "", request.platform_id, actor)
            request.subject_ref = uuid.UUID(ref)
            await LinkRequest.filter(id=request.id).update(subject_ref=request.subject_ref)
    return request


async def subject_refs_of(*, actor: Actor) -> dict[int, str]:
    """Platform row id -> the subject reference it knows the person by (for the app's list)."""
    if not actor.is_person:
        return {}
    links = await SubjectLink.filter(subject_id=actor.id).values("platform_id", "subject_ref")
    return {row["platform_id"]: str(row["subject_ref"]) for row in links}


async def subject_kind(subject_id: str) -> str:
    """PERSON, HOUSEHOLD or BUSINESS: the kind of a linked subject (PERSON when never linked)."""
    link = await SubjectLink.filter(subject_id=subject_id).first().values("subject_kind")
    return str(link["subject_kind"]) if link else "PERSON"


async def subject_kinds(subject_ids: list[str]) -> dict[str, str]:
    """Subject id -> PERSON, HOUSEHOLD or BUSINESS, for many at once."""
    rows = await SubjectLink.filter(subject_id__in=subject_ids).values("subject_id", "subject_kind")
    return {str(r["subject_id"]): str(r["subject_kind"]) for r in rows}
