"""Hypothesis state machines over the async services: the machine runs in a worker thread and
each step runs on the test's event loop, where the database pool lives."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test


def runner(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[Any]], Any]:
    """Wait, from the machine's thread, for an awaitable run on `loop`."""

    def run(awaitable: Awaitable[Any]) -> Any:
        async def wait() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout=60)

    return run


async def run_machine(
    build: Callable[[asyncio.AbstractEventLoop], type[RuleBasedStateMachine]],
    *,
    examples: int,
    steps: int,
) -> None:
    loop = asyncio.get_running_loop()
    config = hypothesis_settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    machine = build(loop)
    await loop.run_in_executor(None, lambda: run_state_machine_as_test(machine, settings=config))
