"""End to end: ``scrapy crawl <outlet>`` against each outlet's fixture mirror on loopback.

Checks the archive as a downstream reader would: one completed run, a manifest row per article
with the expected outcome, text files equal to the golden files byte for byte, WARC files that
warcio and FastWARC verify, offsets that read back each row's response, no second fetch of an
archived article, and the same layout in S3 (moto's server) as on disk.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, fields
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import pytest
from fastwarc.warc import ArchiveIterator as FastIterator

from pipelines.dev.mirror import MirrorServer, serve
from pipelines.outlets import all_outlets
from pipelines import warc
from pipelines.storage import Store, open_store
from pipelines.manifest import ManifestRow, docid_for
from pipelines.reader import completed_runs, read_manifest_text, read_rows, read_summary
from pipelines.verify import verify_run
from tests.conftest import GOLDEN, SITES, expected, run_crawl

OUTLETS = sorted(all_outlets())


ROW_FIELDS = [f.name for f in fields(ManifestRow)]


def run_files(store: Store, prefix: str) -> dict[str, Any]:
    """A completed run as a reader sees it; every manifest line has exactly the ManifestRow schema."""
    keys = store.list_keys(prefix + "/")
    lines = read_manifest_text(store, prefix).splitlines()
    assert [list(json.loads(line)) for line in lines] == [ROW_FIELDS] * len(lines), "manifest rows follow ManifestRow"
    rows = read_rows(store, prefix)
    assert len(rows) == len(lines)
    return {
        "keys": keys,
        "rows": {r.url: asdict(r) for r in rows},
        "summary": read_summary(store, prefix),
        "texts": {k.rsplit("/", 1)[-1]: store.get_bytes(k) for k in keys if "/text/" in k},
        "warcs": {k: store.get_bytes(k) for k in keys if k.endswith(".warc.gz")},
    }


def article_paths(exp: dict[str, Any]) -> dict[str, str]:
    return {url: urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "") for url in exp["articles"]}


def check_run_against_expectations(outlet: str, exp: dict[str, Any], run: dict[str, Any], server: MirrorServer) -> None:
    rows = run["rows"]
    assert set(rows) == set(exp["articles"]), "one manifest row per article URL the sources expose, no more"
    for url, want in exp["articles"].items():
        row = rows[url]
        assert row["status"] == want["status"], (url, row["status"], row["reason"])
        if want.get("reason"):
            assert want["reason"].lower() in (row["reason"] or "").lower(), (url, row["reason"])
        if want.get("title") and want["status"] == "written":
            assert row["title"] == want["title"]
        if want.get("final_url"):
            assert row["final_url"] == want["final_url"]
        if want.get("canonical_url"):  # the archive keys the story by its canonical URL; the row keeps the listed one
            assert row["canonical_url"] == want["canonical_url"] and row["docid"] == docid_for(want["canonical_url"]), url
        if want["status"] != "written":
            assert row["text_key"] is None
        if want.get("published") and want["status"] == "written":
            assert (row["published"] or "")[:10] == want["published"], url
        if want.get("published_as_given"):  # the page's own spelling, time and zone kept (JSON-LD)
            assert row["published"] == want["published_as_given"], url
    # text files: NNN is the order within the run, docid the canonical URL's hash, content = golden
    written = sorted((r for r in rows.values() if r["status"] == "written"), key=lambda r: r["seq"])
    assert [r["seq"] for r in written] == list(range(len(written)))
    assert sorted(run["texts"]) == sorted(f"{r['seq']:03d}_{r['docid']}.txt" for r in written)
    golden = {p.stem: p.read_bytes() for p in (GOLDEN / outlet).glob("*.txt")}
    for r in written:
        assert r["docid"] in golden, f"no golden text for {r['url']}"
        assert run["texts"][f"{r['seq']:03d}_{r['docid']}.txt"] == golden[r["docid"]], f"text of {r['url']} differs from its golden file"
    # the manifest says what each cleaning layer removed: HTML rules and text rules, by stable rule name
    removed = Counter(k for r in written for k in r["removed_lines"])
    html_keys = {r.name for r in all_outlets()[outlet].qualified_html_rules()}
    assert removed.keys() & html_keys and removed.keys() - html_keys, removed
    for path in exp.get("never_fetched", []):
        assert server.hits[path] == 0, f"{path} must never be fetched"
    assert server.hits["/robots.txt"] >= 1


def check_warcs(run: dict[str, Any], tmp_path: Path) -> None:
    """Independent readers: warcio's checker and FastWARC's digest verification; our length scan."""
    assert run["warcs"] or not run["rows"], "a run that fetched articles has WARC files"
    name_re = re.compile(r"^[a-z]+-\d{14}-\d{5}-[A-Za-z0-9.-]+\.warc\.gz$")
    for key, data in run["warcs"].items():
        assert name_re.match(key.rsplit("/", 1)[-1]), key
        assert warc.check_warc(data) == [], key
        path = tmp_path / key.rsplit("/", 1)[-1]
        path.write_bytes(data)
        check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(path, "rb") as fh:
            for rec in FastIterator(fh, parse_http=False):
                assert rec.verify_block_digest(), (key, rec.record_id)
        with open(path, "rb") as fh:
            for rec in FastIterator(fh, parse_http=True):
                if rec.headers["WARC-Type"] in ("response", "request"):
                    assert rec.verify_payload_digest(), (key, rec.record_id)
    for row in run["rows"].values():
        if row["warc_key"] is None:
            continue
        rec = warc.read_record(run["warcs"][row["warc_key"]], row["warc_offset"], row["warc_length"])
        assert rec.rec_type == "response" and rec.record_id == row["warc_record_id"]
        # the final response, or for a redirect that was not followed the redirect itself: the
        # listed URL's, or the last hop's of a chain (its Location is the row's final URL)
        if urlsplit(rec.target_uri).path not in {urlsplit(row["final_url"]).path, urlsplit(row["url"]).path}:
            location = next((v for k, v in rec.headers if k.lower() == "location"), "")
            assert row["status"] == "error" and rec.status in (301, 302, 303, 307, 308), (row["url"], rec.target_uri)
            assert urlsplit(urljoin(rec.target_uri, location)).path == urlsplit(row["final_url"]).path, (row["url"], rec.target_uri)
        assert rec.status == row["http_status"]


def assert_archive_sound(store: Store, tmp_path: Path) -> None:
    """Every completed run verifies, and every WARC file passes warcio and FastWARC."""
    for prefix in completed_runs(store):
        assert verify_run(store, prefix)[0] == [], prefix
        check_warcs(run_files(store, prefix), tmp_path)
    assert not any(k.endswith(".open") for k in store.list_keys())


def only_run(store: Store) -> str:
    runs = completed_runs(store)
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.parametrize("outlet", OUTLETS)
def test_crawl_fixture_site_into_local_archive_then_incremental_rerun(outlet: str, tmp_path: Path) -> None:
    exp = expected(outlet)
    server = serve(outlet)
    try:
        archive = str(tmp_path / "archive")
        result = run_crawl(outlet, server, archive, tmp_path / "spool", exp.get("settings"))
        assert result.returncode == 0, result.log[-3000:]
        store = open_store(archive)
        prefix = only_run(store)
        problems, report = verify_run(store, prefix)
        assert problems == [], problems
        run = run_files(store, prefix)
        check_run_against_expectations(outlet, exp, run, server)
        check_warcs(run, tmp_path)
        assert run["summary"]["counts"] == {s: n for s, n in sorted(report["statuses"].items())}
        # the operator's view: progress lines in the log, the same counts in the summary
        progress = run["summary"]["progress"]
        assert progress["written"] == run["summary"]["counts"].get("written", 0)
        assert progress["failed"] == run["summary"]["counts"].get("error", 0)
        assert progress["found"] == run["summary"]["scrapy_stats"]["articles/scheduled"] >= progress["fetched"] > 0
        assert f"finished: found {progress['found']} " in result.log
        assert not any(k.endswith(".open") for k in store.list_keys())
        assert not (tmp_path / "spool").exists() or not list((tmp_path / "spool").rglob("*.warc.gz*"))

        # second run against the same archive: nothing archived is fetched again
        paths = article_paths(exp)
        before = {url: server.hits[p] for url, p in paths.items()}
        again = run_crawl(outlet, server, archive, tmp_path / "spool", exp.get("settings"))
        assert again.returncode == 0, again.log[-3000:]
        second = [p for p in completed_runs(store) if p != prefix]
        assert len(second) == 1
        assert_archive_sound(store, tmp_path)
        rows2 = run_files(store, second[0])["rows"]
        for url, want in exp["articles"].items():
            if want["status"] in ("written", "empty", "skipped"):
                assert server.hits[paths[url]] == before[url], f"{url} was fetched again"
                assert url not in rows2
        assert all(r["status"] in ("error", "blocked") for r in rows2.values()), "only failed (or blocked) articles are tried again"
        assert run_files(store, second[0])["summary"]["scrapy_stats"].get("articles/already_archived", 0) >= 1
    finally:
        server.stop()


@pytest.mark.parametrize("outlet", OUTLETS)
def test_s3_archive_has_the_same_layout_and_content(outlet: str, tmp_path: Path, s3_bucket: str) -> None:
    exp = expected(outlet)
    fixed = {"ARCHIVE_RUN_ID": "20261125T120000Z-test", "ARCHIVE_FIXED_TIME": "2026-11-25T12:00:00Z", "ARCHIVE_WARC_MAX_BYTES": 150_000, "ARCHIVE_WARC_HOST": "ci"}
    runs = {}
    for name, uri in (("local", str(tmp_path / "archive")), ("s3", f"s3://{s3_bucket}/corpus")):
        server = serve(outlet)
        try:
            result = run_crawl(outlet, server, uri, tmp_path / f"spool-{name}", {**exp.get("settings", {}), **fixed})
            assert result.returncode == 0, result.log[-3000:]
        finally:
            server.stop()
        store = open_store(uri)
        prefix = only_run(store)
        assert_archive_sound(store, tmp_path)
        runs[name] = (store, prefix, run_files(store, prefix))
    local, s3 = runs["local"][2], runs["s3"][2]
    assert runs["local"][1] == runs["s3"][1]
    # the order of articles within a run depends on timing; compare names without the order number
    strip = lambda keys: sorted(re.sub(r"/text/\d{3,}_", "/text/", k) for k in keys)  # noqa: E731
    assert strip(local["keys"]) == strip(s3["keys"])
    assert len(local["warcs"]) >= 2, "ARCHIVE_WARC_MAX_BYTES rotates files"
    by_docid = lambda texts: {k.split("_", 1)[1]: v for k, v in texts.items()}  # noqa: E731
    assert by_docid(local["texts"]) == by_docid(s3["texts"])
    # where a record sits, the order number and which source listed an article first depend on timing
    ignore = {"warc_key", "warc_offset", "warc_length", "warc_record_id", "seq", "text_key", "source"}
    norm = lambda rows: {u: {k: v for k, v in r.items() if k not in ignore} for u, r in rows.items()}  # noqa: E731
    assert norm(local["rows"]) == norm(s3["rows"])
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert all(k.startswith("corpus/") for k in keys)
    assert any(k.endswith("/_SUCCESS") for k in keys) and any(k.startswith("corpus/state/") for k in keys)


EDITIONS = [(o, p.stem.split("-", 1)[1]) for o in OUTLETS for p in sorted((SITES / o).glob("expected-*.json"))]


@pytest.mark.parametrize(("outlet", "edition"), EDITIONS)
def test_other_editions_and_their_encodings(outlet: str, edition: str, tmp_path: Path) -> None:
    """-a edition=...: its own sources and language; cp1251/koi8-u pages without a charset header decode."""
    exp = expected(outlet, edition)
    server = serve(outlet)
    try:
        archive = str(tmp_path / "archive")
        result = run_crawl(outlet, server, archive, tmp_path / "spool", exp.get("settings"), {"edition": edition})
        assert result.returncode == 0, result.log[-3000:]
        store = open_store(archive)
        prefix = only_run(store)
        assert_archive_sound(store, tmp_path)
        run = run_files(store, prefix)
        check_run_against_expectations(outlet, exp, run, server)
        assert {r["edition"] for r in run["rows"].values()} == {edition}
        assert {r["language"] for r in run["rows"].values() if r["status"] == "written"} == {exp.get("language", edition)}
    finally:
        server.stop()
