"""The backbone end to end, in real processes: CLI → outbox → relay → RQ → worker.

Enqueue provisioning, SIGKILL the worker mid-job, FLUSHALL Redis, restart worker and relay: the
work completes exactly once.
"""

import signal
import subprocess
import sys
import time

import pytest
import redis
from sqlalchemy import text

from tests.fixtures import ROOT, kill_process_tree, run_cli

pytestmark = pytest.mark.slow

DESA = "15.08.14.2003"


def _start(env, *args):
    return subprocess.Popen([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_and_lost_redis_still_complete_exactly_once(fresh_database):
    fresh = fresh_database(outbox_redeliver_after=1.0, relay_poll_interval=0.2)
    env = fresh.env()
    engine = fresh.engine
    queued = run_cli(fresh.settings, "tenants", "provision", DESA, "--async", env=env)
    assert queued.returncode == 0, queued.stderr
    assert "1 provisioning jobs queued" in queued.stdout
    with engine.connect() as conn:
        event_id = conn.scalar(text("SELECT id FROM kawasan.outbox WHERE desa_kode = :k"), {"k": DESA})

    # Hold the tenant registry so the job stops mid-way: schema created, registry insert waiting.
    blocker = engine.connect()
    blocker.execute(text("LOCK TABLE kawasan.tenant IN EXCLUSIVE MODE"))
    worker = _start(env, "worker")
    relay = _start(env, "relay")
    processes = [worker, relay]
    try:
        def job_is_blocked_mid_way():
            # A new transaction each time: pg_stat_activity is a per-transaction snapshot.
            with engine.connect() as conn:
                return conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    # The provisioning script (truncated in pg_stat_activity) waits for the registry.
                    "AND wait_event_type = 'Lock' AND query LIKE 'CREATE SCHEMA \"desa_1508142003\"%'"
                )).scalar()

        orphan_pid = _wait_for(job_is_blocked_mid_way, 30, "the job to reach the registry insert")
        kill_process_tree(worker)
        kill_process_tree(relay)
        redis.Redis.from_url(fresh.settings.redis_url).flushall()
        blocker.rollback()  # the killed job's transaction can now only roll back
        blocker.close()

        worker = _start(env, "worker")
        relay = _start(env, "relay")
        processes = [worker, relay]

        def event_done():
            with engine.connect() as conn:
                row = conn.execute(text("SELECT * FROM kawasan.outbox WHERE id = :i"), {"i": event_id}).one()
                return row if row.status == "done" else None

        row = _wait_for(event_done, 60, "the provisioning job to complete after the restart")
        assert row.attempts >= 2, "the relay must have re-enqueued the lost job"
        assert row.completed_by == f"outbox-{event_id}"
        time.sleep(2.5)  # more than two redelivery periods: nothing runs it again
        with engine.connect() as conn:
            again = conn.execute(text("SELECT * FROM kawasan.outbox WHERE id = :i"), {"i": event_id}).one()
            assert (again.completed_at, again.attempts) == (row.completed_at, row.attempts)
            assert conn.scalar(text("SELECT count(*) FROM kawasan.tenant WHERE kode = :k"), {"k": DESA}) == 1
            assert conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'desa_1508142003'")) == 1
            assert not conn.scalar(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": orphan_pid})
        listed = run_cli(fresh.settings, "tenants", "list", "--check", env=env)
        assert "15.08.14.2003" in listed.stdout and "registry and schemas agree" in listed.stdout
    finally:
        for proc in processes:
            kill_process_tree(proc, signal.SIGTERM)


def test_relay_wakes_on_notify_without_waiting_for_a_poll(fresh_database):
    """With a long poll interval, a new event still reaches the worker quickly (LISTEN/NOTIFY)."""
    fresh = fresh_database(relay_poll_interval=30.0)
    env = fresh.env()
    worker = _start(env, "worker")
    relay = _start(env, "relay")
    try:
        time.sleep(2.0)  # let the relay finish its first pass and start listening
        started = time.monotonic()
        assert run_cli(fresh.settings, "tenants", "provision", DESA, "--async", env=env).returncode == 0

        def provisioned():
            with fresh.engine.connect() as conn:
                return conn.scalar(text("SELECT 1 FROM kawasan.tenant WHERE kode = :k"), {"k": DESA})

        _wait_for(provisioned, 20, "provisioning through NOTIFY")
        assert time.monotonic() - started < 20  # far below the 30 s poll interval
    finally:
        for proc in (worker, relay):
            kill_process_tree(proc, signal.SIGTERM)
