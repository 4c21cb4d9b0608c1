"""Feed full text (pipelines/feedtext.py, crawler/spiders/outlet.py written_from_feed).

When an article's page cannot be fetched (a Cloudflare wall, or 5xx after the retries) and a feed
item carried the article's full text (``content:encoded``, ``yandex:full-text``, a full HTML
``description``), the article is written from the feed: extracted and cleaned as a page is,
``text_source: "feed"``, its WARC fields on the feed's response record. A fetchable page wins; a
teaser is never taken for the article. Sites: tests/blocking_site.py (provenance there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from pipelines import warc
from pipelines.feedtext import FeedText, FeedTexts, feed_page, item_full_text
from pipelines.manifest import BLOCKED, TEXT_FROM_FEED, TEXT_FROM_PAGE, WRITTEN
from pipelines.storage import open_store
from tests.blocking_site import FEEDS, SECTIONS, challenge, paragraphs, rss_with_text, walled_site
from tests.conftest import run_crawl
from tests.hostile import LIVE, HostileServer, article_html, article_id, page, status
from pipelines.verify import verify_run
from tests.test_crawl import check_warcs, only_run, run_files

OUTLET = "brecorder"
SETTINGS = {"BLOCKED_BACKOFF_START": "0.2", "BLOCKED_BACKOFF_MAX": "2", "RETRY_TIMES": "1"}
RSS_TYPE = "application/rss+xml; charset=utf-8"


def story(i: int) -> dict[str, Any]:
    """A feed item with the whole story in content:encoded (a WordPress shape) and a teaser."""
    paras = paragraphs(5, f"story {i}")
    return {"path": article_id(i), "title": f"Exports rise in quarter report {i}", "description": f"Exports rose, story {i}.",
            "encoded": "".join(f"<p>{p}</p>" for p in paras), "paras": paras}


def crawl(tmp_path: Path, routes: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    for path in FEEDS[1:] + SECTIONS:  # only the first feed and the sitemap are sources here
        routes[path] = status(404)
    with HostileServer(routes) as server:
        result = run_crawl(OUTLET, server, str(tmp_path / "archive"), tmp_path / "spool", SETTINGS)
    store = open_store(str(tmp_path / "archive"))
    prefix = only_run(store)
    run = run_files(store, prefix)
    assert verify_run(store, prefix)[0] == []
    # tests/test_crawl.py's WARC checks (warcio, FastWARC); the rows written from a feed point at the
    # feed's record, which assert_written_from_feed checks (check_warcs expects the page's own)
    check_warcs({**run, "rows": {u: r for u, r in run["rows"].items() if not (r["reason"] or "").startswith("page not fetched")}}, tmp_path)
    return result.returncode, run, result.log[-5000:]


def feed_of(items: list[dict[str, Any]]) -> Any:
    return page(rss_with_text([{k: v for k, v in it.items() if k != "paras"} for it in items]), content_type=RSS_TYPE)


def record_of(run: dict[str, Any], row: dict[str, Any]) -> warc.ReadRecord:
    return warc.read_record(run["warcs"][row["warc_key"]], row["warc_offset"], row["warc_length"])


def assert_written_from_feed(run: dict[str, Any], item: dict[str, Any], why: str, element: str = "content:encoded") -> None:
    row = run["rows"][LIVE + item["path"]]
    assert row["status"] == WRITTEN and row["text_source"] == TEXT_FROM_FEED, row
    assert row["reason"] == f"page not fetched ({why}); text from the feed's {element} (feed:{FEEDS[0]})", row["reason"]
    assert row["source"] == f"feed:{FEEDS[0]}" and row["http_status"] == 200
    text = run["texts"][row["text_key"].rsplit("/", 1)[-1]].decode("utf-8")
    title, _, body = text.partition("\n\n")
    assert title == item["title"]
    assert [ln for ln in body.split("\n") if ln.strip()] == item["paras"], "the feed's paragraphs, whole and cleaned"
    rec = record_of(run, row)  # the row points at the feed's response record
    assert rec.rec_type == "response" and urlsplit(rec.target_uri).path == FEEDS[0] and rec.status == 200
    assert element.encode() in rec.payload


def test_blocked_pages_are_written_from_the_feeds_full_text(tmp_path: Path) -> None:
    items = [story(i) for i in range(4)]
    routes = walled_site({it["path"]: challenge() for it in items}, feed=feed_of(items))
    code, run, log = crawl(tmp_path, routes)
    assert code == 0, log  # the feed delivered: the run is not "blocked"
    for item in items:
        assert_written_from_feed(run, item, "HTTP 403 with cf-mitigated: challenge")
    summary = run["summary"]
    assert summary["counts"] == {"written": 4} and summary["outcome"] == "complete"
    assert summary["blocked"]["from_feed"] == 4 and summary["blocked"]["blocked"] >= 4
    print(f"\nfeed-text-check: pages walled, feed with content:encoded: exit {code}, {summary['outcome']}, rows {summary['counts']}, "
          f"text_source {sorted({r['text_source'] for r in run['rows'].values()})}, blocked {summary['blocked']}")
    # the pages' own answers are archived too
    statuses = [r.status for d in run["warcs"].values() for r in warc.iter_records(d)
                if r.rec_type == "response" and urlsplit(r.target_uri).path == items[0]["path"]]
    assert statuses == [403]
    # no redesign alarm from texts that never had the page's chrome
    assert summary["rule_health"]["pages"] == 0


def test_a_slow_feed_still_gives_its_text_to_pages_the_sitemap_listed_first(tmp_path: Path) -> None:
    """The sitemap answers at once, the feed 2 s later: the pages it lists would be refused before the
    feed's texts are known, unless the article requests wait for the feeds (they do)."""
    import time

    items = [story(i) for i in range(3)]
    routes = walled_site({it["path"]: challenge() for it in items}, feed=feed_of(items))
    fast_feed = routes[FEEDS[0]]

    def slow_feed(req: Any) -> None:
        time.sleep(2)
        fast_feed(req)

    routes[FEEDS[0]] = slow_feed
    code, run, log = crawl(tmp_path, routes)
    assert code == 0, log
    for item in items:
        assert_written_from_feed(run, item, "HTTP 403 with cf-mitigated: challenge")
    assert run["summary"]["counts"] == {"written": 3}


def test_pages_failing_with_5xx_after_retries_are_written_from_the_feed(tmp_path: Path) -> None:
    items = [story(i) for i in range(3)]
    items[2]["full_text"] = items[2].pop("encoded")  # a Yandex-News feed's yandex:full-text
    routes = walled_site({it["path"]: status(500) for it in items}, feed=feed_of(items))
    code, run, log = crawl(tmp_path, routes)
    assert code == 0, log
    for item in items:
        assert_written_from_feed(run, item, "HTTP 500", "yandex:full-text" if "full_text" in item else "content:encoded")
    assert run["summary"]["scrapy_stats"]["retry/count"] >= 3, "the pages were retried before the feed was used"


def test_a_fetchable_page_wins_over_the_feed_text(tmp_path: Path) -> None:
    items = [story(i) for i in range(3)]
    pages = {it["path"]: page(article_html(it["title"], words=250)) for it in items}
    pages[items[1]["path"]] = challenge()
    code, run, log = crawl(tmp_path, walled_site(pages, feed=feed_of(items)))
    assert code == 0, log
    for n, item in enumerate(items):
        row = run["rows"][LIVE + item["path"]]
        assert row["status"] == WRITTEN, row
        if n == 1:
            assert row["text_source"] == TEXT_FROM_FEED
        else:
            assert row["text_source"] == TEXT_FROM_PAGE and row["reason"] is None
            assert urlsplit(record_of(run, row).target_uri).path == item["path"], "the page's own record"


def test_a_teaser_description_is_not_taken_for_the_article(tmp_path: Path) -> None:
    items = [{"path": article_id(i), "title": f"Teaser only {i}", "description": f"One sentence about story {i}."} for i in range(3)]
    routes = walled_site({it["path"]: challenge() for it in items}, feed=feed_of(items))
    code, run, log = crawl(tmp_path, routes)
    for item in items:
        row = run["rows"][LIVE + item["path"]]
        assert row["status"] == BLOCKED and row["text_source"] is None and row["text_key"] is None, row
    assert run["summary"]["blocked"]["from_feed"] == 0


# ------------------------------------------------------------------------------ the core


def _item(xml: str) -> Any:
    return etree.fromstring(xml)


def test_full_text_elements_by_priority_and_the_teaser_threshold() -> None:
    long_html = "".join(f"<p>{p}</p>" for p in paragraphs(4, "yandex"))
    yandex = _item(f'<item xmlns:yandex="http://news.yandex.ru"><title>T</title><description>Short.</description>'
                   f"<yandex:full-text><![CDATA[{long_html}]]></yandex:full-text></item>")
    assert item_full_text(yandex, 500) == ("yandex:full-text", long_html)
    plain = "\n".join(paragraphs(4, "plain"))  # a full text without markup: one paragraph per line
    found = item_full_text(_item(f'<item xmlns:yandex="http://news.yandex.ru"><yandex:full-text>{plain}</yandex:full-text></item>'), 500)
    assert found is not None and found[1].count("<p>") == 4
    atom = _item(f'<entry xmlns="http://www.w3.org/2005/Atom"><title>T</title><summary>Short.</summary>'
                 f'<content type="html">{long_html.replace("<", "&lt;")}</content></entry>')  # escaped HTML
    assert item_full_text(atom, 500) == ("content", long_html)
    full_description = _item(f"<item><title>T</title><description><![CDATA[{long_html}]]></description></item>")
    assert item_full_text(full_description, 500) == ("description", long_html)
    teaser = _item("<item><title>T</title><description><![CDATA[<p>Exports rose in the quarter, officials said.</p>]]></description></item>")
    assert item_full_text(teaser, 500) is None
    media = _item(f'<item xmlns:media="http://search.yahoo.com/mrss/"><media:content url="x.jpg">{"y" * 600}</media:content></item>')
    assert item_full_text(media, 500) is None, "media:content is an enclosure, not text"


def test_feed_page_and_the_bounded_store() -> None:
    text = FeedText(url="https://www.brecorder.com/news/1/a", title="A & B", html="<p>Body</p>", element="content:encoded",
                    published="Tue, 24 Nov 2026 10:00:00 +0000", source="feed:/feeds/latest-news", content_type=RSS_TYPE,
                    http_status=200, fetched_at="2026-11-24T10:00:00Z")
    html = feed_page(text, "en")
    assert '<title>A &amp; B</title>' in html and 'content="2026-11-24T10:00:00+00:00"' in html
    assert '<link rel="canonical" href="https://www.brecorder.com/news/1/a">' in html and "<p>Body</p>" in html
    store = FeedTexts(2)
    for n in range(3):
        store.put(FeedText(**{**text.__dict__, "url": f"u{n}"}))
    assert len(store) == 2 and store.get("u0") is None and store.get("u2") is not None
    off = FeedTexts(0)
    off.put(text)
    assert off.get(text.url) is None
