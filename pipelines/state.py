"""The incremental state: which article URLs of an outlet are already archived, or given up.

On disk and in S3 it is two files per completed run, written by :mod:`pipelines.publish` from the
run's manifest: ``state/{outlet}/archived/{run_id}.txt`` (URLs archived) and
``state/{outlet}/attempts/{run_id}.txt`` (URLs that failed for good: 404, 410, redirect loops).
A mirror run's (``-a base_url=``) files are in a ``mirror/`` sub-folder of each: live runs never load
them and mirror runs load only them, so fixture or staging URLs never count as archived for a real crawl.
A URL that failed for good in ``max_attempts`` runs is given up: not fetched again (``-a
recrawl=1`` still fetches it). A translation that answered 404/410 (status ``missing``) is listed in
the attempts file with its publication day: a later run checks it again only while that day is
recent (:meth:`ArchivedState.missing_settled`, ``TRANSLATION_RECHECK_DAYS``); an undated one counts
as a failed attempt. With a shared frontier several workers crawl at once, so the
archived URLs are also kept in a Redis set that every worker sees at once, one set per archive (its
id: a digest of the store's URI) so archives sharing a Redis never skip each other's articles.
Redis may be away for a while or come back empty: additions wait locally and go out later, a
lookup falls back to what this worker knows, and :meth:`ArchivedState.republish` puts everything
this worker knows back (the frontier calls it when it finds the job lost). The Redis set is the
archive's, whichever runs fill it; a live run ignores its members that only mirror runs archived.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from pipelines.layout import ARCHIVED_DIR, ATTEMPTS_DIR, STATE_ROOT, archived_set_key, parse_state_key, state_prefix
from pipelines.manifest import ManifestRow, moved_to, read_attempt_line
from pipelines.redisconn import UNREACHABLE, connect, shown
from pipelines.storage import Store

logger = logging.getLogger(__name__)

#: after a failed Redis call the state asks Redis again only this many seconds later (lookups are
#: made on the crawler's event loop, one per discovered article: they must not each wait for Redis)
REDIS_RETRY_AFTER = 1.0
_CHUNK = 1000  # URLs per SADD when republishing


def archive_id(archive_uri: str) -> str:
    """A short stable id of an archive for Redis names: the first 12 hex digits of SHA-256 of its URI
    (as the spool folder of :class:`pipelines.storage.Spool`)."""
    return hashlib.sha256(archive_uri.encode("utf-8")).hexdigest()[:12]


def load_state(store: Store, outlet: str, mirror: bool = False) -> tuple[set[str], Counter[str], dict[str, date | None]]:
    """URLs archived by earlier completed runs of ``outlet``, how many runs each failed URL failed
    for good, and the missing translations with their publication day (the latest known; one
    listing, one read per file): the live runs' state, or with ``mirror`` the mirror runs' (never both)."""
    urls: set[str] = set()
    attempts: Counter[str] = Counter()
    missing: dict[str, date | None] = {}
    for key in store.list_keys(state_prefix(outlet)):
        parsed = parse_state_key(key)
        if parsed is None or parsed[2] != mirror:
            continue
        lines = [line for line in (store.get_bytes(key) or b"").decode("utf-8").splitlines() if line]
        if parsed[1] == ATTEMPTS_DIR:
            for line in lines:
                url, is_missing, day = read_attempt_line(line)
                if not is_missing:
                    attempts[url] += 1
                    continue
                known = _iso_day(day)
                if known is None:
                    attempts[url] += 1  # no date to judge it by: given up after max_attempts runs
                prev = missing.get(url)
                missing[url] = max(known, prev) if known and prev else (known or prev)
        elif parsed[1] == ARCHIVED_DIR:
            urls.update(lines)
    return urls, attempts, missing


def _iso_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def live_runs(store: Store, outlet: str | None = None) -> list[str]:
    """Run ids of the live (not mirror) runs the archive holds state of, for ``outlet`` or all outlets
    (every finished or recovered run publishes a state file; one listing of ``state/``)."""
    prefix = state_prefix(outlet) if outlet else STATE_ROOT
    out = []
    for key in store.list_keys(prefix):
        parsed = parse_state_key(key)
        if parsed is not None and parsed[1] == ARCHIVED_DIR and not parsed[2]:
            out.append(parsed[3])
    return out


class ArchivedState:
    """The archived URLs of one outlet: loaded once from the archive, extended as the run archives more."""

    def __init__(self, store: Store, outlet: str, redis_uri: str = "", key_prefix: str = "archived", max_attempts: int = 3,
                 mirror: bool = False) -> None:
        self.store = store
        self.outlet = outlet
        #: a mirror run's state: only the mirror runs' files are loaded (and its own are written apart)
        self.mirror = mirror
        self.redis_uri = redis_uri
        self.redis_key = archived_set_key(key_prefix, archive_id(store.uri), outlet)
        self.max_attempts = max_attempts
        self.urls: set[str] = set()
        self.attempts: Counter[str] = Counter()
        #: translations earlier runs found missing (404/410), with their publication day if known
        self.missing: dict[str, date | None] = {}
        self._redis: Any = None
        self._unsynced: set[str] = set()  # archived here, not yet in Redis (it was away)
        self._retry_at = 0.0  # monotonic time before which Redis is not asked again
        self._away = False
        #: a live run's view of the shared Redis set leaves out what only mirror runs archived
        self._mirror_only: set[str] = set()

    def load(self) -> int:
        """Read the state (blocking: store listing, Redis); returns how many URLs it holds."""
        self.urls, self.attempts, self.missing = load_state(self.store, self.outlet, self.mirror)
        if self.redis_uri:
            if not self.mirror:
                self._mirror_only = load_state(self.store, self.outlet, mirror=True)[0] - self.urls
            loader = connect(self.redis_uri)  # in a thread at the run's start: may wait out a restart
            try:
                self.urls |= {u.decode() for u in loader.smembers(self.redis_key)} - self._mirror_only
            finally:
                loader.close()
            self._redis = connect(self.redis_uri, patient=False)  # then on the event loop
        return len(self.urls)

    def __contains__(self, url: str) -> bool:
        """Archived (by this run, an earlier one, or another live worker of the frontier), or given
        up after ``max_attempts`` runs that failed it for good."""
        if url in self.urls or self._exhausted(self.attempts[url]):
            return True
        if self._redis is None or time.monotonic() < self._retry_at or url in self._mirror_only:
            return False
        try:
            found = bool(self._redis.sismember(self.redis_key, url))
        except UNREACHABLE as exc:
            self._unreachable(exc)
            return False  # what this worker knows; the frontier asks again before fetching
        self._reachable()
        return found

    def missing_settled(self, url: str, today: date, recheck_days: int) -> bool:
        """A translation found missing before whose publication day is more than ``recheck_days``
        before ``today``: it is not checked again (it counts as archived)."""
        day = self.missing.get(url)
        return day is not None and (today - day).days > recheck_days

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
            self._unsynced |= new
            self.sync()

    def sync(self) -> int:
        """Send the additions Redis has not got yet (it was away); returns how many are still waiting."""
        if self._redis is None or not self._unsynced or time.monotonic() < self._retry_at:
            return len(self._unsynced)
        try:
            self._redis.sadd(self.redis_key, *self._unsynced)
        except UNREACHABLE as exc:
            self._unreachable(exc)
        else:
            self._unsynced.clear()
            self._reachable()
        return len(self._unsynced)

    def republish(self) -> int:
        """Put every URL this worker knows as archived back into the Redis set (Redis lost it);
        raises :data:`~pipelines.redisconn.UNREACHABLE` errors for the caller to try again later."""
        if self._redis is None:
            return 0
        urls = sorted(self.urls)
        for i in range(0, len(urls), _CHUNK):
            self._redis.sadd(self.redis_key, *urls[i:i + _CHUNK])
        self._unsynced.clear()
        self._reachable()
        return len(urls)

    def _unreachable(self, exc: BaseException) -> None:
        if not self._away:
            self._away = True
            logger.warning("archived state: Redis %s unreachable (%s); using what this worker knows until it is back", shown(self.redis_uri), exc)
        self._retry_at = time.monotonic() + REDIS_RETRY_AFTER

    def _reachable(self) -> None:
        if self._away:
            self._away = False
            logger.info("archived state: Redis %s is back", shown(self.redis_uri))
        self._retry_at = 0.0
