"""Browser-test fixtures: Debian's Chromium driven by Playwright, and the app served by a real HTTP server.

Import the fixtures into a test module: ``from tests.browser import browser_fixture, live_server_fixture  # noqa: F401``
(they are named ``browser`` and ``live_server``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "id-ID"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "id-ID"}


def ensure_chromium() -> str:
    """The system Chromium; installed from Debian when missing (CI images), else the test is skipped."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and apt-get is not available to install Debian's chromium")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium ({' '.join(command)}): {done.stderr.strip()[-300:]}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module", name="live_server")
def live_server_fixture(app) -> Iterator[str]:
    """The test app behind werkzeug's threaded server on a free port of 127.0.0.1; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


class Screenshots:
    """Numbered full-page screenshots of one journey under ``test-artifacts/<name>/``."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.n = 0

    def __call__(self, page, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
