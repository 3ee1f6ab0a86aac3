"""A Redis cache that falls back to process memory while Redis is unreachable.

The cache holds throwaway values and allauth's sign-in rate-limit counters. With a plain
Redis cache, an outage makes allauth refuse every sign-in (429: it cannot take its lock); with
errors ignored, rate limits silently stop applying. This backend keeps both working: while
Redis is down it uses a per-process local-memory cache (limits still apply, per process) and
retries Redis after `RETRY_AFTER_SECONDS`, so an outage costs one short socket timeout per
process per interval, not one per request.
"""

from __future__ import annotations

import logging
import time

import redis.exceptions
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    ConnectionInterrupted,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)

# The Django cache API every caller uses; each goes to Redis, or to memory during an outage.
_API = (
    "get",
    "set",
    "add",
    "delete",
    "get_many",
    "set_many",
    "delete_many",
    "incr",
    "decr",
    "has_key",
    "touch",
    "clear",
    "get_or_set",
)


class ResilientRedisCache(RedisCache):
    RETRY_AFTER_SECONDS = 30.0

    def __init__(self, server: str, params: dict) -> None:
        params = {**params, "OPTIONS": {**params.get("OPTIONS", {}), "IGNORE_EXCEPTIONS": False}}
        super().__init__(server, params)
        self._fallback = LocMemCache(
            f"redis-fallback-{id(self)}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            },
        )
        self._down_until = 0.0

    @property
    def redis_available(self) -> bool:
        return time.monotonic() >= self._down_until


def _resilient(name: str):
    redis_method = getattr(RedisCache, name)

    def method(self: ResilientRedisCache, *args, **kwargs):
        if self.redis_available:
            try:
                return redis_method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                self._down_until = time.monotonic() + self.RETRY_AFTER_SECONDS
                logger.warning(
                    "Redis cache unavailable (%s); using process memory for %.0f seconds",
                    type(exc).__name__,
                    self.RETRY_AFTER_SECONDS,
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = redis_method.__doc__
    return method


for _name in _API:
    setattr(ResilientRedisCache, _name, _resilient(_name))
