"""Scrapy's own conventions (issue 11): feed exports in every format, ``scrapy parse`` on an article,
one progress line (Progress replaces LogStats), and the always-present stats at 0.

The crawls are real ``scrapy crawl`` subprocesses against the loopback fixture mirror (as in
tests/conftest.py ``run_crawl``), with ``-O`` feeds added.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from itemadapter import ItemAdapter
from lxml import etree

from crawler.extensions import ALWAYS_PRESENT_STATS
from crawler.items import Article, CsvArticleExporter, XmlArticleExporter
from pipelines.crawljob import crawl_command, mirror_crawl_command
from pipelines.dev.mirror import MirrorServer, serve
from pipelines.manifest import ManifestRow
from pipelines.reader import completed_runs, read_rows, read_summary, read_text
from pipelines.storage import open_store
from tests.conftest import ROOT, expected, fixture_args

OUTLET = "orda"
ITEM_FIELDS = [f.name for f in fields(Article)]
WORKING_STATE = ("body", "paragraphs", "warc", "frontier_entry")  # attributes, never exported
PROGRESS_INTERVAL = 0.5
#: every response waits this long: the crawl lasts several progress intervals
MIRROR_DELAY = 0.5


@dataclass
class FeedCrawl:
    returncode: int
    log: str
    feeds: dict[str, Path]
    rows: list[ManifestRow]
    texts: dict[str, str | None]  # url -> archived text
    stats: dict[str, Any]


def crawl_with_feeds(tmp: Path, feeds: list[str], settings: dict[str, str] | None = None, delay: float = 0.0) -> FeedCrawl:
    server: MirrorServer = serve(OUTLET, delay=delay)
    try:
        paths = {name: tmp / name for name in feeds}
        merged = {"ARCHIVE_SPOOL_DIR": str(tmp / "spool"), "EXTRACT_WORKERS": "2", "LOG_LEVEL": "INFO",
                  **{k: str(v) for k, v in expected(OUTLET).get("settings", {}).items()}, **(settings or {})}
        cmd = mirror_crawl_command(OUTLET, server.base_url, str(tmp / "archive"), merged, fixture_args())
        for path in paths.values():
            cmd += ["-O", str(path)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    log = proc.stderr + proc.stdout
    store = open_store(str(tmp / "archive"))
    (prefix,) = completed_runs(store)
    rows = read_rows(store, prefix)
    return FeedCrawl(proc.returncode, log, paths, rows, {r.url: read_text(store, r) for r in rows}, read_summary(store, prefix)["scrapy_stats"])


@pytest.fixture(scope="module")
def jsonl_crawl(tmp_path_factory: pytest.TempPathFactory) -> FeedCrawl:
    """``scrapy crawl orda -O out.jsonl -O out.json`` on a slow mirror, progress lines every 0.5 s."""
    return crawl_with_feeds(tmp_path_factory.mktemp("jsonl"), ["out.jsonl", "out.json"], {"PROGRESS_INTERVAL": str(PROGRESS_INTERVAL)}, delay=MIRROR_DELAY)


@pytest.fixture(scope="module")
def csv_crawl(tmp_path_factory: pytest.TempPathFactory) -> FeedCrawl:
    """``scrapy crawl orda -O out.csv -O out.xml``."""
    return crawl_with_feeds(tmp_path_factory.mktemp("csv"), ["out.csv", "out.xml"])


def assert_items_are_the_manifest(items: list[dict[str, Any]], crawl: FeedCrawl) -> None:
    """One exported item per manifest row, each the row as written plus its archived text."""
    by_url = {item["url"]: item for item in items}
    assert len(by_url) == len(items) == len(crawl.rows) > 0
    written = [r for r in crawl.rows if r.status == "written"]
    assert sum(item["status"] == "written" for item in items) == len(written) == len(expected(OUTLET)["articles"]) - sum(
        a["status"] != "written" for a in expected(OUTLET)["articles"].values()
    )
    for row in crawl.rows:
        item = by_url[row.url]
        assert {name: item[name] for name in ItemAdapter(row).field_names()} == ItemAdapter(row).asdict(), row.url
        if row.status == "written":
            assert item["text"] == crawl.texts[row.url] and item["text"].startswith(row.title or "")
            assert hashlib.sha256(item["text"].encode("utf-8")).hexdigest() == row.text_sha256
        else:
            assert item["text"] == ""


def assert_clean_run(crawl: FeedCrawl) -> None:
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert "not JSON serializable" not in crawl.log and "Error caught on signal handler" not in crawl.log, crawl.log[-3000:]
    for path in crawl.feeds.values():
        assert re.search(rf"Stored \w+ feed \({len(crawl.rows)} items\) in: {re.escape(str(path))}", crawl.log), path


# --------------------------------------------------------------------------- feed exports


def test_jsonl_and_json_feeds_are_the_manifest_rows_with_their_texts(jsonl_crawl: FeedCrawl) -> None:
    assert_clean_run(jsonl_crawl)
    lines = jsonl_crawl.feeds["out.jsonl"].read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert [list(item) for item in items] == [ITEM_FIELDS] * len(items), "every item has every field, in order"
    assert_items_are_the_manifest(items, jsonl_crawl)
    assert json.loads(jsonl_crawl.feeds["out.json"].read_text(encoding="utf-8")) == items


def test_csv_and_xml_feeds_parse_and_carry_the_same_rows(csv_crawl: FeedCrawl) -> None:
    assert_clean_run(csv_crawl)
    with csv_crawl.feeds["out.csv"].open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ITEM_FIELDS
        table = list(reader)
    assert len(table) == len(csv_crawl.rows)
    by_url = {r.url: r for r in csv_crawl.rows}
    for line in table:
        row = by_url[line["url"]]
        assert line["status"] == row.status and line["docid"] == row.docid and line["warc_key"] == (row.warc_key or "")
        assert json.loads(line["removed_lines"]) == row.removed_lines, "a mapping is JSON in a CSV cell"
        assert line["authors"] == ",".join(row.authors)
        assert line["text"] == (csv_crawl.texts[row.url] or "")
    xml = etree.parse(str(csv_crawl.feeds["out.xml"])).getroot()
    assert len(xml) == len(csv_crawl.rows)
    for element in xml:
        row = by_url[element.findtext("url")]
        assert element.findtext("status") == row.status and (element.findtext("text") or "") == (csv_crawl.texts[row.url] or "")
        assert {v.get("key"): int(v.text) for v in element.iterfind("removed_lines/value")} == row.removed_lines
        assert [v.text for v in element.iterfind("authors/value")] == row.authors
        assert (element.find("title") is None) == (row.title is None), "a null field is left out"


def test_the_item_exports_the_manifest_fields_and_no_working_state() -> None:
    assert [f.name for f in fields(ManifestRow)] == ITEM_FIELDS[: len(fields(ManifestRow))], "the manifest's fields, in its order"
    assert ITEM_FIELDS[len(fields(ManifestRow)):] == ["text", "fetched_url", "published_hint"]
    item = Article(url="https://en.orda.kz/a-1/", outlet=OUTLET, edition="en", language="en", source="feed:/feed/", frontier_entry="w|f")
    item.body = b"\xff<html>raw</html>"
    assert item.frontier_entry == "w|f" and not set(WORKING_STATE) & set(ItemAdapter(item).field_names())
    assert b"raw" not in json.dumps(ItemAdapter(item).asdict()).encode()


def test_csv_and_xml_exporters_write_rule_names_that_are_no_xml_names() -> None:
    item = Article(url="https://en.orda.kz/a-1/", outlet=OUTLET, edition="en", language="en", source="feed:/feed/", title=None)
    item.removed_lines = {"orda:site_header": 2, "html://div[@class='x']": 1, "a & <b>": 3}
    out = io.BytesIO()
    exporter = XmlArticleExporter(out)
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    element = etree.fromstring(out.getvalue())[0]
    assert {v.get("key"): v.text for v in element.iterfind("removed_lines/value")} == {k: str(v) for k, v in item.removed_lines.items()}
    assert element.find("title") is None and element.findtext("published_hint") is None
    out = io.BytesIO()
    exporter = CsvArticleExporter(out)
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    (line,) = csv.DictReader(io.StringIO(out.getvalue().decode("utf-8")))
    assert json.loads(line["removed_lines"]) == item.removed_lines


# --------------------------------------------------------------------------- progress and stats


def test_one_progress_line_per_interval_and_no_logstats(jsonl_crawl: FeedCrawl) -> None:
    log = jsonl_crawl.log
    assert not re.search(r"Crawled \d+ pages", log) and "[scrapy.extensions.logstats]" not in log
    progress = re.findall(r"\[crawler\.extensions\] INFO: progress: found \d+ \(\d+ already archived\), fetched \d+, written \d+, "
                          r"duplicate \d+, empty \d+, skipped \d+, failed \d+, blocked \d+, missing \d+; \d+ pages/min", log)
    finished = re.findall(r"\[crawler\.extensions\] INFO: finished: found \d+ ", log)
    ticks = jsonl_crawl.stats["elapsed_time_seconds"] / PROGRESS_INTERVAL
    assert len(finished) == 1, log[-3000:]
    assert ticks >= 3, "the slow mirror makes the crawl last several intervals"
    assert math.floor(ticks) - 2 <= len(progress) <= math.floor(ticks) + 1, (len(progress), ticks)
    # LogStats' end-of-run rates are still there (Progress is a LogStats), before the summary is written
    assert "responses_per_minute" in jsonl_crawl.stats and "items_per_minute" in jsonl_crawl.stats


def test_documented_stats_are_present_with_zero(jsonl_crawl: FeedCrawl) -> None:
    stats = jsonl_crawl.stats
    missing = [key for key in ALWAYS_PRESENT_STATS if key not in stats]
    assert not missing, missing
    zero = {"articles/url_too_long", "articles/over_max_articles", "articles/skipped_before_since", "discovery/sitemaps_rejected",
            "discovery/sitemap_entries_rejected", "discovery/sitemaps_over_max_articles", "archive/responses_decoded_truncated",
            "archive/status/duplicate", "dedup/duplicates", "retry/count"}
    assert {key: stats[key] for key in zero} == dict.fromkeys(zero, 0)
    assert stats["articles/scheduled"] == len(jsonl_crawl.rows) and stats["archive/status/written"] > 0


# --------------------------------------------------------------------------- scrapy parse


def written_article() -> tuple[str, dict[str, Any]]:
    url, exp = next((u, a) for u, a in expected(OUTLET)["articles"].items() if a["status"] == "written")
    return url, exp


@pytest.fixture(scope="module")
def orda_mirror() -> Iterator[MirrorServer]:
    server = serve(OUTLET)
    yield server
    server.stop()


def scrapy_parse(server: MirrorServer, *options: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """``scrapy parse --spider orda [options] MIRROR_URL`` (our parse command: no archive), and the items it prints."""
    url, _ = written_article()
    cmd = crawl_command(OUTLET, {"base_url": server.base_url})
    cmd[3:5] = ["parse", "--spider", OUTLET, "--nocolour", *options]  # "crawl orda" -> "parse --spider orda ..."
    cmd.append(server.base_url + url.split("orda.kz", 1)[1])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    printed = re.search(r"# Scraped Items\s+-+\n(.*?)\n# Requests", proc.stdout, re.S)
    return proc, ast.literal_eval(printed[1]) if printed else []


def assert_parsed_article(proc: subprocess.CompletedProcess[str], items: list[dict[str, Any]]) -> None:
    url, _ = written_article()
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    (item,) = items
    assert sorted(item) == sorted(ITEM_FIELDS), "the item's fields, no raw body"
    assert (item["url"], item["final_url"], item["status"], item["http_status"]) == (url, url, "fetched", 200)
    assert item["content_type"].startswith("text/html") and item["fetched_url"].startswith("http://127.0.0.1:")


def test_scrapy_parse_with_the_article_callback_returns_the_item(orda_mirror: MirrorServer) -> None:
    """Works with today's spider: the callback and the request's article meta given on the command line."""
    url, _ = written_article()
    meta = {"article": {"url": url, "published_hint": None, "source": "parse", "redirects": 0}}
    assert_parsed_article(*scrapy_parse(orda_mirror, "-c", "parse_article", "--meta", json.dumps(meta)))


def test_scrapy_parse_on_an_article_url_writes_no_run(orda_mirror: MirrorServer, tmp_path: Path) -> None:
    """A look at one page is not a run: the archive the environment names stays untouched."""
    archive = tmp_path / "archive"
    assert_parsed_article(*scrapy_parse(orda_mirror, env={**os.environ, "ARCHIVE_URI": str(archive)}))
    assert not archive.exists()
