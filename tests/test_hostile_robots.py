"""robots.txt honoured from the first request (crawler/robots.py, RFC 9309), played on loopback.

Each case is a Business Recorder look-alike (``tests/hostile.py``) crawled by the real ``brecorder``
spider; the test reads the archive as a downstream reader does and asserts what the server saw.
The spider's start requests (3 feeds, the sitemap, 2 section pages) are all queued at once and
wait for the host's robots.txt: none of them may go out before it is answered, and each gets the
real verdict. A 5xx or unreachable robots.txt disallows the host for the run; 4xx allows all.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError, DownloadTimeoutError

from crawler.robots import ALLOW_ALL, DISALLOW_ALL, RULES, RobotsForbidden, RobotsPolicyMiddleware, policy_of_status
from pipelines import warc
from pipelines.reader import completed_runs
from pipelines.storage import open_store
from tests.conftest import CrawlResult, free_port, run_crawl
from tests.hostile import LIVE, HostileServer, Request as HostileRequest, article_html, article_id, brecorder_site, page, redirect, send, silence, status
from tests.test_crawl import assert_archive_sound, only_run, run_files
from tests.units import fake_response, unit_crawler

OUTLET = "brecorder"
#: the spider's start requests of the brecorder edition (pipelines/outlets/brecorder.py)
SOURCES = ["/feeds/latest-news/", "/feeds/sitemap", "/latest-news"]

#: the first group of news.google.com's robots.txt (scrapy/protego @ 81f1b35 tests/test_data/,
#: copied to /work/shared/fixtures/robots/news.google.com.robots.txt): everything disallowed
DISALLOW_ALL_ROBOTS = "User-agent: *\nDisallow: /\n"

#: news.google.com's robots.txt (same provenance), whole: everything disallowed but its listing
#: pages; one listing prefix mapped to Business Recorder's feeds (``Allow: /topics/`` ->
#: ``Allow: /feeds/``), so the feeds can be read and the articles they list cannot
LISTINGS_ONLY_ROBOTS = """User-agent: *
Disallow: /
Allow: /$
Allow: /?
Allow: /nwshp$
Allow: /news$
Allow: /news/$
Allow: /news/?gl=
Allow: /news/?hl=
Allow: /news/?ned=
Allow: /about$
Allow: /about?
Allow: /about/
Allow: /feeds/
Allow: /publications/
Allow: /stories/
Allow: /search?
Allow: /swg/
"""

#: www.nytimes.com's robots.txt (scrapy/protego @ 81f1b35 tests/test_data/, copied to
#: /work/shared/fixtures/robots/www.nytimes.com.robots.txt), with two lines mapped to Business
#: Recorder's shapes: its one disallowed article (``/1996/06/17/nyregion/guest-at-...html``) is
#: article 2, and its "``/svc`` disallowed but one RSS feed under it allowed" is ``/feeds``
#: disallowed but ``/feeds/latest-news`` allowed (the sitemap ``/feeds/sitemap`` is forbidden)
NYTIMES_ROBOTS = f"""User-agent: *
Allow: /ads/public/
Allow: /feeds/latest-news
Disallow: /ads/
Disallow: /adx/bin/
Disallow: /puzzles/leaderboards/invite/*
Disallow: /register
Disallow: /feeds
Disallow: /video/embedded/*
Disallow: {article_id(2)}
Disallow: /search/
Disallow: /*?*query=
Disallow: /*.pdf$
Disallow: /*?*utm_source=
Disallow: /*?*login=
Disallow: /*?*searchResultPosition=

User-Agent: omgilibot
Disallow: /

User-Agent: omgili
Disallow: /

Sitemap: https://www.nytimes.com/sitemaps/www.nytimes.com/sitemap.xml.gz
Sitemap: https://www.nytimes.com/sitemaps/sitemap_news/sitemap.xml.gz
Sitemap: https://www.nytimes.com/sitemaps/sitemap_video/sitemap.xml.gz
Sitemap: https://www.nytimes.com/sitemaps/www.nytimes.com_realestate/sitemap.xml.gz
Sitemap: https://www.nytimes.com/sitemaps/www.nytimes.com/2016_election_sitemap.xml.gz
Sitemap: https://www.nytimes.com/elections/2018/sitemap
"""


def plain(body: str) -> Any:
    return page(body, content_type="text/plain")


def articles(n: int) -> dict[str, Any]:
    return {article_id(i): page(article_html(f"Robots case {i}", base=None)) for i in range(n)}


def live(path: str) -> str:
    return LIVE + path


def netloc(server: HostileServer) -> str:
    return urlsplit(server.base_url).netloc


def sitemap(paths: list[str]) -> Any:
    urls = "".join(f"<url><loc>{live(p)}</loc></url>" for p in paths)
    return page(f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                content_type="application/xml")


def section(paths: list[str]) -> Any:
    links = "".join(f'<li><a href="{p}">story</a></li>' for p in paths)
    return page(f"<!doctype html><html><body><ul>{links}</ul></body></html>")


def hang_up(req: HostileRequest) -> None:
    """Read the request and close the connection without a word (a dying or filtering front end)."""
    req.close_connection = True


class Crawl:
    """One crawl of a hostile server into a fresh archive, read back as a downstream reader does."""

    def __init__(self, tmp_path: Path, server: HostileServer, settings: dict[str, Any] | None = None, name: str = "a") -> None:
        self.archive = str(tmp_path / "archive")
        self.result: CrawlResult = run_crawl(OUTLET, server, self.archive, tmp_path / f"spool-{name}", settings)
        self.store = open_store(self.archive)

    def run(self, prefix: str | None = None) -> dict[str, Any]:
        return run_files(self.store, prefix or only_run(self.store))

    @property
    def log(self) -> str:
        return self.result.log[-4000:]


def robots_statuses(run: dict[str, Any], path: str = "/robots.txt") -> list[int]:
    """Statuses of the archived responses of ``path`` (the WARC capture records every exchange)."""
    return [r.status for data in run["warcs"].values() for r in warc.iter_records(data)
            if r.rec_type == "response" and urlsplit(r.target_uri).path == path]


# ---------------------------------------------------------------------------------- end to end


def test_disallow_all_robots_txt_lets_none_of_the_concurrent_start_requests_out(tmp_path: Path) -> None:
    with HostileServer(brecorder_site(articles(3), robots=plain(DISALLOW_ALL_ROBOTS))) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert paths == ["/robots.txt"], paths
    # not one source could be read: the run "failed" (exit 1, pipelines/crawljob.py)
    assert crawl.result.returncode == 1, crawl.log
    assert "no source of brecorder (feeds, sitemaps, sections) could be read" in crawl.result.log
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    assert run["rows"] == {} and run["texts"] == {}  # nothing was listed, nothing is called done
    stats = run["summary"]["scrapy_stats"]
    assert stats[f"robotstxt/policy/{netloc(server)}"] == "rules (HTTP 200)"
    assert stats["robotstxt/forbidden"] == len(SOURCES)
    assert stats["discovery/sources_failed"] == len(SOURCES)
    assert stats["downloader/request_count"] == 1
    assert "failed: forbidden by robots.txt" in crawl.result.log
    assert robots_statuses(run) == [200], "the robots.txt exchange is archived"


def test_articles_forbidden_by_robots_get_error_rows_and_a_later_run_fetches_them(tmp_path: Path) -> None:
    arts = articles(3)
    with HostileServer(brecorder_site(arts, robots=plain(LISTINGS_ONLY_ROBOTS))) as server:
        first = Crawl(tmp_path, server, name="1")
        first_paths = server.paths()
        server.routes["/robots.txt"] = plain("User-agent: *\nDisallow: /search/\n")  # robots.txt changed
        second = Crawl(tmp_path, server, name="2")
        second_paths = server.paths()[len(first_paths):]
    # the feed and the sitemap (a 404) under /feeds/ are allowed, the section and every article are not
    assert sorted(first_paths) == sorted(["/robots.txt", "/feeds/latest-news/", "/feeds/sitemap"]), first_paths
    assert first.result.returncode == 0, first.log  # a source was read; the articles have error rows
    assert_archive_sound(first.store, tmp_path)
    prefixes = completed_runs(first.store)
    assert len(prefixes) == 2, prefixes
    run1, run2 = first.run(prefixes[0]), first.run(prefixes[1])
    assert set(run1["rows"]) == {live(p) for p in arts}, "every listed article has its row"
    for row in run1["rows"].values():
        assert row["status"] == "error" and row["reason"] == "forbidden by robots.txt", row
        assert row["http_status"] is None and row["warc_key"] is None and row["text_key"] is None
    assert run1["texts"] == {}
    assert run1["summary"]["counts"] == {"error": 3}
    assert run1["summary"]["scrapy_stats"]["robotstxt/forbidden"] == 1 + 3  # the section, 3 articles
    # error rows are retried: once robots.txt allows them, the next run fetches and writes them
    assert second.result.returncode == 0, second.log
    assert sorted(p for p in second_paths if p.startswith("/news/")) == sorted(arts)
    assert {u: r["status"] for u, r in run2["rows"].items()} == {live(p): "written" for p in arts}
    assert len(run2["texts"]) == 3


def test_robots_txt_answering_500_disallows_the_host_after_the_retries(tmp_path: Path) -> None:
    with HostileServer(brecorder_site(articles(3), robots=status(500))) as server:
        crawl = Crawl(tmp_path, server, {"RETRY_TIMES": 3})
        paths = server.paths()
    assert paths == ["/robots.txt"] * 4, paths  # the first try and 3 retries, nothing else
    assert crawl.result.returncode == 1, crawl.log
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    assert run["rows"] == {} and run["texts"] == {}
    stats = run["summary"]["scrapy_stats"]
    assert stats[f"robotstxt/policy/{netloc(server)}"] == "disallow_all (HTTP 500)"
    assert stats["robotstxt/forbidden"] == len(SOURCES)
    assert robots_statuses(run) == [500] * 4, "every try of robots.txt is archived"
    assert f"WARNING: robots.txt of {netloc(server)}: disallow_all (HTTP 500)" in crawl.result.log
    assert "failed: forbidden by robots.txt: disallow_all (HTTP 500)" in crawl.result.log


@pytest.mark.parametrize("how", ["hangs up", "silent past DOWNLOAD_TIMEOUT", "connection refused"])
def test_unreachable_robots_txt_disallows_the_host(how: str, tmp_path: Path) -> None:
    robots = {"hangs up": hang_up, "silent past DOWNLOAD_TIMEOUT": silence(30)}.get(how, plain("User-agent: *\nAllow: /\n"))
    settings = {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 1}
    with HostileServer(brecorder_site(articles(3), robots=robots)) as server:
        if how == "connection refused":  # the crawl goes to a port where nothing listens

            class Gone:
                base_url = f"http://127.0.0.1:{free_port()}"

            target: Any = Gone()
        else:
            target = server
        crawl = Crawl(tmp_path, target, settings)
        paths = server.paths()
    host = urlsplit(target.base_url).netloc
    assert paths == ([] if target is not server else ["/robots.txt"] * 2), paths  # robots.txt and its retry only
    assert crawl.result.returncode == 1, crawl.log
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    assert run["rows"] == {} and run["texts"] == {}
    stats = run["summary"]["scrapy_stats"]
    # Scrapy's download errors (scrapy.exceptions), after the retry
    exc = {"hangs up": "DownloadFailedError", "silent past DOWNLOAD_TIMEOUT": "DownloadTimeoutError"}.get(how, "DownloadConnectionRefusedError")
    assert stats[f"robotstxt/policy/{host}"] == f"disallow_all (unreachable: {exc})"
    assert stats["downloader/request_count"] == 2, "only robots.txt and its retry went out"
    assert stats["robotstxt/forbidden"] == len(SOURCES)
    assert f"WARNING: robots.txt of {host}: disallow_all (unreachable: {exc})" in crawl.result.log


@pytest.mark.parametrize("code", [404, 403])
def test_robots_txt_answering_4xx_allows_everything(code: int, tmp_path: Path) -> None:
    # the 4xx body is not read as robots.txt, even when it looks like one
    robots = None if code == 404 else (lambda req: send(req, 403, DISALLOW_ALL_ROBOTS.encode(), "text/plain"))
    arts = articles(3)
    routes = brecorder_site(arts, robots=robots)
    if code == 404:
        del routes["/robots.txt"]  # the hostile server's own 404 page
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert paths[0] == "/robots.txt"
    assert set(arts) <= set(paths) and set(SOURCES) <= set(paths)
    assert crawl.result.returncode == 0, crawl.log
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    assert {u: r["status"] for u, r in run["rows"].items()} == {live(p): "written" for p in arts}
    assert len(run["texts"]) == 3
    stats = run["summary"]["scrapy_stats"]
    assert stats[f"robotstxt/policy/{netloc(server)}"] == f"allow_all (HTTP {code})"
    assert "robotstxt/forbidden" not in stats
    assert f"INFO: robots.txt of {netloc(server)}: allow_all (HTTP {code})" in crawl.result.log


class SlowRobots:
    """robots.txt answered after ``delay`` seconds; remembers when the answer was sent."""

    def __init__(self, body: str, delay: float) -> None:
        self.body = body.encode()
        self.delay = delay
        self.sent_at: list[float] = []

    def __call__(self, req: HostileRequest) -> None:
        time.sleep(self.delay)
        self.sent_at.append(time.monotonic())  # before the first byte: no answer can precede it
        send(req, 200, self.body, "text/plain")


def test_rules_of_a_slow_robots_txt_apply_to_every_queued_start_request(tmp_path: Path) -> None:
    arts = articles(4)
    robots = SlowRobots(NYTIMES_ROBOTS, delay=1.0)
    listed = list(arts)
    extra = {"/feeds/sitemap": sitemap(listed), "/latest-news": section(listed)}
    with HostileServer(brecorder_site(arts, robots=robots, extra=extra)) as server:
        crawl = Crawl(tmp_path, server)
        seen = list(server.seen)
    paths = [s.path for s in seen]
    assert paths[0] == "/robots.txt" and server.hits["/robots.txt"] == 1, paths
    assert len(robots.sent_at) == 1
    early = [(s.path, robots.sent_at[0] - s.at) for s in seen[1:] if s.at <= robots.sent_at[0]]
    assert early == [], f"requested before robots.txt was answered: {early}"
    forbidden = ["/feeds/sitemap", article_id(2)]
    assert not set(forbidden) & set(paths), paths
    assert sorted(paths[1:]) == sorted(["/feeds/latest-news/", "/latest-news",
                                        *(p for p in arts if p != article_id(2))])
    assert crawl.result.returncode == 0, crawl.log
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    statuses = {u: (r["status"], r["reason"]) for u, r in run["rows"].items()}
    assert statuses == {live(p): ("error", "forbidden by robots.txt") if p == article_id(2) else ("written", None) for p in arts}
    assert len(run["texts"]) == 3
    stats = run["summary"]["scrapy_stats"]
    assert stats[f"robotstxt/policy/{netloc(server)}"] == "rules (HTTP 200)"
    assert stats["robotstxt/forbidden"] == len(forbidden)


@pytest.mark.parametrize("hops", [2, 6])
def test_a_redirected_robots_txt_is_followed_up_to_five_redirects(hops: int, tmp_path: Path) -> None:
    # RFC 9309 2.3.1.2: follow at least five redirects; after more, robots.txt is "unavailable" (allow all)
    arts = articles(3)
    chain = ["/robots.txt", *(f"/robots-moved-{i}.txt" for i in range(1, hops + 1))]
    extra: dict[str, Any] = {chain[i]: redirect(chain[i + 1], 301 if i % 2 else 302) for i in range(hops)}
    extra[chain[-1]] = plain(f"User-agent: *\nDisallow: {article_id(1)}\n")
    with HostileServer(brecorder_site(arts, extra=extra)) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert crawl.result.returncode == 0, crawl.log
    run = crawl.run()
    stats = run["summary"]["scrapy_stats"]
    if hops <= 5:
        assert paths[:len(chain)] == chain, paths
        assert article_id(1) not in paths
        assert stats[f"robotstxt/policy/{netloc(server)}"] == "rules (HTTP 200)"
        assert run["rows"][live(article_id(1))]["reason"] == "forbidden by robots.txt"
        assert robots_statuses(run, chain[-1]) == [200]
    else:
        assert paths[:6] == chain[:6] and chain[-1] not in paths, paths
        assert article_id(1) in paths
        assert stats[f"robotstxt/policy/{netloc(server)}"] == "allow_all (unavailable: max redirections reached)"
    redirected = chain[:hops] if hops <= 5 else chain[:6]  # 5 redirects followed, the 6th not
    assert [robots_statuses(run, p) for p in redirected] == [[302 if i % 2 == 0 else 301] for i in range(len(redirected))]
    assert_archive_sound(crawl.store, tmp_path)


def test_a_10_mb_robots_txt_is_read_to_its_end(tmp_path: Path) -> None:
    # far past the 500 KiB RFC 9309 asks a crawler to read at least: the rule is in the last line
    pad = "".join(f"# generated comment line {i:08d} of a robots.txt that grew without bound\n" for i in range(150_000))
    body = pad + "User-agent: *\nDisallow: " + article_id(1) + "\n"
    assert len(body) > 10_000_000
    arts = articles(3)
    with HostileServer(brecorder_site(arts, robots=plain(body))) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert crawl.result.returncode == 0, crawl.log
    assert article_id(1) not in paths and article_id(0) in paths
    run = crawl.run()
    assert run["rows"][live(article_id(1))]["reason"] == "forbidden by robots.txt"
    assert run["summary"]["scrapy_stats"][f"robotstxt/policy/{netloc(server)}"] == "rules (HTTP 200)"


# ---------------------------------------------------------------------------------- in process


class FakeEngine:
    """``crawler.engine`` for the middleware alone: robots.txt downloads wait until the test answers."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[asyncio.Future[Any]] = []

    async def download_async(self, request: Request) -> Any:
        self.requests.append(request)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        return await answer


BASE = "http://127.0.0.1:8080"


def answer_robots(engine: FakeEngine, outcome: Any) -> None:
    """Answer the pending robots.txt download with (status, body), or raise ``outcome``."""
    if isinstance(outcome, BaseException):
        engine.answers[-1].set_exception(outcome)
    else:
        code, body = outcome
        engine.answers[-1].set_result(fake_response(engine.requests[-1], body, {"Content-Type": "text/plain"}, status=code))


async def concurrent_verdicts(mw: RobotsPolicyMiddleware, engine: FakeEngine, outcome: Any, n: int = 6) -> list[Any]:
    """``n`` requests of one host arrive while its robots.txt is being fetched; then it is answered."""
    tasks = [asyncio.ensure_future(mw.process_request(Request(f"{BASE}/source-{i}"))) for i in range(n)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(engine.requests) == 1, "one robots.txt download for the host"
    assert not any(t.done() for t in tasks), "no request decided before robots.txt is in"
    answer_robots(engine, outcome)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    later = await asyncio.gather(mw.process_request(Request(f"{BASE}/later")), return_exceptions=True)
    assert len(engine.requests) == 1, "the policy holds for the run"
    return [*results, *later]


@pytest.mark.parametrize(
    ("outcome", "policy", "allowed"),
    [
        ((200, b"User-agent: *\nDisallow: /\n"), "rules (HTTP 200)", False),
        ((200, b"User-agent: *\nDisallow: /private/\n"), "rules (HTTP 200)", True),
        ((500, b"User-agent: *\nAllow: /\n"), "disallow_all (HTTP 500)", False),
        ((503, b""), "disallow_all (HTTP 503)", False),
        ((429, b""), "disallow_all (HTTP 429)", False),
        ((404, b"User-agent: *\nDisallow: /\n"), "allow_all (HTTP 404)", True),
        ((410, b""), "allow_all (HTTP 410)", True),
        (DownloadConnectionRefusedError("refused"), "disallow_all (unreachable: DownloadConnectionRefusedError)", False),
        (DownloadFailedError("connection lost"), "disallow_all (unreachable: DownloadFailedError)", False),
        (DownloadTimeoutError("took longer than 2 s"), "disallow_all (unreachable: DownloadTimeoutError)", False),
    ],
    ids=["disallow-all", "rules-allow", "500", "503", "429", "404", "410", "refused", "hung-up", "timeout"],
)
def test_every_request_waiting_for_robots_txt_gets_the_hosts_policy(outcome: Any, policy: str, allowed: bool, tmp_path: Path) -> None:
    # Scrapy 2.19's RobotsTxtMiddleware hands the parser to the first waiter only (the others get
    # None: allowed), and reads a 5xx or 404 body as rules; an unreachable robots.txt allows all
    with unit_crawler(OUTLET, tmp_path) as unit:
        engine = FakeEngine()
        unit.crawler.engine = engine  # type: ignore[assignment]
        mw = RobotsPolicyMiddleware.from_crawler(unit.crawler)
        results = asyncio.run(concurrent_verdicts(mw, engine, outcome))
        stats = unit.stats
    assert engine.requests[0].url == f"{BASE}/robots.txt" and engine.requests[0].meta["dont_obey_robotstxt"]
    if allowed:
        assert results == [None] * 7
    else:
        assert all(isinstance(r, RobotsForbidden) for r in results), results
        assert {str(r) for r in results} == {"forbidden by robots.txt" + ("" if policy.startswith(RULES) else f": {policy}")}
        assert stats["robotstxt/forbidden"] == 7
    assert stats["robotstxt/policy/127.0.0.1:8080"] == policy
    assert stats["robotstxt/request_count"] == 1


@pytest.mark.parametrize(
    ("code", "kind"),
    [(200, RULES), (206, RULES), (301, ALLOW_ALL), (400, ALLOW_ALL), (401, ALLOW_ALL), (403, ALLOW_ALL), (404, ALLOW_ALL),
     (429, DISALLOW_ALL), (500, DISALLOW_ALL), (502, DISALLOW_ALL), (599, DISALLOW_ALL), (100, DISALLOW_ALL), (999, DISALLOW_ALL)],
)
def test_robots_txt_status_decides_the_policy_as_rfc_9309_says(code: int, kind: str) -> None:
    assert policy_of_status(code)[0] == kind
