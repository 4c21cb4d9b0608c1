"""Shared frontier: several crawler processes split one crawl of an outlet through Redis (scrapy-redis).

``SCHEDULER_URI=redis://...`` switches a crawl to scrapy-redis's scheduler, request queue and
dupefilter, under keys of one crawl job (``FRONTIER_JOB``, default the UTC hour the job started,
so the next scheduled run starts a fresh frontier instead of finding every URL "seen").

scrapy-redis pops a request from Redis and forgets it: a worker killed with requests in flight
loses them (they are in the dupefilter, so nobody fetches them again). :class:`FrontierScheduler`
moves each popped request atomically (one Lua script) into the worker's in-flight hash and removes
it only when the request is done (an article: when its manifest row is written). Every worker
beats a heartbeat key; any worker puts back into the queue the in-flight requests of a worker
whose heartbeat has expired, at its start and while it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task

from pipelines import layout

logger = logging.getLogger(__name__)

_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local field = redis.sha1hex(r[1]) .. ':' .. r[2]
redis.call('HSET', KEYS[2], field, r[1])
return {field, r[1]}
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
        settings.set("REDIS_URL", uri, priority="addon")
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        settings.set("SCHEDULER_QUEUE_CLASS", "scrapy_redis.queue.PriorityQueue", priority="addon")
        # scrapy-redis fills in the spider (outlet) name
        settings.set("SCHEDULER_QUEUE_KEY", layout.frontier_requests_key("%(spider)s", job), priority="addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", layout.frontier_dupefilter_key("%(spider)s", job), priority="addon")
        # Frontier mode overrides these project defaults (declared in crawler/settings.py, so an
        # "addon" priority would lose to them); -s on the command line still wins.
        # Workers of one job crawl the same outlet together: the one-run-per-outlet lock would refuse them.
        settings.set("ARCHIVE_LOCK_ENABLED", False, priority="project")
        # The "already archived" state is shared at once through the same Redis.
        settings.set("ARCHIVE_STATE_URI", uri, priority="project")
        # a worker takes from the frontier only what it can fetch now (one outlet = one domain), so
        # requests wait in Redis for the other workers instead of in this worker's downloader queue
        settings.set("CONCURRENT_REQUESTS", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), priority="project")


class FrontierScheduler(RedisScheduler):
    """scrapy-redis's scheduler with in-flight tracking, so a dead worker's requests are crawled."""

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FrontierScheduler":
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.heartbeat = crawler.settings.getfloat("FRONTIER_HEARTBEAT")
        scheduler.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        crawler.signals.connect(scheduler._request_done, signal=signals.request_left_downloader)
        crawler.signals.connect(scheduler._item_done, signal=signals.item_scraped)
        crawler.signals.connect(scheduler._item_done, signal=signals.item_dropped)
        crawler.signals.connect(scheduler._item_done, signal=signals.item_error)
        return scheduler

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
        result = super().open(spider)
        self._pop = self.server.register_script(_POP)
        self.server.sadd(self._workers_key, self.worker)
        self._beat()
        self._loop = task.LoopingCall(self._beat)
        self._loop.start(self.heartbeat, now=False)
        return result

    def close(self, reason: str) -> Any:
        if getattr(self, "_loop", None) is not None and self._loop.running:
            self._loop.stop()
        left = self.server.hlen(self._inflight_key(self.worker))
        if left:  # should not happen; hand them to the others rather than lose them
            self._requeue(self.worker)
        self.server.delete(self._alive_key(self.worker))
        self.server.srem(self._workers_key, self.worker)
        return super().close(reason)

    def _others(self) -> list[str]:
        return [w.decode() for w in self.server.smembers(self._workers_key) if w.decode() != self.worker]

    def _beat(self) -> None:
        self.server.set(self._alive_key(self.worker), "1", px=int(self.heartbeat * 3000))
        for worker in self._others():
            if not self.server.exists(self._alive_key(worker)):
                n = self._requeue(worker)
                self.server.srem(self._workers_key, worker)
                if n:
                    logger.warning("worker %s is gone: %d of its in-flight request(s) put back in the queue", worker, n)
                    self.crawler.stats.inc_value("frontier/requeued", n)

    def _requeue(self, worker: str) -> int:
        key = self._inflight_key(worker)
        entries = self.server.hgetall(key)
        pipe = self.server.pipeline(transaction=True)
        for field, data in entries.items():
            score = float(field.decode().rsplit(":", 1)[1])
            pipe.zadd(self.queue.key, {data: score})
            pipe.hdel(key, field)
        pipe.execute()
        return len(entries)

    # ---- queue
    def next_request(self) -> Request | None:
        popped = self._pop(keys=[self.queue.key, self._inflight_key(self.worker)])
        if not popped:
            return None
        field, data = popped
        request = self.queue._decode_request(data)
        self._done(request.meta.pop("frontier_supersedes", None))  # a followed redirect replaces its request
        request.meta["frontier_entry"] = field.decode()
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis", spider=self.spider)
        return request

    def has_pending_requests(self) -> bool:
        """Work may still come while another worker has requests in flight (they can discover more,
        or their worker can die and leave them to us): an idle worker waits instead of closing."""
        if len(self) > 0:
            return True
        return any(self.server.hlen(self._inflight_key(w)) for w in self._others())

    # ---- done
    def _done(self, entry: str | None) -> None:
        if entry:
            self.server.hdel(self._inflight_key(self.worker), entry)

    def _request_done(self, request: Request, spider: Spider) -> None:
        # sources (robots, feeds, sitemaps, sections) are done when their response is in;
        # articles only when their manifest row is written (see _item_done)
        if "article" not in request.meta:
            self._done(request.meta.get("frontier_entry"))

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        self._done(getattr(item, "frontier_entry", None))
