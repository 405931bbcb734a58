"""Every setting of the service, read from the environment, with development defaults.

Production (TPH_ENV=production) refuses to start while a setting still holds a development value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

Environment = Literal["dev", "test", "production"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "var" / "tanpuhui.sqlite3"
# Signing key of development and tests only; production refuses to run with it.
DEV_JWT_KEY = "tanpuhui-development-key-not-for-production-use-000000"
DEV_PEPPER = "tanpuhui-development-pepper-not-for-production-use-0000"
DEV_PAYMENT_SECRET = "tanpuhui-development-payment-secret-not-for-production"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _jwt_keys(raw: str | None) -> dict[str, str]:
    """TPH_JWT_KEYS: a JSON object {kid: secret}; old kids stay for verification after rotation."""
    if not raw:
        return {"dev": DEV_JWT_KEY}
    try:
        keys = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError("TPH_JWT_KEYS must be a JSON object {kid: secret}") from exc
    if (
        not isinstance(keys, dict)
        or not keys
        or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items())
    ):
        raise SettingsError("TPH_JWT_KEYS must be a non-empty JSON object {kid: secret}")
    return keys


@dataclass(frozen=True)
class Settings:
    env: Environment = "dev"
    database_url: str = f"sqlite://{DEFAULT_SQLITE_PATH}"
    # None: the in-process Redis stand-in (fakeredis), for the single-process embedded mode only.
    redis_url: str | None = None
    db_pool_min: int = 1
    db_pool_max: int = 10
    # Ingestion batches a process runs at once, and how many more may wait for them; a batch
    # beyond both is refused after a second (BUSY, 503 with Retry-After on the bulk route).
    ingest_running: int = 8
    ingest_waiting: int = 64
    # Redis connections per process; a request waits up to redis_pool_wait_seconds for one.
    redis_pool_max: int = 64
    redis_pool_wait_seconds: int = 5
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    jwt_keys: dict[str, str] = field(default_factory=lambda: {"dev": DEV_JWT_KEY})
    jwt_active_kid: str = "dev"
    jwt_issuer: str = "tanpuhui"
    jwt_audience: str = "tanpuhui-api"
    # Access tokens live at most 15 minutes (RELIABILITY.md 16); refresh tokens rotate on use.
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # Keyed hashing of login codes and phone numbers in rate-limit keys.
    pepper: str = DEV_PEPPER
    # SMS: "outbox" writes messages to var/sms-outbox.jsonl (dev); "http" posts to a gateway.
    sms_backend: str = "outbox"
    sms_outbox_path: Path = ROOT / "var" / "sms-outbox.jsonl"
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    # The carbon trading platform: "sandbox" (in the repo) or "http" (a real exchange's gateway).
    exchange_backend: str = "sandbox"
    exchange_url: str | None = None
    exchange_secret: str | None = None
    # Payments for credit orders: "sandbox" (in the repo) or "package.module:Class" implementing
    # backend.market.payments.PaymentProvider; callbacks are signed with the shared secret.
    # Where the public reaches the service: certificates' QR codes open pages under it.
    public_url: str = "http://127.0.0.1:8000"
    payment_provider: str = "sandbox"
    payment_secret: str = DEV_PAYMENT_SECRET
    order_minutes: int = 15
    # GraphQL limits (RELIABILITY.md 11)
    max_body_bytes: int = 512 * 1024
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    # Query cost (objects returned, Shopify's measure): per request, and per caller a minute.
    max_query_cost: int = 20000
    cost_per_minute: int = 200000
    # Every request from one address (signed in or not) shares this budget besides the caller's
    # own; data platforms are counted by platform instead (PLATFORM_FACTOR x cost_per_minute).
    cost_per_address_minute: int = 1000000
    # How often each process adds its callers' spending to Redis (and learns the others').
    cost_sync_seconds: float = 0.5
    # Query documents run from compiled plans (backend/api/compiled.py) where they can.
    compiled_queries: bool = True
    # Production accepts only trusted documents from end users and anonymous callers.
    trusted_documents_only: bool = False
    graphiql: bool = True
    introspection: bool = True
    # The server runs due jobs itself (embedded mode); production uses a CronJob instead.
    run_jobs_in_process: bool = True
    jobs_interval_seconds: int = 60
    idempotency_retention_hours: int = 48
    # The trusted documents' manifest; an installed (non-editable) package names it explicitly.
    manifest_path: Path = ROOT / "mobile_contract" / "manifest.json"
    log_level: str = "INFO"
    log_json: bool = True
    # Named crash points for crash tests (honoured only when env == "test").
    crash_at: frozenset[str] = frozenset()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def check_production(self) -> None:
        """Refuse to run production on development defaults."""
        if not self.is_production:
            return
        problems = []
        if self.is_sqlite:
            problems.append("DATABASE_URL must name PostgreSQL, not the embedded SQLite file")
        if not self.redis_url:
            problems.append(
                "REDIS_URL must be set (the in-process stand-in is single-process only)"
            )
        if DEV_JWT_KEY in self.jwt_keys.values() or "dev" in self.jwt_keys:
            problems.append("TPH_JWT_KEYS must hold real keys, not the development key")
        if self.pepper == DEV_PEPPER or len(self.pepper) < 32:
            problems.append("TPH_PEPPER must be a real secret of at least 32 characters")
        if self.sms_backend != "http" or not self.sms_gateway_url:
            problems.append("TPH_SMS_BACKEND=http and TPH_SMS_GATEWAY_URL are required")
        if self.exchange_backend != "http" or not self.exchange_url or not self.exchange_secret:
            problems.append(
                "TPH_EXCHANGE_BACKEND=http, TPH_EXCHANGE_URL and TPH_EXCHANGE_SECRET are required"
            )
        if self.payment_provider == "sandbox":
            problems.append("TPH_PAYMENT_PROVIDER must name a real provider, not the sandbox")
        if self.payment_secret == DEV_PAYMENT_SECRET or len(self.payment_secret) < 32:
            problems.append("TPH_PAYMENT_SECRET must be a real secret of at least 32 characters")
        if any(len(v) < 32 for v in self.jwt_keys.values()):
            problems.append("TPH_JWT_KEYS secrets must be at least 32 characters")
        if not self.trusted_documents_only:
            problems.append("TPH_TRUSTED_DOCUMENTS_ONLY cannot be switched off in production")
        if self.introspection or self.graphiql:
            problems.append("introspection and GraphiQL stay off in production")
        if self.crash_at:
            problems.append("TPH_CRASH_AT is for test builds only")
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    tph_env = env.get("TPH_ENV", "dev")
    if tph_env not in ("dev", "test", "production"):
        raise SettingsError(f"TPH_ENV must be dev, test or production, got {tph_env!r}")
    production = tph_env == "production"
    keys = _jwt_keys(env.get("TPH_JWT_KEYS"))
    active = env.get("TPH_JWT_ACTIVE_KID") or next(iter(keys))
    if active not in keys:
        raise SettingsError(f"TPH_JWT_ACTIVE_KID {active!r} is not a key of TPH_JWT_KEYS")
    database_url = env.get("DATABASE_URL") or f"sqlite://{DEFAULT_SQLITE_PATH}"
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise SettingsError("DATABASE_URL must be a sqlite:// or postgres:// URL")
    settings = Settings(
        env=tph_env,  # type: ignore[arg-type]
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        db_pool_min=_int(env, "TPH_DB_POOL_MIN", 1, minimum=1),
        db_pool_max=_int(env, "TPH_DB_POOL_MAX", 10, minimum=1),
        ingest_running=_int(env, "TPH_INGEST_RUNNING", 8, minimum=1),
        ingest_waiting=_int(env, "TPH_INGEST_WAITING", 64, minimum=0),
        redis_pool_max=_int(env, "TPH_REDIS_POOL_MAX", 64, minimum=2),
        redis_pool_wait_seconds=_int(env, "TPH_REDIS_POOL_WAIT_SECONDS", 5, minimum=1),
        host=env.get("TPH_HOST", "127.0.0.1"),
        port=_int(env, "TPH_PORT", 8000, minimum=1),
        workers=_int(env, "TPH_WORKERS", 1, minimum=1),
        jwt_keys=keys,
        jwt_active_kid=active,
        jwt_issuer=env.get("TPH_JWT_ISSUER", "tanpuhui"),
        jwt_audience=env.get("TPH_JWT_AUDIENCE", "tanpuhui-api"),
        access_token_minutes=_int(env, "TPH_ACCESS_TOKEN_MINUTES", 15, minimum=1),
        refresh_token_days=_int(env, "TPH_REFRESH_TOKEN_DAYS", 30, minimum=1),
        pepper=env.get("TPH_PEPPER") or DEV_PEPPER,
        sms_backend=env.get("TPH_SMS_BACKEND", "outbox"),
        sms_outbox_path=Path(env.get("TPH_SMS_OUTBOX") or ROOT / "var" / "sms-outbox.jsonl"),
        sms_gateway_url=env.get("TPH_SMS_GATEWAY_URL") or None,
        sms_gateway_token=env.get("TPH_SMS_GATEWAY_TOKEN") or None,
        public_url=env.get("TPH_PUBLIC_URL") or "http://127.0.0.1:8000",
        payment_provider=env.get("TPH_PAYMENT_PROVIDER", "sandbox"),
        payment_secret=env.get("TPH_PAYMENT_SECRET") or DEV_PAYMENT_SECRET,
        order_minutes=_int(env, "TPH_ORDER_MINUTES", 15, minimum=1),
        exchange_backend=env.get("TPH_EXCHANGE_BACKEND", "sandbox"),
        exchange_url=env.get("TPH_EXCHANGE_URL") or None,
        exchange_secret=env.get("TPH_EXCHANGE_SECRET") or None,
        max_body_bytes=_int(env, "TPH_MAX_BODY_BYTES", 512 * 1024, minimum=1024),
        max_depth=_int(env, "TPH_MAX_DEPTH", 12, minimum=2),
        max_aliases=_int(env, "TPH_MAX_ALIASES", 30, minimum=1),
        max_tokens=_int(env, "TPH_MAX_TOKENS", 2000, minimum=50),
        max_query_cost=_int(env, "TPH_MAX_QUERY_COST", 20000, minimum=10),
        cost_per_minute=_int(env, "TPH_COST_PER_MINUTE", 200000, minimum=10),
        cost_per_address_minute=_int(env, "TPH_COST_PER_ADDRESS_MINUTE", 1000000, minimum=10),
        cost_sync_seconds=float(_int(env, "TPH_COST_SYNC_MS", 500, minimum=0)) / 1000,
        compiled_queries=_bool(env, "TPH_COMPILED_QUERIES", True),
        trusted_documents_only=_bool(env, "TPH_TRUSTED_DOCUMENTS_ONLY", production),
        graphiql=_bool(env, "TPH_GRAPHIQL", not production),
        introspection=_bool(env, "TPH_INTROSPECTION", not production),
        run_jobs_in_process=_bool(env, "TPH_RUN_JOBS_IN_PROCESS", not production),
        jobs_interval_seconds=_int(env, "TPH_JOBS_INTERVAL_SECONDS", 60, minimum=1),
        idempotency_retention_hours=_int(env, "TPH_IDEMPOTENCY_RETENTION_HOURS", 48, minimum=24),
        manifest_path=Path(
            env.get("TPH_MANIFEST_PATH") or ROOT / "mobile_contract" / "manifest.json"
        ),
        log_level=env.get("TPH_LOG_LEVEL", "INFO").upper(),
        log_json=_bool(env, "TPH_LOG_JSON", True),
        crash_at=frozenset(p.strip() for p in env.get("TPH_CRASH_AT", "").split(",") if p.strip()),
    )
    if settings.access_token_minutes > 15:
        raise SettingsError("TPH_ACCESS_TOKEN_MINUTES is at most 15")
    if settings.sms_backend not in ("outbox", "http"):
        raise SettingsError("TPH_SMS_BACKEND must be outbox or http")
    if settings.payment_provider != "sandbox" and ":" not in settings.payment_provider:
        raise SettingsError("TPH_PAYMENT_PROVIDER must be sandbox or package.module:Class")
    if settings.exchange_backend not in ("sandbox", "http"):
        raise SettingsError("TPH_EXCHANGE_BACKEND must be sandbox or http")
    if settings.db_pool_min > settings.db_pool_max:
        raise SettingsError("TPH_DB_POOL_MIN must not exceed TPH_DB_POOL_MAX")
    settings.check_production()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
