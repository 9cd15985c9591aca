"""``kawasan worker``: an RQ worker on the given queues."""

from __future__ import annotations

from rq import SimpleWorker, Worker

from service.runtime import Runtime
from workers.jobs import _load_handlers
from workers.queues import QUEUES, queue


def run_worker(runtime: Runtime, queues: tuple[str, ...] = QUEUES, *, burst: bool = False,
               simple: bool = False) -> bool:
    """``simple``: run jobs in this process instead of a forked work horse per job. About ten times the
    throughput (bench/surat.py); safe because every job is transactional and idempotent, at the cost that a
    crashing job takes the worker down (its orchestrator restarts it; the outbox redelivers)."""
    _load_handlers()  # import handlers before forking work horses
    import weasyprint  # noqa: F401 - slow to import (~1 s); every issuing work horse inherits it
    connection = runtime.redis
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([queue(name, connection) for name in queues], connection=connection)
    return worker.work(burst=burst, with_scheduler=False, logging_level=runtime.settings.log_level)
