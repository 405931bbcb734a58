"""Live updates for subscriptions: messages of a Redis channel, while the caller stays valid."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from backend.accounts.authn import still_valid
from backend.kit.actor import Actor
from backend.kit.pubsub import broker

# A long-lived subscription re-checks its caller at least this often.
RECHECK_SECONDS = 30.0


async def changes(actor: Actor, channel: str) -> AsyncIterator[str]:
    """Each message of `channel` (bursts folded into one); ends with Unauthenticated once the
    token expires or the session, membership or platform is no longer valid."""
    async with broker().listen(channel) as queue:
        yield ""  # subscribed: the caller sends its first snapshot now, and misses nothing after
        while True:
            wait = RECHECK_SECONDS
            if actor.token_expires_at is not None:
                wait = max(0.0, min(wait, actor.token_expires_at - time.time()))
            message: str | None
            try:
                message = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                message = None
            await still_valid(actor)
            if message is not None:
                while not queue.empty():
                    message = queue.get_nowait()
                yield message
