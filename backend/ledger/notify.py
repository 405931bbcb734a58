"""Telling listeners that a wallet changed (after the change committed)."""

from __future__ import annotations

from backend.kit.pubsub import publish


def channel(owner_id: str) -> str:
    return f"wallet:{owner_id}"


async def wallet_changed(owner_id: str) -> None:
    await publish(channel(owner_id), owner_id)
