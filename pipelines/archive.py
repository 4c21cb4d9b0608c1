"""The run's archive: one coordinator for what a run writes (WARC files, text files, manifest).

One :class:`Archive` per run. It owns the run folder in the spool and hands each concern to its
module: the run lock (:mod:`pipelines.runlock`), repair of earlier runs and publishing
(:mod:`pipelines.publish`), the archived-URL state (:mod:`pipelines.state`), the WARC writer
(:mod:`pipelines.warc`), the manifest row (:mod:`pipelines.manifest`) and the key layout
(:mod:`pipelines.layout`). Every method blocks; the Scrapy layer (``crawler.extensions.ArchiveExtension``)
calls the slow ones in a thread.

Crash safety: everything is written to the spool first and appended/flushed as it happens; a run
that dies leaves a spool folder that the next run against the same archive repairs and publishes.

Mirror runs (``ArchiveConfig.mirror``, the spider's ``-a base_url=``): every row says ``mirror: true``,
the summary names the mirror, and the run's state files and dedup delta go under the mirror keys of
:mod:`pipelines.layout`. A live run never loads those, a mirror run loads only those: a crawl of a
fixture or staging copy never makes a real URL count as archived, nor a real reprint a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines import warc
from pipelines.crawljob import COMPLETE, INCOMPLETE, run_outcome
from pipelines.layout import MANIFEST, dedup_key, dedup_prefix, run_prefix, text_key, warc_key
from pipelines.manifest import ERROR, ROBOTS_FORBIDDEN, TEXT_FROM_PAGE, WRITTEN, ManifestRow, ManifestWriter, read_manifest
from pipelines.process import HOST
from pipelines.publish import amend_summary, finalize_run, iso, mark_live, mark_mirror, rebuild_dedup_delta, recover_spool, run_summary
from pipelines.runlock import RunLock
from pipelines.reader import completed_runs, read_summary
from pipelines.state import ArchivedState, live_runs
from pipelines.storage import Spool, Store, Uploader, open_store

logger = logging.getLogger(__name__)


class StorageFault(Exception):
    """The spool refused a write (disk full, or below ``ARCHIVE_SPOOL_MIN_FREE``): the run stops.

    Nothing acknowledged is lost: a failed write is undone whole (WARC record, manifest line, text
    file), so what the run wrote before stays valid and is published; what it could not write is
    not in the archived state, so the next run fetches it.
    """


@dataclass(frozen=True)
class ArchiveConfig:
    """The ``ARCHIVE_*`` settings (declared with their defaults in ``crawler/settings.py``)."""

    uri: str
    spool_dir: str
    spool_min_free: int  # bytes; less free space on the spool's disk stops the run (storage fault)
    warc_prefix: str  # may contain {outlet}
    warc_max_bytes: int
    warc_host: str | None  # None: this machine's name
    run_id: str | None  # None: start time plus a random suffix
    fixed_time: str | None  # ISO time: fixed WARC dates and sequential record ids (tests)
    upload_deadline: float  # seconds an upload outage may last in all before the run's uploads stop
    upload_backoff: float  # first retry delay; doubles up to 30 s
    upload_stall_warning: float  # seconds an upload may make no progress before the operator is warned
    upload_threads: int
    multipart_threshold: int
    lock_enabled: bool
    lock_ttl: float
    lock_wait: float
    state_uri: str  # redis://... in frontier mode: the archived state shared at once
    state_key_prefix: str
    max_attempts: int  # runs that may fail a URL for good (404, 410, redirect loop) before it is given up; 0: never
    software: str
    #: the base URL of the mirror the run crawls (``-a base_url=``): a mirror run, kept apart; None: a live run
    mirror: str | None = None


def _nothing_fetched(rows: list[ManifestRow]) -> str | None:
    """A run whose every article failed without an answer worth keeping (no connection, timeouts,
    server errors, robots.txt) reached nothing: it is failed, not complete with nothing new."""
    def unanswered(r: ManifestRow) -> bool:
        if r.status != ERROR or (r.reason or "").startswith(ROBOTS_FORBIDDEN):  # robots.txt is an answer
            return False
        return r.http_status is None or r.http_status >= 500

    if not rows or not all(unanswered(r) for r in rows):
        return None
    return (f"none of the {len(rows)} article(s) could be fetched (no answer or server errors; "
            f"e.g. {rows[-1].reason or 'no reason'}); nothing was archived")


class Archive:
    """Everything one run writes, staged in the spool and published to the store."""

    def __init__(self, store: Store, config: ArchiveConfig, outlet: str, edition: str) -> None:
        if config.fixed_time:
            when = datetime.fromisoformat(config.fixed_time.replace("Z", "+00:00"))
            self.clock, ids = warc.fixed_clock(when), warc.sequential_ids(f"{outlet}-{config.fixed_time}")
        else:
            self.clock, ids = warc.utc_now, warc.random_record_id
        self.started = self.clock()
        self.run_id = config.run_id or f"{self.started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.store, self.config, self.outlet, self.edition = store, config, outlet, edition
        self.spool = Spool(Path(config.spool_dir), store.uri)
        self.prefix = run_prefix(outlet, self.run_id, self.started)
        self.run_dir = self.spool.dir / self.prefix
        # mark the run folder as this live process's before anything else: a concurrent run's
        # spool recovery must not take it for a dead run's leftovers
        mark_live(self.run_dir)
        if config.mirror:
            mark_mirror(self.run_dir, config.mirror)  # whoever publishes the run keeps it apart
        self.lock = RunLock(store, outlet, self.run_id, ttl=config.lock_ttl, wait=config.lock_wait) if config.lock_enabled else None
        self.mirror = config.mirror is not None
        self.state = ArchivedState(store, outlet, config.state_uri, config.state_key_prefix, config.max_attempts, mirror=self.mirror)
        self.warc = warc.RotatingWarcWriter(
            self.run_dir / "warc",
            prefix=config.warc_prefix.format(outlet=outlet),
            max_bytes=config.warc_max_bytes,
            host=config.warc_host,
            clock=self.clock,
            ids=ids,
            info={
                "software": config.software,
                "hostname": HOST,
                "operator": "",
                "isPartOf": f"{outlet}/{self.run_id}",
                "description": f"news crawl of outlet {outlet} (edition {edition})" + (f", from the mirror {config.mirror}" if config.mirror else ""),
            },
            on_closed=self._warc_closed,
        )
        self._uploads = Uploader(store, self.spool, deadline=config.upload_deadline, backoff=config.upload_backoff,
                                 stall_warning=config.upload_stall_warning, threads=config.upload_threads)
        self._pending: list[Future[bool]] = []
        #: one line when uploads stopped (budget spent, bucket missing): the run is then incomplete
        self.upload_problem: str | None = None
        self._manifest: ManifestWriter | None = None
        self._seq = 0
        self._t0 = time.monotonic()
        self.text_bytes = 0
        self.warc_files: list[str] = []
        self.recovered_runs: list[str] = []
        #: one line when a storage fault stopped the run (it is then "failed")
        self.storage_problem: str | None = None
        #: told once, at the first storage fault (the Scrapy layer stops the crawl)
        self.on_storage_fault: Callable[[str], None] | None = None
        self._dedup_delta_lost = False

    @classmethod
    def create(cls, config: ArchiveConfig, outlet: str, edition: str) -> "Archive":
        """An archive on the store ``config.uri`` names (a path, ``file://`` or ``s3://``)."""
        extra = {"multipart_threshold": config.multipart_threshold} if config.uri.startswith("s3://") else {}
        return cls(open_store(config.uri, **extra), config, outlet, edition)

    def open(self) -> None:
        """Take the run lock, repair and publish what earlier runs left, load the archived state."""
        self.store.check()  # a missing bucket: one line naming it, before anything is written
        if self.lock is not None:
            self.lock.acquire()  # first: an overlapping run of this outlet must not touch the spool either
        self.recovered_runs = recover_spool(self.spool, self.store, self._uploads, skip=self.prefix)
        self.state.load()
        with self._writing("manifest"):
            self._manifest = ManifestWriter(self.run_dir / MANIFEST)
        kind = f"mirror run of {self.config.mirror} (state kept apart from live runs)" if self.mirror else "run"
        logger.info(
            "archive %s: %s %s, %d URLs already archived for %s (%d given up after %d failed runs), %d earlier run(s) recovered",
            self.store.uri, kind, self.prefix, len(self.state), self.outlet, self.state.given_up(), self.config.max_attempts, len(self.recovered_runs),
        )
        if self.mirror:
            live = live_runs(self.store, self.outlet)
            if live:
                logger.warning(
                    "archive %s holds %d live run(s) of %s; this run crawls the mirror %s: its rows say mirror, and its state "
                    "and dedup index are kept apart (never used by live runs); give a separate ARCHIVE_URI for mirror crawls",
                    self.store.uri, len(live), self.outlet, self.config.mirror,
                )

    # ------------------------------------------------------------------ during the run

    def is_archived(self, url: str) -> bool:
        return url in self.state

    def record_exchange(self, exchange: warc.HttpExchange) -> warc.RecordLocation:
        with self._writing("WARC record"):
            return self.warc.write_exchange(exchange)

    def now(self) -> str:
        return iso(self.clock())

    def add(self, row: ManifestRow, text: str = "", location: warc.RecordLocation | None = None) -> ManifestRow:
        """Write the row's text file (when ``written``) and the row, pointing at its WARC record."""
        assert self._manifest is not None, "Archive.open() was not called"
        row.mirror = self.mirror
        if row.status != WRITTEN:
            row.text_source = None  # only a text file has a source
        with self._writing("text file and manifest row"):
            data = text.encode("utf-8")
            if row.status == WRITTEN:
                row.seq = self._seq
                row.text_key = text_key(self.prefix, row.seq, row.docid)
                row.text_sha256 = hashlib.sha256(data).hexdigest()
                row.text_source = row.text_source or TEXT_FROM_PAGE
                self.spool.put(row.text_key, data)
            if location is not None:
                row.locate(warc_key(self.prefix, location.filename), location)
            try:
                self._manifest.write(row)
            except OSError:
                if row.text_key:  # no text without its row
                    (self.spool.dir / row.text_key).unlink(missing_ok=True)
                raise
        if row.status == WRITTEN:
            self._seq += 1
            self.text_bytes += len(data)
        if row.text_key:  # only now: a published text file always has its row (a crash in between loses neither)
            self._publish(row.text_key)
        self.state.record(row)
        return row

    def put_dedup_delta(self, data: bytes) -> None:
        """The run's additions to the embedded dedup index, published with the run (before its marker).
        On a full spool it is rebuilt from the run's texts at :meth:`close`, once uploads made room."""
        try:
            with self._writing("dedup index"):
                self.spool.put(dedup_key(self.run_id, self.mirror), data)
        except StorageFault:
            self._dedup_delta_lost = True

    # ------------------------------------------------------------------ storage faults

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """Guard a spool write: refused below ``spool_min_free`` or after a fault; any OSError is a fault."""
        if self.storage_problem:
            raise StorageFault(self.storage_problem)
        floor = self.config.spool_min_free
        if floor > 0:
            free = shutil.disk_usage(self.spool.dir).free
            if free < floor:
                self._fault(f"spool disk full: {free} bytes free in {self.spool.dir} (ARCHIVE_SPOOL_MIN_FREE is {floor})")
        try:
            yield
        except OSError as exc:
            name = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            self._fault(f"spool write failed ({what}): {name} in {self.spool.dir}")

    def _fault(self, problem: str) -> None:
        self._note_fault(problem)
        raise StorageFault(self.storage_problem)

    def _note_fault(self, problem: str) -> None:
        if self.storage_problem is None:
            self.storage_problem = problem
            logger.critical("%s; the run stops: what it wrote is kept and published, the next run fetches the rest", problem)
            if self.on_storage_fault is not None:
                self.on_storage_fault(problem)

    def load_dedup_deltas(self) -> list[bytes]:
        """The embedded dedup index's deltas of the runs of this run's kind (live, or mirror)."""
        keys = self.store.list_keys(dedup_prefix(self.mirror))
        if not self.mirror:
            keys = [k for k in keys if not k.startswith(dedup_prefix(mirror=True))]
        return [self.store.get_bytes(k) or b"" for k in keys]

    # ------------------------------------------------------------------ publishing

    def _publish(self, key: str) -> None:
        self._pending.append(self._uploads.submit(key))

    def _upload_problem(self) -> str | None:
        """Why uploads stopped and what waits in the spool, in one line (None: they did not stop)."""
        if self._uploads.problem is None:
            return None
        waiting = sum(1 for _ in self.spool.pending())
        return f"{self._uploads.problem}; {waiting} file(s) wait in the spool {self.spool.dir}"

    def _warc_closed(self, path: Path) -> None:
        key = warc_key(self.prefix, path.name)
        self.warc_files.append(key)
        self._publish(key)

    def close(self, finish_reason: str, unreadable: str | None = None, **extra: Any) -> dict[str, Any] | None:
        """Close the WARC, publish everything, then state, summary, manifest and marker.

        ``finish_reason``: Scrapy's; ``unreadable``: why no source could be read, if so; ``extra``:
        summary fields only the caller knows (``progress``, ``scrapy_stats``). Returns the run summary
        (its ``outcome`` and ``outcome_reason`` say how the run ended; a run whose files wait in the
        spool is not complete, and its spooled summary says so) with ``published`` (False: files wait
        in the spool), or None when :meth:`open` failed.
        """
        if self._manifest is None:  # open() failed: nothing was fetched, nothing to publish
            self._uploads.shutdown()
            shutil.rmtree(self.run_dir, ignore_errors=True)
            if self.lock is not None:
                self.lock.release()
            return None
        try:
            self.warc.close()  # fsync: a full disk may refuse even that; the .open file is repaired by the next run
        except OSError as exc:
            self._note_fault(f"spool write failed (closing the WARC file): {exc}")
        self._manifest.close()
        rows = read_manifest(self.run_dir / MANIFEST)  # the run's rows as a reader will find them
        upload_failures = sum(1 for f in self._pending if not f.result())
        self._uploads.shutdown()
        self.upload_problem = self._upload_problem()
        if self._dedup_delta_lost:  # also after a storage fault: the uploads may have made room by now
            try:
                rebuild_dedup_delta(self.spool, self.store, self.prefix, rows)
            except OSError as exc:  # still no room
                self._note_fault(f"spool write failed (dedup delta): {exc}")
            except Exception as exc:  # texts already published and the store unreachable now
                logger.error("run %s: its dedup index additions could not be rebuilt (%s: %s); its texts will not be "
                             "found as originals of later copies", self.prefix, type(exc).__name__, exc)
        unreadable = unreadable or _nothing_fetched(rows)
        outcome, reason = run_outcome(finish_reason, self.storage_problem, unreadable, self.upload_problem)
        fields = {
            "edition": self.edition,
            "archive": self.store.uri,
            "started_at": iso(self.started),
            "finished_at": iso(self.clock()),
            "duration_s": round(time.monotonic() - self._t0, 3),
            "text_bytes": self.text_bytes,
            "warc_records": self.warc.records_written,
            "warc_bytes": self.warc.bytes_written,
            "upload_failures": upload_failures,
            "recovered_runs": self.recovered_runs,
            **extra,
        }
        fields["mirror"] = self.config.mirror
        summary_fields = {"warc_files": self.warc_files, "finish_reason": finish_reason, "outcome": outcome, "outcome_reason": reason, "recovered": False, **fields}
        spooled = False  # the summary with this outcome is in the spool
        try:
            published, summary = finalize_run(self.spool, self.store, self.prefix, summary_fields, self._uploads, already=self.state.urls, rows=rows)
            spooled = True
        except OSError as exc:  # no room for the state file, summary or marker: the next run finishes it
            self._note_fault(f"spool write failed (state, summary, marker): {exc}")
            published, summary = False, run_summary(self.prefix, rows, **summary_fields)
            logger.error("run %s is not finished: it waits in %s and the next run with space publishes it", self.prefix, self.run_dir)
        unmatched = summary.get("rule_health", {}).get("unmatched")
        if unmatched:
            logger.warning("rule health: %d HTML rule(s) of %s matched none of the run's %d article pages: %s "
                           "(a site redesign? see pipelines/outlets/%s.py)", len(unmatched), self.outlet,
                           summary["rule_health"]["pages"], ", ".join(unmatched), self.outlet)
        if self.lock is not None:
            self.lock.release()
        if not published and self._uploads.problem is not None:  # uploads stopped, perhaps only while publishing
            self.upload_problem = self._upload_problem()
            logger.error("run %s is not published: %s", self.prefix, self.upload_problem)
        if not published and outcome == COMPLETE:  # it was, until publishing failed: the summary says so too
            outcome, reason = run_outcome(finish_reason, self.storage_problem, unreadable, self.upload_problem)
            if outcome == COMPLETE:
                outcome, reason = INCOMPLETE, f"files wait in the spool {self.spool.dir} for the next run"
            summary = {**summary, "outcome": outcome, "outcome_reason": reason}
            if spooled:
                try:
                    amend_summary(self.spool, self.prefix, summary)
                except OSError as exc:
                    logger.error("run %s: its spooled summary still says complete (%s)", self.prefix, exc)
        return {**summary, "published": published}


def non_mirror_runs(store: Store) -> list[str]:
    """Runs in the archive that did not crawl a mirror (live runs): the run ids of live state files,
    else the prefixes of completed runs whose summary names no mirror (runs older than the mirror
    mark count as live). Empty for a new archive or one of mirror runs only (the offline demo's)."""
    live = live_runs(store)
    if live:
        return live
    return [prefix for prefix in completed_runs(store) if not read_summary(store, prefix).get("mirror")]
