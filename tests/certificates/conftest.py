"""The registry's tests start from the credits tests' world: a registered aggregating project."""

from tests.credits.test_issuance import world  # noqa: F401 - a fixture, used by name
