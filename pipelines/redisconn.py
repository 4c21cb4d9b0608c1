"""The one way this project connects to Redis: retries with backoff, socket timeouts, health checks.

Why one factory: a Redis that restarts, or a network blip, must cost a few retried calls, never an
exception in the middle of a crawl nor a call that hangs. Every client (the frontier, the
archived-URL state, the dedup index, the scheduler's workers) gets the same policy. Two patience
levels: code on the crawler's event loop must fail within about a second (it buffers and tries again
at its next beat; a long wait there would stall every download), code in a thread or a CLI may
wait several seconds for a restarting Redis.
"""

from __future__ import annotations

import builtins

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from pipelines.urls import redact

#: what "Redis is unreachable" raises (including BusyLoadingError while a restarted Redis loads its
#: AOF and AuthenticationError, both ConnectionError); other Redis errors are bugs and propagate
UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, builtins.ConnectionError, builtins.TimeoutError)

#: retries, socket timeout (s), first backoff (s), longest backoff (s); redis-py retries the
#: connect and the command, so a refused connection costs about twice the backoffs listed here
_PATIENT = (8, 5.0, 0.05, 2.0)  # about 10 s of retries when refused: a Redis restart is bridged
_PROMPT = (1, 2.0, 0.02, 0.1)  # about 0.1 s when refused: the event loop is not held up


def connect(uri: str, *, patient: bool = True) -> redis.Redis:
    """A client for ``uri`` (``redis://[:password@]host:port/db``, ``rediss://``, ``unix://``).

    ``patient=False`` for callers on the crawler's event loop: they must handle :data:`UNREACHABLE`
    themselves (buffer, retry later); ``patient=True`` rides out a restart of a few seconds.
    """
    retries, timeout, backoff, cap = _PATIENT if patient else _PROMPT
    return redis.Redis.from_url(
        uri,
        retry=Retry(ExponentialBackoff(cap=cap, base=backoff), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=30,
    )


def shown(uri: str) -> str:
    """``uri`` as it may appear in a log line: without its password."""
    return redact(uri)
