"""Spider discovery in-process: feeds, sitemaps and section pages through the spider's callbacks.

Fast unit tests beside the end-to-end crawls of test_crawl.py: every outlet of the registry gets
its fixture site's sources (``tests/sites/<outlet>/``) as fake Scrapy responses, at the live URLs
(``outlet.base_url + path``, no mirror), and the article requests the callbacks yield are checked
against the fixture's ``expected.json``. Run policies (``since``, ``max_articles``, ``recrawl``),
feed formats and broken sources are checked with small inline documents.
"""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from scrapy import Request

from crawler.spiders.outlet import REDIRECTS, OutletSpider
from pipelines.layout import state_key
from pipelines.outlets import Outlet, all_outlets
from pipelines.storage import open_store
from tests.units import FixtureSite, Unit, source_response, unit_crawler

OUTLETS = sorted(all_outlets())
MIRROR = "http://127.0.0.1:8080"


# ---------------------------------------------------------------------------------- helpers


def outlet_of(name: str) -> Outlet:
    return all_outlets()[name]


def live_base(outlet: Outlet) -> str:
    """The live base URL of the outlet's default edition (what a crawl without base_url requests)."""
    return outlet.edition().base_url or outlet.base_url


def article_urls(name: str, n: int) -> list[str]:
    """``n`` article URLs of the outlet's default edition, taken from its fixture's expected.json."""
    urls = sorted(u for u in FixtureSite(name).expected["articles"] if outlet_of(name).is_article_url(u))
    assert len(urls) >= n, f"{name}: expected.json has fewer than {n} article URLs"
    return urls[:n]


def day_of(value: str | None) -> date | None:
    """The calendar day of an ISO 8601 or RFC 822 date (independent of the spider's parser)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return parsedate_to_datetime(value).date()


def requests_of(results: Any) -> list[Request]:
    out = list(results)
    assert all(isinstance(r, Request) for r in out), out
    return out


def hints(requests: list[Request]) -> list[tuple[str, str | None]]:
    return [(r.meta["article"]["url"], r.meta["article"]["published_hint"]) for r in requests]


def assert_article_request(spider: OutletSpider, request: Request, url: str, source: str) -> None:
    info = request.meta["article"]
    assert request.callback == spider.parse_article and request.errback == spider.article_failed
    assert request.url == spider.to_fetch(url)
    assert info["url"] == url and info["source"] == source and info["redirects"] == 0
    assert set(info) >= {"url", "published_hint", "source"}
    assert request.meta["dont_redirect"] is True
    assert set(REDIRECTS) <= set(request.meta["handle_httpstatus_list"])


def rss(items: list[tuple[str, str | None]], base: str) -> str:
    body = "".join(
        f"<item><title>t{i}</title><link>{link}</link>{f'<pubDate>{d}</pubDate>' if d else ''}</item>"
        for i, (link, d) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><link>{base}/</link>{body}</channel></rss>'


def urlset(entries: list[tuple[str, str | None]]) -> str:
    body = "".join(f"<url><loc>{loc}</loc>{f'<lastmod>{d}</lastmod>' if d else ''}</url>" for loc, d in entries)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'


@dataclass
class Walk:
    """What discovery requested from one fixture site: article requests, sources read, child sitemaps."""

    articles: list[Request] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    children: list[Request] = field(default_factory=list)


def walk(unit: Unit, site: FixtureSite, sources: list[Request]) -> Walk:
    """Feed each source request its fixture response, depth first: a sitemap index's children are
    read right after it (they carry the sitemap priority, above the section pages)."""
    spider, seen = unit.spider, Walk()

    def visit(request: Request) -> None:
        seen.sources.append(request.url)
        for out in requests_of(request.callback(site.response(request))):
            if out.callback == spider.parse_sitemap:
                seen.children.append(out)
                visit(out)
            else:
                seen.articles.append(out)

    for request in sources:
        visit(request)
    return seen


def start_requests(unit: Unit) -> list[Request]:
    """``spider.start()``: opens the archive (ArchiveExtension.opened) and yields the sources."""

    async def collect() -> list[Any]:
        return [r async for r in unit.spider.start()]

    return requests_of(asyncio.run(collect()))


def listed_in(text: str, url: str) -> bool:
    """``url`` is a link of a feed, sitemap or page text (<link>/<loc> content or an href, absolute or by path)."""
    path = FixtureSite.route_key(url)
    return any(s in text for s in (f">{url}<", f'"{url}"', f'"{path}"'))


# ---------------------------------------------------------------------------------- the fixture sites


@pytest.mark.parametrize("name", OUTLETS)
def test_fixture_sources_yield_exactly_the_expected_article_requests(name: str, tmp_path: Path) -> None:
    """Every source of the default edition, read from the fixture site, yields well-formed article requests for exactly the expected.json articles the sources list, each once, never a never_fetched path."""
    site = FixtureSite(name)
    outlet = outlet_of(name)
    with unit_crawler(name, tmp_path, open_archive=False) as unit:
        spider = unit.spider
        sources = start_requests(unit)
        assert spider._archive is unit.ext.archive, "start() opens the run's archive first"
        ed = spider.edition
        assert [r.url for r in sources] == [live_base(outlet) + p for p in (*ed.feeds, *ed.sitemaps, *ed.sections)]
        seen = walk(unit, site, sources)

        # every request is an article request of the edition
        source_names = {r.meta["source"] for r in (*sources, *seen.children)}
        for request in seen.articles:
            url = request.meta["article"]["url"]
            assert outlet.owns_host(urlsplit(url).hostname or "") and outlet.is_article_url(url, spider.edition_name), url
            assert_article_request(spider, request, url, request.meta["article"]["source"])
            assert request.meta["article"]["source"] in source_names
            if request.meta["article"]["source"].startswith("section:"):
                assert request.meta["article"]["published_hint"] is None
        # a sitemap index only leads to sitemaps of the outlet's own hosts
        for child in seen.children:
            assert outlet.owns_host(urlsplit(child.url).hostname or ""), child.url
            assert child.errback == spider.source_failed and child.meta["source"] == f"sitemap:{urlsplit(child.url).path}"

        # each article once, across all sources
        urls = [r.meta["article"]["url"] for r in seen.articles]
        assert not [u for u, n in Counter(urls).items() if n > 1], "an article URL was requested twice"
        assert unit.stats.get("articles/scheduled") == len(urls)
        assert unit.stats.get("discovery/feeds", 0) == len(ed.feeds)
        assert unit.stats.get("discovery/sitemaps", 0) == len(ed.sitemaps) + len(seen.children)
        assert unit.stats.get("discovery/sections", 0) == len(ed.sections)

    # never_fetched paths are linked from the sources, and none is requested
    source_text = "\n".join(site.text(u) for u in seen.sources)
    requested = {FixtureSite.route_key(r.url) for r in (*seen.articles, *seen.children)}
    for path in site.expected["never_fetched"]:
        assert path in source_text or path.replace("&", "&amp;") in source_text, f"{path} is not linked from any source"
        assert path not in requested, f"{path} must never be fetched"

    # discovered == the expected articles that the sources list; the others are reachable only by
    # following an article's redirect (pravda: /eng/news/2026/11/21/7521260/ -> /eng/articles/...)
    expected = set(site.expected["articles"])
    listed = {u for u in expected if listed_in(source_text, u)}
    redirect_targets = {
        urljoin(u, site.routes[FixtureSite.route_key(u)]["redirect"])
        for u in expected
        if "redirect" in site.routes.get(FixtureSite.route_key(u), {})
    }
    assert expected - listed <= redirect_targets, f"expected articles reachable from no source: {expected - listed - redirect_targets}"
    assert set(urls) == listed

    # the dates the feeds and sitemaps give agree with the article's own date (expected.json)
    for url, hint in hints(seen.articles):
        want = site.expected["articles"][url].get("published")
        if hint and want:
            assert day_of(hint) == date.fromisoformat(want), (url, hint, want)


@pytest.mark.parametrize("name", OUTLETS)
def test_since_drops_the_fixture_articles_dated_before_it(name: str, tmp_path: Path) -> None:
    """With -a since=, the fixture's articles whose feed/sitemap date is older are not requested, also when an undated section lists them later."""
    site = FixtureSite(name)
    old = {u for u, a in site.expected["articles"].items() if a.get("published") and a["published"] < "2026-01-01"}
    assert old, f"{name}: the fixture has no article dated before 2026 to test since= with"
    with unit_crawler(name, tmp_path, open_archive=False) as full:
        walked = walk(full, site, start_requests(full))
        every, full_sources = {u for u, _ in hints(walked.articles)}, walked.sources
    with unit_crawler(name, tmp_path / "since", open_archive=False, since="2026-01-01") as unit:
        seen = walk(unit, site, start_requests(unit))
        got = {u for u, _ in hints(seen.articles)}
        assert got == every - old
        # an old article is dropped where it is listed, unless only a child sitemap dated before since
        # lists it: that child is not even requested (the discovery window, pipelines/window.py)
        read = "\n".join(site.text(u) for u in seen.sources)
        listed_old = {u for u in old & every if listed_in(read, u)}
        assert unit.stats.get("articles/skipped_before_since", 0) == len(listed_old)
        assert len(seen.sources) + unit.stats.get("discovery/sitemaps_outside_window", 0) == len(full_sources)


@pytest.mark.parametrize("name", OUTLETS)
def test_start_requests_each_source_with_its_callback_and_priority_on_the_mirror(name: str, tmp_path: Path) -> None:
    """start() opens the archive, then yields feeds (30), sitemaps (20) and sections (10) with their callbacks and the source_failed errback, at the mirror with base_url."""
    with unit_crawler(name, tmp_path, open_archive=False, base_url=MIRROR) as unit:
        spider = unit.spider
        sources = start_requests(unit)
        assert spider._archive is unit.ext.archive
        ed = spider.edition
        want = [
            *((p, spider.parse_feed, 30, "feed") for p in ed.feeds),
            *((p, spider.parse_sitemap, 20, "sitemap") for p in ed.sitemaps),
            *((p, spider.parse_section, 10, "section") for p in ed.sections),
        ]
        assert len(sources) == len(want)
        for request, (path, callback, priority, kind) in zip(sources, want):
            assert request.url == MIRROR + path
            assert request.callback == callback and request.errback == spider.source_failed
            assert request.priority == priority and request.meta["source"] == f"{kind}:{urlsplit(path).path}"


# ---------------------------------------------------------------------------------- formats


@pytest.mark.parametrize("name", OUTLETS)
def test_rss2_items_are_read_with_their_pubdate(name: str, tmp_path: Path) -> None:
    """RSS 2.0: <link> (absolute or relative to the feed) or a permalink <guid>, with <pubDate>; offsite and non-article links are dropped."""
    a, b, c = article_urls(name, 3)
    base = live_base(outlet_of(name))
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>x</title><link>{base}/</link>
<item><title>a</title><link>{a}</link><guid isPermaLink="false">id-1</guid><pubDate>Tue, 24 Nov 2026 13:56:00 +0200</pubDate></item>
<item><title>b</title><link>{FixtureSite.route_key(b)}</link><dc:date>2026-11-23T08:00:00+05:00</dc:date></item>
<item><title>c</title><guid>{c}</guid><pubDate>Sat, 21 Nov 2026 10:00:00 +0000</pubDate></item>
<item><title>offsite</title><link>https://offsite.example{FixtureSite.route_key(a)}</link></item>
<item><title>home</title><link>{base}/</link></item>
</channel></rss>"""
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_feed(source_response(base + "/feed/rss", feed, "application/rss+xml")))
        assert hints(out) == [
            (a, "Tue, 24 Nov 2026 13:56:00 +0200"),
            (b, "2026-11-23T08:00:00+05:00"),
            (c, "Sat, 21 Nov 2026 10:00:00 +0000"),
        ]
        for request, url in zip(out, (a, b, c)):
            assert_article_request(unit.spider, request, url, "test:/feed/rss")


@pytest.mark.parametrize("name", OUTLETS)
def test_rss1_rdf_items_are_read_with_their_dc_date(name: str, tmp_path: Path) -> None:
    """RSS 1.0 (RDF): items outside <channel>, <link> with <dc:date>."""
    a, b = article_urls(name, 2)
    base = live_base(outlet_of(name))
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/"><title>x</title><link>{base}/</link>
<items><rdf:Seq><rdf:li rdf:resource="{a}"/><rdf:li rdf:resource="{b}"/></rdf:Seq></items></channel>
<item rdf:about="{a}"><title>a</title><link>{a}</link><dc:date>2026-11-24T10:00:00+02:00</dc:date></item>
<item rdf:about="{b}"><title>b</title><link>{b}</link><dc:date>2026-11-22T09:30:00Z</dc:date></item>
</rdf:RDF>"""
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_feed(source_response(base + "/feed/rdf", feed, "application/rdf+xml")))
        assert hints(out) == [(a, "2026-11-24T10:00:00+02:00"), (b, "2026-11-22T09:30:00Z")]


@pytest.mark.parametrize("name", OUTLETS)
def test_atom_entries_are_read_with_their_alternate_link_and_date(name: str, tmp_path: Path) -> None:
    """Atom: the alternate <link href> (rel omitted or "alternate", not "replies"/"enclosure") with <published>."""
    a, b = article_urls(name, 2)
    base = live_base(outlet_of(name))
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><link rel="self" href="{base}/feed/atom/"/>
<entry><title>a</title><link rel="replies" href="{b}#comments"/><link rel="alternate" type="text/html" href="{a}"/>
  <id>{base}/?p=1</id><published>2026-11-24T11:20:00+05:00</published></entry>
<entry><title>b</title><link href="{b}"/><link rel="enclosure" href="{base}/files/b.mp3"/><id>{base}/?p=2</id>
  <published>2026-11-22T09:40:00+05:00</published></entry>
</feed>"""
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_feed(source_response(base + "/feed/atom/", feed, "application/atom+xml")))
        assert hints(out) == [(a, "2026-11-24T11:20:00+05:00"), (b, "2026-11-22T09:40:00+05:00")]


def test_atom_publication_date_is_published_not_updated(tmp_path: Path) -> None:
    """Atom: the publication hint is <published> even when <updated> comes first (WordPress order)."""
    name = OUTLETS[0]
    (a,) = article_urls(name, 1)
    feed = f"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="{a}"/>
<updated>2026-11-24T10:00:00Z</updated><published>2026-11-01T10:00:00Z</published></entry></feed>"""
    with unit_crawler(name, tmp_path, since="2026-11-10") as unit:
        out = requests_of(unit.spider.parse_feed(source_response(live_base(outlet_of(name)) + "/feed/atom/", feed)))
        assert out == [] and unit.stats.get("articles/skipped_before_since") == 1


@pytest.mark.parametrize("name", OUTLETS)
def test_sitemap_index_yields_child_sitemaps_of_the_outlets_own_hosts_only(name: str, tmp_path: Path) -> None:
    """A sitemap index yields parse_sitemap requests for its children on the outlet's hosts (relative locs resolved), none for other hosts."""
    outlet = outlet_of(name)
    base = live_base(outlet)
    other_own = next((d for d in outlet.domains if d != urlsplit(base).hostname), urlsplit(base).hostname)
    index = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemaps/a.xml</loc><lastmod>2026-11-24T00:00:00Z</lastmod></sitemap>
<sitemap><loc>https://{other_own}/sitemaps/b.xml.gz</loc></sitemap>
<sitemap><loc>/sitemaps/c.xml</loc></sitemap>
<sitemap><loc>https://cdn.offsite.example/sitemaps/d.xml</loc></sitemap>
<sitemap><loc>https://evil-{urlsplit(base).hostname}.example/sitemaps/e.xml</loc></sitemap>
</sitemapindex>"""
    with unit_crawler(name, tmp_path) as unit:
        spider = unit.spider
        out = requests_of(spider.parse_sitemap(source_response(base + "/sitemap.xml", index)))
        assert [r.url for r in out] == [f"{base}/sitemaps/a.xml", f"https://{other_own}/sitemaps/b.xml.gz", f"{base}/sitemaps/c.xml"]
        for r in out:
            assert r.callback == spider.parse_sitemap and r.errback == spider.source_failed and r.priority == 20
            assert r.meta["source"] == f"sitemap:{urlsplit(r.url).path}" and "article" not in r.meta
        assert "articles/scheduled" not in unit.stats


@pytest.mark.parametrize("name", OUTLETS)
def test_gzip_urlset_and_its_lastmod_are_read(name: str, tmp_path: Path) -> None:
    """A .gz sitemap body (not Content-Encoding: Scrapy leaves it compressed) is gunzipped; <lastmod> is the hint."""
    a, b = article_urls(name, 2)
    body = gzip.compress(urlset([(a, "2026-11-20T12:00:00+02:00"), (b, None)]).encode(), mtime=0)
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_sitemap(source_response(live_base(outlet_of(name)) + "/s.xml.gz", body, "application/x-gzip")))
        assert hints(out) == [(a, "2026-11-20T12:00:00+02:00"), (b, None)]


def test_news_sitemap_publication_date_is_the_hint(tmp_path: Path) -> None:
    """Google News sitemap: news:publication_date is the hint (also without <lastmod>)."""
    name = OUTLETS[0]
    (a,) = article_urls(name, 1)
    body = f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{a}</loc><news:news><news:publication><news:name>x</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-23T19:20:00+05:00</news:publication_date><news:title>t</news:title></news:news></url></urlset>"""
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_sitemap(source_response(live_base(outlet_of(name)) + "/news.xml", body)))
        assert hints(out) == [(a, "2026-11-23T19:20:00+05:00")]


@pytest.mark.parametrize("name", OUTLETS)
def test_section_page_yields_article_shaped_links_only(name: str, tmp_path: Path) -> None:
    """A section page yields its article links (relative ones resolved, fragments dropped), no date; other links are ignored."""
    a, b = article_urls(name, 2)
    base = live_base(outlet_of(name))
    page = f"""<html><body><a href="{a}#comments">a</a> <a href=" {FixtureSite.route_key(b)} ">b</a>
<a href="{base}/">home</a><a href="https://offsite.example{FixtureSite.route_key(a)}">x</a><a href="mailto:x@example.org">m</a><a>no href</a></body></html>"""
    with unit_crawler(name, tmp_path) as unit:
        out = requests_of(unit.spider.parse_section(source_response(base + "/section/", page, "text/html; charset=utf-8")))
        assert hints(out) == [(a, None), (b, None)]
        # a non-text response (e.g. an image answered at a section URL) yields nothing
        assert requests_of(unit.spider.parse_section(source_response(base + "/section/", b"\x89PNG\r\n", "image/png"))) == []


# ---------------------------------------------------------------------------------- run policies


@pytest.mark.parametrize("name", OUTLETS)
def test_since_drops_items_dated_before_it_and_counts_them(name: str, tmp_path: Path) -> None:
    """-a since=: feed items and sitemap entries dated before the day are dropped (articles/skipped_before_since); that day, later and undated ones are requested."""
    a, b, c, d = article_urls(name, 4)
    base = live_base(outlet_of(name))
    feed = rss([(a, "Fri, 20 Nov 2026 23:59:00 +0000"), (b, "Sat, 21 Nov 2026 00:00:00 +0000"), (c, None)], base)
    with unit_crawler(name, tmp_path, since="2026-11-21") as unit:
        out = requests_of(unit.spider.parse_feed(source_response(base + "/feed/", feed)))
        assert [u for u, _ in hints(out)] == [b, c]
        assert unit.stats.get("articles/skipped_before_since") == 1
        # the dropped URL is settled: a later source listing it undated does not bring it back
        sitemap = urlset([(a, None), (d, "2026-11-20T09:00:00+05:00")])
        assert requests_of(unit.spider.parse_sitemap(source_response(base + "/sitemap.xml", sitemap))) == []
        assert unit.stats.get("articles/skipped_before_since") == 2
        assert unit.stats.get("articles/scheduled") == 2


@pytest.mark.parametrize("recrawl", [None, "1"])
@pytest.mark.parametrize("name", OUTLETS)
def test_an_archived_url_is_not_requested_unless_recrawl(name: str, recrawl: str | None, tmp_path: Path) -> None:
    """A URL in the archive's state (an earlier run's state file) is not requested (articles/already_archived), unless -a recrawl=1."""
    a, b = article_urls(name, 2)
    open_store(str(tmp_path / "archive")).put_bytes(f"{a}\n".encode(), state_key(name, "20261124T000000Z-earlier"))
    args = {"recrawl": recrawl} if recrawl else {}
    with unit_crawler(name, tmp_path, **args) as unit:
        assert unit.ext.archive.is_archived(a) and not unit.ext.archive.is_archived(b)
        out = requests_of(unit.spider.parse_feed(source_response(live_base(outlet_of(name)) + "/feed/", rss([(a, None), (b, None)], ""))))
        if recrawl:
            assert [u for u, _ in hints(out)] == [a, b] and "articles/already_archived" not in unit.stats
        else:
            assert [u for u, _ in hints(out)] == [b] and unit.stats.get("articles/already_archived") == 1


@pytest.mark.parametrize("name", OUTLETS)
def test_max_articles_stops_after_n_requests(name: str, tmp_path: Path) -> None:
    """-a max_articles=N: N article requests, the rest counted as articles/over_max_articles; duplicates do not use up the budget."""
    a, b, c = article_urls(name, 3)
    with unit_crawler(name, tmp_path, max_articles="2") as unit:
        feed = rss([(a, None), (a, None), (b, None), (c, None)], "")
        out = requests_of(unit.spider.parse_feed(source_response(live_base(outlet_of(name)) + "/feed/", feed)))
        assert [u for u, _ in hints(out)] == [a, b]
        assert unit.stats.get("articles/scheduled") == 2 and unit.stats.get("articles/over_max_articles") == 1
    with unit_crawler(name, tmp_path / "unlimited", max_articles="0") as unit:
        assert unit.spider.max_articles is None


# ---------------------------------------------------------------------------------- broken sources


@pytest.mark.parametrize(
    "body",
    [b"", b"Service Unavailable", b'{"items": [{"link": "x"}]}', b"<html><body><p>Just a moment...", b"\x89PNG\r\n\x1a\n\0\0"],
    ids=["empty", "text", "json", "html-challenge", "binary"],
)
def test_a_non_xml_feed_yields_nothing_and_does_not_raise(body: bytes, tmp_path: Path) -> None:
    """A feed URL that answers something else than XML yields no request and raises nothing (it still counts as read)."""
    name = OUTLETS[0]
    with unit_crawler(name, tmp_path) as unit:
        assert requests_of(unit.spider.parse_feed(source_response(live_base(outlet_of(name)) + "/feed/", body, "text/html"))) == []
        assert unit.stats.get("discovery/feeds") == 1


def _gzip_sample() -> bytes:
    return gzip.compress(urlset([("https://example.org/a", None)] * 20).encode(), mtime=0)




@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x1f\x8b" + b"\0" * 40, id="bad-header"),
        pytest.param(b"\x1f\x8b\x09" + _gzip_sample()[3:], id="bad-method"),
        pytest.param(b"\x1f\x8b\x08\x00garbage", id="magic-and-junk"),
        pytest.param(_gzip_sample()[:10] + b"\xff" * 20 + _gzip_sample()[30:], id="corrupt-deflate"),
    ],
)
def test_a_bad_gzip_sitemap_yields_nothing_and_does_not_raise(body: bytes, tmp_path: Path) -> None:
    """A sitemap body with the gzip magic that does not gunzip yields no request and raises nothing."""
    name = OUTLETS[0]
    with unit_crawler(name, tmp_path) as unit:
        assert requests_of(unit.spider.parse_sitemap(source_response(live_base(outlet_of(name)) + "/s.xml.gz", body, "application/x-gzip"))) == []


@pytest.mark.parametrize("body", [b"", b"<html><body>Not Found</body></html>", b"Service Unavailable"], ids=["empty", "html", "text"])
def test_a_non_xml_sitemap_yields_nothing_and_does_not_raise(body: bytes, tmp_path: Path) -> None:
    """A sitemap URL answering HTML, text or nothing yields no request and raises nothing."""
    name = OUTLETS[0]
    with unit_crawler(name, tmp_path) as unit:
        assert requests_of(unit.spider.parse_sitemap(source_response(live_base(outlet_of(name)) + "/sitemap.xml", body, "text/html"))) == []


# ---------------------------------------------------------------------------------- dates and URLs


@pytest.mark.parametrize(
    ("published", "dropped"),
    [
        ("2026-11-20", True),
        ("2026-11-20T23:59:59+05:00", True),
        ("2026-11-21", False),
        ("2026-11-21T00:00:00Z", False),
        ("2027-01-01T08:00:00.000+02:00", False),
        ("Fri, 20 Nov 2026 10:00:00 +0000", True),
        ("Sat, 21 Nov 2026 00:30:00 +0200", False),
        ("Sat, 21 Nov 2026 00:30:00 GMT", False),
        ("Thu, 01 Jan 1970 00:00:00 GMT", True),
        (None, False),
        ("", False),
        ("yesterday", False),
        ("2026-13-45", False),
    ],
)
def test_too_old_reads_iso_and_rfc822_dates(published: str | None, dropped: bool, tmp_path: Path) -> None:
    """spider.too_old(): ISO 8601 and RFC 822 dates before since= give a reason; that day, later, missing or unreadable dates give None."""
    with unit_crawler(OUTLETS[0], tmp_path, open_archive=False, since="2026-11-21") as unit:
        reason = unit.spider.too_old(published)
        if dropped:
            assert reason is not None and reason.endswith("before since=2026-11-21") and reason.startswith("published ")
        else:
            assert reason is None
    if dropped:
        with unit_crawler(OUTLETS[0], tmp_path / "nosince", open_archive=False) as unit:
            assert unit.spider.too_old(published) is None, "without since= nothing is too old"


@pytest.mark.parametrize("name", OUTLETS)
def test_to_fetch_and_to_live_map_between_live_and_mirror_urls(name: str, tmp_path: Path) -> None:
    """With base_url=http://127.0.0.1:8080, outlet URLs are fetched on the mirror and mirror URLs stand for live ones (query kept, fragment dropped); other URLs are left alone."""
    outlet = outlet_of(name)
    base = live_base(outlet)
    live = f"{base}/some/path-12345/?page=2#comments"
    with unit_crawler(name, tmp_path, open_archive=False, base_url=MIRROR + "/") as unit:
        spider = unit.spider
        assert spider.allowed_domains == ["127.0.0.1"]
        assert spider.to_fetch(live) == f"{MIRROR}/some/path-12345/?page=2"
        assert spider.to_live(f"{MIRROR}/some/path-12345/?page=2#x") == f"{base}/some/path-12345/?page=2"
        for domain in outlet.domains:  # every host of the outlet is served by the one mirror
            assert spider.to_fetch(f"https://{domain.upper()}/x") == f"{MIRROR}/x"
        assert spider.to_fetch("https://offsite.example/a?b=1#c") == "https://offsite.example/a?b=1"
        assert spider.to_live("https://offsite.example/a#c") == "https://offsite.example/a"
        assert spider.to_live("http://127.0.0.1:9999/a") == "http://127.0.0.1:9999/a", "another port is not the mirror"
        assert spider.to_live(spider.to_fetch(live)) == live.split("#")[0]
    with unit_crawler(name, tmp_path / "live", open_archive=False) as unit:
        assert unit.spider.to_fetch(live) == live.split("#")[0] and unit.spider.to_live(live) == live.split("#")[0]
        assert unit.spider.allowed_domains == list(outlet.domains)
    with pytest.raises(ValueError, match="base_url"):
        with unit_crawler(name, tmp_path / "bad", open_archive=False, base_url="127.0.0.1:8080"):
            pass


@pytest.mark.parametrize("name", OUTLETS)
def test_mirror_feed_links_become_live_article_urls_fetched_on_the_mirror(name: str, tmp_path: Path) -> None:
    """Crawling the mirror: a feed read from it (absolute live links and relative ones) yields requests to the mirror whose article URL is the live one."""
    a, b = article_urls(name, 2)
    with unit_crawler(name, tmp_path, base_url=MIRROR) as unit:
        feed = rss([(a, None), (FixtureSite.route_key(b), None)], "")
        out = requests_of(unit.spider.parse_feed(source_response(MIRROR + "/feed/", feed)))
        assert [(r.url, r.meta["article"]["url"]) for r in out] == [
            (MIRROR + FixtureSite.route_key(a), a),
            (MIRROR + FixtureSite.route_key(b), b),
        ]
