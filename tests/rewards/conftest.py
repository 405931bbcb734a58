"""A merchant with a manager and a cashier, another merchant's cashier, citizens with points, and
an active offer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from backend import verify
from backend.accounts import organisations
from backend.accounts.subjects import Subject, SubjectKind
from backend.kit import clock
from backend.kit.actor import Actor
from backend.ledger import service as ledger
from backend.rewards import service
from backend.rewards.models import Offer

AUTHORITY = Actor(kind="authority", id="00000000-0000-4000-8000-0000000000a1")


def member(merchant: str, role: str) -> Actor:
    return Actor(
        kind="member",
        id=str(uuid.uuid4()),
        organisation_id=merchant,
        organisation_kind="MERCHANT",
        roles=frozenset({role}),
    )


def citizen() -> Actor:
    return Actor(kind="citizen", id=str(uuid.uuid4()))


def wallet_of(actor: Actor) -> Subject:
    return Subject(SubjectKind.PERSON, actor.id or "")


async def fund(actor: Actor, points: int) -> None:
    await ledger.earn(
        owner=wallet_of(actor),
        amount=points,
        idempotency_key=f"fund-{uuid.uuid4()}",
        cause={"type": "test"},
    )


@dataclass
class Shop:
    merchant: str
    manager: Actor
    cashier: Actor
    other_cashier: Actor
    offer: Offer


async def make_offer(manager: Actor, **overrides) -> Offer:
    now = clock.now()
    values = {
        "title_zh": "环保袋",
        "title_en": "Tote bag",
        "description_zh": "一个环保袋",
        "description_en": "A tote bag",
        "image_url": None,
        "category": "goods",
        "price_points": 300,
        "total_stock": 5,
        "per_person_limit": 2,
        "redeem_from": now - timedelta(minutes=1),
        "redeem_until": now + timedelta(days=30),
        "voucher_valid_days": 7,
        "unused_policy": "REFUND",
        **overrides,
    }
    offer = await service.create_offer(actor=manager, values=values)
    return await service.set_offer_status(
        actor=manager, offer_id=str(offer.public_id), status="ACTIVE"
    )


@pytest.fixture
async def shop(settings) -> Shop:
    merchant = await organisations.register_organisation(
        actor=AUTHORITY, kind="MERCHANT", name="绿色小店"
    )
    other = await organisations.register_organisation(
        actor=AUTHORITY, kind="MERCHANT", name="Other shop"
    )
    manager = member(str(merchant.public_id), "manager")
    return Shop(
        str(merchant.public_id),
        manager,
        member(str(merchant.public_id), "cashier"),
        member(str(other.public_id), "cashier"),
        await make_offer(manager),
    )


@pytest.fixture(autouse=True)
async def ledger_reconciles(settings):
    yield
    assert await verify.verify_all() == []
