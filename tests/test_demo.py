"""`kawasan demo`: browsable quickly, Bungo provisioned (the rest through jobs), Ctrl-C stops it all."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from service.demo import DEMO_PASSWORD
from tests.fixtures import ROOT, cli_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except OSError:
        return None, None, None


def test_demo_serves_bungo_and_stops_everything_on_ctrl_c(fresh_database):
    fresh = fresh_database()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # A small register per village keeps the background load of the test machine modest.
    demo = subprocess.Popen([sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--penduduk", "200"],
                            cwd=ROOT,
                            env=cli_env(fresh.settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    started = time.monotonic()
    children = []
    try:
        while _get(f"{base}/readyz")[0] != 200:
            assert demo.poll() is None, demo.stdout.read()
            assert time.monotonic() - started < 60, "demo not browsable within 60 s"
            time.sleep(0.3)
        children = psutil.Process(demo.pid).children(recursive=True)
        status, _, body = _get(f"{base}/api/v1/desa/15.08.14.2001")
        assert status == 200 and json.loads(body)["sebutan"]["kepala_desa"] == "Rio"
        # The rest of Kabupaten Bungo arrives through the outbox, the relay and the worker.
        deadline = time.monotonic() + 90
        total = 0
        while time.monotonic() < deadline:
            status, headers, _ = _get(f"{base}/api/v1/desa?kabupaten=15.08&page_size=1")
            total = json.loads(headers["X-Pagination"])["total"] if status == 200 else 0
            if total == 153:
                break
            time.sleep(0.5)
        assert total == 153
        assert _get(f"{base}/api/v1/docs")[0] == 200
        # Demo accounts at every level work.
        rio = _post(f"{base}/api/v1/auth/login", {"username": "rio.muarabuat", "password": DEMO_PASSWORD})
        audit = urllib.request.Request(f"{base}/api/v1/desa/15.08.14.2001/audit",
                                       headers={"Authorization": f"Bearer {rio['access_token']}"})
        with urllib.request.urlopen(audit, timeout=5) as response:
            assert response.status == 200
        camat = _post(f"{base}/api/v1/auth/login", {"username": "camat.bathin3ulu", "password": DEMO_PASSWORD})
        assert camat["token_type"] == "Bearer"
    finally:
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0
    assert f"{base}/api/v1/docs" in output and "demo stopped" in output
    assert "camat.bathin3ulu" in output and "analis.bungo" in output and "rio.muarabuat" in output
    resident = next(line for line in output.splitlines() if "NIK 1508140304850001" in line)
    assert "PIN " in resident
    assert children and not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
    assert _get(f"{base}/healthz")[0] is None
