"""The relay: moves committed outbox events onto RQ, and re-enqueues what Redis lost.

Woken by NOTIFY on ``kawasan_outbox``; polls every ``relay_poll_interval`` seconds regardless. Rows are
claimed with ``FOR UPDATE SKIP LOCKED``, so several relays can run, and a row whose job is running
(the job holds its row lock) is never touched. A pending row whose job has vanished from Redis, or
whose job is recorded as started although nobody holds the row, is re-enqueued after
``outbox_redeliver_after`` seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

import psycopg
import redis
import sqlalchemy.exc
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import Engine, text

from service.db import SHARED_SCHEMA
from workers.jobs import run_outbox_event
from workers.queues import queue

log = logging.getLogger(__name__)

CHANNEL = "kawasan_outbox"
_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def job_id_for(event_id: int) -> str:
    return f"outbox-{event_id}"


class Relay:
    def __init__(self, engine: Engine, connection: redis.Redis, *, redeliver_after: float, poll_interval: float):
        self.engine = engine
        self.redis = connection
        self.redeliver_after = redeliver_after
        self.poll_interval = poll_interval
        self.stopping = threading.Event()

    def run_once(self, limit: int = 500) -> int:
        """Enqueue what is due; returns how many jobs were (re)enqueued."""
        enqueued = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    f"""SELECT id, queue, enqueued_at IS NOT NULL AS seen FROM {SHARED_SCHEMA}.outbox
                        WHERE status = 'pending' AND available_at <= now()
                          AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => :after))
                        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"""
                ),
                {"after": self.redeliver_after, "limit": limit},
            ).all()
            due = []
            for row in rows:
                job_id = job_id_for(row.id)
                job = self._job(job_id)
                status = job.get_status(refresh=False) if job else None
                if status in _WAITING:
                    continue  # still in its queue: waiting for a worker is not a loss
                if status == JobStatus.STARTED and job.started_at and (
                    datetime.now(UTC) - job.started_at.replace(tzinfo=UTC)
                ).total_seconds() < self.redeliver_after:
                    continue  # just picked up by a worker that has not locked the row yet
                if row.seen:
                    log.warning("outbox event %s: job %s is %s; re-enqueueing", row.id, job_id, status or "gone")
                    if status is not None:
                        Job(job_id, connection=self.redis).delete()
                queue(row.queue, self.redis).enqueue(
                    run_outbox_event, row.id, job_id=job_id, result_ttl=3600, failure_ttl=7 * 86400
                )
                due.append(row.id)
                enqueued += 1
            if due:
                conn.execute(
                    text(
                        f"UPDATE {SHARED_SCHEMA}.outbox SET enqueued_at = now(), attempts = attempts + 1 "
                        "WHERE id = ANY(:ids)"
                    ),
                    {"ids": due},
                )
        return enqueued

    def _job(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return None

    def run(self, database_url: str) -> None:
        """Loop until SIGTERM/SIGINT: LISTEN for wake-ups, poll as a safety net."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        log.info("relay started (poll every %.1f s, redeliver after %.1f s)", self.poll_interval,
                 self.redeliver_after)
        while not self.stopping.is_set():
            try:
                with psycopg.connect(database_url, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    while not self.stopping.is_set():
                        self.run_once()
                        # Drain every notification that arrived; a burst costs one pass.
                        for _ in listener.notifies(timeout=self.poll_interval, stop_after=1):
                            pass
            except (psycopg.OperationalError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                    redis.ConnectionError) as exc:
                # A restarted PostgreSQL or Redis: the pool has invalidated the broken connection; retry.
                log.error("relay lost a connection (%s); retrying in 2 s", exc)
                self.stopping.wait(2)
        log.info("relay stopped")
