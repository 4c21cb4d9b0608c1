"""robots.txt as a discovery source: its ``Sitemap:`` lines beside the outlet's declared sitemaps.

crawler/robots.py keeps the ``Sitemap:`` URLs of a robots.txt read as rules in the host's policy and
signals ``robots_resolved``; the outlet spider (crawler/spiders/outlet.py) then requests each one on
a host of the outlet that it does not already declare, as a sitemap source (``discovery/robots_sitemaps``).
End-to-end cases are Business Recorder look-alikes (tests/hostile.py) crawled by the real ``brecorder``
spider through a mirror. The module declares ``/feeds/sitemap`` (what the live robots.txt is reported
to name, issue 12); these robots.txt files name another one, ``/sitemap.xml`` (the module's former path).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from crawler.robots import RobotsPolicy, RobotsPolicyMiddleware, robots_resolved
from tests.hostile import HostileServer, article_id, brecorder_site, send
from tests.test_crawl import assert_archive_sound
from tests.test_hostile_robots import Crawl, FakeEngine, articles, concurrent_verdicts, live, netloc, plain, sitemap
from tests.units import unit_crawler

OUTLET = "brecorder"
DECLARED = "/feeds/sitemap"  # pipelines/outlets/brecorder.py
ROBOTS_SITEMAP = "/sitemap.xml"  # a sitemap robots.txt names and the module does not declare


def robots(*sitemaps: str, rules: str = "User-agent: *\nDisallow: /search\n") -> Any:
    return plain(rules + "\n" + "".join(f"Sitemap: {u}\n" for u in sitemaps))


def test_articles_listed_only_in_a_robots_sitemap_are_crawled_when_the_declared_sitemap_is_gone(tmp_path: Path) -> None:
    arts = articles(8)
    in_feed = [article_id(i) for i in range(2)]
    in_robots_sitemap = [article_id(i) for i in range(2, 6)]
    on_mirror_spelling = [article_id(6), article_id(7)]
    routes = brecorder_site(arts, listed=in_feed, extra={ROBOTS_SITEMAP: sitemap(in_robots_sitemap)})
    assert DECLARED not in routes  # the declared sitemap answers 404
    with HostileServer(routes) as server:
        # the mirror's robots.txt names one sitemap by its live URL, one by the mirror's own URL, one dead one
        server.routes["/robots.txt"] = robots(live(ROBOTS_SITEMAP), f"{server.base_url}/sitemaps/moved.xml", live("/sitemaps/gone.xml"))
        server.routes["/sitemaps/moved.xml"] = sitemap(on_mirror_spelling)
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
        hits = dict(server.hits)
    assert crawl.result.returncode == 0, crawl.log  # a dead robots sitemap is a failed source, not a failed run
    assert paths[0] == "/robots.txt"
    assert hits[ROBOTS_SITEMAP] == 1 and hits["/sitemaps/moved.xml"] == 1 and hits["/sitemaps/gone.xml"] == 1
    assert hits[DECLARED] == 1, "the declared sitemap is still tried"
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    assert {u: r["status"] for u, r in run["rows"].items()} == {live(p): "written" for p in arts}
    assert len(run["texts"]) == len(arts)
    sources = {u: r["source"] for u, r in run["rows"].items()}
    assert {sources[live(p)] for p in in_robots_sitemap} == {f"sitemap:{ROBOTS_SITEMAP}"}
    assert {sources[live(p)] for p in on_mirror_spelling} == {"sitemap:/sitemaps/moved.xml"}
    stats = run["summary"]["scrapy_stats"]
    assert stats["discovery/robots_sitemaps"] == 3
    assert stats["discovery/sitemaps"] == 2  # the two robots sitemaps that answered
    # the declared sitemap, the section and the dead robots sitemap: 404
    assert stats["discovery/sources_failed"] == 3
    assert "robots.txt sitemap https://www.brecorder.com/sitemap.xml is not declared by brecorder; read as a source" in crawl.result.log


def test_a_robots_sitemap_on_a_foreign_host_is_ignored(tmp_path: Path) -> None:
    arts = articles(3)
    foreign = ["https://www.nytimes.com/sitemaps/sitemap_news/sitemap.xml.gz", "https://brecorder.com.example.net/feeds/sitemap",
               "http://127.0.0.2:9/feeds/sitemap"]
    routes = brecorder_site(arts, listed=[article_id(0)], robots=robots(*foreign), extra={ROBOTS_SITEMAP: sitemap(list(arts))})
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert crawl.result.returncode == 0, crawl.log
    assert ROBOTS_SITEMAP not in paths
    run = crawl.run()
    assert {u: r["status"] for u, r in run["rows"].items()} == {live(article_id(0)): "written"}
    stats = run["summary"]["scrapy_stats"]
    assert stats["discovery/robots_sitemaps"] == 0
    assert stats["downloader/request_count"] == len(paths), "nothing was requested from another host"
    assert [k for k in stats if k.startswith("robotstxt/policy/")] == [f"robotstxt/policy/{netloc(server)}"]
    for url in foreign:
        assert f"robots.txt sitemap {url} is not on a host of brecorder; ignored" in crawl.result.log


def test_a_robots_sitemap_equal_to_a_declared_one_is_fetched_once(tmp_path: Path) -> None:
    arts = articles(3)
    spellings = ["http://brecorder.com/feeds/sitemap", "https://WWW.BRECORDER.COM:443/feeds/sitemap", "https://www.brecorder.com/feeds/%73itemap"]
    routes = brecorder_site(arts, listed=[], extra={DECLARED: sitemap(list(arts))})
    with HostileServer(routes) as server:
        server.routes["/robots.txt"] = robots(*spellings, f"{server.base_url}{DECLARED}", DECLARED)
        crawl = Crawl(tmp_path, server)
        hits = dict(server.hits)
    assert crawl.result.returncode == 0, crawl.log
    assert hits[DECLARED] == 1
    run = crawl.run()
    assert {u: r["status"] for u, r in run["rows"].items()} == {live(p): "written" for p in arts}
    stats = run["summary"]["scrapy_stats"]
    assert stats["discovery/robots_sitemaps"] == 0 and stats["discovery/sitemaps"] == 1
    assert "dupefilter/filtered" not in stats, "the spider knew it; the duplicate was not even requested"


def test_an_unreachable_robots_txt_schedules_no_sitemap(tmp_path: Path) -> None:
    # a 503 body that looks like robots.txt is not read: the host is disallowed, nothing new is scheduled
    body = f"User-agent: *\nAllow: /\nSitemap: {live(ROBOTS_SITEMAP)}\n".encode()
    arts = articles(3)
    routes = brecorder_site(arts, robots=lambda req: send(req, 503, body, "text/plain"), extra={ROBOTS_SITEMAP: sitemap(list(arts))})
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server, {"RETRY_TIMES": 0})
        paths = server.paths()
    assert paths == ["/robots.txt"], paths
    assert crawl.result.returncode == 1, crawl.log
    stats = crawl.run()["summary"]["scrapy_stats"]
    assert stats[f"robotstxt/policy/{netloc(server)}"] == "disallow_all (HTTP 503)"
    assert stats["discovery/robots_sitemaps"] == 0
    assert stats["robotstxt/forbidden"] == 3  # the start requests only


# ---------------------------------------------------------------------------------- in process


def test_the_middleware_keeps_the_sitemaps_of_each_host_and_signals_its_policy(tmp_path: Path) -> None:
    body = b"User-agent: *\nDisallow: /private/\nSitemap: /feeds/sitemap\nsitemap: https://www.brecorder.com/a.xml\nSitemap: /feeds/sitemap\n"
    with unit_crawler(OUTLET, tmp_path) as unit:
        engine = FakeEngine()
        unit.crawler.engine = engine  # type: ignore[assignment]
        seen: list[tuple[str, RobotsPolicy]] = []

        def on_resolved(netloc: str, policy: RobotsPolicy) -> None:
            seen.append((netloc, policy))

        unit.crawler.signals.connect(on_resolved, signal=robots_resolved)
        mw = RobotsPolicyMiddleware.from_crawler(unit.crawler)
        asyncio.run(concurrent_verdicts(mw, engine, (200, body)))
        assert mw.sitemaps("127.0.0.1:8080") == ("http://127.0.0.1:8080/feeds/sitemap", "https://www.brecorder.com/a.xml")
        assert mw.sitemaps("127.0.0.1:9999") == ()
    assert [(n, p.sitemaps) for n, p in seen] == [("127.0.0.1:8080", mw.sitemaps("127.0.0.1:8080"))], "signalled once"


def test_no_sitemaps_are_kept_from_a_robots_txt_not_read_as_rules(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path) as unit:
        for code in (404, 503):
            engine = FakeEngine()
            unit.crawler.engine = engine  # type: ignore[assignment]
            mw = RobotsPolicyMiddleware.from_crawler(unit.crawler)
            asyncio.run(concurrent_verdicts(mw, engine, (code, b"Sitemap: /feeds/sitemap\n")))
            assert mw.sitemaps("127.0.0.1:8080") == (), code


def test_live_run_schedules_only_new_sitemaps_on_the_outlets_hosts(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path) as unit:
        spider = unit.spider
        requests = list(spider.robots_sitemaps([
            "http://brecorder.com/feeds/sitemap",  # the declared one, another spelling
            "https://brecorder.com/sitemap.xml",
            "https://www.brecorder.com/sitemap.xml",  # the same, again
            "https://www.nytimes.com/sitemap.xml",
        ]))
        assert spider._own_netloc("www.brecorder.com") and not spider._own_netloc("www.brecorder.com:8080")
        stats = unit.stats
    assert [r.url for r in requests] == ["https://www.brecorder.com/sitemap.xml"]
    r = requests[0]
    assert r.callback == spider.parse_sitemap and r.errback == spider.source_failed and r.priority == 20
    assert r.meta["source"] == "sitemap:/sitemap.xml"
    assert stats["discovery/robots_sitemaps"] == 1


def test_mirror_run_maps_robots_sitemaps_to_the_mirror(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, base_url="http://127.0.0.1:8080") as unit:
        spider = unit.spider
        requests = list(spider.robots_sitemaps(["https://www.brecorder.com/sitemap.xml", "http://127.0.0.1:8080/sitemaps/moved.xml",
                                                "http://127.0.0.1:8080/feeds/sitemap"]))
        own = spider._own_netloc("127.0.0.1:8080"), spider._own_netloc("www.brecorder.com")
    assert [r.url for r in requests] == ["http://127.0.0.1:8080/sitemap.xml", "http://127.0.0.1:8080/sitemaps/moved.xml"]
    assert own == (True, False)


def test_max_articles_spent_drops_robots_sitemaps(tmp_path: Path) -> None:
    with unit_crawler(OUTLET, tmp_path, max_articles="1") as unit:
        spider = unit.spider
        spider._requested = 1
        assert list(spider.robots_sitemaps(["https://www.brecorder.com/sitemap.xml"])) == []
        stats = unit.stats
    assert stats.get("discovery/robots_sitemaps", 0) == 0 and stats["discovery/sitemaps_over_max_articles"] == 1


def test_robots_resolved_of_another_host_schedules_nothing(tmp_path: Path) -> None:
    class Engine:
        def __init__(self) -> None:
            self.crawled: list[Any] = []

        def crawl(self, request: Any) -> None:
            self.crawled.append(request)

    with unit_crawler(OUTLET, tmp_path) as unit:
        engine = Engine()
        unit.crawler.engine = engine  # type: ignore[assignment]
        policy = RobotsPolicy("rules", "HTTP 200", None, ("https://www.brecorder.com/sitemap.xml",))
        unit.spider._robots_resolved("cdn.example.com", policy)
        unit.spider._robots_resolved("www.brecorder.com", RobotsPolicy("disallow_all", "HTTP 503"))
        assert engine.crawled == []
        unit.spider._robots_resolved("www.brecorder.com", policy)
    assert [r.url for r in engine.crawled] == ["https://www.brecorder.com/sitemap.xml"]

