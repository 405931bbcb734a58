"""Prometheus metrics, per GraphQL operation name."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "tph_http_requests_total",
    "HTTP requests by route and status",
    ["route", "status"],
    registry=REGISTRY,
)
GRAPHQL_OPERATIONS = Counter(
    "tph_graphql_operations_total",
    "GraphQL operations by name, type and outcome",
    ["operation", "type", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_DURATION = Histogram(
    "tph_graphql_operation_seconds",
    "GraphQL operation execution time",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
JOB_RUNS = Counter(
    "tph_job_runs_total",
    "Periodic job runs by job and outcome",
    ["job", "outcome"],
    registry=REGISTRY,
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_NAMES = 500
_seen: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label: production only runs trusted documents, but dev callers can name anything."""
    if not name or not _NAME.match(name):
        return "anonymous"
    if name in _seen:
        return name
    if len(_seen) >= _MAX_NAMES:
        return "other"
    _seen.add(name)
    return name
