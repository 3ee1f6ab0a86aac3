"""A Redis cache that keeps sign-in security state in PostgreSQL and falls back to process
memory for everything else while Redis is unreachable.

allauth keeps three things in the cache: the used-TOTP-code markers that stop a code being
replayed, the failed-sign-in histories behind its rate limits, and the short locks around
them. Kept in Redis with a per-process memory fallback, an outage (or a hung Redis) split that
state per process: the same code was accepted once per process, and each process counted
failed passwords on its own. So every key under `allauth` goes to the database, always, through
Django's database cache on the `accounts_security_cache` table: one store for every process,
whatever Redis is doing, and `add` is an INSERT on a primary key, so two requests racing with
one code cannot both win. Sign-in costs a few small queries and never waits on Redis.

Everything else (throwaway values) goes to Redis; while Redis is down it uses a per-process
local-memory cache and retries Redis after `RETRY_AFTER_SECONDS`, so an outage costs one short
socket timeout per process per interval, not one per request.
"""

from __future__ import annotations

import logging
import time

import redis.exceptions
from django.core.cache.backends.db import DatabaseCache
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

# Keys that hold sign-in security state (allauth's "allauth:rl:..." rate limits and their
# locks, "allauth.mfa.totp.used?..." replay markers): kept in the database.
SECURITY_KEY_PREFIX = "allauth"
SECURITY_TABLE = "accounts_security_cache"  # accounts.models.SecurityCacheEntry

# The Django cache API every caller uses, by how each names its keys.
_SINGLE_KEY_API = ("get", "set", "add", "delete", "incr", "decr", "has_key", "touch", "get_or_set")
_MANY_KEYS_API = ("get_many", "delete_many")


def is_security_key(key) -> bool:
    return isinstance(key, str) and key.startswith(SECURITY_KEY_PREFIX)


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
        # SECURITY: never culled by count (Django's default culls past 300 entries, which
        # would let a flood of keys erase an account's failed-sign-in history); expired rows
        # are deleted every ten minutes by accounts.tasks.purge_security_state.
        self.security = DatabaseCache(
            SECURITY_TABLE,
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "OPTIONS": {"MAX_ENTRIES": 10**9},
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
            },
        )
        self._down_until = 0.0

    @property
    def redis_available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _redis_or_memory(self, name: str, *args, **kwargs):
        if self.redis_available:
            try:
                return getattr(RedisCache, name)(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                self._down_until = time.monotonic() + self.RETRY_AFTER_SECONDS
                logger.warning(
                    "Redis cache unavailable (%s); using process memory for %.0f seconds",
                    type(exc).__name__,
                    self.RETRY_AFTER_SECONDS,
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    def set_many(self, data, *args, **kwargs):
        security = {k: v for k, v in data.items() if is_security_key(k)}
        other = {k: v for k, v in data.items() if not is_security_key(k)}
        failed = self.security.set_many(security, *args, **kwargs) if security else []
        if other:
            failed += self._redis_or_memory("set_many", other, *args, **kwargs)
        return failed

    def clear(self):
        """Empty Redis and the memory fallback. The security state is rows of the database
        and goes with it (tests roll it back); clearing a cache never erases it."""
        return self._redis_or_memory("clear")


def _single_key(name: str):
    redis_method = getattr(RedisCache, name)

    def method(self: ResilientRedisCache, *args, **kwargs):
        key = args[0] if args else kwargs.get("key")
        if is_security_key(key):
            return getattr(self.security, name)(*args, **kwargs)
        return self._redis_or_memory(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = redis_method.__doc__
    return method


def _many_keys(name: str):
    redis_method = getattr(RedisCache, name)

    def method(self: ResilientRedisCache, keys, *args, **kwargs):
        keys = list(keys)
        security = [k for k in keys if is_security_key(k)]
        other = [k for k in keys if not is_security_key(k)]
        results = []
        if security:
            results.append(getattr(self.security, name)(security, *args, **kwargs))
        if other:
            results.append(self._redis_or_memory(name, other, *args, **kwargs))
        if name == "get_many":
            return {k: v for found in results for k, v in found.items()}
        return None

    method.__name__ = name
    method.__doc__ = redis_method.__doc__
    return method


for _name in _SINGLE_KEY_API:
    setattr(ResilientRedisCache, _name, _single_key(_name))
for _name in _MANY_KEYS_API:
    setattr(ResilientRedisCache, _name, _many_keys(_name))
