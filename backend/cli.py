"""The `tanpuhui` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from backend.settings import get_settings


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


async def _with_db(work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """The database and Redis (changes are published after commit), for one command."""
    from backend.kit import db
    from backend.kit.redis import close_redis, init_redis

    settings = get_settings()
    await db.init_db(settings)
    await init_redis(settings)
    try:
        return await work()
    finally:
        await close_redis()
        await db.close_db()


def cmd_migrate(args: argparse.Namespace) -> int:
    from backend.kit import db

    async def go() -> int:
        try:
            applied = await db.migrate(get_settings())
        finally:
            await db.close_db()
        print(
            f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
        )
        return 0

    return _run(go())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    settings.check_production()
    workers = args.workers or settings.workers
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        print(
            "several workers need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): the embedded "
            "SQLite file and in-process Redis serve one process only",
            file=sys.stderr,
        )
        return 2
    if settings.is_sqlite and not args.no_migrate:
        cmd_migrate(args)
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from backend import seed

    async def go() -> int:
        created = await seed.seed_demo()
        print(f"demo data: {created}")
        return 0

    return _run(_with_db(go))


def cmd_export_schema(args: argparse.Namespace) -> int:
    from backend.api.contract import SCHEMA_PATH, export_sdl
    from backend.api.schema import build_schema

    sdl = export_sdl(build_schema(get_settings()))
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != sdl:
            print("schema/schema.graphql is stale: run `tanpuhui export-schema`", file=sys.stderr)
            return 1
        print("schema/schema.graphql is current")
        return 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(sdl, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


def cmd_build_manifest(args: argparse.Namespace) -> int:
    from backend.api.contract import MANIFEST_PATH, build_manifest

    manifest = build_manifest()
    if args.check:
        current = MANIFEST_PATH.read_text(encoding="utf-8") if MANIFEST_PATH.exists() else ""
        if current != manifest:
            print(
                "mobile_contract/manifest.json is stale: run `tanpuhui build-manifest`",
                file=sys.stderr,
            )
            return 1
        print("mobile_contract/manifest.json is current")
        return 0
    MANIFEST_PATH.write_text(manifest, encoding="utf-8")
    print(f"wrote {MANIFEST_PATH}")
    return 0


def cmd_check_contract(args: argparse.Namespace) -> int:
    from backend.api.contract import check_contract
    from backend.api.schema import build_schema

    problems = check_contract(build_schema(get_settings()))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("contract holds: schema current, breaking changes declared, documents valid")
    return 1 if problems else 0


def cmd_release_schema(args: argparse.Namespace) -> int:
    from backend.api.contract import BASELINE_PATH, BREAKING_HEADER, BREAKING_PATH, export_sdl
    from backend.api.schema import build_schema

    BASELINE_PATH.write_text(export_sdl(build_schema(get_settings())), encoding="utf-8")
    BREAKING_PATH.write_text(BREAKING_HEADER, encoding="utf-8")
    print("baseline advanced to the current schema; BREAKING.md emptied")
    return 0


def cmd_jobs_run_due(args: argparse.Namespace) -> int:
    from backend import jobs

    async def go() -> int:
        results = await jobs.run_due(args.job or None)
        for name, count in results.items():
            print(f"{name}: {count}")
        return 0

    return _run(_with_db(go))


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from backend import jobs

    for job in jobs.JOBS:
        print(f"{job.name}: {job.description}")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from backend.accounts.organisations import create_admin

    async def go() -> int:
        try:
            person, uri = await create_admin(phone=args.phone)
        except Exception as exc:
            print(f"cannot create the administrator: {exc}", file=sys.stderr)
            return 1
        print(f"administrator {person.public_id} can now log in with {args.phone}")
        print("add this to their authenticator app (shown once):")
        print(uri)
        return 0

    return _run(_with_db(go))


def cmd_verify_ledger(args: argparse.Namespace) -> int:
    from backend import verify

    async def go() -> int:
        findings = await verify.verify_all()
        for finding in findings:
            print(finding, file=sys.stderr)
        print(f"{len(verify.CHECKS)} check(s) run, {len(findings)} finding(s)")
        return 1 if findings else 0

    return _run(_with_db(go))


def cmd_sandbox_pay(args: argparse.Namespace) -> int:
    from backend.market.payments import SandboxProvider, get_provider

    async def go() -> int:
        provider = get_provider()
        if not isinstance(provider, SandboxProvider):
            print("the payment provider is not the sandbox", file=sys.stderr)
            return 2
        outcome = await provider.pay(args.payment_id)
        if outcome is None:
            print(f"nothing to pay for {args.payment_id}", file=sys.stderr)
            return 1
        print(f"paid {args.payment_id}: the service answered {outcome}")
        return 0

    return _run(_with_db(go))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tanpuhui", description="Tanpuhui (碳普惠): the carbon-inclusive scheme's backend."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the API (migrates the embedded SQLite file first)")
    serve.add_argument("--host", help="bind address (TPH_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TPH_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (needs PostgreSQL and Redis)")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate SQLite first")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("seed-demo", help="load demonstration data").set_defaults(func=cmd_seed_demo)

    export = sub.add_parser("export-schema", help="write schema/schema.graphql")
    export.add_argument("--check", action="store_true", help="fail when the file is stale")
    export.set_defaults(func=cmd_export_schema)

    manifest = sub.add_parser(
        "build-manifest", help="write mobile_contract/manifest.json (trusted documents)"
    )
    manifest.add_argument("--check", action="store_true", help="fail when the file is stale")
    manifest.set_defaults(func=cmd_build_manifest)

    sub.add_parser(
        "check-contract",
        help="schema current, breaking changes declared, app documents valid, manifest current",
    ).set_defaults(func=cmd_check_contract)
    sub.add_parser(
        "release-schema", help="advance schema/baseline.graphql and empty BREAKING.md"
    ).set_defaults(func=cmd_release_schema)

    jobs = sub.add_parser("jobs", help="periodic jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="JOBS_COMMAND")
    run_due = jobs_sub.add_parser("run-due", help="run the periodic jobs once (idempotent)")
    run_due.add_argument("--job", action="append", help="run only this job (repeatable)")
    run_due.set_defaults(func=cmd_jobs_run_due)
    jobs_sub.add_parser("list", help="list the jobs").set_defaults(func=cmd_jobs_list)

    admin = sub.add_parser(
        "create-admin", help="make a person the authority's administrator (prints a TOTP secret)"
    )
    admin.add_argument("--phone", required=True, help="their mainland China mobile number")
    admin.set_defaults(func=cmd_create_admin)

    sub.add_parser(
        "verify-ledger", help="reconcile stored balances with postings; exit 1 on any finding"
    ).set_defaults(func=cmd_verify_ledger)
    pay = sub.add_parser(
        "sandbox-pay",
        help="pay a credit order's sandbox payment (the sandbox then sends the signed callback)",
    )
    pay.add_argument("payment_id", help="the payment id at the end of the order's payUrl")
    pay.set_defaults(func=cmd_sandbox_pay)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
