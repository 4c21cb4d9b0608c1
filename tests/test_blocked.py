"""Blocked-site detection (pipelines/blocking.py, crawler.middlewares BlockDetectionMiddleware).

The detector is checked on the modelled challenge pages (tests/blocking_site.py, provenance there);
the crawls play a Business Recorder look-alike behind a Cloudflare wall on loopback and read the
archive as a downstream reader does: a walled run ends ``failed: blocked by brecorder`` with exit 3
and the counts in summary.json, one blocked page among many is one ``blocked`` row in a complete
run, and a 429's Retry-After holds the host's next request back.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipelines import warc
from pipelines.blocking import CF_MITIGATED, CHALLENGE_PAGE, block_counts, block_reason, detect_block, next_delay, retry_after_seconds, run_blocked
from pipelines.crawljob import EXIT_BLOCKED, EXIT_CODES_DOC, EXIT_FAILED, EXIT_MEANINGS, FAILED, exit_code, is_blocked, outcome_label
from pipelines.manifest import BLOCKED
from pipelines.storage import open_store
from tests.blocking_site import (
    CF_HEADERS, FEEDS, NEAR_EMPTY_CHALLENGE, SECTIONS, SITEMAPS, challenge, challenge_html, ordinary_page_mentioning_a_moment,
    rate_limited, walled_site,
)
from tests.conftest import CrawlResult, ROOT, run_crawl
from tests.hostile import LIVE, HostileServer, article_html, article_id, page, status
from tests.test_crawl import assert_archive_sound, only_run, run_files

OUTLET = "brecorder"
#: quick backoff on loopback (the default starts at 5 s)
FAST = {"BLOCKED_BACKOFF_START": "0.2", "BLOCKED_BACKOFF_MAX": "5"}


# ------------------------------------------------------------------------------ the detector


def test_a_cloudflare_challenge_403_is_a_block_named_by_its_header() -> None:
    block = detect_block(403, CF_HEADERS, challenge_html().encode())
    assert block is not None and block.key == CF_MITIGATED
    assert block.reason == "HTTP 403 with cf-mitigated: challenge"


def test_the_interstitial_is_a_block_without_the_header_and_with_any_status() -> None:
    body = challenge_html().encode()
    for code in (200, 403, 503):
        block = detect_block(code, {"Server": "cloudflare"}, body)
        assert block is not None and block.key == CHALLENGE_PAGE, code
        assert block.reason == f"Cloudflare challenge page (Just a moment...), HTTP {code}"


def test_a_near_empty_200_that_is_only_a_challenge_script_is_a_block() -> None:
    assert block_reason(200, [("Content-Type", "text/html")], NEAR_EMPTY_CHALLENGE.encode()) == "Cloudflare challenge page (challenge script), HTTP 200"


def test_a_normal_page_that_says_just_a_moment_and_carries_cloudflares_jsd_script_is_not_blocked() -> None:
    body = ordinary_page_mentioning_a_moment().encode()
    assert b"Just a moment..." in body and b"/cdn-cgi/challenge-platform/scripts/jsd/main.js" in body
    assert detect_block(200, {"Server": "cloudflare", "CF-RAY": "8e2f6a1b3c4d5e60-KHI"}, body) is None
    # a page titled "Just a moment..." without any challenge script is no challenge either
    assert detect_block(200, {}, b"<html><head><title>Just a moment...</title></head><body><p>A column.</p></body></html>") is None


def test_walls_by_status_and_what_is_not_a_wall() -> None:
    assert block_reason(401, {}, b"") == "HTTP 401"
    assert block_reason(429, {"Retry-After": "30"}, b"slow down") == "HTTP 429 (Retry-After: 30)"
    assert block_reason(403, {}, b"<h1>Forbidden</h1>") == "HTTP 403"
    for code in (200, 404, 410, 500, 503):
        assert detect_block(code, {}, b"<html><body><p>Not found or down</p></body></html>") is None, code
    # a large page is never searched for a challenge (a challenge page is small)
    big = challenge_html().encode() + b"<p>" + b"x" * 300_000 + b"</p>"
    assert detect_block(200, {}, big) is None


def test_retry_after_and_the_backoff_step() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert next_delay(0.0, 5.0, 120.0) == 5.0
    assert next_delay(8.0, 5.0, 120.0) == 16.0
    assert next_delay(100.0, 5.0, 120.0) == 120.0
    assert next_delay(1.0, 0.2, 120.0, retry_after=30.0) == 30.0


def test_a_wall_keeps_doubling_the_slots_delay_and_the_first_good_answer_gives_it_back() -> None:
    """One refused page (a paywalled article) must not slow the rest of the run; a wall must not be hammered."""
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.middlewares import BlockDetectionMiddleware
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(settings_dict={"BLOCKED_BACKOFF_START": 5, "BLOCKED_BACKOFF_MAX": 60})
    slot = SimpleNamespace(delay=0.5, lastseen=0.0)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={"site": slot}, get_slot_key=lambda request: "site"))
    mw = BlockDetectionMiddleware.from_crawler(crawler)
    request = Request("https://site/a")
    wall = HtmlResponse("https://site/a", status=403, body=b"<html><title>Forbidden</title></html>", request=request)
    good = HtmlResponse("https://site/b", status=200, body=b"<html><p>story</p></html>", request=request)
    delays = []
    for response in (wall, wall, wall, good, wall):
        mw.response_downloaded(response, request)
        delays.append(slot.delay)
    assert delays == [5.0, 10.0, 20.0, 0.5, 5.0]


def test_the_run_verdict_is_defined_by_counts_and_settings() -> None:
    stats = {"blocked/requests": 10, "blocked/responses": 7, "blocked/by_reason/cf_mitigated_challenge": 6, "blocked/by_reason/http_429": 1}
    counts = block_counts(stats)
    assert counts == {"requests": 10, "blocked": 7, "by_reason": {"cf_mitigated_challenge": 6, "http_429": 1}, "sources": 0, "from_feed": 0}
    reason = run_blocked("brecorder", counts, min_requests=5, share=0.5)
    assert reason == "blocked by brecorder: 7 of 10 requests blocked (cf_mitigated_challenge: 6, http_429: 1)"
    assert run_blocked("brecorder", counts, min_requests=11, share=0.5) is None  # too few answers to tell
    assert run_blocked("brecorder", counts, min_requests=5, share=0.8) is None  # not enough of them blocked
    assert run_blocked("brecorder", {**counts, "from_feed": 3}, min_requests=5, share=0.5) is None  # the feed delivered
    assert is_blocked(FAILED, reason) and outcome_label(FAILED, reason) == "failed-blocked"
    assert exit_code(FAILED, True, reason) == EXIT_BLOCKED == 3
    assert exit_code(FAILED, True, "no source could be read") == EXIT_FAILED
    assert EXIT_BLOCKED in EXIT_MEANINGS and "\n3  failed, blocked" in EXIT_CODES_DOC


# ------------------------------------------------------------------------------ crawls


class Crawl:
    def __init__(self, tmp_path: Path, server: HostileServer, settings: dict[str, Any] | None = None) -> None:
        self.archive = str(tmp_path / "archive")
        self.result: CrawlResult = run_crawl(OUTLET, server, self.archive, tmp_path / "spool", {**FAST, **(settings or {})})
        self.store = open_store(self.archive)

    def run(self) -> dict[str, Any]:
        return run_files(self.store, only_run(self.store))

    @property
    def log(self) -> str:
        return self.result.log[-5000:]


def responses_by_path(run: dict[str, Any]) -> dict[str, list[int]]:
    """Archived response statuses by URL path (every exchange is in the WARC)."""
    out: dict[str, list[int]] = {}
    for data in run["warcs"].values():
        for rec in warc.iter_records(data):
            if rec.rec_type == "response":
                out.setdefault(urlsplit(rec.target_uri).path, []).append(rec.status or 0)
    return out


def test_a_walled_site_ends_failed_blocked_with_exit_3_and_counts_in_the_summary(tmp_path: Path) -> None:
    arts = [article_id(i) for i in range(6)]
    routes = walled_site({p: challenge() for p in arts}, feed=None)  # every feed a challenge too
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server)
        paths = server.paths()
    assert crawl.result.returncode == EXIT_BLOCKED, crawl.log
    assert sorted(p for p in paths if p.startswith("/news/")) == sorted(arts), "each article asked once: a challenge is not retried"
    summary = crawl.run()["summary"]
    print(f"\nblocked-check: walled site: exit {crawl.result.returncode}, {summary['outcome']}: {summary['outcome_reason']}; "
          f"rows {summary['counts']}; backoffs {summary['scrapy_stats']['blocked/backoffs']}; requests to the host {len(paths)}")
    assert_archive_sound(crawl.store, tmp_path)
    run = crawl.run()
    summary = run["summary"]
    sources = len(FEEDS) + len(SECTIONS)  # challenged; robots.txt and the sitemap answer
    answers = 1 + len(SITEMAPS) + sources + len(arts)
    assert summary["outcome"] == "failed"
    assert summary["outcome_reason"] == (f"blocked by brecorder: {sources + len(arts)} of {answers} requests blocked "
                                         f"(cf_mitigated_challenge: {sources + len(arts)})")
    assert summary["blocked"] == {"requests": answers, "blocked": sources + len(arts), "by_reason": {"cf_mitigated_challenge": sources + len(arts)},
                                  "sources": sources, "from_feed": 0}
    assert summary["counts"] == {"blocked": len(arts)}
    for url, row in run["rows"].items():
        assert row["status"] == BLOCKED and row["reason"] == "HTTP 403 with cf-mitigated: challenge", row
        assert row["http_status"] == 403 and row["text_key"] is None and row["text_source"] is None
        rec = warc.read_record(run["warcs"][row["warc_key"]], row["warc_offset"], row["warc_length"])
        assert rec.status == 403 and rec.target_uri.endswith(urlsplit(url).path) and b"_cf_chl_opt" in rec.payload
    stats = summary["scrapy_stats"]
    assert stats["blocked/backoffs"] >= 1 and stats["archive/status/blocked"] == len(arts)
    assert "exit 3: failed, blocked" in crawl.result.log
    # the operator's check names the run failed-blocked (and, as a failed run, a problem)
    check = subprocess.run([sys.executable, "-m", "pipelines", "check", crawl.archive], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 1
    assert "failed-blocked (blocked by brecorder:" in check.stdout, check.stdout + check.stderr


def test_one_blocked_page_among_many_is_one_blocked_row_in_a_complete_run(tmp_path: Path) -> None:
    arts = {article_id(i): page(article_html(f"Open story {i}")) for i in range(8)}
    arts[article_id(3)] = status(403)
    feed_listing = page(_rss(list(arts)), content_type="application/rss+xml; charset=utf-8")
    routes = walled_site(arts, feed=feed_listing)
    for path in FEEDS[1:] + SECTIONS:  # the rest of the site answers normally here
        routes[path] = status(404)
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server)
    assert crawl.result.returncode == 0, crawl.log
    run = crawl.run()
    assert run["summary"]["outcome"] == "complete"
    assert run["summary"]["counts"] == {"blocked": 1, "written": 7}
    row = run["rows"][LIVE + article_id(3)]
    assert row["status"] == BLOCKED and row["reason"] == "HTTP 403" and row["warc_key"], row
    assert run["summary"]["blocked"]["blocked"] == 1 and run["summary"]["blocked"]["by_reason"] == {"http_403": 1}
    assert_archive_sound(crawl.store, tmp_path)


def test_a_429_with_retry_after_holds_the_hosts_next_request_back(tmp_path: Path) -> None:
    arts = {article_id(i): page(article_html(f"Paced story {i}")) for i in range(5)}
    arts[article_id(1)] = rate_limited("2", page(article_html("Paced story 1")))
    routes = walled_site(arts, feed=page(_rss(list(arts)), content_type="application/rss+xml; charset=utf-8"))
    for path in FEEDS[1:] + SECTIONS:
        routes[path] = status(404)
    with HostileServer(routes) as server:
        # one request at a time to the host, so "the next request" is well defined (with a delay of
        # 0, Scrapy 2.19's slot hands out its whole queue at once, whatever its concurrency)
        crawl = Crawl(tmp_path, server, {"CONCURRENT_REQUESTS_PER_DOMAIN": "1", "DOWNLOAD_DELAY": "0.05"})
        seen = list(server.seen)
    assert crawl.result.returncode == 0, crawl.log
    first = next(i for i, s in enumerate(seen) if s.path == article_id(1))
    assert first + 1 < len(seen), "requests followed the 429"
    assert seen[first + 1].at - seen[first].at >= 2.0, [(s.path, round(s.at - seen[first].at, 2)) for s in seen[first:]]
    run = crawl.run()
    assert run["rows"][LIVE + article_id(1)]["status"] == "written", "retried after its Retry-After"
    assert responses_by_path(run)[article_id(1)] == [429, 200]
    stats = run["summary"]["scrapy_stats"]
    assert stats["blocked/by_reason/http_429"] == 1 and stats["blocked/backoffs"] >= 1
    assert run["summary"]["outcome"] == "complete"


def _rss(paths: list[str]) -> str:
    """An RSS feed listing ``paths``, dated now (within any discovery window)."""
    from email.utils import format_datetime
    from datetime import UTC, datetime

    from tests.hostile import rss

    return rss(paths, [format_datetime(datetime.now(UTC).replace(microsecond=0))] * len(paths))


@pytest.mark.parametrize("body", ["challenge", "near-empty"])
def test_a_200_challenge_page_is_a_blocked_row_not_an_article(body: str, tmp_path: Path) -> None:
    arts = {article_id(i): page(article_html(f"Story {i}")) for i in range(4)}
    arts[article_id(2)] = page(challenge_html() if body == "challenge" else NEAR_EMPTY_CHALLENGE)  # 200, no header
    routes = walled_site(arts, feed=page(_rss(list(arts)), content_type="application/rss+xml; charset=utf-8"))
    for path in FEEDS[1:] + SECTIONS:
        routes[path] = status(404)
    with HostileServer(routes) as server:
        crawl = Crawl(tmp_path, server)
    assert crawl.result.returncode == 0, crawl.log
    row = crawl.run()["rows"][LIVE + article_id(2)]
    assert row["status"] == BLOCKED and row["http_status"] == 200 and row["reason"].startswith("Cloudflare challenge page ("), row
