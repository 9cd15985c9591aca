"""RQ queues. One worker Deployment per queue in production, so dequeue uses BLMOVE (reliable)."""

from __future__ import annotations

import redis
from rq import Queue

#: Queue names, in the order a local all-in-one worker serves them.
QUEUES = ("tenants", "default")


def queue(name: str, connection: redis.Redis) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUES)}")
    return Queue(name, connection=connection, default_timeout=180)
