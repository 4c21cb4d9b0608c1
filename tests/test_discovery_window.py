"""Date-bounded discovery (pipelines/window.py, crawler/spiders/outlet.py): a run requests only the
sitemap-index children and listed articles that can be newer than its discovery window.

End-to-end cases crawl a Ukrainska Pravda look-alike generated at test time (nothing committed),
modelled on what is public about the real site:

============================================  =========  ==========================================================
what                                          evidence   source
============================================  =========  ==========================================================
index ``/sitemap/sitemap-archive.xml`` of     confirmed  saved copy in loxar-ua/case-monitoring-etl
monthly ``sitemap-YYYY-MM.xml.gz``, newest               ``tests/fixtures/pravda/www_pravda_com_ua_sitemap_sitemap-archive.xml``
first, no ``<lastmod>``                                  (@2aa80e5); fundus ``publishers/ua`` names the same index
monthly child: every id three times (``/``,  confirmed  same repository, ``..._sitemap-2025-12.xml.gz`` (@70918cb):
``/rus/``, ``/eng/``), ``<lastmod>`` with               ``<lastmod>2025-12-01T00:08:00+02:00</lastmod>``, two
time and zone, ``xhtml:link hreflang``                   ``xhtml:link rel="alternate" hreflang`` per entry,
alternates to the other two                              zero-padded day in ``/eng/news/2025/12/01/8009697/``
300 children (2000-04 to now: 309)            reported   issue 12; the count here is what the test needs
a ``Sitemap:`` line for the index in          assumed    the live robots.txt is reported to name ``/sitemap/sitemap.xml``
robots.txt                                               (issue 12); named here so the test does not depend on the
                                                         module's declared sitemap paths
article page: JSON-LD ``datePublished``,      reported   issue 12 (date only in JSON-LD); markup reduced to what
``post_news`` blocks                                     extraction needs, body text generated
============================================  =========  ==========================================================
"""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest

from pipelines.storage import FileStore, open_store
from pipelines.reader import completed_runs
from pipelines.window import DiscoveryWindow, discovery_window, last_complete_run, parse_day, url_dates, url_day
from tests.conftest import run_crawl
from tests.hostile import Handler, HostileServer, page
from tests.test_crawl import run_files

LIVE = "https://www.pravda.com.ua"
INDEX = "/sitemap/sitemap-archive.xml"
CHILD = re.compile(r"^/sitemap/sitemap-\d{4}-\d{2}\.xml\.gz$")
EDITIONS = {"en": "/eng", "ru": "/rus", "uk": ""}
WORDS = ("kyiv government minister front drone attack energy grid parliament sanctions talks army region "
         "shelling president budget aid partners winter power station city council court investigation "
         "defence forces ceasefire negotiations reform prosecutor general mayor evacuation village railway").split()


def today() -> date:
    """The UTC day, as the archive's clock (and so the run's window) sees it."""
    return datetime.now(UTC).date()


def months_back(n: int, start: date | None = None) -> list[tuple[int, int]]:
    """The ``n`` months from ``start``'s (default: this month) backwards, newest first, as the real index lists them."""
    day = start or today()
    y, m = day.year, day.month
    out = []
    for _ in range(n):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month


def child_path(ym: tuple[int, int]) -> str:
    return f"/sitemap/sitemap-{ym[0]}-{ym[1]:02d}.xml.gz"


def article_path(day: date, ident: int, edition: str = "en", kind: str = "news") -> str:
    return f"{EDITIONS[edition]}/{kind}/{day:%Y/%m/%d}/{ident}/"


def article_page(title: str, day: date, ident: int, edition: str = "en", page_day: date | None = None) -> str:
    """A Pravda-shaped article: its date only in JSON-LD (``page_day`` when the page says another day)."""
    rng = random.Random(f"{title}/{ident}")
    paras = "".join(
        "<p>" + " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 20))).capitalize() + "." for _ in range(3)) + "</p>"
        for _ in range(6)
    )
    when = (page_day or day).isoformat()
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "datePublished": f"{when}T10:15:00+02:00"})
    return (f'<!doctype html><html lang="{edition}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<link rel="canonical" href="{LIVE}{article_path(day, ident, edition)}">'
            f'<script type="application/ld+json">{ld}</script></head><body>'
            f'<div class="post_news"><h1 class="post_news_title">{escape(title)}</h1>'
            f'<div class="post_news_text">{paras}</div></div></body></html>')


def urlset(entries: list[tuple[str, str | None, list[tuple[str, str]]]]) -> str:
    """A sitemap URL set: (path, lastmod or None, hreflang alternates [(lang, path)])."""
    body = ""
    for path, lastmod, alternates in entries:
        body += f"<url><loc>{LIVE}{path}</loc>"
        if lastmod:
            body += f"<lastmod>{lastmod}</lastmod>"
        body += "".join(f'<xhtml:link rel="alternate" hreflang="{lang}" href="{LIVE}{alt}"/>' for lang, alt in alternates)
        body += "</url>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:xhtml="http://www.w3.org/1999/xhtml">{body}</urlset>')


def sitemap_index(children: list[tuple[str, str | None]]) -> str:
    """A sitemap index: (path or absolute URL, lastmod or None)."""
    body = "".join(
        f"<sitemap><loc>{loc if loc.startswith('http') else LIVE + loc}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</sitemap>"
        for loc, lastmod in children
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'


def gz(text: str) -> Handler:
    return page(gzip.compress(text.encode("utf-8"), mtime=0), content_type="application/x-gzip")


def xml(text: str) -> Handler:
    return page(text, content_type="application/xml; charset=utf-8")


def robots(*sitemaps: str) -> Handler:
    return page("User-agent: *\nDisallow: /search/\n\n" + "".join(f"Sitemap: {LIVE}{s}\n" for s in sitemaps), content_type="text/plain")


class PravdaSite:
    """A Pravda look-alike: ``children`` monthly sitemaps in the index, the stories of ``stories``
    listed three times in their month's child (Ukrainian, Russian, English with hreflang alternates),
    and the pages of the editions in ``published`` (the others answer 404)."""

    def __init__(self, children: int = 300) -> None:
        self.children = children
        self.stories: dict[int, tuple[date, bool, date | None]] = {}  # id -> (day, listed with a date, page's own day)
        self.published: dict[str, set[int]] = {"uk": set(), "ru": set(), "en": set()}

    def story(self, ident: int, day: date, editions: tuple[str, ...] = ("uk", "ru", "en"), dated: bool = True,
              page_day: date | None = None) -> str:
        """Add a story; returns its English path."""
        self.stories[ident] = (day, dated, page_day)
        for ed in editions:
            self.published[ed].add(ident)
        return article_path(day, ident)

    def routes(self) -> dict[str, Handler]:
        routes: dict[str, Handler] = {"/robots.txt": robots(INDEX)}
        months = months_back(self.children)
        routes[INDEX] = xml(sitemap_index([(child_path(ym), None) for ym in months]))
        by_month: dict[tuple[int, int], list[tuple[str, str | None, list[tuple[str, str]]]]] = {ym: [] for ym in months}
        for ident, (day, dated, page_day) in sorted(self.stories.items()):
            paths = {ed: article_path(day, ident, ed) for ed in EDITIONS}
            lastmod = f"{day.isoformat()}T09:{ident % 60:02d}:00+02:00" if dated else None
            for ed in ("uk", "ru", "en"):  # every id under every edition, translated or not
                by_month.setdefault(month_of(day), []).append((paths[ed], lastmod, [(o, paths[o]) for o in EDITIONS if o != ed]))
            for ed, ids in self.published.items():
                if ident in ids:
                    routes[paths[ed]] = page(article_page(f"Story {ident} ({ed})", day, ident, ed, page_day))
        for ym, entries in by_month.items():
            routes[child_path(ym)] = gz(urlset(entries))
        return routes

    def serve(self) -> HostileServer:
        return HostileServer(self.routes())


def child_hits(server: HostileServer) -> dict[str, int]:
    return {p: n for p, n in server.hits.items() if CHILD.match(p)}


def report(what: str, run: dict[str, Any], children: dict[str, int]) -> None:
    """One ``discovery-check:`` line with the figures of a run (``pytest -s`` shows it; the issue note quotes it)."""
    stats = run["summary"]["scrapy_stats"]
    print(f"\ndiscovery-check: {what}: window {run['summary']['discovery_window']}, index children 300, requested "
          f"{len(children)}, not requested {stats.get('discovery/sitemaps_outside_window', 0)}, requests "
          f"{stats.get('downloader/request_count')}, written {run['summary']['counts'].get('written', 0)}")


class Runs:
    """Crawls of one archive; each run read back as a downstream reader does."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.archive = str(tmp_path / "archive")
        self.n = 0

    def crawl(self, server: HostileServer, args: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        self.n += 1
        before = set(completed_runs(open_store(self.archive))) if Path(self.archive).exists() else set()
        result = run_crawl("pravda", server, self.archive, self.tmp / f"spool-{self.n}", settings, args)
        assert result.returncode == 0, result.log[-4000:]
        store = open_store(self.archive)
        new = [p for p in completed_runs(store) if p not in before]
        assert len(new) == 1, new
        run = run_files(store, new[0])
        run["log"] = result.log
        run["prefix"] = new[0]
        return run


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {u.removeprefix(LIVE): r["status"] for u, r in run["rows"].items()}


# ---------------------------------------------------------------------------------- unit


@pytest.mark.parametrize(("url", "first", "last"), [
    ("https://www.pravda.com.ua/sitemap/sitemap-2025-12.xml.gz", date(2025, 12, 1), date(2025, 12, 31)),
    ("https://www.pravda.com.ua/sitemap/sitemap-2024-02.xml", date(2024, 2, 1), date(2024, 2, 29)),
    ("https://hromadske.ua/sitemaps/posts/2025/12.xml", date(2025, 12, 1), date(2025, 12, 31)),
    ("https://example.com/sitemaps/2025/12/", date(2025, 12, 1), date(2025, 12, 31)),
    ("https://example.com/sitemap-news-2025-12-03.xml", date(2025, 12, 3), date(2025, 12, 3)),
    ("https://example.com/sitemaps/2025/12/03/index.xml", date(2025, 12, 3), date(2025, 12, 3)),
    ("https://www.pravda.com.ua/eng/news/2023/05/4/7400574/", date(2023, 5, 4), date(2023, 5, 4)),
    ("https://nashigroshi.org/sitemap-pt-post-2025-10.xml", date(2025, 10, 1), date(2025, 10, 31)),
    # babel.ua's day-range files: the month is what can be told from the path
    ("https://babel.ua/ukrainian/default/2025/11-12-11-26.xml", date(2025, 11, 1), date(2025, 11, 30)),
])
def test_the_date_range_in_a_child_sitemap_url(url: str, first: date, last: date) -> None:
    assert url_dates(url) == (first, last)


@pytest.mark.parametrize("url", [
    "https://orda.kz/sitemap/sitemap_news1.xml",  # numbered, no date
    "https://www.brecorder.com/feeds/sitemap",
    "https://example.com/post-sitemap12.xml",
    "https://example.com/sitemap-20251203.xml",  # no separator: an id as much as a date
    "https://example.com/news/7400574/",
    "https://example.com/sitemap-2025-13.xml",  # no month 13
    "https://example.com/?date=2025-12-03",  # only the path counts
])
def test_a_url_without_a_date_has_none(url: str) -> None:
    assert url_dates(url) is None


def test_url_day_is_a_day_never_a_month() -> None:
    assert url_day("https://www.pravda.com.ua/eng/news/2025/12/01/8009697/") == date(2025, 12, 1)
    assert url_day("https://www.pravda.com.ua/sitemap/sitemap-2025-12.xml.gz") is None


@pytest.mark.parametrize(("value", "day"), [
    ("2025-12-01T00:08:00+02:00", date(2025, 12, 1)),
    ("Mon, 01 Dec 2025 00:08:00 +0200", date(2025, 12, 1)),
    ("2025-02-30", None),
    ("yesterday", None),
    ("", None),
    (None, None),
])
def test_parse_day(value: str | None, day: date | None) -> None:
    assert parse_day(value) == day


def test_a_child_is_outside_the_window_only_when_its_dates_end_before_it() -> None:
    window = DiscoveryWindow(date(2025, 11, 30), "since argument")
    assert window.child_outside(f"{LIVE}/sitemap/sitemap-2025-10.xml.gz", None)
    assert not window.child_outside(f"{LIVE}/sitemap/sitemap-2025-11.xml.gz", None)  # ends on the 30th
    assert not window.child_outside(f"{LIVE}/sitemap/sitemap-2025-12.xml.gz", None)
    assert window.child_outside(f"{LIVE}/sitemap/day-2025-11-29.xml", None)
    # <lastmod> wins over the URL: the newest change the child holds
    assert not window.child_outside(f"{LIVE}/sitemap/sitemap-2025-10.xml.gz", "2025-12-01T03:00:00+02:00")
    assert window.child_outside(f"{LIVE}/sitemap/news-1.xml", "2025-11-29T23:59:00Z")
    assert not window.child_outside(f"{LIVE}/sitemap/news-1.xml", None), "an undated child is requested"
    assert not window.child_outside(f"{LIVE}/sitemap/news-1.xml", "not a date")
    assert not DiscoveryWindow(None, "backfill").child_outside(f"{LIVE}/sitemap/sitemap-2000-04.xml.gz", None)


def test_the_window_basis_in_order_of_precedence() -> None:
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    last = ("20261202T050000Z-abc123", datetime(2026, 12, 2, 5, 0, tzinfo=UTC))
    kw = {"now": now, "overlap_hours": 24, "lookback_days": 3}
    assert discovery_window(since=date(2026, 1, 1), backfill=False, last_run=last, **kw) == DiscoveryWindow(date(2026, 1, 1), "since argument")
    assert discovery_window(since=None, backfill=True, last_run=last, **kw) == DiscoveryWindow(None, "backfill")
    assert discovery_window(since=None, backfill=False, last_run=last, **kw) == DiscoveryWindow(date(2026, 12, 1), "last complete run 20261202T050000Z-abc123")
    assert discovery_window(since=None, backfill=False, last_run=last, now=now, overlap_hours=4, lookback_days=3).since == date(2026, 12, 2)
    assert discovery_window(since=None, backfill=False, last_run=None, **kw) == DiscoveryWindow(date(2026, 11, 30), "DISCOVERY_LOOKBACK_DAYS=3")
    assert DiscoveryWindow(date(2026, 11, 30), "x").summary() == {"since": "2026-11-30", "basis": "x"}
    assert DiscoveryWindow(None, "backfill").summary() == {"since": None, "basis": "backfill"}


def _run(store: FileStore, day: str, run_id: str, started: str, outcome: str = "complete", edition: str = "en",
         mirror: str | None = None, marker: bool = True, outlet: str = "pravda", stats: dict[str, int] | None = None) -> None:
    prefix = f"runs/{day}/{outlet}/{run_id}"
    summary = {"run_id": run_id, "outlet": outlet, "edition": edition, "mirror": mirror, "started_at": started, "outcome": outcome,
               "scrapy_stats": stats or {"articles/over_max_articles": 0}}
    store.put_bytes(json.dumps(summary).encode(), f"{prefix}/summary.json")
    store.put_bytes(b"", f"{prefix}/manifest.jsonl")
    if marker:
        store.put_bytes(b"{}\n", f"{prefix}/_SUCCESS")


def test_the_last_complete_run_of_the_same_edition_and_kind(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    assert isinstance(store, FileStore)
    today_ = date(2026, 12, 3)
    assert last_complete_run(store, "pravda", "en", False, today_) is None
    _run(store, "2026-11-20", "r-old", "2026-11-20T04:00:00Z")
    _run(store, "2026-11-28", "r-early", "2026-11-28T01:00:00Z")
    _run(store, "2026-11-28", "r-late", "2026-11-28T05:00:00Z")
    # none of these counts: not complete, not marked, another edition, a mirror run, another outlet
    _run(store, "2026-12-02", "r-failed", "2026-12-02T05:00:00Z", outcome="failed")
    _run(store, "2026-12-02", "r-incomplete", "2026-12-02T06:00:00Z", outcome="incomplete")
    _run(store, "2026-12-02", "r-unmarked", "2026-12-02T07:00:00Z", marker=False)
    _run(store, "2026-12-03", "r-uk", "2026-12-03T01:00:00Z", edition="uk")
    _run(store, "2026-12-03", "r-mirror", "2026-12-03T02:00:00Z", mirror="http://127.0.0.1:8080")
    _run(store, "2026-12-03", "r-orda", "2026-12-03T03:00:00Z", outlet="orda")
    # complete, but stopped at max_articles: listed articles were left unread
    _run(store, "2026-12-03", "r-capped", "2026-12-03T04:00:00Z", stats={"articles/over_max_articles": 7})
    _run(store, "2026-12-03", "r-capped-sitemaps", "2026-12-03T04:30:00Z", stats={"discovery/sitemaps_over_max_articles": 2})
    assert last_complete_run(store, "pravda", "en", False, today_) == ("r-late", datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
    assert last_complete_run(store, "pravda", "en", True, today_) == ("r-mirror", datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    assert last_complete_run(store, "pravda", "uk", False, today_)[0] == "r-uk"  # type: ignore[index]
    # bounded look-back: a run older than the partitions looked at is not found
    assert last_complete_run(store, "pravda", "en", False, today_, partitions=4) is None
    assert last_complete_run(store, "pravda", "en", False, today_, partitions=5)[0] == "r-late"  # type: ignore[index]


def test_the_last_complete_run_is_found_with_one_listing_per_day(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    _run(store, "2026-11-01", "r", "2026-11-01T04:00:00Z")  # type: ignore[arg-type]
    listed: list[str] = []
    real = store.list_keys

    def spy(prefix: str = "", start_after: str = "") -> list[str]:
        listed.append(prefix)
        return real(prefix, start_after)

    store.list_keys = spy  # type: ignore[method-assign]
    assert last_complete_run(store, "pravda", "en", False, date(2026, 12, 3))[0] == "r"  # type: ignore[index]
    assert listed == [f"runs/{date(2026, 12, 3) - timedelta(days=i)}/pravda/" for i in range(33)]


# ---------------------------------------------------------------------------------- end to end


def recent_site() -> tuple[PravdaSite, dict[str, str]]:
    """300 monthly children; stories (all three editions) in this and the previous month, and three
    old ones (6, 40 and 200 months back); returns the site and the stories' English paths by name."""
    t = today()
    site = PravdaSite(300)
    days = {"today": t, "d2": t - timedelta(days=2), "d10": t - timedelta(days=10), "d20": t - timedelta(days=20),
            "d27": t - timedelta(days=27)}  # 27 days: always this month or the previous one
    paths = {name: site.story(9_000_000 + i, day) for i, (name, day) in enumerate(days.items())}
    months = months_back(300)
    for i, back in enumerate((6, 40, 200)):
        paths[f"old{i}"] = site.story(8_000_000 + i, date(*months[back], 15))
    return site, paths


def test_a_since_bounded_run_reads_at_most_two_monthly_children_of_300(tmp_path: Path) -> None:
    site, paths = recent_site()
    since = today() - timedelta(days=25)
    with site.serve() as server:
        run = Runs(tmp_path).crawl(server, args={"since": since.isoformat()})
        hits = dict(server.hits)
        children = child_hits(server)
    assert hits[INDEX] == 1
    report("since 25 days back", run, children)
    assert 1 <= len(children) <= 2 and set(children) <= {child_path(month_of(today())), child_path(month_of(since))}, children
    assert all(n == 1 for n in children.values())
    got = statuses(run)
    for name in ("today", "d2", "d10", "d20"):
        assert got[paths[name]] == "written", (name, run["log"][-3000:])
    for name in ("d27", "old0", "old1", "old2"):  # listed before since (d27) or in a child never read
        assert hits.get(paths[name], 0) == 0 and paths[name] not in got, name
    assert not [p for p in hits if p.startswith(("/rus/", "/news/"))], "only the edition's URLs are requested"
    stats = run["summary"]["scrapy_stats"]
    assert stats["discovery/sitemaps_outside_window"] == 300 - len(children)
    assert run["summary"]["discovery_window"] == {"since": since.isoformat(), "basis": "since argument"}
    assert f"child sitemaps end before the discovery window ({since.isoformat()}, since argument); not requested" in run["log"]


def test_a_scheduled_run_looks_back_from_the_last_complete_run(tmp_path: Path) -> None:
    site, paths = recent_site()
    runs = Runs(tmp_path)
    with site.serve() as server:
        first = runs.crawl(server, args={"since": (today() - timedelta(days=25)).isoformat()})
    assert statuses(first)[paths["today"]] == "written"
    started = datetime.fromisoformat(first["summary"]["started_at"].replace("Z", "+00:00"))
    # a story appears after the first run, and one dated before the window is listed late
    fresh = site.story(9_100_000, today())
    late = site.story(9_100_001, today() - timedelta(days=4))
    with site.serve() as server:
        second = runs.crawl(server, args={"backfill": 0})  # neither since nor backfill: a scheduled run
        hits = dict(server.hits)
        children = child_hits(server)
    window = (started - timedelta(hours=24)).date()
    assert second["summary"]["discovery_window"] == {"since": window.isoformat(), "basis": f"last complete run {first['summary']['run_id']}"}
    assert set(children) <= {child_path(month_of(today())), child_path(month_of(window))} and len(children) <= 2
    assert statuses(second) == {fresh: "written"}, "only the new story: the archived ones and the one dated before the window are not requested"
    assert hits.get(late, 0) == 0
    stats = second["summary"]["scrapy_stats"]
    assert stats["articles/skipped_before_window"] >= 1
    assert stats["articles/already_archived"] >= 1


def test_the_overlap_is_a_setting(tmp_path: Path) -> None:
    site, paths = recent_site()
    runs = Runs(tmp_path)
    with site.serve() as server:
        first = runs.crawl(server, args={"since": today().isoformat()})
        second = runs.crawl(server, args={"backfill": "0"}, settings={"DISCOVERY_OVERLAP_HOURS": 24 * 9})
    started = datetime.fromisoformat(first["summary"]["started_at"].replace("Z", "+00:00"))
    assert second["summary"]["discovery_window"]["since"] == (started - timedelta(hours=24 * 9)).date().isoformat()
    # the first run (since today) left out the story of two days ago: the 9-day overlap finds it,
    # today's is archived, the one of ten days ago is before the window
    assert statuses(second) == {paths["d2"]: "written"}


def test_backfill_walks_every_child(tmp_path: Path) -> None:
    site, paths = recent_site()
    with site.serve() as server:
        run = Runs(tmp_path).crawl(server, args={"backfill": "1"})
        children = child_hits(server)
    report("backfill=1", run, children)
    assert len(children) == 300 and set(children.values()) == {1}
    assert {statuses(run)[p] for p in paths.values()} == {"written"}, "old stories too"
    assert run["summary"]["discovery_window"] == {"since": None, "basis": "backfill"}
    assert run["summary"]["scrapy_stats"].get("discovery/sitemaps_outside_window", 0) == 0


def test_a_first_run_looks_back_discovery_lookback_days(tmp_path: Path) -> None:
    site, paths = recent_site()
    t = today()
    # listed in the window, the page itself dated long ago: the window does not judge the page
    old_page = site.story(9_200_000, t - timedelta(days=1), page_day=date(2019, 5, 1))
    # listed without a date (no <lastmod>): requested and kept
    undated = site.story(9_200_001, t - timedelta(days=1), dated=False)
    with site.serve() as server:
        run = Runs(tmp_path).crawl(server, args={"backfill": "0"})
        hits = dict(server.hits)
        children = child_hits(server)
    since = t - timedelta(days=3)
    assert run["summary"]["discovery_window"] == {"since": since.isoformat(), "basis": "DISCOVERY_LOOKBACK_DAYS=3"}
    assert set(children) <= {child_path(month_of(t)), child_path(month_of(since))} and len(children) <= 2
    got = statuses(run)
    assert got == {paths["today"]: "written", paths["d2"]: "written", old_page: "written", undated: "written"}, got
    for name in ("d10", "d20", "d27"):
        assert hits.get(paths[name], 0) == 0
    assert run["summary"]["scrapy_stats"]["articles/skipped_before_window"] >= 1


def test_the_first_run_lookback_is_a_setting(tmp_path: Path) -> None:
    site, paths = recent_site()
    with site.serve() as server:
        run = Runs(tmp_path).crawl(server, args={"backfill": "0"}, settings={"DISCOVERY_LOOKBACK_DAYS": 12})
    assert run["summary"]["discovery_window"]["basis"] == "DISCOVERY_LOOKBACK_DAYS=12"
    assert {p for p, s in statuses(run).items() if s == "written"} == {paths["today"], paths["d2"], paths["d10"]}


def test_children_dated_by_lastmod_or_by_their_url(tmp_path: Path) -> None:
    t = today()
    site = PravdaSite(0)
    recent = site.story(9_300_000, t)
    routes = site.routes()
    entries = urlset([(recent, f"{t.isoformat()}T08:00:00+02:00", [])])
    children: dict[str, str | None] = {
        "/sitemap/news-1.xml": f"{t.isoformat()}T08:00:00+02:00",  # lastmod in the window
        "/sitemap/news-2.xml": "2024-01-05T08:00:00+02:00",  # lastmod before it
        f"/sitemap/sitemap-{t.year - 1}-01.xml.gz": f"{t.isoformat()}T08:00:00Z",  # old month, changed today: lastmod wins
        f"/sitemap/day-{t.isoformat()}.xml": None,  # a day in its URL, in the window
        "/sitemap/day-2024-01-05.xml": None,  # a day in its URL, before it
        f"/sitemap/posts/{t.year}/{t.month:02d}.xml": None,  # /YYYY/MM path
        "/sitemap/posts/2024/01.xml": None,
        "/sitemap/extra.xml": None,  # no date at all: requested
    }
    for path in children:
        routes[path] = gz(entries) if path.endswith(".gz") else xml(entries)
    routes[INDEX] = xml(sitemap_index(list(children.items())))
    with HostileServer(routes) as server:
        run = Runs(tmp_path).crawl(server, args={"since": (t - timedelta(days=2)).isoformat()})
        hits = dict(server.hits)
    read = {p for p in children if hits.get(p)}
    assert read == {"/sitemap/news-1.xml", f"/sitemap/sitemap-{t.year - 1}-01.xml.gz", f"/sitemap/day-{t.isoformat()}.xml",
                    f"/sitemap/posts/{t.year}/{t.month:02d}.xml", "/sitemap/extra.xml"}
    assert run["summary"]["scrapy_stats"]["discovery/sitemaps_outside_window"] == 3
    assert statuses(run) == {recent: "written"}


# ---------------------------------------------------------------------------------- arguments


def test_since_and_backfill_together_are_refused_in_one_line() -> None:
    from crawler.spiders.outlet import SpiderArgumentError
    from tests.test_cli_crawl import construct

    with pytest.raises(SpiderArgumentError) as err:
        construct("pravda", since="2026-11-01", backfill="1")
    assert "since and backfill=1 exclude each other" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SpiderArgumentError) as bad:
        construct("pravda", backfill="maybe")
    assert "backfill must be 1/0, true/false, yes/no or on/off, got 'maybe'" in str(bad.value)
    assert construct("pravda", since="2026-11-01", backfill="0").since == date(2026, 11, 1)
    assert construct("pravda", backfill="yes").backfill is True
    assert construct("pravda").backfill is False


def test_since_and_backfill_together_refuse_the_run_before_anything_is_fetched(tmp_path: Path) -> None:
    from pipelines.crawljob import EXIT_FAILED
    from tests.test_cli_crawl import REFUSED_TAIL, scrapy_crawl

    site = PravdaSite(3)
    with site.serve() as server:
        ran = scrapy_crawl(["pravda", "-a", "since=2026-11-01", "-a", "backfill=1", "-a", f"base_url={server.base_url}",
                            "-s", f"ARCHIVE_URI={tmp_path / 'archive'}", "-s", f"ARCHIVE_SPOOL_DIR={tmp_path / 'spool'}"])
        hits = dict(server.hits)
    assert ran.code == EXIT_FAILED, ran.stderr[-2000:]
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "since and backfill=1 exclude each other" in lines[0] and lines[0].endswith(REFUSED_TAIL), ran.stderr
    assert hits == {}
