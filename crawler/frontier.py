"""Shared frontier: several crawler processes split one crawl of an outlet through Redis (scrapy-redis).

``SCHEDULER_URI=redis://...`` switches a crawl to scrapy-redis's request queue and dupefilter, under
keys of one crawl job (``FRONTIER_JOB``, default the UTC hour the job started, so the next scheduled
run starts a fresh frontier instead of finding every URL "seen"). Key names: pipelines/layout.py.

scrapy-redis pops a request from Redis and forgets it: a worker killed with requests in flight
loses them (they are in the dupefilter, so nobody fetches them again). :class:`FrontierScheduler`
moves each popped request atomically (one Lua script) into the worker's in-flight hash and removes
it only when the request is done (an article: when its manifest row is written). Every worker
beats a heartbeat key; any worker puts back into the queue the in-flight requests of a worker
whose heartbeat has expired.

Redis may restart. Every Redis call here tolerates it being away: nothing new is fetched, done
bookkeeping and discovered requests wait in local buffers and go out at a later beat, and the
worker waits (at most ``FRONTIER_REDIS_TIMEOUT``, then it closes with ``frontier_lost``). A Redis
that comes back without the job (no persistence) is noticed by the job's epoch key: each worker
republishes what it knows (archived URLs, its in-flight requests and their fingerprints), one of
them re-seeds the job from the outlet's sources, and the archived state and the dupefilter skip
what is already written or in flight, so every article is still written once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.extensions import SOURCE_STATS, ArchiveExtension, refuse_start, source_read
from pipelines import layout
from pipelines.crawljob import FRONTIER_LOST
from pipelines.redisconn import UNREACHABLE, connect, shown

logger = logging.getLogger(__name__)


_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local field = redis.sha1hex(r[1]) .. ':' .. r[2]
redis.call('HSET', KEYS[2], field, r[1])
return {field, r[1]}
"""

# dupefilter check and queue push in one step: a push retried after a lost connection is never
# taken for its own duplicate (ARGV[1] empty: a request that is not filtered)
_PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


class SharedFrontier:
    """Add-on: with ``SCHEDULER_URI`` set, crawl through the shared Redis frontier."""

    def update_settings(self, settings: BaseSettings) -> None:
        uri = settings.get("SCHEDULER_URI")
        if not uri:
            return
        job = settings.get("FRONTIER_JOB") or datetime.now(UTC).strftime("%Y%m%d%H")
        settings.set("SCHEDULER", "crawler.frontier.FrontierScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority="addon")
        # Frontier mode overrides these project defaults (declared in crawler/settings.py, so an
        # "addon" priority would lose to them); -s on the command line still wins.
        # The job the workers share, resolved once (the default hour could change before the scheduler reads it).
        settings.set("FRONTIER_JOB", job, priority="project")
        # Workers of one job crawl the same outlet together: the one-run-per-outlet lock would refuse them.
        settings.set("ARCHIVE_LOCK_ENABLED", False, priority="project")
        # The "already archived" state is shared at once through the same Redis.
        settings.set("ARCHIVE_STATE_URI", uri, priority="project")
        # a worker takes from the frontier only what it can fetch now (one outlet = one domain), so
        # requests wait in Redis for the other workers instead of in this worker's downloader queue
        settings.set("CONCURRENT_REQUESTS", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), priority="project")


def _forget_discoveries(spider: Spider) -> None:
    """The spider never schedules an article URL twice; when Redis lost the job, the queued ones are
    gone, so that memory must go too: re-read sources schedule them again, and the archived state
    and the dupefilter still skip what is written or in flight."""
    forget = getattr(spider, "forget_scheduled", None)  # crawler.spiders.outlet.OutletSpider's
    if callable(forget):
        forget()


class FrontierScheduler(RedisScheduler):
    """scrapy-redis's scheduler with in-flight tracking (a dead worker's requests are crawled) that
    rides out Redis restarts (see the module's docstring)."""

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FrontierScheduler":
        settings = crawler.settings
        uri = settings.get("SCHEDULER_URI")
        job = settings.get("FRONTIER_JOB")
        probe = connect(uri)  # a worker that starts while Redis restarts waits for it
        try:
            probe.ping()
        except UNREACHABLE as exc:
            raise refuse_start(f"frontier Redis {shown(uri)} is unreachable ({exc}); nothing was crawled") from None
        finally:
            probe.close()
        # the scrapy-redis names the keys by spider ("%(spider)s"): the outlet
        scheduler = cls(
            connect(uri, patient=False),  # on the event loop: calls fail fast and are retried at the next beat
            persist=True,
            queue_key=layout.frontier_requests_key("%(spider)s", job),
            queue_cls="scrapy_redis.queue.PriorityQueue",
            dupefilter_key=layout.frontier_dupefilter_key("%(spider)s", job),
        )
        scheduler._setup(crawler, uri, job)
        return scheduler

    def _setup(self, crawler: Crawler, uri: str, job: str) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.uri = uri
        self.job = job
        self.heartbeat = settings.getfloat("FRONTIER_HEARTBEAT")
        self.redis_timeout = settings.getfloat("FRONTIER_REDIS_TIMEOUT")
        self.dupefilter_debug = settings.getbool("DUPEFILTER_DEBUG")
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._inflight: dict[str, tuple[bytes, str | None]] = {}  # field -> (request data, fingerprint)
        self._failed: dict[str, tuple[bytes, str | None]] = {}  # in flight, item failed: back to the queue
        self._retried: set[str] = set()  # fields put back once already after a failed item
        self._stale: set[str] = set()  # fields put back once already as stale (see _requeue_stale)
        self._done_buffer: set[tuple[str, str]] = set()  # (worker, field) done, HDEL not in Redis yet
        #: sources whose answer left the downloader, their callback not finished (``source_read`` not yet)
        self._reading: set[str] = set()
        self._buffer: deque[Request] = deque()  # discovered requests not in the frontier yet
        self._away_since: float | None = None  # monotonic time Redis became unreachable
        self._connected_since = time.monotonic()
        self._hold_until = 0.0  # after a lost job: discovered requests wait until the others republished
        self._settle_until = 0.0  # ... and the worker does not finish before the job is re-seeded
        self._reseed_at: float | None = None
        self._epoch = ""
        self._sources_reported = 0
        self._giving_up = False
        crawler.signals.connect(self._request_done, signal=signals.request_left_downloader)
        crawler.signals.connect(self._source_read, signal=source_read)
        crawler.signals.connect(self._item_done, signal=signals.item_scraped)
        crawler.signals.connect(self._item_done, signal=signals.item_dropped)
        crawler.signals.connect(self._item_failed, signal=signals.item_error)

    # ---- keys
    def _inflight_key(self, worker: str) -> str:
        return layout.inflight_key(self.queue.key, worker)

    def _alive_key(self, worker: str) -> str:
        return layout.alive_key(self.queue.key, worker)

    @property
    def _workers_key(self) -> str:
        return layout.workers_key(self.queue.key)

    # ---- lifecycle
    def open(self, spider: Spider) -> Any:
        self.df = RFPDupeFilter(self.server, key=self.dupefilter_key % {"spider": spider.name}, debug=self.dupefilter_debug)
        result = super().open(spider)
        self._epoch_key = layout.frontier_epoch_key(spider.name, self.job)
        self._sources_key = layout.frontier_sources_key(spider.name, self.job)
        self._pop = self.server.register_script(_POP)
        self._push = self.server.register_script(_PUSH)
        self.server.set(self._epoch_key, uuid.uuid4().hex, nx=True)  # the job's first worker sets it
        self._epoch = (self.server.get(self._epoch_key) or b"").decode()
        self.server.sadd(self._workers_key, self.worker)
        self._beat()
        self._loop = task.LoopingCall(self._beat)
        self._loop.start(self.heartbeat, now=False)
        return result

    def close(self, reason: str) -> Any:
        if getattr(self, "_loop", None) is not None and self._loop.running:
            self._loop.stop()
        try:
            self._flush(final=True)
            # should be none; hand them to the others rather than lose them: what Redis holds for this
            # worker (an entry whose pop reply was lost too) and, if Redis lost the job, what it holds itself
            left = {f.decode(): (d, None) for f, d in self.server.hgetall(self._inflight_key(self.worker)).items()}
            if (self.server.get(self._epoch_key) or b"").decode() != self._epoch:
                left = {**left, **self._inflight, **self._failed}
            left = self._requeue_local(left)
            if left:
                logger.warning("%d request(s) still in flight at close put back in the queue", left)
            self._report_sources()
            self.stats.set_value("frontier/job_sources_read", int(self.server.get(self._sources_key) or 0))
            self.server.delete(self._alive_key(self.worker))
            self.server.srem(self._workers_key, self.worker)
        except UNREACHABLE as exc:
            logger.error(
                "frontier Redis %s unreachable at close (%s): %d discovered request(s) never reached job %s; %d request(s) "
                "in flight stay under this worker in Redis (if it kept them) for the job's next worker to put back",
                shown(self.uri), exc, len(self._buffer), self.job, len(self._inflight) + len(self._failed),
            )
        return super().close(reason)

    def _others(self) -> list[str]:
        return [w.decode() for w in self.server.smembers(self._workers_key) if w.decode() != self.worker]

    # ---- Redis away and back
    def _unreachable(self, exc: BaseException) -> None:
        if self._away_since is None:
            self._away_since = time.monotonic()
            self.stats.inc_value("frontier/redis_outages")
            logger.warning(
                "frontier Redis %s unreachable (%s: %s): nothing new is fetched; waiting up to %.0f s (FRONTIER_REDIS_TIMEOUT)",
                shown(self.uri), type(exc).__name__, exc, self.redis_timeout,
            )

    def _reachable(self) -> None:
        if self._away_since is not None:
            away = time.monotonic() - self._away_since
            self._away_since = None
            self._connected_since = time.monotonic()
            logger.info("frontier Redis %s is back after %.1f s", shown(self.uri), away)

    def _give_up(self) -> None:
        if self._giving_up or self.crawler.engine is None:
            return
        self._giving_up = True
        logger.error(
            "frontier Redis %s unreachable for more than %.0f s (FRONTIER_REDIS_TIMEOUT): closing this worker (%s)",
            shown(self.uri), self.redis_timeout, FRONTIER_LOST,
        )
        d = deferred_from_coro(self.crawler.engine.close_spider_async(reason=FRONTIER_LOST))
        d.addErrback(lambda f: logger.error("closing after the frontier was lost failed: %s", f.getErrorMessage()))

    # ---- heartbeat
    def _beat(self) -> None:
        try:
            self._beat_once()
        except UNREACHABLE as exc:
            self._unreachable(exc)
        except Exception:  # the loop must go on: a LoopingCall stops at the first exception
            logger.exception("frontier heartbeat failed")
        if self._away_since is not None and time.monotonic() - self._away_since > self.redis_timeout:
            self._give_up()

    def _beat_once(self) -> None:
        epoch = self.server.get(self._epoch_key)
        self._reachable()
        if not self._epoch_intact(epoch):
            return
        self.server.set(self._alive_key(self.worker), "1", px=int(self.heartbeat * 3000))
        self.server.sadd(self._workers_key, self.worker)
        self._flush()
        self._reconcile()
        state = self._state()
        if state is not None:
            state.sync()
        self._report_sources()
        if self._reseed_at is not None and time.monotonic() >= self._reseed_at:
            self._reseed_at = None
            self._reseed()
        # after an outage every heartbeat key may have expired: judge the others only once each
        # live one had the time to beat again
        if time.monotonic() - self._connected_since >= 3 * self.heartbeat:
            self._requeue_dead()

    def _requeue_dead(self) -> None:
        for worker in self._others():
            if not self.server.exists(self._alive_key(worker)):
                n = self._requeue(worker)
                self.server.srem(self._workers_key, worker)
                if n:
                    logger.warning("worker %s is gone: %d of its in-flight request(s) put back in the queue", worker, n)
                    self.stats.inc_value("frontier/requeued", n)

    def _requeue(self, worker: str) -> int:
        key = self._inflight_key(worker)
        entries = self.server.hgetall(key)
        pipe = self.server.pipeline(transaction=True)
        for field, data in entries.items():
            pipe.zadd(self.queue.key, {data: _score(field.decode())})
            pipe.hdel(key, field)
        pipe.execute()
        return len(entries)

    def _requeue_local(self, entries: dict[str, tuple[bytes, str | None]]) -> int:
        """Put entries this worker holds back in the queue and out of its in-flight hash."""
        if not entries:
            return 0
        key = self._inflight_key(self.worker)
        pipe = self.server.pipeline(transaction=True)
        for field, (data, _) in entries.items():
            pipe.zadd(self.queue.key, {data: _score(field)})
            pipe.hdel(key, field)
        pipe.execute()
        for field in entries:
            self._inflight.pop(field, None)
            self._failed.pop(field, None)
        return len(entries)

    def _reconcile(self) -> None:
        """This worker's in-flight hash against what it holds (Redis has the job: epoch checked).
        An entry only Redis has was popped but its reply was lost with the connection: nobody would
        fetch it, it goes back in the queue. An entry only this worker has was a redirected article
        whose next hop another worker took (and removed): forgotten here."""
        remote = {f.decode(): d for f, d in self.server.hgetall(self._inflight_key(self.worker)).items()}
        known = self._inflight.keys() | self._failed.keys() | {f for w, f in self._done_buffer if w == self.worker}
        orphans = {f: (d, None) for f, d in remote.items() if f not in known}
        if orphans:
            self._requeue_local(orphans)
            logger.warning("%d request(s) popped while the connection to Redis broke put back in the queue", len(orphans))
        for field in self._inflight.keys() - remote.keys():
            del self._inflight[field]

    def _flush(self, final: bool = False) -> None:
        """Send what waits locally: done bookkeeping, failed items' requests, discovered requests
        (held back for a while after a lost job, except at close)."""
        self._flush_done()
        if self._failed:
            n = self._requeue_local(dict(self._failed))
            self.stats.inc_value("frontier/requeued_failed_items", n)
        if self._buffer and (final or time.monotonic() >= self._hold_until):
            sent = 0
            while self._buffer:
                self._enqueue(self._buffer[0])
                self._buffer.popleft()
                sent += 1
            logger.info("%d discovered request(s) kept while the frontier was unavailable handed to it", sent)

    def _state(self) -> Any:
        """The run's archived state (pipelines.state.ArchivedState), or None."""
        ext = self.crawler.get_extension(ArchiveExtension)
        return getattr(getattr(ext, "archive", None), "state", None)

    def _report_sources(self) -> None:
        read = sum(int(self.stats.get_value(k) or 0) for k in SOURCE_STATS)
        if read > self._sources_reported:
            self.server.incrby(self._sources_key, read - self._sources_reported)
            self._sources_reported = read

    # ---- a job lost by Redis
    def _epoch_intact(self, epoch: bytes | None) -> bool:
        """False when Redis lost the job (epoch key missing or changed); then this worker
        republishes what it knows and, when it sets the new epoch, re-seeds the job."""
        if epoch is not None and epoch.decode() == self._epoch:
            return True
        logger.warning(
            "frontier job %s of %s: Redis lost it (epoch %s, now %s); republishing this worker's archived URLs and %d in-flight request(s)",
            self.job, self.spider.name, self._epoch or "-", epoch.decode() if epoch else "missing", len(self._inflight) + len(self._failed),
        )
        self._republish()
        token = uuid.uuid4().hex
        won = self.server.set(self._epoch_key, token, nx=True)
        self._epoch = token if won else (self.server.get(self._epoch_key) or b"").decode()
        now = time.monotonic()
        self._hold_until = now + 2 * self.heartbeat
        self._settle_until = now + 3 * self.heartbeat
        _forget_discoveries(self.spider)
        self.stats.inc_value("frontier/job_lost")
        if won:  # the others republish within a beat; then this worker reads the sources again
            self._reseed_at = self._hold_until
            logger.warning("frontier job %s of %s: this worker re-seeds it from the outlet's sources in %.1f s", self.job, self.spider.name, 2 * self.heartbeat)
        return False

    def _republish(self) -> None:
        pipe = self.server.pipeline(transaction=False)
        pipe.sadd(self._workers_key, self.worker)
        pipe.set(self._alive_key(self.worker), "1", px=int(self.heartbeat * 3000))
        entries = {**self._inflight, **self._failed}
        if entries:
            pipe.hset(self._inflight_key(self.worker), mapping={f: d for f, (d, _) in entries.items()})
            fingerprints = [fp for _, fp in entries.values() if fp]
            if fingerprints:
                pipe.sadd(self.df.key, *fingerprints)
        pipe.execute()
        self._done_buffer = {(w, f) for w, f in self._done_buffer if w != self.worker}  # this hash was rebuilt from what is in flight
        state = self._state()
        urls = state.republish() if state is not None else 0
        self._sources_reported = 0  # the job's counter went too: report this worker's reads again
        logger.info("republished %d archived URL(s) and %d in-flight request(s)", urls, len(entries))

    def _reseed(self) -> None:
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        self.stats.inc_value("frontier/reseeded")
        d = deferred_from_coro(self._reseed_from_sources())
        d.addErrback(lambda f: logger.error("re-seeding frontier job %s failed: %s", self.job, f.getErrorMessage()))

    async def _reseed_from_sources(self) -> None:
        n = 0
        async for obj in self.spider.start():  # the spider's start requests, through the dupefilter
            if isinstance(obj, Request) and self.crawler.engine is not None and self.crawler.engine.spider is not None:
                self.crawler.engine.crawl(obj)
                n += 1
        logger.warning("frontier job %s of %s re-seeded: %d source request(s)", self.job, self.spider.name, n)

    # ---- queue
    def __len__(self) -> int:
        try:
            return int(self.server.zcard(self.queue.key))
        except UNREACHABLE as exc:
            self._unreachable(exc)
            return 0

    def enqueue_request(self, request: Request) -> bool:
        """A discovered request is never dropped: while Redis is away (or just after it lost the
        job) it waits in a local buffer that the heartbeat hands to the frontier later."""
        if self._away_since is not None or self._buffer or time.monotonic() < self._hold_until:
            self._buffer.append(request)
            self.stats.inc_value("frontier/buffered")
            return True
        try:
            return self._enqueue(request)
        except UNREACHABLE as exc:
            self._unreachable(exc)
            self._buffer.append(request)
            self.stats.inc_value("frontier/buffered")
            return True

    def _enqueue(self, request: Request) -> bool:
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        if not self._push(keys=[self.df.key, self.queue.key], args=[fingerprint, -request.priority, self.queue._encode_request(request)]):
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self._away_since is not None:
            return None  # the heartbeat finds out when Redis is back
        while True:
            try:
                popped = self._pop(keys=[self.queue.key, self._inflight_key(self.worker)])
            except UNREACHABLE as exc:
                self._unreachable(exc)
                return None
            if not popped:
                return None
            field, data = popped[0].decode(), popped[1]
            request = self.queue._decode_request(data)
            self._inflight[field] = (data, None if request.dont_filter else self.df.request_fingerprint(request))
            self._done(request.meta.pop("frontier_supersedes", None))  # a followed redirect replaces its request
            if self._archived(request):  # put back after a dead worker or a lost job, but written meanwhile
                self._done(f"{self.worker}|{field}")
                self.stats.inc_value("frontier/skipped_archived")
                continue
            request.meta["frontier_entry"] = f"{self.worker}|{field}"  # the worker: another may finish it (a redirect)
            self.stats.inc_value("scheduler/dequeued/redis")
            return request

    def _archived(self, request: Request) -> bool:
        info = request.meta.get("article")
        is_archived = getattr(self.spider, "is_archived", None)
        return bool(info and callable(is_archived) and is_archived(info["url"]))

    def has_pending_requests(self) -> bool:
        """Work may still come while another worker has requests in flight (they can discover more,
        or their worker can die and leave them to us), while Redis is away (for at most
        ``FRONTIER_REDIS_TIMEOUT``) and while a lost job is being re-seeded: an idle worker waits."""
        if self._away_since is not None or self._buffer or self._failed or self._done_buffer:
            return True
        if time.monotonic() < self._settle_until or self._reseed_at is not None:
            return True
        try:
            if not self._epoch_intact(self.server.get(self._epoch_key)):
                return True
            if self.server.zcard(self.queue.key):
                return True
            if self._inflight and self._requeue_stale():
                return True
            return any(self.server.hlen(self._inflight_key(w)) for w in self._others())
        except UNREACHABLE as exc:
            self._unreachable(exc)
            return True

    def _requeue_stale(self) -> int:
        """The engine asks only when it is idle: what this worker still has in flight is not being
        crawled here (a redirect hop lost with a lost job, say): it goes back in the queue. A source
        whose answer arrived is done, whether or not its callback said so (it has run by now)."""
        for entry in list(self._reading):
            self._reading.discard(entry)
            self._done(entry)
        remote = {f.decode() for f in self.server.hkeys(self._inflight_key(self.worker))}
        for field in self._inflight.keys() - remote:  # finished by another worker
            del self._inflight[field]
        stale = {f: v for f, v in self._inflight.items() if f in remote}
        for field in stale.keys() & self._stale:  # stale again: dropped here without a response (a middleware filtered it)
            del stale[field]
            self._done(f"{self.worker}|{field}")
            logger.warning("a request was dropped twice by this worker without a response; given up")
        if stale:
            self._stale |= stale.keys()
            self._requeue_local(stale)
            logger.warning("%d request(s) in flight while this worker is idle put back in the queue", len(stale))
        return len(stale)

    # ---- done
    def _done(self, entry: str | None) -> None:
        """``entry``: ``{worker}|{field}`` (``frontier_entry`` of the request)."""
        if not entry:
            return
        worker, _, field = entry.rpartition("|")
        if worker == self.worker:
            self._inflight.pop(field, None)
            self._failed.pop(field, None)
        self._done_buffer.add((worker, field))
        if self._away_since is not None:
            return  # sent at a later beat
        try:
            self._flush_done()
        except UNREACHABLE as exc:
            self._unreachable(exc)

    def _flush_done(self) -> None:
        if not self._done_buffer:
            return
        pipe = self.server.pipeline(transaction=False)
        for worker, field in self._done_buffer:
            pipe.hdel(self._inflight_key(worker), field)
        pipe.execute()
        self._done_buffer.clear()

    def _request_done(self, request: Request, spider: Spider) -> None:
        # the spider's sources (feeds, sitemaps, sections) are done once their callback or errback has
        # handed over what they discovered (_source_read): until then another worker must not find
        # the job empty and finish; other requests when their response is in; articles only when their
        # manifest row is written (see _item_done)
        entry = request.meta.get("frontier_entry")
        if "article" in request.meta or not entry:
            return
        if "source" in request.meta:
            self._reading.add(entry)
        else:
            self._done(entry)

    def _source_read(self, request: Request, **kwargs: Any) -> None:
        entry = request.meta.get("frontier_entry")
        if entry:
            self._reading.discard(entry)
            self._done(entry)

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        self._done(getattr(item, "frontier_entry", None))

    def _item_failed(self, item: Any, failure: Failure, **kwargs: Any) -> None:
        """An item pipeline raised (a Redis call of the dedup step during an outage, say): no row was
        written, so the request goes back in the queue once (a second failure here gives it up)."""
        entry = getattr(item, "frontier_entry", None) or ""
        worker, _, field = entry.rpartition("|")
        if worker != self.worker or field not in self._inflight:
            return
        if field in self._retried:
            logger.error("%s failed again (%s); given up in this worker", getattr(item, "url", entry), failure.getErrorMessage())
            self._done(entry)
            return
        self._retried.add(field)
        self._failed[field] = self._inflight.pop(field)
        logger.warning("%s could not be processed (%s); its request goes back in the queue", getattr(item, "url", entry), failure.getErrorMessage())


def _score(field: str) -> float:
    """The queue score kept in an in-flight field (``{sha1}:{score}``, see ``_POP``)."""
    return float(field.rsplit(":", 1)[1])
