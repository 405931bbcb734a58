"""Benchmarks of the foundation, each against its raw limit in the same run.

    make bench            (or: .venv/bin/python -m bench.run [--duration 10] [--runs 3])

1. HTTP: GraphQL `serverInfo` through the whole stack (middleware, trusted-document check, limits,
   metrics) against a bare Starlette endpoint answering the same JSON, and against one that also
   reads a row through asyncpg. wrk, 2 threads, 64 connections, one uvicorn worker each.
2. In process: one small query executed by the schema with and without the parse and validation
   caches (PERFORMANCE-NOTES.md 1).
3. Idempotency: claiming a key and storing the answer inside a transaction, per operation, against
   the bare INSERT it is built on.

Figures are medians of the runs; `make bench` then writes them into bench/RESULTS.md (bench.report).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUERY = '{"query":"{ serverInfo { version time } }"}'


UVICORN = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]


def server_env(pg_url: str, **extra: str) -> dict[str, str]:
    """The environment of the servers under test: the app (and the bare app) on `pg_url`."""
    return {
        **os.environ,
        "TPH_ENV": "dev",
        "DATABASE_URL": pg_url,
        "REDIS_URL": REDIS_URL,
        "TPH_LOG_LEVEL": "WARNING",
        "TPH_RUN_JOBS_IN_PROCESS": "0",
        # one load generator on one address: the budgets would throttle it, not measure it
        "TPH_COST_PER_MINUTE": "1000000000",
        "TPH_COST_PER_ADDRESS_MINUTE": "1000000000",
        "BENCH_PG_URL": pg_url,
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{cmd} did not start")


def wrk(
    url: str,
    duration: int,
    body: str = QUERY,
    token: str | None = None,
    connections: int = 64,
    failures: list[int] | None = None,
    medians: list[float] | None = None,
) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of POSTing `body` to `url` (a request not
    answered in 10 s counts as failed). Failed requests raise, or are added to `failures`; the
    p50 latency (ms) is added to `medians` when given."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            + (f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else "")
            + f"wrk.body = '{body}'\n"
        )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(label: str) -> float:
        found = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert found, out
        return float(found.group(1)) * units[found.group(2)]

    if medians is not None:
        medians.append(percentile("50"))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0)
    if failures is not None:
        failures.append(failed)
    elif failed:
        raise RuntimeError(f"{url}: {failed} failed requests")
    return rps, percentile("99")


def http_bench(
    pg_url: str, duration: int, runs: int, token: str, owner: str
) -> list[tuple[str, float, float]]:
    env = server_env(pg_url, BENCH_OWNER=owner)
    uvicorn = UVICORN
    app_port, bare_port = free_port(), free_port()
    app = start(
        [*uvicorn, "backend.app:create_app", "--factory", "--port", str(app_port)], env, app_port
    )
    bare = start([*uvicorn, "bench.bare_app:app", "--port", str(bare_port)], env, bare_port)
    wallet_query = '{"query":"{ wallet { balance held expiringWithin30Days } }"}'
    targets = [
        ("bare Starlette, static JSON", f"http://127.0.0.1:{bare_port}/hello", QUERY, None),
        ("bare Starlette, one asyncpg row", f"http://127.0.0.1:{bare_port}/row", QUERY, None),
        ("GraphQL serverInfo (whole stack)", f"http://127.0.0.1:{app_port}/graphql", QUERY, None),
        ("bare Starlette, the wallet row", f"http://127.0.0.1:{bare_port}/wallet", QUERY, None),
        (
            "GraphQL wallet (signed in, whole stack)",
            f"http://127.0.0.1:{app_port}/graphql",
            wallet_query,
            token,
        ),
    ]
    try:
        for _, url, body, bearer in targets:
            wrk(url, 2, body, bearer)  # warm-up
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in targets}
        for _ in range(runs):
            for name, url, body, bearer in targets:  # interleaved, so drift hits all alike
                results[name].append(wrk(url, duration, body, bearer))
    finally:
        app.terminate()
        bare.terminate()
        app.wait(10)
        bare.wait(10)
    return [
        (name, statistics.median(r for r, _ in values), statistics.median(p for _, p in values))
        for name, values in results.items()
    ]


def cache_bench(runs: int) -> list[tuple[str, float]]:
    from backend.api import extensions
    from backend.api.schema import build_schema
    from backend.settings import load_settings
    from tests.conftest import make_context

    settings = load_settings({"TPH_ENV": "dev"})
    schema = build_schema(settings)
    query = "{ serverInfo { version time businessTimeZone environment } }"
    context = make_context(settings)

    async def per_op(cached: bool, n: int = 3000) -> float:
        for _ in range(200):
            await schema.execute(query, context_value=context)
        started = time.perf_counter()
        for _ in range(n):
            if not cached:  # every document new to the caches
                extensions._parse.cache_clear()
                extensions._validate.cache_clear()
            await schema.execute(query, context_value=context)
        return (time.perf_counter() - started) / n * 1e6

    return [
        (
            "with parse+validation caches",
            statistics.median(asyncio.run(per_op(True)) for _ in range(runs)),
        ),
        (
            "without (caches cleared before each)",
            statistics.median(asyncio.run(per_op(False)) for _ in range(runs)),
        ),
    ]


async def idempotency_bench(pg_url: str, n: int = 2000) -> list[tuple[str, float]]:
    from backend.kit import db, idempotency
    from backend.settings import load_settings

    settings = load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url})
    await db.init_db(settings)
    try:

        async def work() -> dict:
            return {"ok": True}

        started = time.perf_counter()
        for i in range(n):
            async with db.transaction():
                await idempotency.run_once(
                    owner="bench",
                    key=f"bench-key-{i:08d}",
                    operation="bench",
                    request={"i": i},
                    work=work,
                    dump=lambda r: r,
                    load=lambda r: r,
                )
        claimed = (time.perf_counter() - started) / n * 1e6
        started = time.perf_counter()
        for i in range(n):
            async with db.transaction():
                await idempotency.run_once(
                    owner="bench",
                    key=f"bench-key-{i:08d}",
                    operation="bench",
                    request={"i": i},
                    work=work,
                    dump=lambda r: r,
                    load=lambda r: r,
                )
        replayed = (time.perf_counter() - started) / n * 1e6
    finally:
        await db.close_db()
    raw_conn = await asyncpg.connect(pg_url)
    try:
        started = time.perf_counter()
        for i in range(n):
            async with raw_conn.transaction():
                await raw_conn.execute(
                    "INSERT INTO idempotency_key (owner, key, operation, request_hash, created_at,"
                    " expires_at) VALUES ($1, $2, 'bench', 'h', now(), now()) ON CONFLICT DO NOTHING",
                    "raw",
                    f"raw-{i}",
                )
        raw = (time.perf_counter() - started) / n * 1e6
    finally:
        await raw_conn.close()
    return [
        ("claim + work + store answer (tortoise, 1 txn each)", claimed),
        ("replay (stored answer returned)", replayed),
        ("raw asyncpg INSERT ... ON CONFLICT, 1 txn each", raw),
    ]


async def make_database() -> str:
    name = f"tph_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    pg_url = asyncio.run(make_database())
    try:
        from backend.kit import db
        from backend.settings import load_settings

        asyncio.run(db.migrate(load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url})))
        from bench import ledger

        token, owner = asyncio.run(ledger.wallet_owner(pg_url))
        lines = [
            "### HTTP (wrk -t2 -c64, one uvicorn worker each, medians)",
            "",
            "| target | req/s | p99 ms | vs static bare |",
            "|---|---:|---:|---:|",
        ]
        http = http_bench(pg_url, args.duration, args.runs, token, owner)
        base = http[0][1]
        lines += [f"| {n} | {r:,.0f} | {p:.1f} | {r / base:.0%} |" for n, r, p in http]
        by_name = {n: (r, p) for n, r, p in http}
        bare_wallet = by_name["bare Starlette, the wallet row"]
        graphql_wallet = by_name["GraphQL wallet (signed in, whole stack)"]
        lines += [
            "",
            "Wallet query against the bare endpoint reading the same row: "
            f"{graphql_wallet[0] / bare_wallet[0]:.2f}x the requests per second (target >= 0.4x), "
            f"p99 {graphql_wallet[1] / bare_wallet[1]:.2f}x (target <= 1.5x).",
        ]
        lines += [
            "",
            "### Ledger postings (PostgreSQL, through the service)",
            "",
            "| how | earnings/s |",
            "|---|---:|",
        ]
        lines += [f"| {n} | {v:,.0f} |" for n, v in asyncio.run(ledger.posting_throughput(pg_url))]
        lines += [
            "",
            "### The zero-sum constraint trigger (median of 5 commits)",
            "",
            "| transaction | ms |",
            "|---|---:|",
        ]
        lines += [f"| {n} | {v:,.1f} |" for n, v in asyncio.run(ledger.trigger_cost(pg_url))]
        lines += [
            "",
            "### GraphQL execution in process (µs per operation, medians)",
            "",
            "| schema | µs/op |",
            "|---|---:|",
        ]
        lines += [f"| {n} | {v:,.0f} |" for n, v in cache_bench(args.runs)]
        lines += [
            "",
            "### Idempotency keys on PostgreSQL (µs per operation, sequential)",
            "",
            "| operation | µs/op |",
            "|---|---:|",
        ]
        lines += [f"| {n} | {v:,.0f} |" for n, v in asyncio.run(idempotency_bench(pg_url))]
    finally:
        asyncio.run(drop_database(pg_url))
    publish("latest", "\n".join(lines) + "\n")
    return 0


def publish(name: str, report: str) -> None:
    """Print a workload's report and keep it as bench/out/<name>.md, where bench.report finds
    it to write bench/RESULTS.md."""
    print(report)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text(report)


if __name__ == "__main__":
    sys.exit(main())
