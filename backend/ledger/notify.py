"""Telling listeners that a wallet changed (after the change committed)."""

from __future__ import annotations

from backend.kit.pubsub import publish, publish_many


def channel(owner_id: str) -> str:
    return f"wallet:{owner_id}"


async def wallet_changed(owner_id: str) -> None:
    await publish(channel(owner_id), owner_id)


async def wallets_changed(owner_ids: list[str]) -> None:
    """A batch's wallets, in one round trip to Redis instead of one each."""
    await publish_many([(channel(owner_id), owner_id) for owner_id in owner_ids])
