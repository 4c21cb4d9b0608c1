"""URL hygiene, strict spider arguments and bounded sitemap discovery, on loopback and in-process.

End to end, a Business Recorder look-alike (``tests/hostile.py``) is crawled by the real ``brecorder``
spider: credentials in feed links and ``Location`` headers, spellings of one article, an 8 KB URL,
an id in Arabic-Indic digits, a sitemap index of 10,002 children under ``max_articles``, a
billion-laughs sitemap and an XXE sitemap. In-process: ``pipelines/urls.py``, the outlets' URL
patterns, the spider's argument checks and its sitemap reading.
"""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from dataclasses import asdict
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider

from crawler.items import Article
from crawler.spiders.outlet import SITEMAP_WINDOW, _refill_sitemaps_when_idle
from pipelines import warc
from pipelines.layout import state_prefix
from pipelines.manifest import ManifestRow
from pipelines.outlets import all_outlets, get_outlet
from pipelines.reader import completed_runs, read_rows, read_summary
from pipelines.storage import open_store
from pipelines.urls import normalize_article_url, redact, strip_credentials
from tests.conftest import CrawlResult, run_crawl
from tests.hostile import LIVE, SITEMAP, Handler, HostileServer, article_html, article_id, brecorder_site, page, redirect, rss
from tests.test_crawl import assert_archive_sound
from tests.units import source_response, spider_class, unit_crawler

OUTLET = "brecorder"
SECRET = "s3cret"
A, B, C, D, E, F = (article_id(n) for n in range(1, 7))
URLSET_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


# ---------------------------------------------------------------------------------- helpers


class Crawl:
    """One crawl of a hostile site into a fresh archive, read back as a downstream reader does."""

    def __init__(self, server: HostileServer, result: CrawlResult, archive: Path) -> None:
        self.server, self.result, self.archive = server, result, archive
        store = open_store(str(archive))
        runs = completed_runs(store)
        assert len(runs) == 1, (runs, result.log[-3000:])
        self.rows: list[ManifestRow] = read_rows(store, runs[0])
        self.summary: dict[str, Any] = read_summary(store, runs[0])
        self.stats: dict[str, Any] = self.summary.get("scrapy_stats", {})
        self.state = "".join((store.get_bytes(k) or b"").decode() for k in store.list_keys(state_prefix(OUTLET)))
        self.store = store

    def by_url(self) -> dict[str, ManifestRow]:
        urls = [r.url for r in self.rows]
        assert len(urls) == len(set(urls)), f"more than one row for a URL: {urls}"
        return {r.url: r for r in self.rows}

    def paths(self, prefix: str = "") -> list[str]:
        return [p for p in self.server.paths() if p.startswith(prefix)]

    def archive_bytes(self) -> bytes:
        """Every file of the archive, gzip members uncompressed (WARCs included)."""
        out = []
        for path in sorted(self.archive.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        return b"\n".join(out)

    def warc_records(self) -> list[warc.ReadRecord]:
        return [rec for key in self.store.list_keys() if key.endswith(".warc.gz") for rec in warc.iter_records(self.store.get_bytes(key) or b"")]


def crawl(routes: dict[str, Handler], tmp_path: Path, settings: dict[str, Any] | None = None, args: dict[str, Any] | None = None,
          late_routes: Any = None) -> Crawl:
    """Crawl ``routes`` (``late_routes(server)`` adds the routes that need the server's address)."""
    archive = tmp_path / "archive"
    with HostileServer(routes) as server:
        if late_routes is not None:
            server.routes.update(late_routes(server))
        result = run_crawl(OUTLET, server, str(archive), tmp_path / "spool", {"RETRY_TIMES": 0, **(settings or {})}, args)
    assert result.returncode == 0, result.log[-5000:]
    assert_archive_sound(open_store(str(archive)), tmp_path)
    return Crawl(server, result, archive)


def articles(*paths: str) -> dict[str, Handler]:
    return {p: page(article_html(f"Story {p}", seed=i)) for i, p in enumerate(paths)}


def urlset(locs: list[str]) -> str:
    body = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{URLSET_NS}">{body}</urlset>'


def xml(body: str | bytes) -> Handler:
    return page(body, content_type="application/xml; charset=utf-8")


def billion_laughs(before: list[str], bomb: str, after: list[str], depth: int = 10) -> str:
    """A urlset whose inline DOCTYPE declares nested entities (10**depth ``lol``); ``bomb``'s loc references the top one."""
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, depth))
    urls = "".join(f"<url><loc>{u}</loc></url>" for u in before)
    urls += f"<url><loc>{bomb}&lol{depth - 1};</loc></url>"
    urls += "".join(f"<url><loc>{u}</loc></url>" for u in after)
    return f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE urlset [{entities}]><urlset xmlns="{URLSET_NS}">{urls}</urlset>'


def xxe(secret_file: Path, valid: list[str], hostile: str) -> str:
    """A urlset whose DOCTYPE declares external entities (a general one and a parameter one) pointing at a local file."""
    uri = secret_file.as_uri()
    doctype = f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{uri}"><!ENTITY % pe SYSTEM "{uri}"> %pe;]>'
    urls = "".join(f"<url><loc>{u}</loc></url>" for u in valid)
    urls += f"<url><loc>{hostile}&xxe;</loc><lastmod>&xxe;</lastmod></url>"
    return f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<urlset xmlns="{URLSET_NS}">{urls}</urlset>'


# ---------------------------------------------------------------------------------- end to end: URLs


def test_credentials_in_feed_links_and_location_headers_reach_no_row_state_log_or_request(tmp_path: Path) -> None:
    """user:password@ in a feed link and in Location headers (live host, the mirror's own address,
    offsite) is stripped before anything is requested or recorded: no row field, state file, log
    line, request (path, Authorization header, WARC request record) or WARC-Target-URI carries it."""
    cred = f"https://user:{SECRET}@www.brecorder.com"
    routes = brecorder_site(
        {**articles(A, C, E), B: redirect(cred + C), F: redirect(f"https://user:{SECRET}@offsite.example/x")},
        listed=[cred + A, B, D, F],
    )
    run = crawl(routes, tmp_path, settings={"LOG_LEVEL": "DEBUG"},
                late_routes=lambda s: {D: redirect(s.base_url.replace("http://", f"http://user:{SECRET}@") + E)})
    rows = run.by_url()
    assert set(rows) == {LIVE + p for p in (A, B, C, D, E, F)}
    assert rows[LIVE + A].status == "written" and rows[LIVE + C].status == "written" and rows[LIVE + E].status == "written"
    assert rows[LIVE + B].status == "skipped" and rows[LIVE + B].final_url == LIVE + C
    assert rows[LIVE + D].status == "skipped" and rows[LIVE + D].final_url == LIVE + E, "the mirror's address with credentials is still the mirror"
    assert rows[LIVE + F].status == "error" and rows[LIVE + F].final_url == "https://offsite.example/x"
    for row in run.rows:
        assert SECRET not in json.dumps(asdict(row)), row
    assert run.state and SECRET not in run.state
    assert SECRET not in run.result.log and "user:" not in run.result.log
    for seen in run.server.seen:
        assert SECRET not in seen.path and "authorization" not in seen.headers, seen
    records = run.warc_records()
    assert records
    for rec in records:
        assert SECRET not in rec.target_uri and "user:" not in rec.target_uri, rec.target_uri
        if rec.rec_type == "request":
            assert not any(k.lower() == "authorization" or SECRET in v for k, v in rec.headers), rec.headers
    # what the archive keeps besides the servers' own bytes (WARC response records) is clean too
    for key in run.store.list_keys():
        if not key.endswith(".warc.gz"):
            assert SECRET.encode() not in (run.store.get_bytes(key) or b""), key


@pytest.fixture(scope="module")
def hygiene_run(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """One feed listing four spellings of article A, an 8 KB article URL and an id in Arabic-Indic digits."""
    tmp_path = tmp_path_factory.mktemp("hygiene")
    spellings = [
        "https://WWW.BRECORDER.COM" + A,
        "http://brecorder.com" + A,
        "https://www.brecorder.com:443" + A + "#comments",
        LIVE + A.replace("hostile-case", "hostile%2dcase"),  # an escaped unreserved character
        LIVE + A,
    ]
    listed = [*spellings, LIVE + LONG, LIVE + ARABIC, B]
    return crawl(brecorder_site(articles(A, B), listed=listed), tmp_path)


LONG = "/news/40470099/" + "a" * 8000
ARABIC = "/news/٤٠٤٧٠٠٠١/hostile-case-1"


def test_spellings_of_one_article_get_one_row_and_one_fetch(hygiene_run: Crawl) -> None:
    """Upper-case host, http, the bare domain, :443, a fragment and an escaped unreserved character: one article, one row under its canonical URL, one fetch."""
    rows = hygiene_run.by_url()
    assert [r.url for r in hygiene_run.rows if "40470001" in r.url] == [LIVE + A]
    assert rows[LIVE + A].status == "written"
    assert len(hygiene_run.paths("/news/40470001/")) == 1
    assert hygiene_run.stats["articles/scheduled"] == 2  # A and B


def test_an_over_long_article_url_gets_an_error_row_and_is_never_requested(hygiene_run: Crawl) -> None:
    """An article URL longer than URLLENGTH_LIMIT (2083) gets one error row with the reason instead of vanishing."""
    rows = hygiene_run.by_url()
    row = rows[LIVE + LONG]
    assert row.status == "error" and row.reason and "URLLENGTH_LIMIT" in row.reason and row.warc_key is None
    assert hygiene_run.paths("/news/40470099") == []
    assert hygiene_run.stats["articles/url_too_long"] == 1


def test_an_article_id_in_arabic_indic_digits_is_not_an_article(hygiene_run: Crawl) -> None:
    """/news/٤٠٤٧٠٠٠١/...: \\d of the outlet pattern is ASCII only: no row, never fetched."""
    assert {r.url for r in hygiene_run.rows} == {LIVE + A, LIVE + B, LIVE + LONG}
    assert sorted(set(hygiene_run.paths("/news/"))) == [A, B]


# ---------------------------------------------------------------------------------- end to end: sitemaps


def test_a_sitemap_index_of_10002_children_stops_at_max_articles(tmp_path: Path) -> None:
    """max_articles=3 and a sitemap index of 10,002 child sitemaps (2 articles each): a handful of children are fetched, not all of them."""
    n = 10_002
    children = [f"/sitemaps/child-{i}.xml" for i in range(n)]
    routes = brecorder_site({}, listed=[], extra={SITEMAP: xml(
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{URLSET_NS}">'
        + "".join(f"<sitemap><loc>{LIVE}{c}</loc></sitemap>" for c in children) + "</sitemapindex>"
    )})
    for i, child in enumerate(children):
        routes[child] = xml(urlset([LIVE + article_id(1000 + 2 * i), LIVE + article_id(1001 + 2 * i)]))
    routes.update(articles(*(article_id(1000 + k) for k in range(40))))
    run = crawl(routes, tmp_path, args={"max_articles": 3})
    fetched_children = run.paths("/sitemaps/")
    assert 2 <= len(fetched_children) <= SITEMAP_WINDOW + 2, fetched_children
    assert [r.status for r in run.rows] == ["written"] * 3
    assert run.stats["articles/scheduled"] == 3 and run.stats["articles/over_max_articles"] >= 1
    assert run.stats["discovery/sitemaps_over_max_articles"] >= 1


def test_a_billion_laughs_sitemap_is_logged_rejected_and_keeps_its_valid_entries(tmp_path: Path) -> None:
    """Inline DOCTYPE entities tripping libxml2's amplification limit: a WARNING with the sitemap's URL
    and the parser's error, discovery/sitemaps_rejected, the valid entries before and after the bomb
    still crawled, the bomb's entry not."""
    routes = brecorder_site(articles(A, B, D, E), listed=[], extra={
        SITEMAP: xml(billion_laughs([LIVE + A, LIVE + B], LIVE + C, [LIVE + D, LIVE + E])),
    })
    run = crawl(routes, tmp_path)
    warning = next((line for line in run.result.log.splitlines() if "WARNING" in line and "rejected" in line), None)
    assert warning is not None, run.result.log[-3000:]
    assert f"{run.server.base_url}{SITEMAP}" in warning and "amplification" in warning
    assert run.stats["discovery/sitemaps_rejected"] == 1
    assert {r.url: r.status for r in run.rows} == {LIVE + p: "written" for p in (A, B, D, E)}
    assert run.paths(C) == [] and not [p for p in run.paths("/news/") if p.startswith("/news/40470003")]


def test_an_xxe_sitemap_never_reads_the_local_file(tmp_path: Path) -> None:
    """External entities (general and parameter) pointing at a local file stay unresolved: the file's
    content is nowhere in the archive (WARCs included), the log or the requests; the entry that
    references the entity is dropped, the valid one is crawled."""
    secret = f"XXE-{uuid.uuid4().hex}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret + "\n", encoding="utf-8")
    routes = brecorder_site(articles(A), listed=[], extra={SITEMAP: xml(xxe(secret_file, [LIVE + A], LIVE + "/news/40470002/"))})
    run = crawl(routes, tmp_path)
    assert {r.url: r.status for r in run.rows} == {LIVE + A: "written"}
    assert secret.encode() not in run.archive_bytes()
    assert secret not in run.result.log
    for seen in run.server.seen:
        assert secret not in seen.path and not any(secret in v for v in seen.headers.values())
    assert run.paths("/news/40470002") == []
    assert run.stats["discovery/sitemap_entries_rejected"] == 1


def test_a_bad_argument_refuses_the_run_before_anything_is_fetched(tmp_path: Path) -> None:
    """-a max_articles=-5: the crawl exits non-zero naming the argument; the server sees no request."""
    with HostileServer(brecorder_site(articles(A))) as server:
        result = run_crawl(OUTLET, server, str(tmp_path / "archive"), tmp_path / "spool", args={"max_articles": -5})
        assert result.returncode != 0
        assert "max_articles must be a positive whole number" in result.log
        assert server.paths() == []
    assert not completed_runs(open_store(str(tmp_path / "archive")))


# ---------------------------------------------------------------------------------- pipelines/urls.py

PRAVDA, ORDA, BRECORDER = (get_outlet(n) for n in ("pravda", "orda", "brecorder"))


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("http://user:s3cret@www.pravda.com.ua/x", "http://www.pravda.com.ua/x"),
        ("https://user@host.example:8443/a?b#c", "https://host.example:8443/a?b#c"),
        ("https://u:p%40ss@host.example/", "https://host.example/"),
        ("https://host.example/a@b", "https://host.example/a@b"),
        ("https://host.example/", "https://host.example/"),
    ],
)
def test_strip_credentials(url: str, want: str) -> None:
    assert strip_credentials(url) == want


def test_redact_removes_the_credentials_of_every_url_in_a_text() -> None:
    text = f"redirect to http://user:{SECRET}@www.pravda.com.ua/x -> //a:{SECRET}@b.example/y; mail me@example.org, https://h.example/p@q"
    assert redact(text) == "redirect to http://www.pravda.com.ua/x -> //b.example/y; mail me@example.org, https://h.example/p@q"


@pytest.mark.parametrize(
    ("outlet", "edition", "url", "want"),
    [
        # one article, every spelling: the outlet's canonical scheme and host
        (PRAVDA, None, "https://WWW.PRAVDA.COM.UA/eng/news/2026/11/21/7521260/", "https://www.pravda.com.ua/eng/news/2026/11/21/7521260/"),
        (PRAVDA, None, "http://pravda.com.ua/eng/news/2026/11/21/7521260/", "https://www.pravda.com.ua/eng/news/2026/11/21/7521260/"),
        (PRAVDA, None, "https://www.pravda.com.ua:443/eng/news/2026/11/21/7521260/#comments", "https://www.pravda.com.ua/eng/news/2026/11/21/7521260/"),
        (PRAVDA, None, "http://user:s3cret@www.pravda.com.ua/eng/news/2026/11/21/7521260/", "https://www.pravda.com.ua/eng/news/2026/11/21/7521260/"),
        (PRAVDA, "uk", "http://www.pravda.com.ua:80/news/2026/11/21/7521260/", "https://www.pravda.com.ua/news/2026/11/21/7521260/"),
        (BRECORDER, None, "HTTP://BRECORDER.COM/news/40470001/x", "https://www.brecorder.com/news/40470001/x"),
        # percent-encoding: escapes upper-case, unreserved characters decoded, raw non-ASCII escaped
        (BRECORDER, None, "https://www.brecorder.com/news/40470001/a%2db%7e?q=%e2%82%ac&r=%2F", "https://www.brecorder.com/news/40470001/a-b~?q=%E2%82%AC&r=%2F"),
        (BRECORDER, None, "https://www.brecorder.com/news/новини x", "https://www.brecorder.com/news/%D0%BD%D0%BE%D0%B2%D0%B8%D0%BD%D0%B8%20x"),
        (BRECORDER, None, "https://www.brecorder.com", "https://www.brecorder.com/"),
        # an explicit non-default port is another server: left alone
        (BRECORDER, None, "http://brecorder.com:8080/news/1", "http://brecorder.com:8080/news/1"),
        # several real hosts: only the bare and www. spellings of the edition's host are aliases
        (ORDA, None, "http://www.en.orda.kz/some-story-9716/", "https://en.orda.kz/some-story-9716/"),
        (ORDA, None, "https://EN.ORDA.KZ/some-story-9716/", "https://en.orda.kz/some-story-9716/"),
        (ORDA, None, "http://orda.kz/some-story-417627/", "https://orda.kz/some-story-417627/"),
        (ORDA, None, "https://kaz.orda.kz/some-story-137363/", "https://kaz.orda.kz/some-story-137363/"),
        # other sites: normalised, never mapped
        (PRAVDA, None, "HTTP://Offsite.Example:80/A#b", "http://offsite.example/A"),
    ],
)
def test_normalize_article_url(outlet: Any, edition: str | None, url: str, want: str) -> None:
    assert normalize_article_url(url, outlet, edition) == want
    assert normalize_article_url(want, outlet, edition) == want, "normalising is idempotent"


# ---------------------------------------------------------------------------------- outlet patterns


@pytest.mark.parametrize(
    ("name", "ascii_path", "other_digits"),
    [
        ("brecorder", "/news/40470001/x", "/news/٤٠٤٧٠٠٠١/x"),
        ("brecorder", "/news/40470001/x", "/news/４０４７０００１/x"),
        ("pravda", "/eng/news/2026/11/21/7521260/", "/eng/news/٢٠٢٦/١١/٢١/٧٥٢١٢٦٠/"),
        ("orda", "/some-story-9716/", "/some-story-٩٧١٦/"),
    ],
)
def test_outlet_url_patterns_match_ascii_digits_only(name: str, ascii_path: str, other_digits: str) -> None:
    outlet = all_outlets()[name]
    base = outlet.edition().base_url or outlet.base_url
    assert outlet.is_article_url(base + ascii_path)
    assert not outlet.is_article_url(base + other_digits)


# ---------------------------------------------------------------------------------- spider arguments


@pytest.mark.parametrize(
    ("outlet", "arg", "value"),
    [
        ("brecorder", "max_articles", "-5"),
        ("brecorder", "max_articles", -5),
        ("brecorder", "max_articles", "abc"),
        ("brecorder", "max_articles", "1.5"),
        ("brecorder", "max_articles", "٣"),
        ("brecorder", "since", "2023-13-45"),
        ("brecorder", "since", "2023-02-30"),
        ("brecorder", "since", "yesterday"),
        ("brecorder", "since", "20230101"),
        ("brecorder", "edition", "fr"),
        ("pravda", "edition", "EN"),
        ("brecorder", "recrawl", "maybe"),
        ("brecorder", "recrawl", "2"),
        ("brecorder", "base_url", "127.0.0.1:8080"),
        ("brecorder", "base_url", "ftp://127.0.0.1:8080"),
        ("brecorder", "base_url", "http://"),
        ("brecorder", "base_url", "http://127.0.0.1:99999"),
        ("brecorder", "base_url", "http://127.0.0.1:8080/mirror"),
        ("brecorder", "base_url", f"http://user:{SECRET}@127.0.0.1:8080"),
    ],
)
def test_a_bad_spider_argument_is_refused_with_a_message_naming_it(outlet: str, arg: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^{arg} ") as err:
        spider_class(outlet)(**{arg: value})
    assert repr(value) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("args", "attr", "want"),
    [
        ({"max_articles": "5"}, "max_articles", 5),
        ({"max_articles": 7}, "max_articles", 7),
        ({"max_articles": "0"}, "max_articles", None),
        ({"max_articles": ""}, "max_articles", None),
        ({"since": "2024-02-29"}, "since", date(2024, 2, 29)),
        ({"recrawl": "yes"}, "recrawl", True),
        ({"recrawl": "TRUE"}, "recrawl", True),
        ({"recrawl": "off"}, "recrawl", False),
        ({"recrawl": 1}, "recrawl", True),
        ({"edition": "en"}, "edition_name", "en"),
        ({"base_url": "HTTPS://127.0.0.1:8080/"}, "_mirror", ("https", "127.0.0.1:8080")),
    ],
)
def test_good_spider_arguments_are_read(args: dict[str, Any], attr: str, want: Any) -> None:
    assert getattr(spider_class(OUTLET)(**args), attr) == want


# ---------------------------------------------------------------------------------- spider, in-process


def test_discovery_strips_credentials_and_requests_each_article_once(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, base_url="http://127.0.0.1:8080") as unit:
        feed = rss([f"https://user:{SECRET}@WWW.brecorder.com{A}", "http://brecorder.com" + A, f"http://user:{SECRET}@brecorder.com{B}"])
        out = list(unit.spider.parse_feed(source_response("http://127.0.0.1:8080/feeds/latest-news", feed)))
        assert [(r.url, r.meta["article"]["url"]) for r in out] == [
            ("http://127.0.0.1:8080" + A, LIVE + A),
            ("http://127.0.0.1:8080" + B, LIVE + B),
        ]
        spider = unit.spider
        assert spider.to_live(f"http://user:{SECRET}@127.0.0.1:8080{C}") == LIVE + C
        assert spider.to_fetch(f"https://user:{SECRET}@offsite.example/x#y") == "https://offsite.example/x"


def test_an_over_long_url_yields_an_error_item_from_discovery(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, settings={"URLLENGTH_LIMIT": 100}) as unit:
        long_url = LIVE + "/news/40470001/" + "a" * 100
        out = list(unit.spider.parse_feed(source_response(LIVE + "/feeds/latest-news", rss([long_url, LIVE + B]))))
        assert isinstance(out[0], Article) and out[0].status == "error" and out[0].url == long_url
        assert "URLLENGTH_LIMIT (100)" in out[0].reason and out[0].warc is None
        assert isinstance(out[1], Request) and out[1].meta["article"]["url"] == LIVE + B
        assert unit.stats["articles/url_too_long"] == 1 and unit.stats["articles/scheduled"] == 1


def _index(n: int) -> str:
    return f'<sitemapindex xmlns="{URLSET_NS}">' + "".join(f"<sitemap><loc>{LIVE}/sitemaps/c{i}.xml</loc></sitemap>" for i in range(n)) + "</sitemapindex>"


def test_sitemap_children_are_requested_a_few_at_a_time_and_dropped_once_max_articles_is_spent(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, max_articles="3") as unit:
        spider = unit.spider
        first = list(spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", _index(50))))
        assert [r.url for r in first] == [f"{LIVE}/sitemaps/c{i}.xml" for i in range(SITEMAP_WINDOW)]
        assert all(r.callback == spider.parse_sitemap and r.errback == spider.source_failed for r in first)
        # a child read passes its turn on to the next queued one
        out = list(spider.parse_sitemap(source_response(first[0].url, urlset([LIVE + article_id(10), LIVE + article_id(11)]))))
        assert [type(r) for r in out] == [Request, Request, Request]
        assert out[-1].callback == spider.parse_sitemap and out[-1].url == f"{LIVE}/sitemaps/c{SITEMAP_WINDOW}.xml"
        # the third article spends the budget: no further sitemap is requested, the queue is dropped
        out = list(spider.parse_sitemap(source_response(first[1].url, urlset([LIVE + article_id(12), LIVE + article_id(13)]))))
        assert [r.meta["article"]["url"] for r in out] == [LIVE + article_id(12)]
        assert not spider._sitemap_queue
        # sitemaps already requested are not read
        assert list(spider.parse_sitemap(source_response(first[2].url, urlset([LIVE + article_id(14)])))) == []
        assert unit.stats["discovery/sitemaps_over_max_articles"] >= 50 - SITEMAP_WINDOW - 1


def test_idle_spider_requests_the_next_queued_sitemaps_when_the_ones_in_flight_failed(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, max_articles="2") as unit:
        spider = unit.spider
        first = list(spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", _index(10))))
        assert len(first) == SITEMAP_WINDOW
        crawled: list[Request] = []
        unit.crawler.engine = SimpleNamespace(crawl=crawled.append)  # type: ignore[assignment]
        try:
            with pytest.raises(DontCloseSpider):  # every child in flight failed: the crawl went idle
                _refill_sitemaps_when_idle(spider)
            assert [r.url for r in crawled] == [f"{LIVE}/sitemaps/c{i}.xml" for i in range(SITEMAP_WINDOW, 2 * SITEMAP_WINDOW)]
            spider._requested = 2  # the budget is spent: nothing more, the spider may close
            _refill_sitemaps_when_idle(spider)
            assert len(crawled) == SITEMAP_WINDOW and not spider._sitemap_queue
        finally:
            unit.crawler.engine = None


def test_without_max_articles_an_index_yields_all_its_children_at_once(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path) as unit:
        out = list(unit.spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", _index(10))))
        assert len(out) == 10 and not unit.spider._sitemap_queue


def test_billion_laughs_sitemap_in_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = billion_laughs([LIVE + A], LIVE + C, [LIVE + D])
    with unit_crawler(OUTLET, tmp_path) as unit, caplog.at_level(logging.WARNING, logger="crawler.spiders.outlet"):
        out = list(unit.spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", body)))
        assert [r.meta["article"]["url"] for r in out] == [LIVE + A, LIVE + D]
        assert unit.stats["discovery/sitemaps_rejected"] == 1
    [record] = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert record.levelno == logging.WARNING and LIVE + "/sitemap.xml" in record.getMessage() and "ERR_RESOURCE_LIMIT" in record.getMessage()


def test_a_sitemap_cut_short_is_logged_and_its_complete_entries_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = urlset([LIVE + A, LIVE + B, LIVE + article_id(1234)])[:-len("234/hostile-case-1234</loc></url></urlset>")]
    with unit_crawler(OUTLET, tmp_path) as unit, caplog.at_level(logging.WARNING, logger="crawler.spiders.outlet"):
        out = list(unit.spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", body)))
        assert [r.meta["article"]["url"] for r in out] == [LIVE + A, LIVE + B], "the URL cut short is not requested"
        assert unit.stats["discovery/sitemaps_rejected"] == 1
    assert any("rejected" in r.getMessage() and "Premature end" in r.getMessage() for r in caplog.records)


def test_xxe_sitemap_in_process(tmp_path: Path) -> None:
    secret = f"XXE-{uuid.uuid4().hex}"
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    body = xxe(tmp_path / "secret.txt", [LIVE + A], LIVE + "/news/40470002/")
    with unit_crawler(OUTLET, tmp_path) as unit:
        out = list(unit.spider.parse_sitemap(source_response(LIVE + "/sitemap.xml", body)))
        assert [(r.meta["article"]["url"], r.meta["article"]["published_hint"]) for r in out] == [(LIVE + A, None)]
        assert unit.stats["discovery/sitemap_entries_rejected"] == 1
        assert all(secret not in repr(r.meta) and secret not in r.url for r in out)


def test_a_source_redirect_with_credentials_is_fetched_without_them(tmp_path: Path) -> None:
    """Feeds and sitemaps are redirected by Scrapy's RedirectMiddleware: the credentials of its
    Location must never be sent, archived (WARC-Target-URI) or logged."""
    from tests.hostile import FEED, HostileServer, article_html, article_id, brecorder_site, page, redirect, rss

    secret = "sEcReT-9f3"
    a = article_id(7)
    routes = brecorder_site({a: page(article_html("Redirected feed's story"))}, listed=[],
                            extra={FEED: lambda req: redirect(f"http://user:{secret}@{req.headers['Host']}/feeds/moved")(req),
                                   "/feeds/moved": page(rss([a]), content_type="application/rss+xml")})
    with HostileServer(routes) as server:
        result = run_crawl("brecorder", server, str(tmp_path / "archive"), tmp_path / "spool", {"LOG_LEVEL": "DEBUG"})
    assert result.returncode == 0, result.log[-2000:]
    assert server.hits["/feeds/moved"] == 1 and server.hits[a] == 1
    assert not any("authorization" in s.headers for s in server.seen), "no Basic auth sent"
    assert secret not in result.log
    for path in (tmp_path / "archive").rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            assert secret.encode() not in path.read_bytes(), path
    from pipelines.reader import completed_runs
    from pipelines.storage import open_store
    from pipelines.warc import iter_records

    store = open_store(str(tmp_path / "archive"))
    [prefix] = completed_runs(store)
    for key in store.list_keys(prefix + "/warc/"):
        for rec in iter_records(store.get_bytes(key) or b""):
            assert secret not in rec.target_uri
            if rec.rec_type == "request":
                assert not any(k.lower() == "authorization" for k, _ in rec.headers)
