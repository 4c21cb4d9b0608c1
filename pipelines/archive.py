"""The run's archive: spool, WARC writer, text files, manifest, incremental state, completion marker.

One :class:`Archive` exists per crawler (:func:`get_archive`); the WARC capture middleware, the
spider (for the incremental check) and :class:`ArchivePipeline` share it. Layout and the manifest
row are the contract of ``docs/corpus-format.md``.

Crash safety: everything is written to the spool first and appended/flushed as it happens; a run
that dies leaves a spool folder that the next run against the same archive repairs (closes the
``.open`` WARC at its last complete record, derives summary and state from the manifest rows
written so far) and publishes, completion marker last.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.extensions import run_counts
from crawler.items import DUPLICATE, EMPTY, SKIPPED, WRITTEN, Article, docid_for  # noqa: F401 (docid_for re-exported)
from pipelines import warc
from pipelines.runlock import RunLock, RunLocked
from pipelines.storage import Spool, Store, open_store, publish_file

logger = logging.getLogger(__name__)

MARKER = "_SUCCESS"
ARCHIVED_STATUSES = (WRITTEN, EMPTY, SKIPPED, DUPLICATE)
DEDUP_PREFIX = "dedup/index/"

_ARCHIVES: "WeakKeyDictionary[Crawler, Archive]" = WeakKeyDictionary()


def state_key(outlet: str, run_id: str) -> str:
    """Where a run's archived URLs are listed (the incremental state)."""
    return f"state/{outlet}/archived/{run_id}.txt"


def dedup_key(run_id: str) -> str:
    """Where a run's additions to the embedded dedup index are kept."""
    return f"{DEDUP_PREFIX}{run_id}.npz"


def row_urls(row: dict[str, Any]) -> set[str]:
    """The URLs a manifest row marks as archived: as listed, after redirects, canonical."""
    return {u for u in (row.get("url"), row.get("final_url"), row.get("canonical_url")) if u}


def run_prefix(outlet: str, run_id: str, started: datetime) -> str:
    return f"runs/{started:%Y-%m-%d}/{outlet}/{run_id}"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Archive:
    """Everything one run writes, staged in the spool and published to the store."""

    def __init__(
        self,
        store: Store,
        spool_root: Path,
        outlet: str,
        edition: str,
        started: datetime,
        run_id: str,
        warc_prefix: str,
        warc_max_bytes: int,
        warc_host: str | None = None,
        clock: warc.Clock = warc.utc_now,
        ids: warc.IdFactory = warc.random_record_id,
        upload_retries: int = 5,
        upload_backoff: float = 1.0,
        upload_threads: int = 4,
        software: str = "newsarchive",
        lock_ttl: float = 3600.0,
        lock_wait: float = 0.0,
        lock_enabled: bool = True,
        state_uri: str = "",
        state_key_prefix: str = "archived",
    ) -> None:
        self.store = store
        self.spool = Spool(spool_root, store.uri)
        self.outlet = outlet
        self.edition = edition
        self.started = started
        self.run_id = run_id
        self.prefix = run_prefix(outlet, run_id, started)
        self.lock = RunLock(store, outlet, run_id, ttl=lock_ttl, wait=lock_wait) if lock_enabled else None
        #: with a shared frontier the "already archived" state also lives in Redis, visible at once
        self.state_uri = state_uri
        self._state_key = f"{state_key_prefix}:{outlet}"
        self._state_redis: Any = None
        self.clock = clock
        self.upload_retries = upload_retries
        self.upload_backoff = upload_backoff
        self.software = software
        # mark the run folder as this live process's before anything else: a concurrent run's
        # spool recovery must not take it for a dead run's leftovers
        self.run_dir = self.spool.path(f"{self.prefix}/.lock").parent
        (self.run_dir / ".lock").write_text(f"{socket.gethostname()} {os.getpid()}\n")
        self._uploads = ThreadPoolExecutor(max_workers=upload_threads, thread_name_prefix="archive-upload")
        self._pending: list[Future[bool]] = []
        self.warc = warc.RotatingWarcWriter(
            self.run_dir / "warc",
            prefix=warc_prefix,
            max_bytes=warc_max_bytes,
            host=warc_host,
            clock=clock,
            ids=ids,
            info={
                "software": software,
                "hostname": socket.gethostname(),
                "operator": "",
                "isPartOf": f"{outlet}/{run_id}",
                "description": f"news crawl of outlet {outlet} (edition {edition})",
            },
            on_closed=self._warc_closed,
        )
        self.archived: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.text_bytes = 0
        self.warc_files: list[str] = []
        self.upload_failures = 0
        self.recovered_runs: list[str] = []
        self._seq = 0
        self._docids: dict[str, str] = {}  # docid -> url written in this run
        self._manifest: Any = None
        self._opening: asyncio.Future[None] | None = None
        self._t0 = time.monotonic()
        #: how the run ended, for the exit code: "refused", "complete", "incomplete" (None: failed)
        self.outcome: str | None = None

    # ------------------------------------------------------------------ setup

    @classmethod
    def from_settings(cls, settings: BaseSettings, outlet: str, edition: str) -> "Archive":
        uri = settings.get("ARCHIVE_URI") or "./archive"
        fixed = settings.get("ARCHIVE_FIXED_TIME")
        if fixed:
            when = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
            clock, ids = warc.fixed_clock(when), warc.sequential_ids(f"{outlet}-{fixed}")
        else:
            clock, ids = warc.utc_now, warc.random_record_id
        started = clock()
        run_id = settings.get("ARCHIVE_RUN_ID") or f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        store = open_store(uri, **({"multipart_threshold": settings.getint("ARCHIVE_MULTIPART_THRESHOLD")} if uri.startswith("s3://") else {}))
        return cls(
            store=store,
            spool_root=Path(settings.get("ARCHIVE_SPOOL_DIR") or ".spool"),
            outlet=outlet,
            edition=edition,
            started=started,
            run_id=run_id,
            warc_prefix=(settings.get("ARCHIVE_WARC_PREFIX") or "{outlet}").format(outlet=outlet),
            warc_max_bytes=settings.getint("ARCHIVE_WARC_MAX_BYTES"),
            warc_host=settings.get("ARCHIVE_WARC_HOST"),
            clock=clock,
            ids=ids,
            upload_retries=settings.getint("ARCHIVE_UPLOAD_RETRIES"),
            upload_backoff=settings.getfloat("ARCHIVE_UPLOAD_BACKOFF"),
            upload_threads=settings.getint("ARCHIVE_UPLOAD_THREADS"),
            software=settings.get("BOT_NAME", "newsarchive"),
            lock_ttl=settings.getfloat("ARCHIVE_LOCK_TTL", 3600.0),
            lock_wait=settings.getfloat("ARCHIVE_LOCK_WAIT", 0.0),
            lock_enabled=settings.getbool("ARCHIVE_LOCK_ENABLED", True),
            state_uri=settings.get("ARCHIVE_STATE_URI") or "",
            state_key_prefix=settings.get("ARCHIVE_STATE_KEY_PREFIX") or "archived",
        )

    async def open(self) -> None:
        """Repair and publish what earlier runs left, then load the incremental state.

        The spider and several pipelines call this; all of them wait for the one opening.
        """
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
            self._opening.add_done_callback(lambda f: f.cancelled() or f.exception())  # reported by the awaiters
        await asyncio.shield(self._opening)

    async def _open(self) -> None:
        try:
            await asyncio.to_thread(self._open_blocking)
        except RunLocked as exc:
            self.outcome = "refused"
            logger.critical("%s", exc)
            raise
        except Exception as exc:
            # Without the archive's state the run cannot tell what is already archived: stop
            # before fetching anything rather than archive everything a second time.
            logger.critical("archive %s is unreachable (%s: %s); nothing was crawled", self.store.uri, type(exc).__name__, exc)
            raise RuntimeError(f"archive {self.store.uri} unreachable: {exc}") from exc

    def _open_blocking(self) -> None:
        if self.lock is not None:
            self.lock.acquire()  # first: an overlapping run of this outlet must not touch the spool either
        self.recovered_runs = recover_spool(self.spool, self.store, self.upload_retries, self.upload_backoff, skip=self.prefix)
        self.archived = load_state(self.store, self.outlet)
        if self.state_uri:
            import redis

            self._state_redis = redis.Redis.from_url(self.state_uri)
            self.archived |= {u.decode() for u in self._state_redis.smembers(self._state_key)}
        self._manifest = open(self.run_dir / "manifest.jsonl", "a", encoding="utf-8")
        logger.info(
            "archive %s: run %s, %d URLs already archived for %s, %d earlier run(s) recovered",
            self.store.uri, self.prefix, len(self.archived), self.outlet, len(self.recovered_runs),
        )

    # ------------------------------------------------------------------ during the run

    def is_archived(self, url: str) -> bool:
        return url in self.archived

    def record_exchange(self, exchange: warc.HttpExchange) -> warc.RecordLocation:
        return self.warc.write_exchange(exchange)

    def now(self) -> str:
        return _iso(self.clock())

    def warc_key(self, filename: str) -> str:
        return f"{self.prefix}/warc/{filename}"

    def add(self, article: Article) -> dict[str, Any]:
        """Write the article's text (if any) and its manifest row; return the row."""
        canonical = article.canonical_url or article.final_url or article.url
        docid = article.docid
        text_key = text_sha = None
        seq = None
        if article.status == WRITTEN and docid in self._docids:
            article.status = SKIPPED
            article.reason = f"same canonical URL as {self._docids[docid]} written earlier in this run"
        if article.status == WRITTEN:
            seq = self._seq
            self._seq += 1
            self._docids[docid] = article.url
            data = article.text.encode("utf-8")
            text_key = f"{self.prefix}/text/{seq:03d}_{docid}.txt"
            text_sha = hashlib.sha256(data).hexdigest()
            path = self.spool.path(text_key)
            tmp = path.with_name("." + path.name)
            tmp.write_bytes(data)
            os.replace(tmp, path)
            self.text_bytes += len(data)
            self._publish(text_key)
        loc = article.warc or {}
        row: dict[str, Any] = {
            "docid": docid,
            "seq": seq,
            "url": article.url,
            "final_url": article.final_url or article.url,
            "canonical_url": canonical,
            "outlet": article.outlet,
            "edition": article.edition,
            "language": article.language,
            "title": article.title or None,
            "authors": article.authors,
            "published": article.published,
            "fetched_at": article.fetched_at or None,
            "http_status": article.http_status,
            "content_type": article.content_type or None,
            "source": article.source,
            "text_key": text_key,
            "text_sha256": text_sha,
            "warc_key": self.warc_key(loc["filename"]) if loc else None,
            "warc_record_id": loc.get("record_id"),
            "warc_offset": loc.get("offset"),
            "warc_length": loc.get("length"),
            "truncated": article.truncated,
            "removed_lines": article.removed_lines,
            "wire": article.wire,
            "duplicate_of": article.duplicate_of,
            "similarity": article.similarity,
            "containment": article.containment,
            "status": article.status,
            "reason": article.reason or None,
        }
        assert self._manifest is not None, "Archive.open() was not awaited"
        self._manifest.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        self._manifest.flush()
        self.counts[article.status] += 1
        if article.status in ARCHIVED_STATUSES:
            urls = row_urls(row)
            self.archived |= urls
            if self._state_redis is not None:
                self._state_redis.sadd(self._state_key, *urls)
        return row

    def put_dedup_delta(self, data: bytes) -> None:
        """The run's additions to the embedded dedup index, published with the run (before its marker)."""
        self.spool.path(dedup_key(self.run_id)).write_bytes(data)

    def load_dedup_deltas(self) -> list[bytes]:
        return [self.store.get_bytes(k) or b"" for k in self.store.list_keys(DEDUP_PREFIX)]

    # ------------------------------------------------------------------ publishing

    def _publish(self, key: str) -> None:
        self._pending.append(self._uploads.submit(publish_file, self.store, self.spool, key, self.upload_retries, self.upload_backoff))

    def _warc_closed(self, path: Path) -> None:
        key = self.warc_key(path.name)
        self.warc_files.append(key)
        self._publish(key)

    async def close(self, stats: dict[str, Any], reason: str = "finished") -> dict[str, Any] | None:
        """Close the WARC, publish everything, then the state, summary, manifest and marker."""
        return await asyncio.to_thread(self._close_blocking, stats, reason)

    def _close_blocking(self, stats: dict[str, Any], reason: str) -> dict[str, Any] | None:
        if self._manifest is None:  # open() failed: nothing was fetched, nothing to publish
            self._uploads.shutdown()
            shutil.rmtree(self.spool.dir / self.prefix, ignore_errors=True)
            if self.lock is not None:
                self.lock.release()
            return None
        self.warc.close()
        self._manifest.close()
        self.upload_failures = sum(1 for f in self._pending if not f.result())
        self._uploads.shutdown()
        finished = self.clock()
        summary = {
            "run_id": self.run_id,
            "prefix": self.prefix,
            "outlet": self.outlet,
            "edition": self.edition,
            "archive": self.store.uri,
            "started_at": _iso(self.started),
            "finished_at": _iso(finished),
            "duration_s": round(time.monotonic() - self._t0, 3),
            "finish_reason": reason,
            "recovered": False,
            "counts": dict(sorted(self.counts.items())),
            "articles": sum(self.counts.values()),
            "text_files": self.counts.get(WRITTEN, 0),
            "text_bytes": self.text_bytes,
            "warc_files": self.warc_files,
            "warc_records": self.warc.records_written,
            "warc_bytes": self.warc.bytes_written,
            "upload_failures": self.upload_failures,
            "recovered_runs": self.recovered_runs,
            "progress": run_counts(stats),
            "scrapy_stats": _jsonable(stats),
        }
        summary["published"] = finalize_run(self.spool, self.store, self.prefix, self.outlet, summary, self.upload_retries, self.upload_backoff)
        if self.lock is not None:
            self.lock.release()
        if self.upload_failures:
            logger.error("run %s: %d upload(s) failed; files stay in %s for the next run", self.prefix, self.upload_failures, self.spool.dir)
        return summary


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    rows = []
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a row cut by a crash: the article is simply re-fetched
                break
    return rows


def state_urls(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(set().union(*(row_urls(row) for row in rows if row.get("status") in ARCHIVED_STATUSES)))


def load_state(store: Store, outlet: str) -> set[str]:
    """URLs archived by earlier completed runs of ``outlet`` (one listing, one read per run)."""
    urls: set[str] = set()
    for key in store.list_keys(f"state/{outlet}/"):
        data = store.get_bytes(key) or b""
        urls.update(line for line in data.decode("utf-8").splitlines() if line)
    return urls


def finalize_run(spool: Spool, store: Store, prefix: str, outlet: str, summary: dict[str, Any], retries: int, backoff: float) -> bool:
    """Write state, summary and manifest to the spool, publish all of the run, marker last.

    Returns True when the whole run is in the store; otherwise it stays in the spool.
    """
    run_dir = spool.dir / prefix
    rows = _read_manifest(run_dir / "manifest.jsonl")
    run_id = prefix.rsplit("/", 1)[-1]
    spool.path(state_key(outlet, run_id)).write_text("".join(u + "\n" for u in state_urls(rows)), encoding="utf-8")
    summary = {**summary, "manifest_rows": len(rows)}
    spool.path(f"{prefix}/summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    marker = {"run_id": run_id, "prefix": prefix, "finished_at": summary.get("finished_at"), "manifest_rows": len(rows), "recovered": summary.get("recovered", False)}
    spool.path(f"{prefix}/{MARKER}").write_text(json.dumps(marker) + "\n", encoding="utf-8")
    return publish_run(spool, store, prefix, outlet, retries, backoff)


def publish_run(spool: Spool, store: Store, prefix: str, outlet: str, retries: int, backoff: float) -> bool:
    """Publish a finished run's spooled files: data first, then manifest and summary, marker last."""
    run_dir = spool.dir / prefix
    run_id = prefix.rsplit("/", 1)[-1]
    keys = [k for k in spool.pending(prefix) if not k.endswith(("/" + MARKER, "/manifest.jsonl", "/summary.json"))]
    tail = [f"{prefix}/manifest.jsonl", f"{prefix}/summary.json"]
    for key in (state_key(outlet, run_id), dedup_key(run_id)):
        if (spool.dir / key).exists():
            tail.insert(0, key)
    ok = True
    for key in keys + tail:
        if (spool.dir / key).exists():
            ok = publish_file(store, spool, key, retries, backoff) and ok
    if not ok:
        return False
    if (spool.dir / prefix / MARKER).exists() and not publish_file(store, spool, f"{prefix}/{MARKER}", retries, backoff):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True


def _lock_is_live(lock: Path) -> bool:
    try:
        host, pid = lock.read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's spool folder on shared disk: leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_spool(spool: Spool, store: Store, retries: int, backoff: float, skip: str = "") -> list[str]:
    """Repair and publish every run left in the spool by a dead or failed run; return their prefixes."""
    recovered = []
    runs_root = spool.dir / "runs"
    run_dirs = sorted(p for p in runs_root.glob("*/*/*") if p.is_dir()) if runs_root.exists() else []
    for run_dir in run_dirs:
        prefix = run_dir.relative_to(spool.dir).as_posix()
        if prefix == skip:
            continue
        lock = run_dir / ".lock"
        if (lock.exists() and _lock_is_live(lock)) or (not lock.exists() and time.time() - run_dir.stat().st_mtime < 300):
            logger.info("spool run %s belongs to a live process; left alone", prefix)
            continue
        outlet = prefix.split("/")[2]
        has_data = (run_dir / "manifest.jsonl").exists() or any((run_dir / "warc").glob("*"))
        if not has_data:  # a run that died before fetching anything left only folders
            shutil.rmtree(run_dir, ignore_errors=True)
            continue
        for open_file in sorted((run_dir / "warc").glob("*" + warc.OPEN_SUFFIX)):
            closed = warc.repair_open_warc(open_file)
            logger.warning("recovered WARC %s from a dead run: %s", open_file.name, closed.name if closed else "no complete record, removed")
        if not (run_dir / MARKER).exists():
            rows = _read_manifest(run_dir / "manifest.jsonl")
            counts = Counter(r.get("status") for r in rows)
            summary = {
                "run_id": run_dir.name,
                "prefix": prefix,
                "outlet": outlet,
                "finished_at": _iso(datetime.now(UTC)),
                "finish_reason": "recovered after the run died",
                "recovered": True,
                "counts": dict(sorted(counts.items())),
                "articles": len(rows),
                "text_files": counts.get(WRITTEN, 0),
                "warc_files": sorted(f"{prefix}/warc/{p.name}" for p in (run_dir / "warc").glob("*" + warc.WARC_SUFFIX)),
            }
            _rebuild_dedup_delta(spool, store, prefix, rows)
            finalize_run(spool, store, prefix, outlet, summary, retries, backoff)
        else:
            publish_run(spool, store, prefix, outlet, retries, backoff)
        lock.unlink(missing_ok=True)
        recovered.append(prefix)
    # loose files (e.g. a state file whose upload failed) outside run folders
    for key in list(spool.pending("state")):
        publish_file(store, spool, key, retries, backoff)
    return recovered


def _rebuild_dedup_delta(spool: Spool, store: Store, prefix: str, rows: list[dict[str, Any]]) -> None:
    """A dead run wrote no dedup delta: derive it from the texts it wrote (spooled or published)."""
    from pipelines.dedup import MemoryIndex, fingerprint

    index = MemoryIndex()
    for row in rows:
        if row.get("status") != WRITTEN or not row.get("text_key"):
            continue
        path = spool.dir / row["text_key"]
        data = path.read_bytes() if path.exists() else store.get_bytes(row["text_key"])
        if data:
            index.add(row["docid"], fingerprint(data.decode("utf-8").partition("\n\n")[2]))
    delta = index.delta_bytes()
    if delta:
        spool.path(dedup_key(prefix.rsplit("/", 1)[-1])).write_bytes(delta)


def run_outcome(crawler: Crawler) -> str | None:
    """How the crawler's run ended ("refused", "complete", "incomplete"), or None if it never ran."""
    archive = _ARCHIVES.get(crawler)
    return archive.outcome if archive is not None else None


def get_archive(crawler: Crawler) -> Archive:
    """The crawler's one Archive, created on first use from the crawler's settings and spider."""
    archive = _ARCHIVES.get(crawler)
    if archive is None:
        if not crawler.settings.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        spider = crawler.spider
        outlet = getattr(spider, "outlet", None)
        if outlet is None:
            raise NotConfigured("the archive needs an outlet spider")
        archive = Archive.from_settings(crawler.settings, outlet.name, getattr(spider, "edition_name", outlet.default_edition))
        _ARCHIVES[crawler] = archive
    return archive


class ArchivePipeline:
    """Last pipeline: every item becomes one manifest row (and a text file when written)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive = get_archive(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePipeline":
        return cls(crawler)

    async def open_spider(self) -> None:
        await self.archive.open()

    async def process_item(self, item: Article) -> Article:
        row = self.archive.add(item)
        self.crawler.stats.inc_value(f"archive/status/{row['status']}")
        level = logging.INFO if row["status"] == WRITTEN else logging.WARNING
        logger.log(level, "%s %s%s", row["status"], row["url"], f" ({row['reason']})" if row["reason"] else "")
        return item

    async def close_spider(self) -> None:
        reason = str(self.crawler.stats.get_value("finish_reason") or "finished")
        summary = await self.archive.close(self.crawler.stats.get_stats(), reason)
        if summary is None:
            return
        stats = self.crawler.stats
        unreadable = stats.get_value("discovery/sources_failed", 0) and not any(
            stats.get_value(k, 0) for k in ("discovery/feeds", "discovery/sitemaps", "discovery/sections")
        )
        if unreadable:
            logger.error("run %s: no source of %s could be read; nothing was discovered", summary["prefix"], summary["outlet"])
        self.archive.outcome = "complete" if summary["published"] and reason == "finished" and not unreadable else "incomplete"
        logger.info(
            "run %s: %s; text files %d, WARC files %d (%d bytes); archive %s",
            summary["prefix"], summary["counts"], summary["text_files"], len(summary["warc_files"]), summary["warc_bytes"], summary["archive"],
        )
