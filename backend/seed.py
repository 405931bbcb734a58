"""`tanpuhui seed-demo`: demonstration data from DESIGN.md's defaults.

Idempotent: running it twice creates nothing the second time. Domains add their seed steps here as
they arrive (scenarios, ratios, a demo platform and merchant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from backend.behaviour.seed import seed_demo_reporting
from backend.methodology.seed import seed_methodologies

SeedStep = Callable[[], Awaitable[int]]
STEPS: list[tuple[str, SeedStep]] = [
    ("scenarios", seed_methodologies),
    ("records accepted", seed_demo_reporting),
]


async def seed_demo() -> dict[str, int]:
    created: dict[str, int] = {}
    for name, step in STEPS:
        created[name] = await step()
    return created
