"""Item pipelines: thin Scrapy adapters over the core in ``pipelines/`` (which imports no Scrapy).

extract (trafilatura in a process pool) -> clean (text rules) -> dedup (syndicated copies) ->
archive (text file and manifest row). Each item is one article URL; each stage leaves items it
has nothing to do with (an ``error`` row, a ``skipped`` one) as they are.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from datetime import date
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.extensions import ArchiveExtension, refuse_start
from crawler.items import DUPLICATE, EMPTY, ERROR, FETCHED, SKIPPED, WRITTEN, Article
from pipelines.archive import Archive, StorageFault
from pipelines.clean import clean_text
from pipelines.dedup import Deduplicator, MemoryIndex, load_embedded, open_index
from pipelines.extract import KILL_MARGIN, ExtractionTimeout, extract_document, warm_up
from pipelines.manifest import TEXT_FROM_FEED, docid_for
from pipelines.outlets import get_outlet
from pipelines.redisconn import UNREACHABLE, shown
from pipelines.workers import TaskTimeout, WorkerDied, WorkerPool

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """Runs :func:`~pipelines.extract.extract_document` for fetched HTML articles in a pool of
    ``EXTRACT_WORKERS`` processes (the reactor never blocks on trafilatura). A page still being
    extracted ``EXTRACT_TIMEOUT`` seconds after its worker started it has its worker killed
    (:class:`~pipelines.workers.WorkerPool`) and becomes an ``error`` row; the other pages go on."""

    def __init__(self, crawler: Crawler, workers: int, timeout: float) -> None:
        self.crawler = crawler
        self.workers = workers
        self.timeout = timeout
        self.pool: WorkerPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ExtractPipeline":
        workers = crawler.settings.getint("EXTRACT_WORKERS") or os.cpu_count() or 1
        return cls(crawler, workers, crawler.settings.getfloat("EXTRACT_TIMEOUT"))

    def open_spider(self) -> None:
        self.pool = WorkerPool(self.workers, initializer=warm_up, name="extract")

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    async def process_item(self, item: Article) -> Article:
        if item.status != FETCHED:
            return item
        assert self.pool is not None
        body, item.body = item.body, b""
        # the alarm in the worker acts between bytecodes; the pool kills a worker stuck in C
        deadline = self.timeout + KILL_MARGIN if self.timeout else None
        try:
            result = await asyncio.wrap_future(
                self.pool.submit(extract_document, body, item.content_type, item.final_url or item.url, item.outlet, self.timeout, deadline=deadline)
            )
        except (ExtractionTimeout, TaskTimeout) as exc:
            logger.warning("extraction of %s stopped at EXTRACT_TIMEOUT=%ss (%s)", item.url, self.timeout,
                           "worker killed" if isinstance(exc, TaskTimeout) else "alarm in the worker")
            item.status, item.reason = ERROR, f"extraction took longer than EXTRACT_TIMEOUT={self.timeout}s"
            return item
        except WorkerDied as exc:
            item.status, item.reason = ERROR, f"extraction worker died: {exc}"
            return item
        except Exception as exc:
            logger.exception("extraction of %s failed", item.url)
            item.status, item.reason = ERROR, f"extraction failed: {type(exc).__name__}: {exc}"
            return item
        item.title = result["title"]
        item.authors = result["authors"]
        item.published = result["published"]
        item.canonical_url = result["canonical_url"] or ""
        item.language = item.language or result["language"] or ""
        item.paragraphs = result["paragraphs"]
        item.removed_lines = result["removed"]
        too_old = getattr(self.crawler.spider, "too_old", None)  # the spider's run policy (-a since=)
        reason = too_old(item.published) if too_old else None
        if reason:
            item.status, item.reason = SKIPPED, reason
        elif not item.paragraphs:
            item.status, item.reason = EMPTY, "no article text could be extracted"
        return _unless_empty_feed_text(item)


class CleanPipeline:
    """Checks the page's canonical URL can be its identity, applies the text rules of the item's
    outlet (valid on the fetch day) and assembles the corpus text."""

    def process_item(self, item: Article) -> Article:
        if item.status != FETCHED:
            return item
        outlet = get_outlet(item.outlet)
        why = outlet.canonical_problem(item.canonical_url, item.edition) if item.canonical_url else None
        if why:
            item.distrust_canonical(why)
        when = date.fromisoformat(item.fetched_at[:10]) if item.fetched_at else None
        item.text, paragraphs, removed = clean_text(item.title, item.paragraphs, outlet, when)
        item.paragraphs = paragraphs
        item.removed_lines = dict(sorted((Counter(item.removed_lines) + removed).items()))
        if paragraphs:
            item.status = WRITTEN
        else:
            item.status, item.reason = EMPTY, "no article text left after cleaning"
        return _unless_empty_feed_text(item)


def _unless_empty_feed_text(item: Article) -> Article:
    """An article written from its feed's text (crawler.spiders.outlet written_from_feed) that has no
    text left is not ``empty`` (an archived status: its page would never be fetched again): its
    page's failure (``blocked``, ``error``) is recorded instead."""
    failed = item.page_failure
    if item.status != EMPTY or item.text_source != TEXT_FROM_FEED or failed is None:
        return item
    failed.reason = f"{failed.reason}; its feed item's text gave none ({item.reason})"
    return failed


class DedupPipeline:
    """Wire attribution for every text, and syndicated copies (:class:`~pipelines.dedup.Deduplicator`).

    ``DEDUP_URI`` empty: the embedded index, loaded from and saved with the archive; ``redis://...``:
    the index shared by every crawler using that Redis. A copy becomes ``duplicate`` and gets no
    text file of its own (its response stays in the WARC).
    """

    def __init__(self, uri: str, namespace: str, archive: ArchiveExtension | None, stats: StatsCollector) -> None:
        self.uri = uri
        self.namespace = namespace
        self.archive_ext = archive
        self.stats = stats
        self.dedup: Deduplicator | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "DedupPipeline":
        if not crawler.settings.getbool("DEDUP_ENABLED"):
            raise NotConfigured("DEDUP_ENABLED is off")
        return cls(crawler.settings.get("DEDUP_URI"), crawler.settings.get("DEDUP_NAMESPACE"), crawler.get_extension(ArchiveExtension), crawler.stats)

    async def open_spider(self) -> None:
        archive = await self.archive_ext.opened() if self.archive_ext is not None else None
        try:
            self.dedup = await asyncio.to_thread(self._open, archive)
        except UNREACHABLE as exc:
            message = f"dedup index Redis {shown(self.uri)} is unreachable ({exc}); nothing was crawled"
            raise (self.archive_ext.start_failed(message) if self.archive_ext is not None else refuse_start(message)) from None

    def _open(self, archive: Archive | None) -> Deduplicator:
        if self.uri:
            index = open_index(self.uri, self.namespace)  # shared on purpose: crawlers (archives) that share it share one corpus
            logger.info("dedup: shared index %s in %s", self.namespace, shown(self.uri))
        else:
            index = load_embedded(archive.load_dedup_deltas()) if archive is not None else MemoryIndex()
            logger.info("dedup: embedded index with %d documents from %s", len(index), archive.store.uri if archive else "nowhere")
        return Deduplicator(index)

    async def process_item(self, item: Article) -> Article:
        if item.status != WRITTEN:
            return item
        assert self.dedup is not None
        fallback = docid_for(item.final_url or item.url)
        args: tuple[Any, ...] = (item.identity(), item.url, "\n".join(item.paragraphs), item.authors, get_outlet(item.outlet).wire_bylines, fallback)
        if isinstance(self.dedup.index, MemoryIndex):
            verdict = self.dedup.check(*args)
        else:
            verdict = await asyncio.to_thread(self.dedup.check, *args)
        item.wire = verdict.wire
        if verdict.docid is not None:  # filed under its fetched URL
            item.distrust_canonical("another page with a different text has it")
        if verdict.duplicate_of is not None:
            item.status, item.reason = DUPLICATE, verdict.reason or ""
            item.duplicate_of, item.similarity, item.containment = verdict.duplicate_of, verdict.similarity, verdict.containment
            self.stats.inc_value("dedup/duplicates")
        return item

    async def close_spider(self) -> None:
        if self.dedup is None:
            return
        delta = self.dedup.delta()
        if delta and self.archive_ext is not None:
            self.archive_ext.archive.put_dedup_delta(delta)
        self.dedup.close()


class ArchivePipeline:
    """Last pipeline: every item becomes one manifest row (and a text file when written); the item
    then carries the row as written, which is what feed exports (``-O``/``-o``) get."""

    def __init__(self, archive: ArchiveExtension, stats: StatsCollector) -> None:
        self.archive_ext = archive
        self.stats = stats
        self.archive: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePipeline":
        ext = crawler.get_extension(ArchiveExtension)
        if ext is None:
            raise NotConfigured("no archive (ARCHIVE_ENABLED is off)")
        return cls(ext, crawler.stats)

    async def open_spider(self) -> None:
        self.archive = await self.archive_ext.opened()

    def process_item(self, item: Article) -> Article:
        assert self.archive is not None
        try:
            row = self.archive.add(item.manifest_row(), item.text, item.warc)
        except StorageFault:  # logged once by the archive; the run is stopping and the next run fetches it
            self.stats.inc_value("archive/not_written_storage_fault")
            return item
        item.record(row)  # what a feed export (-O/-o) gets: the row as written, and the text
        self.stats.inc_value(f"archive/status/{row.status}")
        if row.status == WRITTEN and row.text_source == TEXT_FROM_FEED:
            self.stats.inc_value("articles/from_feed")  # the run is then not "blocked" (pipelines.blocking)
        level = logging.INFO if row.status == WRITTEN else logging.WARNING
        logger.log(level, "%s %s%s", row.status, row.url, f" ({row.reason})" if row.reason else "")
        return item
