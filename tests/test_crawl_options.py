"""Spider options and failure handling end to end: max_articles, since, retries, a killed run."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

from pipelines.dev.mirror import serve
from pipelines import warc
from pipelines.storage import open_store
from pipelines.reader import completed_runs, read_summary
from pipelines.verify import verify_run
from tests.conftest import crawl_popen, expected, run_crawl
from tests.test_crawl import assert_archive_sound, run_files


def test_max_articles_and_since(tmp_path: Path) -> None:
    exp = expected("brecorder")
    old = [u for u, e in exp["articles"].items() if e.get("published", "").startswith("2025")]
    assert old, "the fixture has an article from 2025"
    server = serve("brecorder")
    try:
        archive = str(tmp_path / "a")
        res = run_crawl("brecorder", server, archive, tmp_path / "spool", args={"since": "2026-01-01"})
        assert res.returncode == 0, res.log[-2000:]
        assert_archive_sound(open_store(archive), tmp_path)
        run = run_files(open_store(archive), completed_runs(open_store(archive))[0])
        for url in old:
            row = run["rows"].get(url)
            # dated by its feed/sitemap entry: never requested; otherwise dropped after extraction
            assert row is None or (row["status"] == "skipped" and "before since" in row["reason"]), row
        assert run["summary"]["scrapy_stats"].get("articles/skipped_before_since", 0) + sum(
            1 for u in old if u in run["rows"]) == len(old)
        assert sum(1 for r in run["rows"].values() if r["status"] == "written") == sum(
            1 for e in exp["articles"].values() if e["status"] == "written") - len(old)

        archive2 = str(tmp_path / "b")
        res = run_crawl("brecorder", server, archive2, tmp_path / "spool2", args={"max_articles": 3})
        assert res.returncode == 0, res.log[-2000:]
        assert_archive_sound(open_store(archive2), tmp_path)
        run2 = run_files(open_store(archive2), completed_runs(open_store(archive2))[0])
        assert run2["summary"]["scrapy_stats"]["articles/scheduled"] == 3
        assert run2["summary"]["scrapy_stats"]["articles/over_max_articles"] >= 1
    finally:
        server.stop()


def test_retry_after_503_is_archived_and_retried(tmp_path: Path) -> None:
    server = serve("brecorder")
    try:
        archive = str(tmp_path / "a")
        res = run_crawl("brecorder", server, archive, tmp_path / "spool", args={"max_articles": 1})
        assert res.returncode == 0
        store = open_store(archive)
        assert_archive_sound(store, tmp_path)
        run = run_files(store, completed_runs(store)[0])
        feed = [r.status for data in run["warcs"].values() for r in warc.iter_records(data)
                if r.rec_type == "response" and r.target_uri.endswith("/feeds/latest-news/")]
        assert feed == [503, 200], "the 503 is archived, then the retry's 200"
        assert run["summary"]["scrapy_stats"]["retry/count"] >= 1
    finally:
        server.stop()


def test_killed_run_loses_nothing_and_publishes_no_open_file(tmp_path: Path) -> None:
    exp = expected("orda")
    want = {u for u, e in exp["articles"].items() if e["status"] == "written"}
    archive, spool = str(tmp_path / "archive"), tmp_path / "spool"
    slow = serve("orda", delay=0.4)
    try:
        proc = crawl_popen("orda", slow, archive, spool, exp.get("settings"), log=tmp_path / "killed.log")
        deadline = time.monotonic() + 120
        manifest = None
        while time.monotonic() < deadline:
            found = list(spool.rglob("manifest.jsonl"))
            if found and sum(1 for line in found[0].read_text().splitlines() if '"written"' in line) >= 2:
                manifest = found[0]
                break
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-2000:]
            time.sleep(0.1)
        assert manifest is not None, "the slow crawl wrote articles"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        slow.stop()
    assert list(spool.rglob("*.warc.gz.open")), "the killed run left its WARC open"
    store = open_store(archive)
    assert completed_runs(store) == [], "a killed run publishes no completion marker"
    assert not any(k.endswith(".open") for k in store.list_keys())

    server = serve("orda")
    try:
        res = run_crawl("orda", server, archive, spool, exp.get("settings"))
        assert res.returncode == 0, res.log[-2000:]
    finally:
        server.stop()
    runs = completed_runs(store)
    assert len(runs) == 2
    assert_archive_sound(store, tmp_path)
    written: dict[str, int] = {}
    recovered = 0
    for prefix in runs:
        assert verify_run(store, prefix)[0] == []
        run = run_files(store, prefix)
        recovered += bool(run["summary"].get("recovered"))
        for url, row in run["rows"].items():
            if row["status"] == "written":
                written[url] = written.get(url, 0) + 1
    assert recovered == 1
    assert set(written) == want, "every article is archived after the restart"
    assert set(written.values()) == {1}, "and none twice"
    assert not any(k.endswith(".open") for k in store.list_keys())
    assert not list(spool.rglob("*.open"))


def test_dead_feeds_do_not_stop_discovery_and_recrawl_overrides_the_state(tmp_path: Path) -> None:
    exp = expected("brecorder")
    server = serve("brecorder")
    for path in [p for p in server.routes if p.startswith("/feeds/") and p != "/feeds/sitemap"]:  # the feeds, not the sitemap
        server.routes[path] = {"status": 500, "body": "feed backend down"}
    try:
        archive = str(tmp_path / "a")
        res = run_crawl("brecorder", server, archive, tmp_path / "spool")
        assert res.returncode == 0, res.log[-2000:]
        store = open_store(archive)
        run = run_files(store, completed_runs(store)[0])
        written = {u for u, r in run["rows"].items() if r["status"] == "written"}
        assert len(written) >= 5, "sitemaps and sections still deliver the articles"
        assert written <= {u for u, e in exp["articles"].items() if e["status"] == "written"}
        assert run["summary"]["scrapy_stats"]["discovery/sources_failed"] >= 1

        hits = {u: server.hits[urlsplit(u).path] for u in written}
        res = run_crawl("brecorder", server, archive, tmp_path / "spool", args={"recrawl": 1})
        assert res.returncode == 0
        assert_archive_sound(store, tmp_path)
        assert all(server.hits[urlsplit(u).path] == hits[u] + 1 for u in written), "recrawl=1 fetches archived articles again"
    finally:
        server.stop()


def test_failed_uploads_stay_in_the_spool_and_the_next_run_publishes_them(tmp_path: Path, s3_endpoint: str) -> None:
    import boto3

    client = boto3.client("s3")
    bucket = "bucket-goes-away"
    uri = f"s3://{bucket}/corpus"
    spool = tmp_path / "spool"
    settings = {**expected("orda").get("settings", {}), "ARCHIVE_UPLOAD_DEADLINE": 5, "ARCHIVE_UPLOAD_BACKOFF": 0.05}

    server = serve("orda")
    try:
        unreachable = run_crawl("orda", server, uri, spool, settings)
    finally:
        server.stop()
    assert unreachable.returncode == 1 and "unreachable" in unreachable.log, "no archive, no crawl"
    assert f"bucket '{bucket}' does not exist at {s3_endpoint}" in unreachable.log
    assert server.hits["/feed/"] == 0

    client.create_bucket(Bucket=bucket)
    slow = serve("orda", delay=0.3)
    log = tmp_path / "first.log"
    try:
        proc = crawl_popen("orda", slow, uri, spool, settings, log=log)
        deadline = time.monotonic() + 60
        while "already archived" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.05)
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):  # the run's lock
            client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)  # the store fails from now on
        assert proc.wait(timeout=120) == 2, "the run ended incomplete: its files wait in the spool"
    finally:
        slow.stop()
    assert f"bucket '{bucket}' does not exist at {s3_endpoint}: uploads stop" in log.read_text(), "one line names the bucket"
    kept = [p.name for p in spool.rglob("*") if p.is_file() and "/runs/" in p.as_posix()]
    assert any(n.endswith(".warc.gz") for n in kept) and "_SUCCESS" in kept and any(n.endswith(".txt") for n in kept)

    client.create_bucket(Bucket=bucket)
    server = serve("orda")
    try:
        second = run_crawl("orda", server, uri, spool, settings)
        assert second.returncode == 0, second.log[-2000:]
    finally:
        server.stop()
    store = open_store(uri)
    runs = completed_runs(store)
    assert len(runs) == 2, "the first run was published by the second"
    assert_archive_sound(store, tmp_path)
    first_rows = run_files(store, runs[0])["rows"]
    assert sum(1 for r in first_rows.values() if r["status"] == "written") >= 1
    assert not [p for p in spool.rglob("*") if p.is_file() and "/runs/" in p.as_posix()]


def test_overlapping_run_of_the_same_outlet_refuses_cleanly(tmp_path: Path) -> None:
    archive, log = str(tmp_path / "archive"), tmp_path / "first.log"
    slow = serve("orda", delay=3.0)  # slow enough (17 requests, 2 at a time) that the second run starts while the first still holds the lock, also on a loaded machine
    try:
        first = crawl_popen("orda", slow, archive, tmp_path / "spool1", expected("orda").get("settings"), log=log)
        lock = tmp_path / "archive" / "locks" / "orda.json"
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert time.monotonic() < deadline and first.poll() is None, log.read_text()[-2000:]
            time.sleep(0.05)
        hits_before = sum(slow.hits.values())
        second = run_crawl("orda", slow, archive, tmp_path / "spool2")  # a second cron tick
        assert second.returncode == 75, "EX_TEMPFAIL: refused, try later"
        assert "another run of orda is in progress" in second.log and "exits without crawling" in second.log
        assert "Traceback" not in second.log and "could not release lock" not in second.log, "one line; the other run's lock untouched"
        assert first.wait(timeout=120) == 0
        assert sum(slow.hits.values()) - hits_before > 0 and not lock.exists(), "the first run finished and released the lock"
    finally:
        slow.stop()
    store = open_store(archive)
    assert len(completed_runs(store)) == 1
    # a lock left by a dead run (expired) does not block the next one
    lock.write_text('{"run_id": "dead", "host": "elsewhere", "pid": 1, "expires_at": 0}')
    server = serve("orda")
    try:
        third = run_crawl("orda", server, archive, tmp_path / "spool1", expected("orda").get("settings"))
    finally:
        server.stop()
    assert third.returncode == 0 and "is stale (expired); taking it over" in third.log
    assert len(completed_runs(store)) == 2 and not lock.exists()


def test_a_run_that_can_read_no_source_fails(tmp_path: Path) -> None:
    from tests.conftest import free_port

    class Gone:  # a mirror address where nothing answers
        base_url = f"http://127.0.0.1:{free_port()}"

    res = run_crawl("orda", Gone(), str(tmp_path / "a"), tmp_path / "spool", {"RETRY_TIMES": 0})  # type: ignore[arg-type]
    assert res.returncode == 1 and "no source of orda (feeds, sitemaps, sections) could be read" in res.log
    store = open_store(str(tmp_path / "a"))
    [prefix] = completed_runs(store)
    summary = read_summary(store, prefix)
    assert summary["outcome"] == "failed" and "no source of orda" in summary["outcome_reason"]
