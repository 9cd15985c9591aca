"""The connections a process works with: resolved once, shared by web, CLI, worker and relay."""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property

import redis
from sqlalchemy import Engine

from service.config import Settings, load_settings
from service.db import describe_backends, make_engine, resolve_database_url, resolve_redis_url

log = logging.getLogger("kawasan")


def configure_logging(level: str | int = "INFO", *, verbose: bool = False) -> None:
    """One logging set-up for every process. Personal data is never passed to a logger."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for noisy in ("alembic", "pgserver"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.database_url = resolve_database_url(settings)
        self.redis_url = resolve_redis_url(settings)
        self._pid = os.getpid()
        log.info(describe_backends(settings, self.database_url, self.redis_url))

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def after_fork(self) -> None:
        """Forked children (RQ work horses) must not share the parent's sockets."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            if "engine" in self.__dict__:
                self.engine.dispose(close=False)
            self.__dict__.pop("redis", None)


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime(settings: Settings | None = None) -> Runtime:
    """The process-wide runtime (created on first use from the environment or ``settings``)."""
    global _runtime
    with _lock:
        if _runtime is None or (settings is not None and settings is not _runtime.settings):
            _runtime = Runtime(settings or load_settings())
        _runtime.after_fork()
        return _runtime


def process_pool(processes: int, *, initializer=None, initargs: tuple = ()):
    """A pool of worker processes forked from a clean ``forkserver``, never from the calling process.

    Forking a process that runs threads (a web server, the test process with its live server and browser)
    copies locks that some other thread held: the child then waits on them forever. The fork server is a
    fresh single-threaded process, started once per parent with the heavy modules already imported. Work
    and arguments must be picklable; each worker opens its own engine (``initializer``)."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["service.db", "tenants.migrate", "service.rekap.services"])
    return context.Pool(processes, initializer=initializer, initargs=initargs)
