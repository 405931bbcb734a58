"""The crash-under-load harness (RELIABILITY.md 9; issue 12): clients send keyed requests to a real
server, which is killed with SIGKILL while they are under way, at a random moment or at a named
fault point (`crash_point`, TPH_CRASH_AT), and started again; each client retries with the same
key until it is answered.

FAULT_POINTS names, for every fault point in the code, the tests that kill a process there; a test
checks that the list and the code agree."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import bearer

FAULT_POINTS = {
    "behaviour.batch.before_commit": "tests/behaviour/test_ingestion_kill.py",
    "ledger.earn.before_commit": "tests/behaviour/test_ingestion_kill.py (SQLite's path)",
    "ledger.earn_many.before_commit": "tests/ledger/test_crash.py",
    "ledger.spend.before_commit": "tests/test_kill_under_load.py (points), tests/ledger/test_crash.py",
    "rewards.redeem.before_commit": "tests/test_kill_under_load.py (redemptions)",
    "market.order.before_commit": "tests/test_kill_under_load.py (orders in fen)",
    "market.callback.before_commit": "tests/test_kill_under_load.py (orders in fen)",
    "credits.retire.before_commit": "tests/test_kill_under_load.py (retirements)",
    "credits.transfer.before_commit": "tests/test_kill_under_load.py (transfers)",
    "credits.export.before_exchange": "tests/registry/test_export_crash.py",
    "credits.export.after_exchange": "tests/registry/test_export_crash.py",
}
RANDOM = "random"  # kill at a random moment instead of at a fault point

# (http client, the caller's token, the request's key) -> the answer, or None to try again
Request = Callable[[httpx.AsyncClient, str, str], Awaitable[str | None]]


def mutation(query: str, name: str, variables: Callable[[str], Any]) -> Request:
    """A GraphQL mutation whose input is `variables(key)`; its answer is the payload's id."""

    async def request(http: httpx.AsyncClient, token: str, key: str) -> str | None:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": {"i": variables(key)}},
            headers=bearer(token),
        )
        if response.status_code != 200:
            return None
        body = response.json()["data"][name]
        assert "id" in body, body
        return str(body["id"])

    return request


@dataclass
class Run:
    """A load of keyed requests against a server that is killed once mid-run."""

    factory: Any  # (extra env or None) -> a started LiveServer
    request: Request
    each: int  # requests per client, sent one after the other
    kill_at: str = RANDOM  # or a fault point's name: the first server dies when it is reached
    servers: list[Any] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    at_kill: list[int] = field(default_factory=list)

    async def send(self, token: str, key: str) -> str:
        while True:
            try:
                async with httpx.AsyncClient(base_url=self.servers[-1].url, timeout=10) as http:
                    answer = await self.request(http, token, key)
                if answer is not None:
                    return answer
            except httpx.HTTPError:
                pass  # the server is down: try again, with the same key
            await asyncio.sleep(0.05)

    async def go(self, clients: list[tuple[str, str]]) -> None:
        """`clients`: (name, token) pairs; a client's keys are `kill-<name[:8]>-<n>`."""
        at_point = self.kill_at != RANDOM
        self.servers.append(self.factory({"TPH_CRASH_AT": self.kill_at} if at_point else None))
        under_way = asyncio.Event()
        finished = asyncio.Event()

        async def client(name: str, token: str) -> None:
            for i in range(self.each):
                key = f"kill-{name[:8]}-{i:03d}"
                self.answers[key] = await self.send(token, key)
                if len(self.answers) >= 3:
                    under_way.set()

        async def killer() -> None:
            process = self.servers[-1].process
            assert process is not None
            if at_point:
                # the process kills itself when a request reaches the fault point
                died = asyncio.ensure_future(asyncio.to_thread(process.wait))
                done = asyncio.ensure_future(finished.wait())
                await asyncio.wait([died, done], return_when=asyncio.FIRST_COMPLETED)
                done.cancel()
                assert process.poll() == -9, f"{self.kill_at} was never reached"
            else:
                await under_way.wait()  # a random moment while the load is under way
                await asyncio.sleep(random.uniform(0.0, 0.3))
                process.kill()  # SIGKILL, mid-flight
                process.wait()
            self.at_kill.append(len(self.answers))
            self.servers.append(await asyncio.to_thread(self.factory))

        async def clients_then_finish() -> None:
            try:
                await asyncio.gather(*(client(n, t) for n, t in clients))
            finally:
                finished.set()

        await asyncio.gather(killer(), clients_then_finish())
        total = len(clients) * self.each
        assert len(self.answers) == total
        # the kill landed mid-run: at a fault point, before the first answer is possible too
        assert (0 if at_point else 1) <= self.at_kill[0] < total, self.at_kill
        # A replay after all that gives the same answer.
        key, answer = next(iter(self.answers.items()))
        token = next(t for n, t in clients if key.startswith(f"kill-{n[:8]}"))
        assert await self.send(token, key) == answer
