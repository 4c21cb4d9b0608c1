"""The one spider class behind every outlet: discovery from feeds, sitemaps and section pages.

Sources are independent: each is requested with its own errback, so a dead feed only costs its
own articles, and the sitemaps and sections still deliver. An article URL found by several
sources is fetched once.

A mirror (``-a base_url=``) may keep the live outlet's URLs in its feeds, sitemaps and pages (the
fixture mirrors) or link to its own host, absolute or relative (a staging copy, ``wget --mirror
--convert-links``): either way every URL is taken in its live form (:meth:`OutletSpider.to_live`)
for identity and fetched from the mirror (:meth:`OutletSpider.to_fetch`).

robots.txt is a source too: once the robots.txt of the outlet's host (or the mirror's) is read, each
of its ``Sitemap:`` URLs on a host of the outlet that the edition does not already declare is
requested as a sitemap source like the declared ones (:meth:`OutletSpider.robots_sitemaps`,
``discovery/robots_sitemaps``), so a wrong or moved sitemap path does not blind the crawl.

Discovery is bounded by the run's window (:mod:`pipelines.window`: ``-a since=``, none with ``-a
backfill=1``, else from the last complete run of the edition, else ``DISCOVERY_LOOKBACK_DAYS``): a
sitemap-index child dated before it is not requested, nor a listed article dated before it. For an
edition that translates another (``Edition.translation_of``), a listed article that answers 404/410 is
``missing``, checked again by later runs only within ``TRANSLATION_RECHECK_DAYS`` of its day.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from crawler.extensions import ArchiveExtension, source_read
from crawler.robots import RobotsPolicy, robots_resolved
from crawler.items import ERROR, FETCHED, SKIPPED, Article
from pipelines.archive import Archive
from pipelines.feedtext import FeedText, FeedTexts, feed_page, item_full_text
from pipelines.manifest import BLOCKED, MISSING, TEXT_FROM_FEED
from pipelines.outlets import Outlet, get_outlet
from pipelines.window import DiscoveryWindow, discovery_window, last_complete_run, parse_day, url_day
from pipelines.urls import normalize_article_url, redact, strip_credentials

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
#: feed item dates, most telling first (RSS 2.0, Atom, RSS 1.0 Dublin Core, Atom's last update)
_FEED_DATES = ("pubDate", "published", "date", "updated")
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


#: child sitemaps of an index in flight at once while ``max_articles`` is set: they outrank the
#: articles in the scheduler, so all of an index's children would be fetched before the first
#: article; a few at a time, discovery stops fetching sitemaps as soon as the budget is spent
SITEMAP_WINDOW = 4
#: a reference to an entity other than the XML predefined ones and character references
_ENTITY_REF = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);|#)[A-Za-z_:][-A-Za-z0-9._:]*;")
#: what matters in a DOCTYPE declaration: quoted literals and comments are skipped whole
_DTD_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]>]", re.S)
#: libxml2 errors after which a document is not read to its end (limits, a body that stops short)
_PARSER_STOPS = frozenset({"ERR_RESOURCE_LIMIT", "ERR_ENTITY_LOOP", "ERR_NO_MEMORY", "ERR_TAG_NOT_FINISHED", "ERR_INTERNAL_ERROR"})
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


@dataclass
class _SitemapDoc:
    """A sitemap as read: its root element's name, its entries (``<loc>``, date hint) and what went wrong."""

    kind: str = ""
    entries: list[tuple[str, str | None]] = field(default_factory=list)
    #: the parser's error when it stopped before the end of the document (a limit hit, a cut body)
    cut: str | None = None
    #: entries dropped because their ``<loc>`` holds an entity reference (XXE, billion laughs)
    entity_refs: int = 0
    #: entries after the cut were read again from the document without its DTD
    recovered: bool = False


def _local(el: Any) -> str:
    return el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""


def _read_sitemap_xml(body: bytes) -> _SitemapDoc | None:
    """One pass of lxml's recovering parser over a sitemap or sitemap index; None if it is no XML.

    Entities are never substituted and nothing is loaded (no DTD, no network), so an external entity
    (XXE) stays an unresolved reference; libxml2's limits (entity amplification, depth, sizes) stay on.
    An entry whose ``<loc>`` holds an entity reference is dropped, not read as the text around it.
    """
    events = etree.iterparse(
        BytesIO(body), events=("start", "end"), recover=True, resolve_entities=False, no_network=True,
        load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False,
    )
    doc = _SitemapDoc()
    root = None
    ended = False
    error = ""
    try:
        for event, el in events:
            if root is None:
                root, doc.kind = el, _local(el)
            if el is root:
                ended = event == "end"
                continue
            if event == "start" or _local(el) not in ("url", "sitemap"):
                continue
            loc = next((c for c in el if _local(c) == "loc"), None)
            text = (loc.text or "").strip() if loc is not None else ""
            if loc is not None and (len(loc) or "\ufffd" in text):
                doc.entity_refs += 1
            elif text:
                hint = el.findtext(f"{{{_NEWS_NS}}}news/{{{_NEWS_NS}}}publication_date") or next(
                    (c.text for c in el if _local(c) == "lastmod"), None
                )
                doc.entries.append((text, (hint.strip() or None) if hint else None))
            el.clear()  # a sitemap may list 50,000 URLs: keep the tree small
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        error = str(exc)
    if root is None:
        return None
    # the parser stopped early: a limit (it then closes nothing), or the end of a cut body (it then
    # closes every open element, the root included)
    stops = [e for e in events.error_log if e.type_name in _PARSER_STOPS]
    if stops or not ended:
        errors = stops or [e for e in events.error_log if e.level >= etree.ErrorLevels.ERROR]
        last = errors[-1] if errors else None  # the one that stopped the parser
        doc.cut = (
            f"{last.type_name}: {last.message.strip()} (line {last.line}, column {last.column})"
            if last is not None
            else error or "the document ends before its root element is closed"
        )
        if doc.entries and body.rstrip().endswith(doc.entries[-1][0].encode("utf-8", "replace")):
            doc.entries.pop()  # the body ends inside this <loc>: the URL may be cut short
    return doc


def _without_dtd(body: bytes) -> bytes | None:
    """``body`` without its DOCTYPE declaration (internal subset included), each reference to a
    declared entity replaced by U+FFFD; None if there is no DOCTYPE before the root element."""
    start = body.find(b"<!DOCTYPE")
    if start < 0 or re.search(rb"<[A-Za-z_]", body[:start]):
        return None
    subset = False
    for m in _DTD_TOKEN.finditer(body, start + len(b"<!DOCTYPE")):
        token = m.group()
        if token == b"[":
            subset = True
        elif token == b"]":
            subset = False
        elif token == b">" and not subset:
            return body[:start] + _ENTITY_REF.sub(b"&#xFFFD;", body[m.end():])
    return None


def _parse_sitemap(body: bytes) -> _SitemapDoc | None:
    """A sitemap's entries, keeping the valid ones when the parser stops early.

    A sitemap cut by a parser limit (a billion-laughs entity trips libxml2's amplification limit)
    keeps ``cut``, the parser's error, for the caller to log; its entries are then read again from
    the document without its DTD (sitemaps have no use for one), so the entries after the bomb are
    not lost, and the entries that referenced an entity are dropped.
    """
    doc = _read_sitemap_xml(body)
    if doc is None or doc.cut is None:
        return doc
    bare = _without_dtd(body)
    again = _read_sitemap_xml(bare) if bare is not None else None
    if again is not None and again.kind == doc.kind and len(again.entries) >= len(doc.entries):
        again.recovered, again.cut = True, doc.cut
        return again
    return doc


def _budget_spent(spider: OutletSpider) -> bool:
    """``max_articles`` articles are requested: discovery fetches no more sitemaps."""
    return spider.max_articles is not None and spider._requested >= spider.max_articles


def _next_sitemaps(spider: OutletSpider, n: int) -> Iterator[Request]:
    """Up to ``n`` of the queued child sitemaps, while the budget lasts (queued ones dropped once it is spent)."""
    if _budget_spent(spider):
        _drop_sitemaps(spider, 0)
        return
    while n > 0 and spider._sitemap_queue:
        yield spider._source(spider._sitemap_queue.popleft(), spider.parse_sitemap, "sitemap", priority=20)
        n -= 1


def _drop_sitemaps(spider: OutletSpider, fetched: int) -> None:
    """The budget is spent: the queued child sitemaps (and ``fetched`` ones already read) are dropped."""
    dropped = len(spider._sitemap_queue) + fetched
    if not dropped:
        return
    if not spider.crawler.stats.get_value("discovery/sitemaps_over_max_articles"):
        logger.info("max_articles=%d reached: no more sitemaps are read", spider.max_articles)
    spider._sitemap_queue.clear()
    spider.crawler.stats.inc_value("discovery/sitemaps_over_max_articles", dropped)


def _refill_sitemaps_when_idle(spider: Spider) -> None:
    """``spider_idle``: a queued child sitemap waits for a read sitemap to pass the turn on; when the
    ones in flight failed instead (``source_failed``), the crawl goes idle and the next ones go now.
    Article requests held for the feeds (:meth:`OutletSpider.feed_done`) go too: a feed that ended
    without its callback or errback (dropped by a middleware) must not hold them for ever."""
    if not isinstance(spider, OutletSpider) or spider.crawler.engine is None:
        return
    requests = [*spider.release_held(), *_next_sitemaps(spider, SITEMAP_WINDOW)]
    for request in requests:
        spider.crawler.engine.crawl(request)
    if requests:
        raise DontCloseSpider


def _max_articles(value: Any) -> int | None:
    """``-a max_articles=N``: a positive whole number; 0 or empty means no limit."""
    text = "" if value is None else str(value).strip()
    if isinstance(value, bool) or (text and not re.fullmatch(r"[0-9]+", text)):
        raise ValueError(f"max_articles must be a positive whole number (0 for no limit), got {value!r}")
    return (int(text) or None) if text else None


def _since(value: Any) -> date | None:
    """``-a since=YYYY-MM-DD``: a real calendar day."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"since must be a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"since must be a real date YYYY-MM-DD, got {value!r} ({exc})") from None


def _recrawl(value: Any) -> bool:
    """``-a recrawl=``: 1/0, true/false, yes/no, on/off (empty: off)."""
    if isinstance(value, bool):
        return value
    word = "" if value is None else str(value).strip().lower()
    if not word:
        return False
    if word not in _BOOL_WORDS:
        raise ValueError(f"recrawl must be 1/0, true/false, yes/no or on/off, got {value!r}")
    return _BOOL_WORDS[word]


def _backfill(value: Any) -> bool:
    """``-a backfill=``: 1/0 like recrawl (empty: off)."""
    try:
        return _recrawl(value)
    except ValueError:
        raise ValueError(f"backfill must be 1/0, true/false, yes/no or on/off, got {value!r}") from None


def _mirror(value: Any) -> tuple[str, str] | None:
    """``-a base_url=``: scheme and host[:port] of an http(s) mirror, without path or credentials."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    parts = urlsplit(text.rstrip("/"))
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"base_url must be like http://127.0.0.1:8080 (http or https, a host, no path or credentials), got {value!r}")
    return parts.scheme, parts.netloc.lower()


def _origin_pattern(netloc: str) -> re.Pattern[bytes]:
    """Links to the host ``netloc`` in a page's bytes: ``http(s)://``, protocol-relative ``//`` and
    JSON-escaped ``https:\\/\\/`` spellings, not a longer host or another port."""
    return re.compile(rb"(?P<scheme>https?:)?(?P<slashes>//|\\/\\/)" + re.escape(netloc.encode()) + rb"(?![0-9A-Za-z.:_-])", re.I)


def _is_live_host(outlet: Outlet, netloc: str) -> bool:
    """``base_url``'s host is one of the outlet's own (without a port): the live site, not a mirror."""
    parts = urlsplit(f"//{netloc}")
    return parts.port is None and outlet.owns_host(parts.hostname or "")


def _edition(value: Any, outlet: Outlet) -> str:
    """``-a edition=``: one of the outlet's editions (empty: its default edition)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return outlet.default_edition
    if text not in outlet.editions:
        raise ValueError(f"edition must be one of {', '.join(sorted(outlet.editions))} for {outlet.name}, got {value!r}")
    return text


class SpiderArgumentError(ValueError):
    """A ``-a`` argument the spider refuses (unknown name or bad value); the message is one line."""


@dataclass(frozen=True)
class SpiderArgument:
    """One ``-a NAME=VALUE`` of the outlet spiders: how it is read and what it means.

    The table below is the one declaration: the spider reads its arguments with it and
    ``scrapy crawl --help`` lists it, so the two cannot disagree.
    """

    name: str
    #: the value's shape in the help (``max_articles=N``)
    metavar: str
    meaning: str
    #: reads the raw value for an outlet; raises ValueError with a one-line message starting with the name
    read: Callable[[Any, Outlet], Any]


SPIDER_ARGUMENTS: tuple[SpiderArgument, ...] = (
    SpiderArgument("max_articles", "N", "request at most N articles (a positive whole number; 0 or empty: no limit); "
                   "once N are requested no more sitemaps are fetched", lambda v, o: _max_articles(v)),
    SpiderArgument("since", "YYYY-MM-DD", "skip articles published before that day (the feed's or sitemap's date, "
                   "else the page's), and sitemap-index children dated before it; a real calendar date (default: "
                   "from the last complete run of the edition minus DISCOVERY_OVERLAP_HOURS, or "
                   "DISCOVERY_LOOKBACK_DAYS back on a first run)", lambda v, o: _since(v)),
    SpiderArgument("base_url", "http://HOST:PORT", "crawl a mirror of the outlet at this address (tests, demo, a staging "
                   "or wget --mirror copy whose links keep the live URLs or point to the mirror itself): http or "
                   "https, a host and optional port, no path or credentials; the run is a mirror run (marked in "
                   "its summary and manifest, its state kept apart from live runs'); a host of the outlet itself "
                   "(orda's ru edition: https://orda.kz) is the live site, not a mirror", lambda v, o: _mirror(v)),
    SpiderArgument("edition", "NAME", "the outlet's edition (listed per spider above; empty: the default edition)", _edition),
    SpiderArgument("recrawl", "1|0", "fetch articles again even if the archive already has them "
                   "(1/0, true/false, yes/no, on/off; default 0)", lambda v, o: _recrawl(v)),
    SpiderArgument("backfill", "1|0", "no discovery window: read every child of a sitemap index and every listed "
                   "article whatever its date (1/0 like recrawl; default 0; not with since)", lambda v, o: _backfill(v)),
)
#: arguments a scheduler adds for its own bookkeeping (scrapyd passes ``-a _job=ID``): accepted and
#: left to Scrapy (an attribute of the spider); no argument of ours starts with "_"
PRIVATE_PREFIX = "_"


def read_spider_arguments(outlet: Outlet, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument of :data:`SPIDER_ARGUMENTS` read for ``outlet`` (absent ones from None);
    an unknown name or a bad value raises :class:`SpiderArgumentError` before anything happens."""
    known = [a.name for a in SPIDER_ARGUMENTS]
    unknown = sorted(n for n in given if n not in known and not n.startswith(PRIVATE_PREFIX))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SpiderArgumentError(
            f"unknown spider argument{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}{hint}; "
            f"the arguments are {', '.join(known)}"
        )
    values = {}
    for arg in SPIDER_ARGUMENTS:
        try:
            values[arg.name] = arg.read(given.get(arg.name), outlet)
        except SpiderArgumentError:
            raise
        except ValueError as exc:
            raise SpiderArgumentError(str(exc)) from exc
    if values["since"] is not None and values["backfill"]:
        raise SpiderArgumentError("since and backfill=1 exclude each other: since bounds discovery from a day, backfill walks everything; give one")
    return values


class OutletSpider(Spider):
    """Crawl one outlet's edition. Arguments (``-a``): :data:`SPIDER_ARGUMENTS`, nothing else."""

    outlet_name: ClassVar[str]
    outlet: Outlet
    #: full texts of this worker's feed items by article URL (FEED_TEXT_*; set in from_crawler)
    _feed_texts: FeedTexts | None = None
    _feed_text_min_chars: int = 0
    #: article requests wait for the feeds of :meth:`start` (FEED_TEXT_ENABLED, no shared frontier)
    _hold_for_feeds: bool = False
    #: the discovery window's and the missing translations' settings (pipelines/window.py; set in from_crawler)
    _overlap_hours: float
    _lookback_days: int
    _recheck_days: int

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "OutletSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        # a mirror run never adds to a shared (Redis) dedup index of live runs: its own namespace
        settings = crawler.settings
        if spider.mirror_url and settings.get("DEDUP_URI") and not settings.frozen:
            settings.set("DEDUP_NAMESPACE", f"{settings.get('DEDUP_NAMESPACE')}:mirror", priority="spider")
        spider._recheck_days = settings.getint("TRANSLATION_RECHECK_DAYS")
        spider._overlap_hours = settings.getfloat("DISCOVERY_OVERLAP_HOURS")
        spider._lookback_days = settings.getint("DISCOVERY_LOOKBACK_DAYS")
        if settings.getbool("FEED_TEXT_ENABLED"):
            spider._feed_texts = FeedTexts(settings.getint("FEED_TEXT_MAX_ITEMS"))
            spider._feed_text_min_chars = settings.getint("FEED_TEXT_MIN_CHARS")
            # articles wait for this process's feeds, so a page that fails finds its feed text; not with a
            # shared frontier, whose feed answers may go to another worker
            spider._hold_for_feeds = not settings.get("SCHEDULER_URI")
        return spider

    @classmethod
    def read_arguments(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """The spider's arguments read and checked, as its constructor reads them (``scrapy crawl``
        checks them with this before it starts anything)."""
        return read_spider_arguments(get_outlet(cls.outlet_name), given)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # every argument is checked before anything else happens: an unknown or bad one refuses the run
        outlet = get_outlet(self.outlet_name)
        values = read_spider_arguments(outlet, kwargs)
        private = {k: v for k, v in kwargs.items() if k.startswith(PRIVATE_PREFIX)}
        super().__init__(*args, **private)
        self.outlet = outlet
        self.edition_name: str = values["edition"]
        self.edition = self.outlet.edition(self.edition_name)
        self.max_articles: int | None = values["max_articles"]
        self.since: date | None = values["since"]
        self.recrawl: bool = values["recrawl"]
        self.backfill: bool = values["backfill"]
        #: from which day on listed entries are requested; set in :meth:`start` (the archive knows the last run)
        self.discovery_window = DiscoveryWindow(self.since, "since argument") if self.since else DiscoveryWindow(None, "backfill" if self.backfill else "not set")
        self.base_url = self.edition.base_url or self.outlet.base_url
        mirror: tuple[str, str] | None = values["base_url"]
        if mirror and _is_live_host(self.outlet, mirror[1]):
            # a host of the outlet itself (orda's ru edition: -a base_url=https://orda.kz) is the live
            # site, not a mirror: its URLs are the articles' own, and the run is a live run
            self.base_url, mirror = f"{mirror[0]}://{mirror[1]}", None
        live = urlsplit(self.base_url)
        self._live = (live.scheme, live.netloc)
        self._mirror = mirror
        #: the mirror's base URL: the run is a mirror run (crawler.extensions passes it to the archive)
        self.mirror_url: str | None = f"{mirror[0]}://{mirror[1]}" if mirror else None
        self._mirror_links = _origin_pattern(mirror[1]) if mirror else None
        if mirror:
            self.allowed_domains = [urlsplit(f"{mirror[0]}://{mirror[1]}").hostname or mirror[1]]
        else:
            self.allowed_domains = list(self.outlet.domains)
        self._sitemap_queue: deque[str] = deque()  # child sitemaps of an index not requested yet (max_articles)
        self._feeds_pending = 0  # feeds of start() not read yet (article requests wait for them)
        self._held: list[Request] = []  # article requests waiting for the feeds
        self._scheduled: set[str] = set()  # every article URL seen, scheduled or not
        self._requested = 0  # article URLs actually requested (max_articles)
        self._moved: dict[str, str] = {}  # article URL -> the article URL it redirected to
        self._archive: Archive | None = None
        #: the sitemaps requested as sources (declared, then robots.txt's), by :meth:`_sitemap_key`
        self._sitemap_keys: set[str] = {self._sitemap_key(self.absolute(p)) for p in self.edition.sitemaps}

    # ------------------------------------------------------------------ URL mapping

    def to_fetch(self, url: str) -> str:
        """The URL to request: the live outlet URL, or its twin on the mirror; never with credentials
        (a request URL's ``user:password@`` would be sent as Basic auth), never with a fragment."""
        parts = urlsplit(strip_credentials(url))
        if self._mirror and self.outlet.owns_host(parts.hostname or ""):
            return urlunsplit((*self._mirror, parts.path, parts.query, ""))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def to_live(self, url: str) -> str:
        """The outlet URL a fetched URL (or a ``Location``, or a link on the mirror's own host) stands
        for: the live URL of a mirror URL, normalised as article identities are
        (:func:`pipelines.urls.normalize_article_url`: no credentials, no fragment, the edition's
        canonical scheme and host)."""
        return normalize_article_url(self._live_origin(url), self.outlet, self.edition_name)

    def _live_origin(self, url: str) -> str:
        """``url`` with the mirror's host (either scheme) swapped for the live outlet's scheme and host;
        any other URL as it is (credentials stripped)."""
        url = strip_credentials(url)
        if not self._mirror:
            return url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc.lower() == self._mirror[1]:
            return urlunsplit(parts._replace(scheme=self._live[0], netloc=self._live[1]))
        return url

    def _live_links(self, body: bytes) -> bytes:
        """A mirror page's body with links to the mirror's own host made the live outlet's again
        (absolute, protocol-relative, JSON-escaped), so extraction sees the live canonical URL as a
        page of the live site would give it (the WARC keeps the bytes as served)."""
        if self._mirror_links is None or self._mirror[1].encode() not in body:  # type: ignore[index]
            return body
        scheme, host = self._live[0].encode(), self._live[1].encode()

        def live(m: re.Match[bytes]) -> bytes:
            slashes = m.group("slashes")
            return (scheme + b":" if m.group("scheme") else b"") + slashes + host

        return self._mirror_links.sub(live, body)

    def absolute(self, path_or_url: str) -> str:
        return strip_credentials(urljoin(self.base_url + "/", path_or_url))

    # ------------------------------------------------------------------ run policy

    def too_old(self, published: str | None) -> str | None:
        """Why an article published then is out of this run (``-a since=``), or None.

        Asked at discovery (the feed's or sitemap's date) and after extraction (the page's date).
        """
        day = parse_day(published)
        if self.since and day and day < self.since:
            return f"published {day.isoformat()}, before since={self.since.isoformat()}"
        return None

    def is_archived(self, url: str) -> bool:
        return self._archive is not None and not self.recrawl and self._archive.is_archived(url)

    def _missing_settled(self, url: str) -> bool:
        """A translation an earlier run found missing, published more than ``TRANSLATION_RECHECK_DAYS``
        before this run: not checked again (``-a recrawl=1`` still checks it)."""
        if self._archive is None or self.recrawl or not self.edition.translation_of:
            return False
        return self._archive.state.missing_settled(url, self._archive.started.date(), self._recheck_days)

    # ------------------------------------------------------------------ start

    async def start(self) -> AsyncIterator[Any]:
        self.crawler.signals.connect(self._robots_resolved, signal=robots_resolved)
        ext = self.crawler.get_extension(ArchiveExtension)
        self._archive = await ext.opened() if ext is not None else None
        self.discovery_window = await self._open_window()
        self.crawler.signals.connect(_refill_sitemaps_when_idle, signal=signals.spider_idle)
        ed = self.edition
        for path in ed.feeds:
            if self._hold_for_feeds:
                self._feeds_pending += 1
            yield self._source(path, self.parse_feed, "feed", priority=30)
        for path in ed.sitemaps:
            if _budget_spent(self):  # start() is read lazily: the feeds may have spent it already
                _drop_sitemaps(self, 1)
                continue
            yield self._source(path, self.parse_sitemap, "sitemap", priority=20)
        for path in ed.sections:
            yield self._source(path, self.parse_section, "section", priority=10)

    async def _open_window(self) -> DiscoveryWindow:
        """The run's discovery window (:func:`pipelines.window.discovery_window`): ``since``, else
        ``backfill``, else the last complete run of this edition and kind in the archive (looked up in
        a thread: store listings block), else ``DISCOVERY_LOOKBACK_DAYS``; logged in one line."""
        now = self._archive.started if self._archive is not None else datetime.now(UTC)
        last = None
        if self.since is None and not self.backfill and self._archive is not None:
            archive = self._archive
            try:
                last = await asyncio.to_thread(last_complete_run, archive.store, self.outlet.name, self.edition_name, archive.mirror, now.date())
            except Exception as exc:  # a store that lists at open but not now: the first-run window
                logger.warning("discovery window: the last complete run could not be looked up (%s: %s)", type(exc).__name__, exc)
        window = discovery_window(since=self.since, backfill=self.backfill, last_run=last, now=now,
                                  overlap_hours=self._overlap_hours, lookback_days=self._lookback_days)
        logger.info("discovery window: %s (%s)", f"from {window.since.isoformat()}" if window.since else "none, everything listed is read", window.basis)
        return window

    def _source(self, path_or_url: str, callback: Any, kind: str, priority: int) -> Request:
        url = self.absolute(path_or_url)
        return Request(
            self.to_fetch(url),
            callback=callback,
            errback=self.source_failed,
            priority=priority,
            meta={"source": f"{kind}:{urlsplit(url).path}"},
        )

    def _sitemap_key(self, url: str) -> str:
        """What a sitemap URL is fetched as, normalised (scheme, host spelling, default port, escapes):
        two spellings of one sitemap, or a live and a mirror spelling, have one key."""
        return self.to_fetch(self.to_live(url))

    def _own_netloc(self, netloc: str) -> bool:
        """``netloc`` (host[:port] as requested) is this crawl's outlet: the mirror, or a host of the outlet."""
        if self._mirror:
            return netloc.lower() == self._mirror[1]
        return _is_live_host(self.outlet, netloc.lower())

    def _robots_resolved(self, netloc: str, policy: RobotsPolicy) -> None:
        """``robots_resolved`` (crawler.robots): the outlet's robots.txt is read; its new sitemaps go out."""
        if not policy.sitemaps or not self._own_netloc(netloc) or self.crawler.engine is None:
            return
        for request in self.robots_sitemaps(policy.sitemaps):
            self.crawler.engine.crawl(request)

    def robots_sitemaps(self, urls: tuple[str, ...] | list[str]) -> Iterator[Request]:
        """Sitemap sources for the ``Sitemap:`` URLs of the outlet's robots.txt: those on a host of the
        outlet (a mirror's own URLs stand for the live ones) that the edition does not declare and that
        were not requested yet, as the declared sitemaps are requested (same parsing, limits, errback),
        counted in ``discovery/robots_sitemaps``; other hosts' sitemaps are ignored."""
        stats = self.crawler.stats
        for url in urls:
            live = self._live_origin(url)
            if not self.outlet.owns_host(urlsplit(live).hostname or ""):
                logger.info("robots.txt sitemap %s is not on a host of %s; ignored", redact(url), self.outlet.name)
                continue
            key = self._sitemap_key(live)
            if key in self._sitemap_keys:
                continue
            self._sitemap_keys.add(key)
            if _budget_spent(self):
                _drop_sitemaps(self, 1)
                continue
            stats.inc_value("discovery/robots_sitemaps")
            logger.info("robots.txt sitemap %s is not declared by %s; read as a source", redact(live), self.outlet.name)
            yield self._source(self.to_live(live), self.parse_sitemap, "sitemap", priority=20)

    def source_failed(self, failure: Failure) -> list[Request]:
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("discovery/sources_failed")
        if isinstance(failure.value, HttpError) and failure.value.response.meta.get("blocked"):
            self.crawler.stats.inc_value("blocked/sources")
        logger.warning("source %s failed: %s; other sources go on", request.url, _failure_reason(failure))
        try:
            return self.feed_done() if request.callback == self.parse_feed else []
        finally:
            self.source_read(request)

    def source_read(self, request: Request | None) -> None:
        """Tell (``source_read``) that everything a source's answer discovered is handed over: a shared
        frontier counts the source done only now, so another worker does not finish meanwhile."""
        if request is not None:
            self.crawler.signals.send_catch_log(signal=source_read, request=request, spider=self)

    # ------------------------------------------------------------------ discovery

    def parse_feed(self, response: Response) -> Iterator[Request | Article]:
        """RSS 2.0, RSS 1.0 and Atom: item links with their publication dates; an item's full text
        (FEED_TEXT_*, :func:`pipelines.feedtext.item_full_text`) is kept for the article in case its
        page cannot be fetched (:meth:`written_from_feed`)."""
        try:
            yield from self._feed_items(response)
            yield from self.feed_done()
        finally:
            self.source_read(response.request)

    def _feed_items(self, response: Response) -> Iterator[Request | Article]:
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
                url = urljoin(self.to_live(response.url), link)
                if self._feed_texts is not None:
                    self._keep_feed_text(node, url, published, response)
                yield from self.article_request(url, published, source)

    def _keep_feed_text(self, node: Any, url: str, published: str | None, response: Response) -> None:
        """Keep the feed item ``node``'s full text for article ``url``, if it carries one."""
        assert self._feed_texts is not None
        found = item_full_text(node, self._feed_text_min_chars)
        if found is None:
            return
        title = next((" ".join("".join(c.itertext()).split()) for c in node if isinstance(c.tag, str) and etree.QName(c).localname == "title"), "")
        self._feed_texts.put(FeedText(
            url=self.to_live(url), title=title, html=found[1], element=found[0], published=published,
            source=response.meta["source"], content_type=response.headers.get(b"Content-Type", b"").decode("latin-1"),
            http_status=response.status, fetched_at=response.meta.get("fetched_at", ""), warc=response.meta.get("warc"),
        ))
        self.crawler.stats.inc_value("discovery/feed_texts")

    def parse_sitemap(self, response: Response) -> Iterator[Request | Article]:
        """A sitemap or sitemap index (:meth:`_sitemap_entries`), then ``source_read``."""
        try:
            yield from self._sitemap_entries(response)
        finally:
            self.source_read(response.request)

    def _sitemap_entries(self, response: Response) -> Iterator[Request | Article]:
        """Sitemap indexes (followed) and URL sets, Google News sitemaps included; .gz bodies too.

        With ``max_articles``, an index's children are queued and requested a few at a time (each
        sitemap read passes its turn on to the next), and once the budget is spent no sitemap is
        read or requested any more. A sitemap the XML parser stops in (a limit, a cut body) is logged
        and counted (``discovery/sitemaps_rejected``); its valid entries are kept where possible.
        """
        stats = self.crawler.stats
        if _budget_spent(self):
            _drop_sitemaps(self, 1)
            return
        stats.inc_value("discovery/sitemaps")
        doc: _SitemapDoc | None = None
        body: bytes | None = response.body
        if body is not None and body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except (OSError, ValueError, EOFError, zlib.error) as exc:
                logger.warning("sitemap %s: bad gzip (%s); skipped", response.url, exc)
                body = None
        if body is not None:
            doc = _parse_sitemap(body)
            if doc is None:
                logger.warning("sitemap %s is not XML; skipped", response.url)
        if doc is not None:
            if doc.cut is not None:
                stats.inc_value("discovery/sitemaps_rejected")
                kept = (f"{len(doc.entries)} entries read again without its DTD" if doc.recovered
                        else f"the {len(doc.entries)} entries before it are kept, the rest is lost")
                logger.warning("sitemap %s rejected by the XML parser: %s; %s", response.url, redact(doc.cut), kept)
            if doc.entity_refs:
                stats.inc_value("discovery/sitemap_entries_rejected", doc.entity_refs)
                logger.warning("sitemap %s: %d entries whose <loc> holds an entity reference ignored", response.url, doc.entity_refs)
            base = self.to_live(response.url)
            if doc.kind == "sitemapindex":
                children = [u for u in (self._live_origin(urljoin(base, loc)) for loc in self._children_in_window(response, doc))
                            if self.outlet.owns_host(urlsplit(u).hostname or "")]
                if self.max_articles is None:
                    yield from (self._source(u, self.parse_sitemap, "sitemap", priority=20) for u in children)
                else:
                    self._sitemap_queue.extend(children)
                    yield from _next_sitemaps(self, SITEMAP_WINDOW - 1)  # and one more below
            else:
                source = response.meta["source"]
                for loc, published in doc.entries:
                    yield from self.article_request(urljoin(base, loc), published, source)
        yield from _next_sitemaps(self, 1)  # this sitemap's turn passes on to a queued one

    def _children_in_window(self, response: Response, doc: _SitemapDoc) -> list[str]:
        """The ``<loc>`` of the index's children whose dates can overlap the discovery window (their
        ``<lastmod>``, else the date in their URL; an undated child is in); the others are counted
        in ``discovery/sitemaps_outside_window`` and told in one line."""
        window = self.discovery_window
        inside = [loc for loc, lastmod in doc.entries if not window.child_outside(loc, lastmod)]
        outside = len(doc.entries) - len(inside)
        if outside:
            self.crawler.stats.inc_value("discovery/sitemaps_outside_window", outside)
            logger.info("sitemap index %s: %d of %d child sitemaps end before the discovery window (%s, %s); not requested",
                        response.url, outside, len(doc.entries), window.since.isoformat() if window.since else "", window.basis)
        return inside

    def parse_section(self, response: Response) -> Iterator[Request | Article]:
        """Fallback source: article-shaped links of a section page."""
        try:
            yield from self._section_links(response)
        finally:
            self.source_read(response.request)

    def _section_links(self, response: Response) -> Iterator[Request | Article]:
        self.crawler.stats.inc_value("discovery/sections")
        if not isinstance(response, TextResponse):
            return
        base = self.to_live(response.url)
        for href in response.xpath("//a/@href").getall():
            yield from self.article_request(urljoin(base, href.strip()), None, response.meta["source"])

    def forget_scheduled(self) -> None:
        """Forget which article URLs were scheduled (the shared frontier lost its queue): sources
        read again schedule them again; the archived state still skips what is written."""
        self._scheduled.clear()

    def article_request(self, url: str, published: str | None, source: str) -> Iterator[Request | Article]:
        """Schedule ``url`` if it is a new article of this edition within the run's limits.

        The URL is first normalised to the article's one identity (no credentials, no fragment, the
        edition's canonical scheme and host: :func:`pipelines.urls.normalize_article_url`; a link
        to a mirror's own host is its live URL), so the spellings of one article get one request and
        one row. A URL too long to request (``URLLENGTH_LIMIT``, which Scrapy would drop without a
        trace) gets an ``error`` row instead.
        """
        url = self.to_live(url)
        if not self.outlet.owns_host(urlsplit(url).hostname or "") or not self.outlet.is_article_url(url, self.edition_name):
            return
        stats = self.crawler.stats
        if url in self._scheduled:
            return
        if self.too_old(published):
            self._scheduled.add(url)
            stats.inc_value("articles/skipped_before_since")
            return
        if self.discovery_window.before(parse_day(published)):
            # the listing dates it before the window (the page's own date is not held against it)
            self._scheduled.add(url)
            stats.inc_value("articles/skipped_before_window")
            return
        if self.is_archived(url):
            self._scheduled.add(url)
            stats.inc_value("articles/already_archived")
            return
        if self._missing_settled(url):
            self._scheduled.add(url)
            stats.inc_value("articles/missing_not_rechecked")
            return
        if self.max_articles is not None and self._requested >= self.max_articles:
            stats.inc_value("articles/over_max_articles")
            return
        self._scheduled.add(url)
        request = self._article_fetch(url, {"url": url, "published_hint": published, "source": source, "redirects": 0})
        limit = self._too_long(request.url)
        if limit:
            stats.inc_value("articles/url_too_long")
            item = self._item(None, request)
            item.status = ERROR
            item.reason = f"URL of {len(request.url)} characters is longer than URLLENGTH_LIMIT ({limit}); not requested"
            yield item
            return
        self._requested += 1
        stats.inc_value("articles/scheduled")
        if self._feeds_pending > 0:
            self._held.append(request)  # until the feeds are read (feed_done)
            return
        yield request

    def feed_done(self) -> list[Request]:
        """A feed of :meth:`start` was read or failed; once none is pending, the article requests held for
        them go out. Held so that an article whose page is blocked or fails finds the full text of its
        feed item already kept (:meth:`written_from_feed`), whichever source listed it first."""
        if self._feeds_pending > 0:
            self._feeds_pending -= 1
        return self.release_held() if self._feeds_pending == 0 else []

    def release_held(self) -> list[Request]:
        """The article requests held for the feeds, now (and nothing is held any more)."""
        self._feeds_pending = 0
        held, self._held = self._held, []
        return held

    def _too_long(self, fetch_url: str) -> int | None:
        """``URLLENGTH_LIMIT`` when ``fetch_url`` is longer (Scrapy would drop its request without a trace)."""
        limit = self.crawler.settings.getint("URLLENGTH_LIMIT")
        return limit if limit and len(fetch_url) > limit else None

    def _article_fetch(self, url: str, info: dict[str, Any], supersedes: str | None = None) -> Request:
        # Redirects of articles are followed here, not by RedirectMiddleware, so that every
        # article URL gets a manifest row, also one that redirects offsite or to an article
        # that is already scheduled (the dupefilter would drop it without a trace).
        # A followed hop is not filtered: the chain (``info["chain"]``) bounds it and detects loops,
        # and a dropped hop would leave the listed URL without a row.
        return Request(
            self.to_fetch(url),
            callback=self.parse_article,
            errback=self.article_failed,
            dont_filter=info["redirects"] > 0,
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
            mirror=self._mirror is not None,
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

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Article | Request]:
        """Scrapy's default callback, used only by ``scrapy parse --spider OUTLET URL`` (every request
        of a crawl has its own callback): the page at URL as an article of this edition, its item as
        the crawl would hand it to the item pipelines."""
        listed = response.meta.get("redirect_urls", [response.url])[0]
        url = self.to_live(listed)
        if not self.outlet.is_article_url(url, self.edition_name):
            logger.warning("%s is not an article URL of %s (edition %s); parsed as an article anyway", url, self.outlet.name, self.edition_name)
        response.meta.setdefault("article", {"url": url, "published_hint": None, "source": "parse", "redirects": 0})
        yield from self.parse_article(response)

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
            # cut on the wire, or decoded to more than the limit (WarcCaptureMiddleware says which)
            cut = response.meta.get("archive_truncated_reason") or f"response truncated at DOWNLOAD_MAXSIZE ({len(response.body)} bytes)"
            item.status = ERROR
            item.reason = f"{cut}; archived in the WARC only"
        else:
            item.status = FETCHED
            item.body = self._live_links(response.body)
        yield item

    def _follow_redirect(self, response: Response, item: Article) -> Iterator[Article | Request]:
        """One row for the listed URL whatever the chain: followed hops, a moved article, or an error."""
        info = dict(response.meta["article"])
        chain = [*info.get("chain", [info["url"]])]
        location = response.headers.get(b"Location", b"").decode("latin-1").strip()
        target = self.to_live(urljoin(response.url, location)) if location else ""
        target = urlunsplit(urlsplit(target)._replace(fragment=""))
        host = urlsplit(target).hostname or ""
        item.status = ERROR
        item.final_url = target
        moved_back = self._moved_to(target) == info["url"]
        if not location:
            item.reason = f"HTTP {response.status} without Location"
        elif not self.outlet.owns_host(host):
            item.reason = f"offsite redirect to {target} not followed"
        elif target in chain or moved_back:
            item.reason = "redirect loop: " + " -> ".join([*chain, target, *([info["url"]] if moved_back else [])])
        elif info["redirects"] >= MAX_REDIRECTS:
            item.reason = f"more than {MAX_REDIRECTS} redirects"
        elif limit := self._too_long(self.to_fetch(target)):
            item.reason = f"redirect to a URL of {len(target)} characters, longer than URLLENGTH_LIMIT ({limit}); not followed"
        elif self.outlet.is_article_url(target, self.edition_name):
            # an article moved: the old URL gets its row (archived once the new one is, see
            # pipelines.manifest.archived_urls), the article is archived under its new URL
            self._moved[info["url"]] = target
            item.status = SKIPPED
            item.reason = f"redirects to article {target}, archived under that URL"
            yield item
            yield from self.article_request(target, info["published_hint"], info["source"])
            return
        else:
            self._scheduled.add(target)
            info["redirects"] += 1
            info["chain"] = [*chain, target]
            yield self._article_fetch(target, info, supersedes=response.meta.get("frontier_entry"))
            return
        yield item

    def _moved_to(self, url: str) -> str | None:
        """Where an article that moved in this run ended up (following moves, loops cut)."""
        seen = {url}
        while url in self._moved and self._moved[url] not in seen:
            url = self._moved[url]
            seen.add(url)
        return url if len(seen) > 1 else None

    def article_failed(self, failure: Failure) -> Iterator[Article]:
        request: Request = failure.request  # type: ignore[attr-defined]
        response = failure.value.response if isinstance(failure.value, HttpError) else None
        if "article" not in request.meta:
            return
        item = self._item(response, request)
        item.status = ERROR
        item.reason = _failure_reason(failure)
        blocked = response.meta.get("blocked") if response is not None else None
        if blocked:  # a wall or a bot challenge (crawler.middlewares.BlockDetectionMiddleware)
            item.status, item.reason = BLOCKED, blocked
        self._missing_translation(item)
        if item.status == BLOCKED or (item.http_status or 0) >= 500:
            yield self.written_from_feed(item) or item
            return
        yield item

    def written_from_feed(self, failed: Article) -> Article | None:
        """The article ``failed`` (its page blocked, or 5xx after retries) written from its feed
        item's full text, or None when no feed read by this worker carried one.

        The item is a fetched page for the pipelines: a minimal HTML page of the feed text
        (:func:`pipelines.feedtext.feed_page`), extracted and cleaned as a page is, with
        ``text_source`` "feed" and the feed's response (its WARC record, status, type, time); the
        page's failed answer stays in the WARC. ``failed`` rides along as ``page_failure``: should the
        feed text leave no article text, the pipelines record that failure instead of an ``empty``
        row (which would never be fetched again).
        """
        text = self._feed_texts.get(failed.url) if self._feed_texts is not None else None
        if text is None:
            return None
        item = Article(
            url=failed.url, outlet=failed.outlet, edition=failed.edition, language=failed.language, source=text.source,
            published_hint=failed.published_hint or text.published, fetched_url=failed.fetched_url, mirror=failed.mirror,
            frontier_entry=failed.frontier_entry,
        )
        item.final_url = failed.url
        item.http_status = text.http_status
        item.content_type = text.content_type
        item.fetched_at = text.fetched_at
        item.warc = text.warc
        item.text_source = TEXT_FROM_FEED
        item.status = FETCHED
        item.reason = f"page not fetched ({failed.reason}); text from the feed's {text.element} ({text.source})"
        page = feed_page(text, self.edition.language)
        encoding = http_content_type_encoding(text.content_type) or "utf-8"
        try:
            body = page.encode(encoding, "xmlcharrefreplace")
        except LookupError:
            body = page.encode("utf-8")
        item.body = self._live_links(body)
        item.page_failure = failed
        self.crawler.stats.inc_value("articles/feed_text_used")
        return item

    def _missing_translation(self, item: Article) -> None:
        """A translation edition's article that answers 404/410 is ``missing``, not an error: the
        outlet lists every story under every edition, translated or not. Its publication day (the
        listing's, else the URL's) goes into the row: later runs check it again only while that day
        is within ``TRANSLATION_RECHECK_DAYS`` (pipelines/state.py)."""
        if not self.edition.translation_of or item.status != ERROR or item.http_status not in (404, 410):
            return
        day = parse_day(item.published_hint) or url_day(item.url)
        item.status = MISSING
        item.published = day.isoformat() if day else None
        days = self._recheck_days
        if day is None:
            later = "no publication date known: checked again by later runs up to ARCHIVE_MAX_ATTEMPTS"
        else:
            later = f"checked again by runs until {(day + timedelta(days=days)).isoformat()} (TRANSLATION_RECHECK_DAYS={days})"
        item.reason = (f"HTTP {item.http_status}: no {self.edition.language} translation of this {self.edition.translation_of} "
                       f"story published, or not yet; {later}")


def _failure_reason(failure: Failure) -> str:
    from crawler.robots import RobotsForbidden

    value = failure.value
    if isinstance(value, RobotsForbidden):
        return str(value)  # "forbidden by robots.txt[: disallow_all (HTTP 503)]"
    if isinstance(value, HttpError):
        status = value.response.status
        blocked = value.response.meta.get("blocked")
        return f"blocked: {blocked}" if blocked else f"HTTP {status}"
    return f"{type(value).__name__}: {value}".strip().rstrip(":")
