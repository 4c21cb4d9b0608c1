"""The incremental state: which article URLs of an outlet are already archived.

On disk and in S3 it is one file per completed run (``state/{outlet}/archived/{run_id}.txt``,
written by :mod:`pipelines.publish` from the run's manifest). With a shared frontier several
workers crawl at once, so the state is also kept in a Redis set that every worker sees at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.layout import archived_set_key, state_prefix
from pipelines.storage import Store


def load_state(store: Store, outlet: str) -> set[str]:
    """URLs archived by earlier completed runs of ``outlet`` (one listing, one read per run)."""
    urls: set[str] = set()
    for key in store.list_keys(state_prefix(outlet)):
        data = store.get_bytes(key) or b""
        urls.update(line for line in data.decode("utf-8").splitlines() if line)
    return urls


class ArchivedState:
    """The archived URLs of one outlet: loaded once from the archive, extended as the run archives more."""

    def __init__(self, store: Store, outlet: str, redis_uri: str = "", key_prefix: str = "archived") -> None:
        self.store = store
        self.outlet = outlet
        self.redis_uri = redis_uri
        self.redis_key = archived_set_key(key_prefix, outlet)
        self.urls: set[str] = set()
        self._redis: Any = None

    def load(self) -> int:
        """Read the state (blocking: store listing, Redis); returns how many URLs it holds."""
        self.urls = load_state(self.store, self.outlet)
        if self.redis_uri:
            import redis

            self._redis = redis.Redis.from_url(self.redis_uri)
            self.urls |= {u.decode() for u in self._redis.smembers(self.redis_key)}
        return len(self.urls)

    def __contains__(self, url: str) -> bool:
        return url in self.urls

    def __len__(self) -> int:
        return len(self.urls)

    def add(self, urls: Iterable[str]) -> None:
        new = set(urls)
        self.urls |= new
        if self._redis is not None and new:
            self._redis.sadd(self.redis_key, *new)
