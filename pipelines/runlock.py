"""One run per outlet and archive at a time: a lock object in the archive, with an expiry.

Scheduled runs can overlap (a slow run, two cron ticks, two machines). The second one must not
crawl: it finds ``locks/<outlet>.json`` and exits with a clear message. The lock is created with an
atomic create-if-absent (hard link on disk, a conditional PUT on S3), refreshed by the running
crawl, and expires, so a dead run blocks only until ``ARCHIVE_LOCK_TTL`` runs out; on the same
machine a lock whose process is gone is taken over at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from pipelines.layout import lock_key
from pipelines.process import is_alive, this_process
from pipelines.storage import Store

logger = logging.getLogger(__name__)


class RunLocked(RuntimeError):
    """Another live run of the outlet holds the lock."""


class RunLock:
    def __init__(self, store: Store, outlet: str, run_id: str, ttl: float = 3600.0, wait: float = 0.0) -> None:
        self.store = store
        self.key = lock_key(outlet)
        self.outlet = outlet
        self.run_id = run_id
        self.ttl = ttl
        self.wait = wait
        self.host, self.pid = this_process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.held = False  # acquired and not released: only then is there anything to release

    def _body(self) -> bytes:
        now = time.time()
        return json.dumps({"run_id": self.run_id, "host": self.host, "pid": self.pid, "acquired_at": now, "expires_at": now + self.ttl}).encode()

    def holder(self) -> dict[str, Any] | None:
        data = self.store.get_bytes(self.key)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return {"run_id": "?", "expires_at": 0}  # unreadable: treat as expired

    def _stale(self, info: dict[str, Any]) -> str | None:
        if info.get("expires_at", 0) < time.time():
            return "expired"
        if not is_alive(info.get("host"), info.get("pid")):
            return f"its process {info['pid']} is gone"
        return None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            if self.store.create_exclusive(self._body(), self.key):
                self.held = True
                self._start_refresh()
                return
            info = self.holder()
            if info is None:
                continue  # released between our two calls: try again
            why = self._stale(info)
            if why is not None:
                logger.warning("lock %s of run %s is stale (%s); taking it over", self.key, info.get("run_id"), why)
                self.store.delete(self.key)
                continue
            if time.monotonic() >= deadline:
                raise RunLocked(
                    f"another run of {self.outlet} is in progress (run {info.get('run_id')} on {info.get('host')}, "
                    f"pid {info.get('pid')}, lock {self.key} until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(info.get('expires_at', 0)))}); "
                    "this run exits without crawling"
                )
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))

    def _start_refresh(self) -> None:
        def refresh() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    info = self.holder()
                    if info is None or info.get("run_id") != self.run_id:
                        logger.error("lock %s was lost to run %s", self.key, info and info.get("run_id"))
                        return
                    self.store.put_bytes(self._body(), self.key)
                except Exception as exc:  # a store outage: try again at the next beat, before the TTL runs out
                    logger.warning("could not refresh lock %s (%s); retrying in %.0f s", self.key, exc, self.ttl / 3)

        self._thread = threading.Thread(target=refresh, name="run-lock", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if not self.held:  # never taken (the run could not start): another run's lock is not ours
            return
        self.held = False
        try:
            info = self.holder()
            if info is not None and info.get("run_id") == self.run_id:
                self.store.delete(self.key)
        except Exception as exc:  # the store may be down; the lock then expires by itself
            logger.warning("could not release lock %s (%s); it expires at its TTL", self.key, exc)
