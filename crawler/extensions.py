"""Operator view: progress lines while a run works (what it found, fetched, wrote, duplicates, failures)."""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

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
        "responses": get("downloader/response_count"),
    }


class Progress:
    """Logs every ``PROGRESS_INTERVAL`` seconds and once at the end, from the run's Scrapy stats.

    found = article URLs the sources listed and this run requested; fetched = their answers;
    written / duplicate / empty / skipped / failed = manifest rows so far; pages/min over the
    last interval (all responses, including feeds and sitemaps).
    """

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self._task: task.LoopingCall | None = None
        self._start = time.monotonic()
        self._last = (self._start, 0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Progress":
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL", 30.0)
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self._task = task.LoopingCall(self.log)
        self._task.start(self.interval, now=False)

    def log(self, final: bool = False) -> dict[str, int]:
        c = run_counts(self.crawler.stats.get_stats())
        now = time.monotonic()
        then, responses = (self._start, 0) if final else self._last
        rate = (c["responses"] - responses) / max(1e-9, now - then) * 60
        self._last = (now, c["responses"])
        logger.info(
            "%s: found %d (%d already archived), fetched %d, written %d, duplicate %d, empty %d, skipped %d, failed %d; %.0f pages/min",
            "finished" if final else "progress", c["found"], c["already_archived"], c["fetched"], c["written"],
            c["duplicate"], c["empty"], c["skipped"], c["failed"], rate,
        )
        return c

    def spider_closed(self) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        self.log(final=True)
