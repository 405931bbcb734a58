"""Fuzzing (RELIABILITY.md tools; issue 12): schemathesis generates requests for every operation of
the schema, in GraphQL mode; each is sent to a real server process with every role's token (anonymous,
citizen, small business, merchant cashier, verifier, data platform, authority). None may get a 5xx or an internal error, no phone number reaches the
server's log unmasked, and `verify-ledger` is clean afterwards. Bounded for CI: TPH_FUZZ_EXAMPLES examples per operation (5 by default, about 15 s)."""

import asyncio
import os
import re
import warnings

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from backend import verify
from backend.settings import ROOT
from tests.conftest import bearer
from tests.test_authorisation_matrix import build_world

pytestmark = pytest.mark.slow

PHONE = re.compile(r"(?<![0-9a-fA-F])(?:\+?86)?1[3-9]\d{9}(?![0-9a-fA-F])")
EXAMPLES = int(os.environ.get("TPH_FUZZ_EXAMPLES", "5"))
ENDS_SESSION = {"Mutation.logOut", "Mutation.deleteMyAccount"}


def _register_scalars() -> None:
    from datetime import UTC

    import schemathesis.graphql
    from graphql import StringValueNode
    from hypothesis import strategies as st

    def text_node(values: st.SearchStrategy[str]) -> st.SearchStrategy[StringValueNode]:
        return values.map(lambda v: StringValueNode(value=v))

    schemathesis.graphql.scalar(
        "Int64", text_node(st.integers(-(2**63), 2**63 - 1).map(str) | st.text(max_size=20))
    )
    schemathesis.graphql.scalar(
        "DateTime",
        text_node(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()) | st.text(max_size=30)
        ),
    )
    schemathesis.graphql.scalar("JSON", text_node(st.text(max_size=30)))


def operations() -> list:
    from schemathesis.graphql import from_file

    _register_scalars()
    schema = from_file((ROOT / "schema" / "schema.graphql").read_text())
    return [result.ok() for result in schema.get_all_operations()]


async def test_generated_requests_never_fail_the_server(live_server_factory, client, sms):
    world = await build_world(client, sms)
    roles = {
        role: bearer(token) if token else {}
        for role, token in world.tokens.items()
        if role
        in (
            "anonymous",
            "citizen",
            "business_member",
            "merchant_cashier",
            "verifier",
            "platform",
            "authority",
        )
    }
    assert len(roles) == 7
    # One load generator on one address: the fuzzer is not here to test the budgets.
    server = live_server_factory(
        {"TPH_COST_PER_MINUTE": "100000000", "TPH_COST_PER_ADDRESS_MINUTE": "100000000"}
    )
    failures: list[tuple[str, str, str, int, str]] = []
    refused_as_unauthenticated: dict[str, int] = dict.fromkeys(roles, 0)
    sent = 0

    def checker(http: httpx.Client, label: str, strategy):
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case) -> None:
            nonlocal sent
            for role, headers in roles.items():
                response = http.post("/graphql", json={"query": case.body}, headers=headers)
                sent += 1
                if response.status_code == 401 and label not in ENDS_SESSION:
                    refused_as_unauthenticated[role] += 1
                if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in response.text:
                    failures.append(
                        (label, role, case.body, response.status_code, response.text[:300])
                    )

        return check

    def fuzz() -> None:
        warnings.simplefilter("ignore")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            # what ends the caller's session runs last, so that every other operation is
            # sent with good tokens
            ordered = sorted(operations(), key=lambda o: o.label in ENDS_SESSION)
            assert {o.label for o in ordered} >= ENDS_SESSION
            for operation in ordered:
                checker(http, operation.label, operation.as_strategy())()

    # One real login code through the server, so that its log has a number to mask.
    async with httpx.AsyncClient(base_url=server.url) as http:
        sent_code = await http.post(
            "/graphql",
            json={
                "query": "mutation ($p: String!) { requestLoginCode(input: {phone: $p}) { __typename } }",
                "variables": {"p": "+8613912345678"},
            },
        )
        assert sent_code.json()["data"]["requestLoginCode"]["__typename"] == "LoginCodeSent"
    await asyncio.to_thread(fuzz)
    assert failures == [], (failures[:5], server.output()[-4000:])
    assert sent >= 100 * len(roles)  # every operation was exercised
    # every role's token stayed good until the operations that end sessions, so each role's
    # requests reached the resolvers
    assert refused_as_unauthenticated == dict.fromkeys(roles, 0)
    log = server.output()
    assert "Traceback" not in log
    # Login codes were sent (one real number, random ones from the fuzzer): no number reaches
    # the log unmasked.
    assert "139****5678" in log
    assert not PHONE.search(log), PHONE.search(log)
    assert await verify.verify_all() == []
