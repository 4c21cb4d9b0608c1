"""Helpers of the in-process unit tests: a crawler built as ``scrapy crawl`` builds it, fixture responses.

No subprocess, no HTTP server: the spider's callbacks and the WARC capture middleware get fake
Scrapy responses made from the fixture sites in ``tests/sites/<outlet>/``.

Why not ``scrapy.utils.test.get_crawler`` as is: it calls ``Crawler._apply_settings()`` before
any spider exists, so ``ArchiveExtension.from_crawler`` (which needs ``crawler.spider`` to be an
outlet spider) raises ``NotConfigured`` and the frozen settings make a second
``_apply_settings()`` a no-op. :func:`make_crawler` therefore does what ``get_crawler`` does (same
runner choice, same reactor settings from ``scrapy.utils.test.get_reactor_settings``) but in the
order of ``Crawler.crawl``: create the spider, then apply the settings (addons, stats, extensions).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import AsyncCrawlerRunner, Crawler, CrawlerRunner
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.settings import Settings
from scrapy.utils.reactor import is_reactor_installed
from scrapy.utils.test import get_reactor_settings

import crawler.spiders
from crawler.extensions import ArchiveExtension
from crawler.spiders.outlet import OutletSpider
from pipelines.outlets import Outlet

SITES = Path(__file__).resolve().parent / "sites"
FIXED_TIME = "2026-11-25T12:00:00Z"
RUN_ID = "20261125T120000Z-unit"


def unit_settings(tmp_path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """The project's settings (crawler/settings.py) with a temporary archive and fixed time/run id."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "ARCHIVE_URI": str(tmp_path / "archive"),
            "ARCHIVE_SPOOL_DIR": str(tmp_path / "spool"),
            "ARCHIVE_FIXED_TIME": FIXED_TIME,
            "ARCHIVE_RUN_ID": RUN_ID,
            "ARCHIVE_WARC_HOST": "ci",
            "DEDUP_ENABLED": False,
            "SCHEDULER_URI": "",  # never the shared frontier, whatever the environment says
            "PROGRESS_INTERVAL": 0,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            **(overrides or {}),
            # what scrapy.utils.test.get_crawler adds: settings that fit the (un)installed reactor
            **get_reactor_settings(),
        },
        priority="cmdline",
    )
    return settings


def spider_class(outlet: Outlet | str) -> type[OutletSpider]:
    """The generated spider of an outlet (``crawler.spiders.<Name>Spider``)."""
    name = outlet if isinstance(outlet, str) else outlet.name
    cls = getattr(crawler.spiders, f"{name.title().replace('_', '')}Spider")
    assert issubclass(cls, OutletSpider) and cls.outlet_name == name
    return cls


def make_crawler(spidercls: type[OutletSpider], settings: Settings, **spider_args: Any) -> Crawler:
    """A crawler with its spider and extensions, as ``Crawler.crawl`` sets them up (no engine)."""
    runner = CrawlerRunner(settings) if is_reactor_installed() else AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(spidercls)
    crawler.spider = crawler._create_spider(**spider_args)
    crawler._apply_settings()
    return crawler


@dataclass
class Unit:
    crawler: Crawler
    spider: OutletSpider
    ext: ArchiveExtension

    @property
    def stats(self) -> dict[str, Any]:
        return self.crawler.stats.get_stats()


@contextmanager
def unit_crawler(
    outlet: Outlet | str, tmp_path: Path, settings: dict[str, Any] | None = None, open_archive: bool = True, **spider_args: Any
) -> Iterator[Unit]:
    """A crawler of ``outlet`` with its archive open (as ``spider.start()`` leaves it); closed afterwards.
    ``backfill=1`` unless ``since`` or ``backfill`` is given: the fixture sites are dated in the past."""
    if "since" not in spider_args and "backfill" not in spider_args:
        spider_args["backfill"] = "1"
    crawler = make_crawler(spider_class(outlet), unit_settings(tmp_path, settings), **spider_args)
    ext = crawler.get_extension(ArchiveExtension)
    assert ext is not None, "ArchiveExtension not built: is ARCHIVE_ENABLED on?"
    spider = crawler.spider
    assert isinstance(spider, OutletSpider)
    try:
        if open_archive:
            ext.archive.open()  # blocking; what `await ext.opened()` does in a thread
            spider._archive = ext.archive  # what spider.start() does
        yield Unit(crawler, spider, ext)
    finally:
        ext.archive.close("finished")  # also shuts the upload thread pool down


# ---------------------------------------------------------------------------------- fixture sites


class FixtureSite:
    """An outlet's fixture mirror as data: ``site.json`` routes -> fake Scrapy responses."""

    def __init__(self, outlet: str, expected_file: str = "expected.json") -> None:
        self.dir = SITES / outlet
        self.routes: dict[str, dict[str, Any]] = json.loads((self.dir / "site.json").read_text(encoding="utf-8"))["routes"]
        self.expected: dict[str, Any] = json.loads((self.dir / expected_file).read_text(encoding="utf-8"))

    @staticmethod
    def route_key(url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def route(self, url: str) -> dict[str, Any]:
        key = self.route_key(url)
        assert key in self.routes, f"{url}: no route {key!r} in {self.dir.name}/site.json"
        return self.routes[key]

    def body(self, url: str) -> bytes:
        """The body as Scrapy hands it to the spider: after content decoding (the ``gzip`` flag is
        Content-Encoding, undone by HttpCompressionMiddleware), so a ``.gz`` file stays gzip."""
        route = self.route(url)
        data = (self.dir / route["file"]).read_bytes() if "file" in route else route.get("body", "").encode("utf-8")
        return data * int(route.get("repeat", 1))

    def text(self, url: str) -> str:
        """The body as text, a ``.gz`` file uncompressed (for looking URLs up in it)."""
        data = self.body(url)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8", "replace")

    def response(self, request: Request) -> Response:
        route = self.route(request.url)
        content_type = route.get("content_type", "")
        headers = {"Content-Type": content_type} if content_type else {}
        return fake_response(request, self.body(request.url), headers, status=int(route.get("status", 200)))


def fake_response(request: Request, body: bytes, headers: dict[str, str] | None = None, status: int = 200, **kwargs: Any) -> Response:
    """The response class Scrapy would pick from the Content-Type (HTML, XML or binary)."""
    content_type = (headers or {}).get("Content-Type", "")
    if "html" in content_type:
        cls: type[Response] = HtmlResponse
    elif "xml" in content_type:
        cls = XmlResponse
    else:
        cls = Response
    return cls(request.url, status=status, headers=headers, body=body, request=request, **kwargs)


def source_response(url: str, body: bytes | str, content_type: str = "application/xml", meta: dict[str, Any] | None = None) -> Response:
    """A feed/sitemap/section response for the spider's discovery callbacks (``meta['source']`` set)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    source = f"test:{urlsplit(url).path}"
    request = Request(url, meta={"source": source, **(meta or {})})
    return fake_response(request, data, {"Content-Type": content_type})
