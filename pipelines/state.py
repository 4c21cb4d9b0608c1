"""The incremental state: which article URLs of an outlet are already archived, or given up.

On disk and in S3 it is two files per completed run, written by :mod:`pipelines.publish` from the
run's manifest: ``state/{outlet}/archived/{run_id}.txt`` (URLs archived) and
``state/{outlet}/attempts/{run_id}.txt`` (URLs that failed for good: 404, 410, redirect loops).
A URL that failed for good in ``max_attempts`` runs is given up: not fetched again (``-a
recrawl=1`` still fetches it). With a shared frontier several workers crawl at once, so the
archived URLs are also kept in a Redis set that every worker sees at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pipelines.layout import ARCHIVED_DIR, ATTEMPTS_DIR, archived_set_key, state_prefix
from pipelines.manifest import ManifestRow, moved_to
from pipelines.storage import Store


def load_state(store: Store, outlet: str) -> tuple[set[str], Counter[str]]:
    """URLs archived by earlier completed runs of ``outlet``, and how many runs each failed URL
    failed for good (one listing, one read per file)."""
    urls: set[str] = set()
    attempts: Counter[str] = Counter()
    prefix = state_prefix(outlet)
    for key in store.list_keys(prefix):
        lines = [line for line in (store.get_bytes(key) or b"").decode("utf-8").splitlines() if line]
        kind = key[len(prefix):]
        if kind.startswith(ATTEMPTS_DIR):
            attempts.update(lines)
        elif kind.startswith(ARCHIVED_DIR):
            urls.update(lines)
    return urls, attempts


class ArchivedState:
    """The archived URLs of one outlet: loaded once from the archive, extended as the run archives more."""

    def __init__(self, store: Store, outlet: str, redis_uri: str = "", key_prefix: str = "archived", max_attempts: int = 3) -> None:
        self.store = store
        self.outlet = outlet
        self.redis_uri = redis_uri
        self.redis_key = archived_set_key(key_prefix, outlet)
        self.max_attempts = max_attempts
        self.urls: set[str] = set()
        self.attempts: Counter[str] = Counter()
        self._redis: Any = None

    def load(self) -> int:
        """Read the state (blocking: store listing, Redis); returns how many URLs it holds."""
        self.urls, self.attempts = load_state(self.store, self.outlet)
        if self.redis_uri:
            import redis

            self._redis = redis.Redis.from_url(self.redis_uri)
            self.urls |= {u.decode() for u in self._redis.smembers(self.redis_key)}
        return len(self.urls)

    def __contains__(self, url: str) -> bool:
        """Archived, or given up after ``max_attempts`` runs that failed it for good."""
        return url in self.urls or self._exhausted(self.attempts[url])

    def given_up(self) -> int:
        return sum(1 for n in self.attempts.values() if self._exhausted(n))

    def _exhausted(self, failed_runs: int) -> bool:
        return 0 < self.max_attempts <= failed_runs

    def record(self, row: ManifestRow) -> None:
        """Take a run's row into account at once (the run's state file is derived from its manifest)."""
        target = moved_to(row)
        if target is None:
            if row.archived:
                self.add(row.urls())
        elif target in self.urls:
            self.add([row.url])

    def __len__(self) -> int:
        return len(self.urls)

    def add(self, urls: Iterable[str]) -> None:
        new = set(urls)
        self.urls |= new
        if self._redis is not None and new:
            self._redis.sadd(self.redis_key, *new)
