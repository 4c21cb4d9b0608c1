"""Extensions: the run's archive as a Scrapy component, the operator's progress lines (in place of LogStats), the stats every run has."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from collections.abc import Callable
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.extensions.logstats import LogStats
from scrapy.utils.asyncio import create_looping_call

from pipelines.archive import Archive, ArchiveConfig
from pipelines.blocking import block_counts, run_blocked
from pipelines.manifest import STATUSES
from pipelines.crawljob import COMPLETE, REFUSED, STORAGE_FAILED, meaning, exit_code
from pipelines.publish import iso
from pipelines.runlock import RunLocked
from pipelines.urls import redact

logger = logging.getLogger(__name__)


def run_counts(stats: dict[str, object]) -> dict[str, int]:
    """The operator's counts of a run, from its Scrapy stats (also written to the run summary)."""
    get = lambda key: int(stats.get(key, 0) or 0)  # type: ignore[call-overload]  # noqa: E731
    return {
        "found": get("articles/scheduled"),
        "already_archived": get("articles/already_archived"),
        "fetched": get("articles/fetched"),
        "written": get("archive/status/written"),
        "duplicate": get("archive/status/duplicate"),
        "empty": get("archive/status/empty"),
        "skipped": get("archive/status/skipped"),
        "failed": get("archive/status/error"),
        "blocked": get("archive/status/blocked"),
        "missing": get("archive/status/missing"),
        "responses": get("downloader/response_count"),
    }


def archive_config(settings: BaseSettings, mirror: str | None = None) -> ArchiveConfig:
    """The ``ARCHIVE_*`` settings (defaults in crawler/settings.py); ``mirror``: the spider's
    ``-a base_url=`` (the run is then a mirror run, kept apart from live runs)."""
    return ArchiveConfig(
        uri=settings.get("ARCHIVE_URI"),
        spool_dir=settings.get("ARCHIVE_SPOOL_DIR"),
        spool_min_free=settings.getint("ARCHIVE_SPOOL_MIN_FREE"),
        warc_prefix=settings.get("ARCHIVE_WARC_PREFIX"),
        warc_max_bytes=settings.getint("ARCHIVE_WARC_MAX_BYTES"),
        warc_host=settings.get("ARCHIVE_WARC_HOST"),
        run_id=settings.get("ARCHIVE_RUN_ID"),
        fixed_time=settings.get("ARCHIVE_FIXED_TIME"),
        upload_deadline=settings.getfloat("ARCHIVE_UPLOAD_DEADLINE"),
        upload_backoff=settings.getfloat("ARCHIVE_UPLOAD_BACKOFF"),
        upload_stall_warning=settings.getfloat("ARCHIVE_UPLOAD_STALL_WARNING"),
        upload_threads=settings.getint("ARCHIVE_UPLOAD_THREADS"),
        multipart_threshold=settings.getint("ARCHIVE_MULTIPART_THRESHOLD"),
        lock_enabled=settings.getbool("ARCHIVE_LOCK_ENABLED"),
        lock_ttl=settings.getfloat("ARCHIVE_LOCK_TTL"),
        lock_wait=settings.getfloat("ARCHIVE_LOCK_WAIT"),
        state_uri=settings.get("ARCHIVE_STATE_URI"),
        state_key_prefix=settings.get("ARCHIVE_STATE_KEY_PREFIX"),
        max_attempts=settings.getint("ARCHIVE_MAX_ATTEMPTS"),
        software=settings.get("BOT_NAME"),
        mirror=mirror,
    )


def jsonable(value: Any) -> Any:
    """Scrapy stats as JSON values (datetimes as ISO strings, anything else as its str)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class ArchiveExtension:
    """The run's :class:`~pipelines.archive.Archive`, for the crawler's outlet spider.

    The spider, the WARC capture middleware and the item pipelines get it with
    ``crawler.get_extension(ArchiveExtension)``. :meth:`opened` opens the archive once (lock,
    spool recovery, state); every caller awaits that one opening, so nothing is fetched or written
    before the archive knows what it already has. The archive is closed and published when the
    spider closes, with Scrapy's finish reason; :attr:`outcome` is then the run's outcome.
    """

    def __init__(self, archive: Archive, stats: StatsCollector, stop: Callable[[str], None] | None = None,
                 blocked_min_requests: int = 5, blocked_share: float = 0.5) -> None:
        self.archive = archive
        self.stats = stats
        #: BLOCKED_MIN_REQUESTS, BLOCKED_SHARE: when the run counts as blocked (pipelines.blocking.run_blocked)
        self.blocked_min_requests = blocked_min_requests
        self.blocked_share = blocked_share
        if stop is not None:  # a storage fault (spool disk full) ends the crawl: no new fetches
            archive.on_storage_fault = lambda problem: stop(STORAGE_FAILED)
        #: how the run ended, for the exit code (pipelines.crawljob); None: the archive never closed
        self.outcome: str | None = None
        self.outcome_reason: str | None = None  # and why (a blocked run exits EXIT_BLOCKED)
        self._opening: asyncio.Future[None] | None = None
        self._start_problem: str | None = None  # why a component could not start (see start_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchiveExtension":
        if not crawler.settings.getbool("ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        spider = crawler.spider
        outlet = getattr(spider, "outlet", None)
        if outlet is None:
            raise NotConfigured("the archive needs an outlet spider")
        config = archive_config(crawler.settings, mirror=getattr(spider, "mirror_url", None))
        ext = cls(Archive.create(config, outlet.name, spider.edition_name), crawler.stats, stop=lambda reason: _close_spider(crawler, reason),
                  blocked_min_requests=crawler.settings.getint("BLOCKED_MIN_REQUESTS"), blocked_share=crawler.settings.getfloat("BLOCKED_SHARE"))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def opened(self) -> Archive:
        """The archive, once it is open (the first caller opens it; the others wait for that)."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
            self._opening.add_done_callback(lambda f: f.cancelled() or f.exception())  # reported by the awaiters
        await asyncio.shield(self._opening)
        return self.archive

    async def _open(self) -> None:
        try:
            await asyncio.to_thread(self.archive.open)
        except RunLocked as exc:
            self.outcome = REFUSED
            raise refuse_start(str(exc)) from None
        except Exception as exc:
            # Without the archive's state the run cannot tell what is already archived: stop
            # before fetching anything rather than archive everything a second time.
            raise refuse_start(f"archive {self.archive.store.uri} is unreachable ({type(exc).__name__}: {exc}); nothing was crawled") from None

    def start_failed(self, message: str) -> RunNotStarted:
        """Another component could not start after the archive opened (the dedup index's Redis
        unreachable): the run fetched nothing and ends ``failed`` with ``message``, told once, in the
        run's outcome line."""
        self._start_problem = message
        _install_filter(_NotStartedNoise)
        return RunNotStarted(message)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.stats.get_stats()
        blocked = block_counts(stats)
        # a blocked run failed for that reason, also when (because) no source could be read
        unreadable = (self._start_problem or run_blocked(self.archive.outlet, blocked, self.blocked_min_requests, self.blocked_share)
                      or _unreadable(stats, self.archive.outlet))
        window = getattr(spider, "discovery_window", None)  # the outlet spider's (pipelines/window.py)
        extra = {"discovery_window": window.summary()} if window is not None else {}
        summary = await asyncio.to_thread(
            self.archive.close, reason, unreadable=unreadable, progress=run_counts(stats), blocked=blocked, scrapy_stats=jsonable(stats), **extra,
        )
        if summary is None:
            return
        self.outcome, self.outcome_reason = summary["outcome"], summary["outcome_reason"]
        logger.info(
            "run %s: %s; text files %d, WARC files %d (%d bytes); archive %s",
            summary["prefix"], summary["counts"], summary["text_files"], len(summary["warc_files"]), summary["warc_bytes"], summary["archive"],
        )
        if self.outcome != COMPLETE:  # the one line an operator (or an alert) needs
            logger.error("run %s %s: %s (exit %d: %s)", summary["prefix"], self.outcome, summary["outcome_reason"],
                         exit_code(self.outcome, True, self.outcome_reason), meaning(exit_code(self.outcome, True, self.outcome_reason)))


#: the spider's stats of sources read; their sum (over a frontier job's workers: crawler.frontier)
#: decides "no source could be read"
SOURCE_STATS = ("discovery/feeds", "discovery/sitemaps", "discovery/sections")
#: signal (``request``): the spider is done with a source's answer (its callback or errback has handed
#: over everything it discovered); the shared frontier counts the source done only then
source_read = object()


def _unreadable(stats: dict[str, Any], outlet: str) -> str | None:
    """Why the run counts as having read nothing, or None. With a shared frontier the job's total
    decides (``frontier/job_sources_read``, set by crawler.frontier): another worker may have read them."""
    if not stats.get("discovery/sources_failed", 0):
        return None
    read = stats.get("frontier/job_sources_read")
    if read is None:
        read = sum(int(stats.get(k, 0) or 0) for k in SOURCE_STATS)
    return None if read else f"no source of {outlet} (feeds, sitemaps, sections) could be read; nothing was discovered"


def _close_spider(crawler: Crawler, reason: str) -> None:
    """Close the crawl with ``reason`` soon, from the reactor (a storage fault is found deep inside a write)."""
    from twisted.internet import reactor

    def close() -> None:
        if crawler.engine is not None and crawler.engine.spider is not None:
            asyncio.ensure_future(crawler.engine.close_spider_async(reason=reason))

    reactor.callFromThread(close)


class RunNotStarted(RuntimeError):
    """The archive could not be opened, so the spider never starts; already told in one CRITICAL line."""


class _NotStartedNoise(logging.Filter):
    """After that CRITICAL line, the tracebacks that would follow say nothing more (Scrapy's report of
    the failed start, CoreStats' assertion about a spider that never opened, the engine's complaints
    about a slot it never got): drop Scrapy's, asyncio's and Twisted's records that carry one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, RunNotStarted):
            return False
        return not (exc is not None and record.name.split(".")[0] in ("scrapy", "asyncio", "twisted"))


def refuse_start(message: str) -> RunNotStarted:
    """The run cannot start: say why in one CRITICAL line, and silence the tracebacks that would
    follow it; raise what this returns (``from None``)."""
    logger.critical("%s", message)
    _install_filter(_NotStartedNoise)
    return RunNotStarted(message)


def _install_filter(kind: type[logging.Filter]) -> None:
    """``kind`` on every root handler (once): Scrapy's own log lines pass there too."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, kind) for f in handler.filters):
            handler.addFilter(kind())


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


class RedactCredentials:
    """Every log line of the crawl without URL credentials (Scrapy's own lines included, e.g. a
    redirect to ``http://user:password@host/``): filters on the root handlers."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RedactCredentials":
        ext = cls()
        ext.install()
        # Scrapy installs its root handler after the extensions are built: filter that one too
        crawler.signals.connect(ext.install, signal=signals.engine_started)
        return ext

    def install(self) -> None:
        _install_filter(_Redact)


class Progress(LogStats):
    """Scrapy's LogStats with the operator's line: every ``PROGRESS_INTERVAL`` seconds and once at the
    end, from the run's Scrapy stats (it replaces LogStats, so the log has one progress line, and
    keeps its ``responses_per_minute`` and ``items_per_minute`` stats).

    found = article URLs the sources listed and this run requested; fetched = their answers;
    written / duplicate / empty / skipped / failed (error) / blocked / missing = manifest rows so far; pages/min over the
    last interval (all responses, including feeds and sitemaps).
    """

    def __init__(self, crawler: Crawler, interval: float) -> None:
        super().__init__(crawler.stats, interval)
        self.crawler = crawler
        self._start = time.monotonic()
        self._last = (self._start, 0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Progress":
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.pagesprev, self.itemsprev = 0, 0
        self._start = time.monotonic()
        self._last = (self._start, 0)
        self.task = create_looping_call(self.log, spider)
        self.task.start(self.interval, now=False)

    def log(self, spider: Spider | None = None, final: bool = False) -> dict[str, int]:  # type: ignore[override]
        c = run_counts(self.crawler.stats.get_stats())
        now = time.monotonic()
        then, responses = (self._start, 0) if final else self._last
        rate = (c["responses"] - responses) / max(1e-9, now - then) * 60
        self._last = (now, c["responses"])
        logger.info(
            "%s: found %d (%d already archived), fetched %d, written %d, duplicate %d, empty %d, skipped %d, failed %d, blocked %d, missing %d; %.0f pages/min",
            "finished" if final else "progress", c["found"], c["already_archived"], c["fetched"], c["written"],
            c["duplicate"], c["empty"], c["skipped"], c["failed"], c["blocked"], c["missing"], rate,
        )
        return c

    def spider_closed(self, spider: Spider, reason: str) -> None:
        super().spider_closed(spider, reason)  # stops the loop; LogStats' per-minute stats
        self.log(spider, final=True)


#: Scrapy stats every run summary has (``scrapy_stats``, docs/corpus-format.md), 0 when nothing
#: happened, so a reader needs no default: the operator's counts (:func:`run_counts`) and the
#: discovery, article, archive, dedup and retry counters
ALWAYS_PRESENT_STATS = (
    "articles/scheduled", "articles/already_archived", "articles/fetched", "articles/skipped_before_since",
    "articles/over_max_articles", "articles/url_too_long",
    "discovery/feeds", "discovery/sitemaps", "discovery/sections", "discovery/sources_failed",
    "discovery/sitemaps_rejected", "discovery/sitemap_entries_rejected", "discovery/sitemaps_over_max_articles",
    "discovery/robots_sitemaps",
    "discovery/sitemaps_outside_window", "articles/skipped_before_window", "articles/missing_not_rechecked",
    *(f"archive/status/{status}" for status in STATUSES),
    "archive/responses_truncated", "archive/responses_decoded_truncated",
    "dedup/duplicates", "retry/count",
    "blocked/requests", "blocked/responses", "blocked/sources", "blocked/backoffs", "articles/from_feed",
)


class StatsDefaults:
    """Sets every :data:`ALWAYS_PRESENT_STATS` key to 0 when the spider opens (one not counted yet)."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StatsDefaults":
        ext = cls(crawler.stats)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self) -> None:
        for key in ALWAYS_PRESENT_STATS:
            self.stats.inc_value(key, 0)
