import time

import pytest
from sqlalchemy import text

from tenants.provisioning import drop_desa
from tenants.tasks import TOPIC_PROVISION, request_provisioning
from workers.jobs import MAX_ATTEMPTS
from workers.outbox import emit
from workers.queues import queue
from workers.relay import job_id_for

DESA = "15.08.02.2002"


@pytest.fixture
def cleanup_desa(engine):
    yield
    with engine.begin() as conn:
        drop_desa(conn, DESA)
        conn.execute(text("DELETE FROM kawasan.outbox WHERE desa_kode = :k"), {"k": DESA})


def _event(engine, event_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM kawasan.outbox WHERE id = :i"), {"i": event_id}).one()


def _tenant_rows(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM kawasan.tenant WHERE kode = :k"), {"k": DESA})


def test_provisioning_requested_as_a_job_runs_once_even_if_enqueued_twice(engine, runtime, relay, work,
                                                                         cleanup_desa):
    with engine.begin() as conn:
        [event_id] = request_provisioning(conn, [DESA])
        assert request_provisioning(conn, [DESA]) == []  # one pending event per desa
    assert relay.run_once() == 1
    duplicate = queue("tenants", runtime.redis).enqueue("workers.jobs.run_outbox_event", event_id,
                                                        job_id="duplicate")
    work()
    row = _event(engine, event_id)
    assert (row.status, row.completed_by, row.attempts) == ("done", job_id_for(event_id), 1)
    assert row.result == {"desa": DESA, "created": True}
    assert duplicate.latest_result().return_value == {"status": "already-done"}
    assert _tenant_rows(engine) == 1
    assert relay.run_once() == 0  # done events are never enqueued again


def test_relay_re_enqueues_a_job_that_redis_lost(engine, runtime, relay, work, cleanup_desa):
    with engine.begin() as conn:
        [event_id] = request_provisioning(conn, [DESA])
    assert relay.run_once() == 1
    runtime.redis.flushall()
    assert relay.run_once() == 0  # not yet: the job may just be slow
    time.sleep(1.2)
    assert relay.run_once() == 1
    work()
    row = _event(engine, event_id)
    assert (row.status, row.attempts) == ("done", 2)
    assert _tenant_rows(engine) == 1


def test_a_failing_job_backs_off_then_is_marked_dead(engine, relay, work):
    with engine.begin() as conn:
        event_id = emit(conn, "no.such.topic", key="test-failing-job")
    assert relay.run_once() == 1
    work()
    row = _event(engine, event_id)
    assert row.status == "pending" and "no handler" in row.last_error
    assert row.enqueued_at is None
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT available_at > now() FROM kawasan.outbox WHERE id = :i"), {"i": event_id})
        assert relay.run_once() == 0  # backing off
        conn.execute(text("UPDATE kawasan.outbox SET available_at = now(), attempts = :m WHERE id = :i"),
                     {"i": event_id, "m": MAX_ATTEMPTS - 1})
        conn.commit()
    assert relay.run_once() == 1
    work()
    assert _event(engine, event_id).status == "dead"


def test_pending_events_are_unique_per_key(engine):
    with engine.connect() as conn:
        first = emit(conn, "t", key="same-key")
        assert first is not None
        assert emit(conn, "t", key="same-key") is None
        assert emit(conn, "t", key=None) is not None  # unkeyed events never collide
        conn.rollback()


def test_provision_job_topic_is_registered():
    from workers.jobs import HANDLERS, _load_handlers

    _load_handlers()
    assert TOPIC_PROVISION in HANDLERS
