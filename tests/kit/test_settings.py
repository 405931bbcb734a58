"""Settings: defaults for development, refusals for production."""

import pytest

from backend.settings import DEV_JWT_KEY, SettingsError, load_settings

GOOD_PRODUCTION = {
    "TPH_ENV": "production",
    "DATABASE_URL": "postgres://app@db:5432/tanpuhui",
    "REDIS_URL": "redis://cache:6379/0",
    "TPH_JWT_KEYS": '{"2026-11": "a-real-secret-of-more-than-thirty-two-chars"}',
    "TPH_PEPPER": "another-real-secret-of-more-than-32-chars",
    "TPH_SMS_BACKEND": "http",
    "TPH_SMS_GATEWAY_URL": "https://sms.example.invalid/send",
    "TPH_EXCHANGE_BACKEND": "http",
    "TPH_EXCHANGE_URL": "https://exchange.example.invalid/api",
    "TPH_EXCHANGE_SECRET": "a-shared-secret-with-the-exchange",
    "TPH_PAYMENT_PROVIDER": "acme_pay.provider:AcmePay",
    "TPH_PAYMENT_SECRET": "a-payment-callback-secret-of-32-chars-or-more",
}


def test_development_defaults_need_no_services():
    settings = load_settings({})
    assert settings.env == "dev"
    assert settings.is_sqlite and settings.database_url.endswith("var/tanpuhui.sqlite3")
    assert settings.redis_url is None
    assert settings.graphiql and settings.introspection and not settings.trusted_documents_only


def test_production_with_real_settings_starts_hardened():
    settings = load_settings(GOOD_PRODUCTION)
    assert settings.is_production
    assert settings.trusted_documents_only
    assert not settings.introspection and not settings.graphiql
    assert not settings.run_jobs_in_process


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"TPH_JWT_KEYS": ""}, "TPH_JWT_KEYS"),
        ({"TPH_JWT_KEYS": f'{{"k": "{DEV_JWT_KEY}"}}'}, "TPH_JWT_KEYS"),
        ({"TPH_JWT_KEYS": '{"k": "short"}'}, "32 characters"),
        ({"TPH_TRUSTED_DOCUMENTS_ONLY": "0"}, "TPH_TRUSTED_DOCUMENTS_ONLY"),
        ({"TPH_INTROSPECTION": "1"}, "introspection"),
        ({"TPH_CRASH_AT": "x"}, "TPH_CRASH_AT"),
        ({"TPH_PEPPER": ""}, "TPH_PEPPER"),
        ({"TPH_SMS_BACKEND": "outbox"}, "TPH_SMS_BACKEND"),
        ({"TPH_EXCHANGE_BACKEND": "sandbox"}, "TPH_EXCHANGE_BACKEND"),
        ({"TPH_EXCHANGE_SECRET": ""}, "TPH_EXCHANGE_SECRET"),
        ({"TPH_PAYMENT_PROVIDER": "sandbox"}, "TPH_PAYMENT_PROVIDER"),
        ({"TPH_PAYMENT_SECRET": "short"}, "TPH_PAYMENT_SECRET"),
    ],
)
def test_production_refuses_development_values(override, complaint):
    with pytest.raises(SettingsError, match=complaint):
        load_settings({**GOOD_PRODUCTION, **override})


@pytest.mark.parametrize(
    "env",
    [
        {"TPH_ENV": "staging"},
        {"TPH_PORT": "eighty"},
        {"TPH_PORT": "0"},
        {"TPH_GRAPHIQL": "maybe"},
        {"TPH_JWT_KEYS": "[1, 2]"},
        {"TPH_JWT_KEYS": '{"a": "x"}', "TPH_JWT_ACTIVE_KID": "b"},
        {"DATABASE_URL": "mysql://x"},
        {"TPH_DB_POOL_MIN": "5", "TPH_DB_POOL_MAX": "2"},
        {"TPH_IDEMPOTENCY_RETENTION_HOURS": "1"},
        {"TPH_ACCESS_TOKEN_MINUTES": "60"},
        {"TPH_SMS_BACKEND": "carrier-pigeon"},
        {"TPH_EXCHANGE_BACKEND": "fax"},
        {"TPH_PAYMENT_PROVIDER": "cash"},
    ],
)
def test_bad_values_are_named(env):
    with pytest.raises(SettingsError):
        load_settings(env)


def test_crash_points_are_a_set_of_names():
    settings = load_settings({"TPH_ENV": "test", "TPH_CRASH_AT": "a.b, c.d,"})
    assert settings.crash_at == {"a.b", "c.d"}


def test_production_refuses_to_start_without_its_trusted_documents(tmp_path):
    from backend.app import create_app

    settings = load_settings({**GOOD_PRODUCTION, "TPH_MANIFEST_PATH": str(tmp_path / "none.json")})
    with pytest.raises(SettingsError, match="no trusted documents"):
        create_app(settings, manage_resources=False)
    assert create_app(load_settings(GOOD_PRODUCTION), manage_resources=False) is not None
