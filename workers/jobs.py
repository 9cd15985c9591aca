"""The job base: every outbox event runs through :func:`run_outbox_event`.

It locks the event row, skips it if it is already done, runs the topic's handler and marks the event
done **in the same transaction** as the handler's effect. A job that is lost, duplicated, killed or
re-enqueued therefore does its work exactly once. Handlers take the desa code explicitly.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rq import get_current_job
from sqlalchemy import Connection, Engine, text

from service.db import SHARED_SCHEMA
from service.runtime import get_runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
#: Modules whose import registers handlers.
HANDLER_MODULES = (
    "tenants.tasks",
    "service.penduduk.tasks",
    "service.penduduk.impor_tasks",
    "service.penduduk.demo_tasks",
    "service.penduduk.laporan_tasks",
    "service.surat.tasks",
    "service.surat.notifikasi",
)


@dataclass
class JobContext:
    conn: Connection  # the transaction that also marks the event done
    engine: Engine
    event_id: int


Handler = Callable[[JobContext, str | None, dict[str, Any]], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handles(topic: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[topic] = fn
        return fn

    return register


def _load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def run_outbox_event(event_id: int) -> dict[str, Any]:
    """RQ entry point (job id ``outbox-<id>``)."""
    _load_handlers()
    engine = get_runtime().engine
    job = get_current_job()
    job_id = job.id if job else f"inline-{event_id}"
    try:
        with engine.begin() as conn:
            row = conn.execute(
                text(f"SELECT id, topic, desa_kode, payload, status FROM {SHARED_SCHEMA}.outbox "
                     "WHERE id = :id FOR UPDATE"),
                {"id": event_id},
            ).first()
            if row is None:
                return {"status": "missing"}
            if row.status != "pending":
                return {"status": "already-" + row.status}
            handler = HANDLERS.get(row.topic)
            if handler is None:
                raise LookupError(f"no handler for topic {row.topic!r}")
            result = handler(JobContext(conn, engine, event_id), row.desa_kode, row.payload) or {}
            conn.execute(
                text(
                    f"UPDATE {SHARED_SCHEMA}.outbox SET status = 'done', completed_at = now(), "
                    "completed_by = :by, result = CAST(:result AS jsonb), last_error = NULL WHERE id = :id"
                ),
                {"id": event_id, "by": job_id, "result": _json(result)},
            )
            log.info("outbox event %s (%s) done", event_id, row.topic)
            return {"status": "done", **result}
    except Exception as exc:
        _record_failure(engine, event_id, exc)
        raise


def _record_failure(engine: Engine, event_id: int, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""UPDATE {SHARED_SCHEMA}.outbox SET last_error = :e,
                    status = CASE WHEN attempts >= :max THEN 'dead' ELSE status END,
                    available_at = now() + make_interval(secs => least(power(2, attempts), 600)),
                    enqueued_at = NULL
                    WHERE id = :id AND status = 'pending'"""
            ),
            {"e": message, "id": event_id, "max": MAX_ATTEMPTS},
        )


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str)
