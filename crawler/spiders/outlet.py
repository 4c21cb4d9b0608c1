"""The one spider class behind every outlet: discovery from feeds, sitemaps and section pages.

Sources are independent: each is requested with its own errback, so a dead feed only costs its
own articles, and the sitemaps and sections still deliver. An article URL found by several
sources is fetched once.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from scrapy import Request, Spider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from crawler.extensions import ArchiveExtension
from crawler.items import ERROR, FETCHED, SKIPPED, Article
from pipelines.archive import Archive
from pipelines.outlets import Outlet, get_outlet

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: feed item dates, most telling first (RSS 2.0, Atom, RSS 1.0 Dublin Core, Atom's last update)
_FEED_DATES = ("pubDate", "published", "date", "updated")
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _parse_day(value: str | None) -> date | None:
    """The calendar day of an ISO 8601 or RFC 822 date, or None."""
    if not value:
        return None
    value = value.strip()
    m = _DATE_RE.search(value)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def _news_dates(body: bytes) -> dict[str, str]:
    """``<news:publication_date>`` of each ``<loc>`` of a Google News sitemap (Scrapy's Sitemap drops them)."""
    if _NEWS_NS.encode() not in body:
        return {}
    parser = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(body, parser=parser)
    dates: dict[str, str] = {}
    for url in root.iter("{*}url") if root is not None else ():
        loc = url.findtext("{*}loc")
        date = url.findtext(f"{{{_NEWS_NS}}}news/{{{_NEWS_NS}}}publication_date")
        if loc and date:
            dates[loc.strip()] = date.strip()
    return dates


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


class OutletSpider(Spider):
    """Crawl one outlet's edition. Arguments (``-a``): max_articles, since, base_url, edition, recrawl."""

    outlet_name: ClassVar[str]
    outlet: Outlet

    def __init__(
        self,
        *args: Any,
        max_articles: str | int | None = None,
        since: str | None = None,
        base_url: str | None = None,
        edition: str | None = None,
        recrawl: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.outlet = get_outlet(self.outlet_name)
        self.edition_name = edition or self.outlet.default_edition
        self.edition = self.outlet.edition(self.edition_name)
        self.max_articles = int(max_articles) if max_articles not in (None, "", "0") else None
        self.since = date.fromisoformat(since) if since else None
        self.recrawl = _flag(recrawl) if recrawl is not None else False
        self.base_url = self.edition.base_url or self.outlet.base_url
        live = urlsplit(self.base_url)
        self._live = (live.scheme, live.netloc)
        if base_url:
            mirror = urlsplit(base_url.rstrip("/"))
            if not mirror.scheme or not mirror.netloc:
                raise ValueError(f"base_url must be like http://127.0.0.1:8080, got {base_url!r}")
            self._mirror: tuple[str, str] | None = (mirror.scheme, mirror.netloc)
            self.allowed_domains = [mirror.hostname or mirror.netloc]
        else:
            self._mirror = None
            self.allowed_domains = list(self.outlet.domains)
        self._scheduled: set[str] = set()  # every article URL seen, scheduled or not
        self._requested = 0  # article URLs actually requested (max_articles)
        self._archive: Archive | None = None

    # ------------------------------------------------------------------ URL mapping

    def to_fetch(self, url: str) -> str:
        """The URL to request: the live outlet URL, or its twin on the mirror."""
        parts = urlsplit(url)
        if self._mirror and self.outlet.owns_host(parts.hostname or ""):
            return urlunsplit((*self._mirror, parts.path, parts.query, ""))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def to_live(self, url: str) -> str:
        """The outlet URL a fetched URL stands for (identity unless crawling a mirror)."""
        parts = urlsplit(url)
        if self._mirror and (parts.scheme, parts.netloc) == self._mirror:
            return urlunsplit((*self._live, parts.path, parts.query, ""))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    # ------------------------------------------------------------------ run policy

    def too_old(self, published: str | None) -> str | None:
        """Why an article published then is out of this run (``-a since=``), or None.

        Asked at discovery (the feed's or sitemap's date) and after extraction (the page's date).
        """
        day = _parse_day(published)
        if self.since and day and day < self.since:
            return f"published {day.isoformat()}, before since={self.since.isoformat()}"
        return None

    def is_archived(self, url: str) -> bool:
        return self._archive is not None and not self.recrawl and self._archive.is_archived(url)

    # ------------------------------------------------------------------ start

    async def start(self) -> AsyncIterator[Any]:
        ext = self.crawler.get_extension(ArchiveExtension)
        self._archive = await ext.opened() if ext is not None else None
        ed = self.edition
        for path in ed.feeds:
            yield self._source(path, self.parse_feed, "feed", priority=30)
        for path in ed.sitemaps:
            yield self._source(path, self.parse_sitemap, "sitemap", priority=20)
        for path in ed.sections:
            yield self._source(path, self.parse_section, "section", priority=10)

    def _source(self, path_or_url: str, callback: Any, kind: str, priority: int) -> Request:
        url = self.absolute(path_or_url)
        return Request(
            self.to_fetch(url),
            callback=callback,
            errback=self.source_failed,
            priority=priority,
            meta={"source": f"{kind}:{urlsplit(url).path}"},
        )

    def source_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("discovery/sources_failed")
        logger.warning("source %s failed: %s; other sources go on", request.url, _failure_reason(failure))

    # ------------------------------------------------------------------ discovery

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """RSS 2.0, RSS 1.0 and Atom: item links with their publication dates."""
        self.crawler.stats.inc_value("discovery/feeds")
        try:
            root = etree.fromstring(response.body, parser=etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            logger.warning("feed %s is not XML; skipped", response.url)
            return
        source = response.meta["source"]
        for node in root.iter():
            tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
            if tag not in ("item", "entry"):
                continue
            link = None
            dates: dict[str, str] = {}
            for child in node:
                if not isinstance(child.tag, str):
                    continue
                name = etree.QName(child).localname
                if name == "link":
                    href = child.get("href")
                    rel = child.get("rel", "alternate")
                    if href and rel == "alternate":
                        link = href
                    elif child.text and child.text.strip():
                        link = child.text.strip()
                elif name == "guid" and link is None and child.get("isPermaLink", "true") == "true" and (child.text or "").startswith("http"):
                    link = child.text.strip()
                elif name in _FEED_DATES:
                    dates.setdefault(name, (child.text or "").strip())
            # the publication date, not the last update (WordPress's Atom lists <updated> first)
            published = next((dates[n] for n in _FEED_DATES if dates.get(n)), None)
            if link:
                yield from self.article_request(urljoin(self.to_live(response.url), link), published, source)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Sitemap indexes (followed) and URL sets, Google News sitemaps included; .gz bodies too."""
        self.crawler.stats.inc_value("discovery/sitemaps")
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except (OSError, ValueError, EOFError, zlib.error) as exc:
                logger.warning("sitemap %s: bad gzip (%s); skipped", response.url, exc)
                return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml raises various errors on junk
            logger.warning("sitemap %s is not XML (%s); skipped", response.url, exc)
            return
        source = response.meta["source"]
        if sitemap.type == "sitemapindex":
            for entry in sitemap:
                loc = urljoin(self.to_live(response.url), entry["loc"])
                if self.outlet.owns_host(urlsplit(loc).hostname or ""):
                    yield Request(self.to_fetch(loc), callback=self.parse_sitemap, errback=self.source_failed, priority=20, meta={"source": f"sitemap:{urlsplit(loc).path}"})
            return
        news = _news_dates(body)
        for entry in sitemap:
            published = news.get(entry["loc"].strip()) or entry.get("lastmod")
            yield from self.article_request(urljoin(self.to_live(response.url), entry["loc"]), published, source)

    def parse_section(self, response: Response) -> Iterator[Request]:
        """Fallback source: article-shaped links of a section page."""
        self.crawler.stats.inc_value("discovery/sections")
        if not isinstance(response, TextResponse):
            return
        base = self.to_live(response.url)
        for href in response.xpath("//a/@href").getall():
            yield from self.article_request(urljoin(base, href.strip()), None, response.meta["source"])

    def article_request(self, url: str, published: str | None, source: str) -> Iterator[Request]:
        """Schedule ``url`` if it is a new article of this edition within the run's limits."""
        parts = urlsplit(url)
        if not self.outlet.owns_host(parts.hostname or "") or not self.outlet.is_article_url(url, self.edition_name):
            return
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        stats = self.crawler.stats
        if url in self._scheduled:
            return
        if self.too_old(published):
            self._scheduled.add(url)
            stats.inc_value("articles/skipped_before_since")
            return
        if self.is_archived(url):
            self._scheduled.add(url)
            stats.inc_value("articles/already_archived")
            return
        if self.max_articles is not None and self._requested >= self.max_articles:
            stats.inc_value("articles/over_max_articles")
            return
        self._scheduled.add(url)
        self._requested += 1
        stats.inc_value("articles/scheduled")
        yield self._article_fetch(url, {"url": url, "published_hint": published, "source": source, "redirects": 0})

    def _article_fetch(self, url: str, info: dict[str, Any], supersedes: str | None = None) -> Request:
        # Redirects of articles are followed here, not by RedirectMiddleware, so that every
        # article URL gets a manifest row, also one that redirects offsite or to an article
        # that is already scheduled (the dupefilter would drop it without a trace).
        return Request(
            self.to_fetch(url),
            callback=self.parse_article,
            errback=self.article_failed,
            meta={"article": info, "dont_redirect": True, "handle_httpstatus_list": list(REDIRECTS), "frontier_supersedes": supersedes},
        )

    # ------------------------------------------------------------------ articles

    def _item(self, response: Response | None, request: Request) -> Article:
        info = request.meta["article"]
        item = Article(
            url=info["url"],
            outlet=self.outlet.name,
            edition=self.edition_name,
            language=self.edition.language,
            source=info["source"],
            published_hint=info["published_hint"],
            fetched_url=request.url,
            frontier_entry=request.meta.get("frontier_entry"),
        )
        if response is not None:
            self.crawler.stats.inc_value("articles/fetched")
            item.final_url = self.to_live(response.url)
            item.http_status = response.status
            item.content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
            item.warc = response.meta.get("warc")
            item.fetched_at = response.meta.get("fetched_at", "")
            item.truncated = "truncated" in response.flags
        return item

    def parse_article(self, response: Response) -> Iterator[Article | Request]:
        item = self._item(response, response.request)  # type: ignore[arg-type]
        if response.status in REDIRECTS:
            yield from self._follow_redirect(response, item)
            return
        mime = item.content_type.split(";")[0].strip().lower()
        if not isinstance(response, TextResponse) or (mime and mime not in HTML_TYPES):
            item.status = SKIPPED
            item.reason = f"non-HTML content ({mime or 'unknown type'}); archived in the WARC only"
        elif item.truncated:
            item.status = ERROR
            item.reason = f"response truncated at DOWNLOAD_MAXSIZE ({len(response.body)} bytes); archived in the WARC only"
        else:
            item.status = FETCHED
            item.body = response.body
        yield item

    def _follow_redirect(self, response: Response, item: Article) -> Iterator[Article | Request]:
        info = dict(response.meta["article"])
        location = response.headers.get(b"Location", b"").decode("latin-1").strip()
        target = self.to_live(urljoin(response.url, location)) if location else ""
        target = urlunsplit(urlsplit(target)._replace(fragment=""))
        host = urlsplit(target).hostname or ""
        item.status = ERROR
        item.final_url = target
        if not location:
            item.reason = f"HTTP {response.status} without Location"
        elif not self.outlet.owns_host(host):
            item.reason = f"offsite redirect to {target} not followed"
        elif info["redirects"] >= MAX_REDIRECTS:
            item.reason = f"more than {MAX_REDIRECTS} redirects"
        elif target != info["url"] and self.outlet.is_article_url(target, self.edition_name):
            # an article moved: the old URL gets its row, the article is archived under its new URL
            item.status = SKIPPED
            item.reason = f"redirects to article {target}, archived under that URL"
            yield item
            yield from self.article_request(target, info["published_hint"], info["source"])
            return
        else:
            self._scheduled.add(target)
            info["redirects"] += 1
            yield self._article_fetch(target, info, supersedes=response.meta.get("frontier_entry"))
            return
        yield item

    def article_failed(self, failure: Failure) -> Iterator[Article]:
        request: Request = failure.request  # type: ignore[attr-defined]
        response = failure.value.response if isinstance(failure.value, HttpError) else None
        if "article" not in request.meta:
            return
        item = self._item(response, request)
        item.status = ERROR
        item.reason = _failure_reason(failure)
        yield item


def _failure_reason(failure: Failure) -> str:
    value = failure.value
    if isinstance(value, HttpError):
        status = value.response.status
        return f"HTTP {status}"
    return f"{type(value).__name__}: {value}".strip().rstrip(":")
