"""Fixed-window rate limits in Redis (shared by every web process)."""

from __future__ import annotations

import hashlib

import redis


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"terlalu banyak percobaan / too many attempts; retry after {retry_after} s")


def hit(client: redis.Redis, bucket: str, subject: str, *, limit: int, window: int) -> None:
    """Count one attempt; raise :class:`RateLimited` past ``limit`` per ``window`` seconds.

    The subject (a NIK, a username, an address) is hashed: Redis keys are not a place for personal data.
    """
    key = f"kawasan:rl:{bucket}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"
    pipe = client.pipeline()
    pipe.set(key, 0, ex=window, nx=True)  # opens the window (works on Redis 6.2 too)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    if count > limit:
        raise RateLimited(max(int(ttl), 1))


def clear(client: redis.Redis, bucket: str, subject: str) -> None:
    client.delete(f"kawasan:rl:{bucket}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}")
