"""Real processes: a uvicorn server on a free port, and the named fault points that kill one."""

import os
import signal
import subprocess
import sys

import httpx
import pytest

from backend.settings import ROOT
from tests.conftest import live_log_in, subscribed

pytestmark = pytest.mark.slow

CRASH_SCRIPT = """
from backend.kit.faults import crash_point
crash_point("probe.before")
print("survived", flush=True)
"""


def run_probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TPH_")}
    return subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_named_fault_point_kills_the_process_in_test_builds():
    result = run_probe({"TPH_ENV": "test", "TPH_CRASH_AT": "other.point,probe.before"})
    assert result.returncode == -signal.SIGKILL
    assert "survived" not in result.stdout


def test_fault_points_not_named_do_nothing():
    result = run_probe({"TPH_ENV": "test", "TPH_CRASH_AT": "other.point"})
    assert result.returncode == 0 and "survived" in result.stdout


def test_fault_points_are_inert_outside_test_builds():
    result = run_probe({"TPH_ENV": "dev", "TPH_CRASH_AT": "probe.before"})
    assert result.returncode == 0 and "survived" in result.stdout


def test_a_real_server_serves_graphql_and_is_ready(live_server_factory):
    server = live_server_factory()
    ready = httpx.get(f"{server.url}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": "{ serverInfo { environment } }"},
        headers={"x-request-id": "live-test-0001"},
        timeout=5,
    )
    assert response.json()["data"] == {"serverInfo": {"environment": "test"}}
    assert response.headers["x-request-id"] == "live-test-0001"


def test_the_server_logs_json_lines_with_request_ids(live_server_factory):
    import json

    server = live_server_factory()
    httpx.post(
        f"{server.url}/graphql",
        json={"query": "{ serverInfo { version } }"},
        headers={"x-request-id": "live-log-0001"},
        timeout=5,
    )
    server.stop()
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "live-log-0001"]
    assert access and access[0]["status"] == 200


async def test_a_signed_in_app_uses_the_websocket_with_its_token(live_server_factory, tmp_path):
    import json

    outbox = tmp_path / "outbox.jsonl"
    server = live_server_factory({"TPH_SMS_OUTBOX": str(outbox)})
    token = await live_log_in(server, outbox, "13700000001")
    async with subscribed(server, token, "{ me { phoneMasked } }", id="1") as ws:
        assert json.loads(await ws.recv())["payload"]["data"] == {
            "me": {"phoneMasked": "137****0001"}
        }
