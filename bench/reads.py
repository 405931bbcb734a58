"""Reads against their raw limit, by connections and by data size (issue 13).

    .venv/bin/python -m bench.reads [--duration 5] [--connections 16,64,256] [--sizes 10000,100000,1000000] [--soak 600]

The wallet, its history page (20 entries) and the offer catalogue page (20 offers), each through
the whole GraphQL stack (signed in for the wallet) and through a bare Starlette endpoint reading
the same rows with asyncpg (bench/bare_app.py): one uvicorn worker each, wrk with 2 threads, at
each number of connections. The ledger tables then grow (other people's rows, bench/fill.py) to
each size, counted in postings, and everything is measured again: a per-request cost that stays
flat as the tables grow is the target, and so is every read at 0.5x its bare endpoint or better.
The app's peak resident memory (VmHWM) is read after each size. `--soak 600` then runs the three
reads in turn for ten minutes and reads the resident memory after each minute: it should not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import asyncpg
import httpx

from bench.fill import OWNER_SQL, fill
from bench.run import (
    UVICORN,
    drop_database,
    free_port,
    make_database,
    publish,
    server_env,
    start,
    wrk,
)

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = {
    "wallet": ("/wallet", '{"query":"{ wallet { balance held expiringWithin30Days } }"}'),
    "history page": (
        "/history",
        '{"query":"{ wallet { history(first: 20) { edges { node { id kind amount occurredAt } } } } }"}',
    ),
    "catalogue page": (
        "/catalogue",
        '{"query":"{ offers(first: 20) { edges { node { id titleZh pricePoints stockLeft } } } }"}',
    ),
}


async def grow(pg_url: str, start_at: int, postings: int) -> None:
    """Other people's ledger rows: `postings` postings, half as many transactions and lots, and
    an account for every 20 postings, spread over many owners. The new postings and lots belong
    to the new accounts and transactions only (the newest ids), so the service's own accounts
    and transactions keep their balances and sums."""
    connection = await asyncpg.connect(pg_url)
    try:
        owners = max(postings // 20, 1)
        transactions = max(postings // 2, 1)
        await fill(
            connection,
            "ledger_account",
            owners,
            {"owner_id": "gen_random_uuid()", "kind": "'PERSON'"},
            start=start_at,
        )
        await fill(
            connection,
            "ledger_transaction",
            transactions,
            {
                "owner_id": OWNER_SQL.format(count=owners),
                "kind": "'EARN'",
                "created_at": "now() - (g % 100000) * interval '1 minute'",
            },
            start=start_at,
        )
        newest_account = f"(SELECT max(id) FROM ledger_account) - (g % {owners})"
        await fill(
            connection,
            "ledger_posting",
            postings,
            {
                "owner_id": OWNER_SQL.format(count=owners),
                "account_id": newest_account,
                "transaction_id": f"(SELECT max(id) FROM ledger_transaction) - (g / 2 % {transactions})",
            },
            start=start_at,
        )
        await fill(
            connection,
            "ledger_lot",
            postings // 2,
            {
                "owner_id": OWNER_SQL.format(count=owners),
                "account_id": newest_account,
                "earn_transaction_id": f"(SELECT max(id) FROM ledger_transaction) - (g % {transactions})",
                "amount": "10",
                "remaining": "10",
                "expires_at": "now() + (g % 700) * interval '1 day'",
            },
            start=start_at,
        )
    finally:
        await connection.close()


async def offers(pg_url: str, count: int = 500) -> None:
    connection = await asyncpg.connect(pg_url)
    try:
        await fill(
            connection,
            "reward_offer",
            count,
            {
                "status": "CASE WHEN g % 2 = 0 THEN 'ACTIVE' ELSE 'ENDED' END",
                "unused_policy": "'REFUND'",
                "redeem_from": "now() - interval '1 day'",
                "redeem_until": "now() + interval '30 days'",
                "created_at": "now() - g * interval '1 minute'",
            },
        )
    finally:
        await connection.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The resident memory now (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        help="then this many seconds of the three reads in turn (a minute each, 64 connections),"
        " with the worker's resident memory after each minute",
    )
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from backend.kit import db
    from backend.settings import load_settings
    from bench import ledger

    pg_url = asyncio.run(make_database())
    lines: list[str] = []
    try:
        asyncio.run(db.migrate(load_settings({"TPH_ENV": "dev", "DATABASE_URL": pg_url})))
        token, owner = asyncio.run(ledger.wallet_owner(pg_url))
        asyncio.run(offers(pg_url))
        env = server_env(pg_url, BENCH_OWNER=owner)
        uvicorn = UVICORN
        app_port, bare_port = free_port(), free_port()
        app = start(
            [*uvicorn, "backend.app:create_app", "--factory", "--port", str(app_port)],
            env,
            app_port,
        )
        bare = start([*uvicorn, "bench.bare_app:app", "--port", str(bare_port)], env, bare_port)
        # the same app with compiled plans switched off: every query through strawberry's executor
        executor_port = free_port()
        executor = start(
            [*uvicorn, "backend.app:create_app", "--factory", "--port", str(executor_port)],
            {**env, "TPH_COMPILED_QUERIES": "0"},
            executor_port,
        )
        app_url, bare_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        executor_url = f"http://127.0.0.1:{executor_port}"
        try:
            for _, body in WORKLOADS.values():  # each query works, and the same on both
                answer = httpx.post(
                    f"{app_url}/graphql",
                    content=body,
                    headers={
                        "authorization": f"Bearer {token}",
                        "content-type": "application/json",
                    },
                ).json()
                assert "errors" not in answer and answer["data"], answer
            plans: list[tuple[str, float, float, float, float, float, float]] = []
            for name, (path, body) in WORKLOADS.items():
                measured: list[float] = []
                for url, pid in (
                    (f"{bare_url}{path}", bare.pid),
                    (f"{app_url}/graphql", app.pid),
                    (f"{executor_url}/graphql", executor.pid),
                ):
                    wrk(url, 1, body, token, 64, [])  # warm-up
                    before = cpu_seconds(pid)
                    rps, _ = wrk(url, args.duration, body, token, 64, [])
                    measured += [rps, (cpu_seconds(pid) - before) * 1000 / (rps * args.duration)]
                plans.append((name, *measured))  # type: ignore[arg-type]
            executor.terminate()
            executor.wait(10)
            filled = 0
            rows: list[
                tuple[int, str, int, float, float, float, float, float, float, int, int]
            ] = []
            memory: list[tuple[int, float]] = []
            for size in sizes:
                asyncio.run(grow(pg_url, filled + 1, size - filled))
                filled = size
                for name, (path, body) in WORKLOADS.items():
                    for conns in connections:
                        wrk(f"{bare_url}{path}", 1, body, None, conns, [])  # warm-up
                        wrk(f"{app_url}/graphql", 1, body, token, conns, [])
                        failed: list[int] = []
                        p50: list[float] = []
                        bare_rps, bare_p99 = wrk(
                            f"{bare_url}{path}", args.duration, body, None, conns, failed, p50
                        )
                        app_rps, app_p99 = wrk(
                            f"{app_url}/graphql", args.duration, body, token, conns, failed, p50
                        )
                        rows.append(
                            (size, name, conns, bare_rps, app_rps, *p50, bare_p99, app_p99, *failed)
                        )
                memory.append((size, peak_rss_mb(app.pid)))
            soak: list[tuple[int, str, float, float, int]] = []
            names = list(WORKLOADS)
            for minute in range(args.soak // 60):
                name = names[minute % len(names)]
                if minute % 10 == 0:  # access tokens last 15 minutes
                    token = asyncio.run(ledger.new_token(pg_url, owner))
                failed: list[int] = []
                rps, _ = wrk(f"{app_url}/graphql", 60, WORKLOADS[name][1], token, 64, failed)
                soak.append((minute + 1, name, rps, rss_mb(app.pid), sum(failed)))
        finally:
            if executor.poll() is None:
                executor.terminate()
                executor.wait(10)
            app.terminate()
            bare.terminate()
            app.wait(10)
            bare.wait(10)
    finally:
        asyncio.run(drop_database(pg_url))
    lines += [
        "### Compiled plans against strawberry's executor (64 connections, before the tables grow)",
        "",
        "The same app with `TPH_COMPILED_QUERIES=0` runs every query through strawberry and"
        " graphql-core. CPU ms per request is the server process's user and system time over"
        " the requests it answered.",
        "",
        "| read | bare req/s | compiled req/s | executor req/s | CPU ms/request (bare / compiled / executor) | compiled vs bare |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {n} | {b:,.0f} | {c:,.0f} | {e:,.0f} | {bc:.2f} / {cc:.2f} / {ec:.2f} | {c / b:.2f}x |"
        for n, b, bc, c, cc, e, ec in plans
    ]
    lines += [
        "",
        "### Reads by connections and data size (wrk -t2, one uvicorn worker each, "
        f"{args.duration} s a run)",
        "",
        "| ledger postings | read | connections | bare req/s | GraphQL req/s | ratio (target >= 0.5x) | p50 ms (bare / GraphQL) | p99 ms (bare / GraphQL) | failed (bare / GraphQL) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s:,} | {n} | {c} | {b:,.0f} | {a:,.0f} | {a / b:.2f}x | {bm:.1f} / {am:.1f} | {bp:.1f} / {ap:.1f} | {fb} / {fa} |"
        for s, n, c, b, a, bm, am, bp, ap, fb, fa in rows
    ]
    lines += [
        "",
        "Per-request cost as the ledger grows (GraphQL req/s at 64 connections, against the smallest size):",
        "",
        "| read | " + " | ".join(f"{s:,}" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in WORKLOADS:
        at = {s: a for s, n, c, _, a, *_ in rows if n == name and c == 64}
        if at:
            first = at[sizes[0]]
            lines.append(
                f"| {name} | "
                + " | ".join(f"{at[s]:,.0f} ({at[s] / first:.2f})" for s in sizes)
                + " |"
            )
    lines += [
        "",
        "Peak resident memory of the app's worker (VmHWM) after each size: "
        + ", ".join(f"{s:,} postings: {m:.0f} MB" for s, m in memory)
        + " (target <= 300 MB).",
    ]
    if soak:
        lines += [
            "",
            f"### Soak: {len(soak)} minutes of the three reads in turn, 64 connections",
            "",
            "| minute | read | GraphQL req/s | failed | resident MB after it |",
            "|---:|---|---:|---:|---:|",
        ]
        lines += [f"| {m} | {n} | {r:,.0f} | {f} | {mb:.0f} |" for m, n, r, mb, f in soak]
        lines += [
            "",
            f"Resident memory after the first minute {soak[0][3]:.0f} MB, after the last "
            f"{soak[-1][3]:.0f} MB: {soak[-1][3] - soak[0][3]:+.0f} MB (target: no growth).",
        ]
    publish("reads", "\n".join(lines) + "\n")
    print(json.dumps({"rows": len(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
