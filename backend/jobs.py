"""Periodic work: idempotent jobs that `tanpuhui jobs run-due` runs (a CronJob in production, the
server itself in embedded mode). Each domain adds its jobs here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backend.certificates import disclosure
from backend.consent import grants
from backend.credits import exports
from backend.kit import idempotency
from backend.kit.metrics import JOB_RUNS
from backend.ledger import service as ledger
from backend.market import service as market
from backend.rewards import service as rewards

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[int]]
    description: str


JOBS: tuple[Job, ...] = (
    Job("expire-points", ledger.expire_due_lots, "expire what is left of point lots past expiry"),
    Job(
        "expire-vouchers",
        rewards.expire_vouchers,
        "end unused vouchers past their validity, refunding or forfeiting by the offer's policy",
    ),
    Job("expire-grants", grants.expire_due, "end data authorisations past their expiry"),
    Job(
        "remind-expiring-grants",
        grants.remind_expiring,
        "notify the person who consented two weeks before a grant expires",
    ),
    Job(
        "expire-orders",
        market.expire_orders,
        "give the units of credit orders unpaid in time back to their listing",
    ),
    Job(
        "retry-refunds",
        market.retry_refunds,
        "ask the payment provider again for refunds it has not confirmed",
    ),
    Job(
        "reconcile-payments",
        market.reconcile,
        "once a day: compare yesterday's credit orders with the payment provider's records",
    ),
    Job(
        "retry-exports",
        exports.retry_pending,
        "ask the carbon trading platform again about exports it has not answered",
    ),
    Job(
        "rebuild-leaderboard",
        disclosure.rebuild_leaderboard,
        "rebuild the public leaderboard's sorted set from the database",
    ),
    Job(
        "purge-idempotency-keys",
        idempotency.purge_expired,
        "delete idempotency keys past their retention (at least 24 hours)",
    ),
)


async def run_due(names: list[str] | None = None) -> dict[str, int]:
    """Run the jobs (all, or those named); returns how many items each handled.

    One failing job does not stop the others; its failure is logged and counted, and the whole call
    reports it by raising at the end.
    """
    selected = [job for job in JOBS if names is None or job.name in names]
    unknown = set(names or ()) - {job.name for job in JOBS}
    if unknown:
        raise ValueError(f"unknown jobs: {', '.join(sorted(unknown))}")
    results: dict[str, int] = {}
    failed: list[str] = []
    for job in selected:
        try:
            results[job.name] = await job.run()
            JOB_RUNS.labels(job.name, "ok").inc()
        except Exception:
            log.exception("job %s failed", job.name)
            JOB_RUNS.labels(job.name, "error").inc()
            failed.append(job.name)
    if failed:
        raise RuntimeError(f"jobs failed: {', '.join(failed)}")
    return results
