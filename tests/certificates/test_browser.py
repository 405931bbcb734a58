"""The certificate's public page renders in a real headless browser (Debian's Chromium), served
by a real server process: the number, the verification, the lineage and the QR code are there."""

import asyncio
import os
import shutil
import subprocess

import pytest

from tests.certificates.test_certificates import certified

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browse(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


async def test_the_public_page_renders_in_a_real_browser(world, live_server_factory, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("TPH_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (infra/local/browser.sh installs it)")
        pytest.skip("chromium is not installed (infra/local/browser.sh installs it)")
    _, certificate = await certified(world)
    server = live_server_factory()
    url = f"{server.url}/certificates/{certificate.number}?code={certificate.verification_code}"
    rendered = await asyncio.to_thread(browse, tmp_path, "--dump-dom", url)
    dom = rendered.stdout
    assert certificate.number in dom, rendered.stderr[-2000:]
    assert "Verification code matches" in dom and "有效 VALID" in dom
    assert world["project"].methodology_code in dom and "<svg" in dom
    shot = tmp_path / "page.png"
    taken = await asyncio.to_thread(
        browse, tmp_path, f"--screenshot={shot}", "--window-size=1000,1400", url
    )
    assert shot.exists(), taken.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 5000
