"""S3 faults end to end: a real crawl whose archive is moto's S3 server behind a TCP s3_proxy we control.

Each scenario runs ``scrapy crawl brecorder`` against a small generated site whose pages answer
slowly, so the fault (S3 refusing connections, S3 paused, an outage longer than
``ARCHIVE_UPLOAD_DEADLINE``, the bucket deleted, the crawl killed) hits in the middle of the run.
Outages last seconds, set by settings; every wait is bounded. Each asserts what a reader and the
operator see: every article written exactly once across the runs, every WARC verifying (warcio,
FastWARC, our length scan), no ``.open`` file published, the exit code, and the log lines.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipelines.reader import completed_runs, read_summary
from pipelines.storage import Store, open_store
from tests.conftest import crawl_popen, run_crawl
from tests.faults import assert_each_written_once, spooled_written_rows
from tests.hostile import FEED, LIVE, Handler, HostileServer, article_html, article_id, brecorder_site, page
from tests.tcpproxy import TcpProxy
from tests.test_crawl import assert_archive_sound

ARTICLES = 20
PAGE_DELAY = 0.6  # seconds per article page, two at a time: the crawl lasts longer than an outage
WANT = {LIVE + article_id(i) for i in range(1, ARTICLES + 1)}
#: two pages at a time, quick retries, a stall noticed after a second, WARC files rotated (and uploaded) during the run
SETTINGS = {
    "CONCURRENT_REQUESTS": 2,
    "ARCHIVE_UPLOAD_BACKOFF": 0.2,
    "ARCHIVE_UPLOAD_STALL_WARNING": 1,
    "ARCHIVE_UPLOAD_DEADLINE": 60,
    "ARCHIVE_WARC_MAX_BYTES": 30_000,
}
OUTAGE = 3.0  # seconds


def slow(handler: Handler, delay: float) -> Handler:
    def answer(req: Any) -> None:
        time.sleep(delay)
        handler(req)

    return answer


def site(delay: float = PAGE_DELAY, feed_gate: threading.Event | None = None) -> HostileServer:
    """The test site: ARTICLES distinct articles listed in one feed; ``feed_gate`` holds the feed back."""
    articles = {article_id(i): slow(page(article_html(f"Fault story {i}", words=250, seed=i)), delay) for i in range(1, ARTICLES + 1)}
    routes = brecorder_site(articles)
    if feed_gate is not None:
        feed = routes[FEED]

        def gated(req: Any) -> None:
            feed_gate.wait(60)
            feed(req)

        routes[FEED] = gated
    return HostileServer(routes).start()


class Fault:
    """Runs ``action`` in a thread once the crawl has written ``after`` articles to its spool."""

    def __init__(self, spool: Path, after: int, action: Callable[[], None], timeout: float = 120) -> None:
        self.fired = threading.Event()
        self.error: BaseException | None = None
        self.rows_after = 0  # articles written when the fault was over

        def run() -> None:
            try:
                end = time.monotonic() + timeout
                while spooled_written_rows(spool) < after:
                    if time.monotonic() > end:
                        return
                    time.sleep(0.05)
                action()
                self.rows_after = spooled_written_rows(spool)
                self.fired.set()
            except BaseException as exc:  # reported by check()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def check(self, mid_run: bool = True) -> None:
        self.thread.join(timeout=60)
        assert self.error is None, self.error
        assert self.fired.is_set(), "the fault never hit: the crawl wrote too little"
        if mid_run:
            assert self.rows_after < ARTICLES, "the crawl went on after the fault was over"


def crawl(server: HostileServer, uri: str, spool: Path, s3_proxy: TcpProxy | None = None, **settings: Any) -> Any:
    env = {"AWS_ENDPOINT_URL": s3_proxy.url} if s3_proxy is not None else None
    return run_crawl("brecorder", server, uri, spool, {**SETTINGS, **settings}, env=env, timeout=240)


def assert_exactly_once(store: Store, tmp_path: Path) -> None:
    assert_each_written_once(store, WANT)
    assert_archive_sound(store, tmp_path)


def spooled_files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.rglob("*") if p.is_file() and "/runs/" in p.as_posix())


def storage_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "[pipelines.storage]" in line]


@pytest.mark.parametrize("kind", ["refusing", "paused"])
def test_a_short_s3_outage_mid_run_is_reported_in_a_few_lines_and_waited_out(kind: str, tmp_path: Path, s3_bucket: str, s3_proxy: TcpProxy) -> None:
    """Refusing: every upload fails at once. Paused: the server accepts and answers nothing, so no
    upload fails: only the stall watchdog can tell the operator."""
    uri, spool = f"s3://{s3_bucket}/corpus", tmp_path / "spool"

    def outage() -> None:
        s3_proxy.refuse() if kind == "refusing" else s3_proxy.pause()
        time.sleep(OUTAGE)
        s3_proxy.forward()

    server = site()
    try:
        fault = Fault(spool, 3, outage)
        res = crawl(server, uri, spool, s3_proxy)
    finally:
        server.stop()
    fault.check()
    assert res.returncode == 0, res.log[-3000:]
    store = open_store(uri)
    assert len(completed_runs(store)) == 1
    assert_exactly_once(store, tmp_path)
    lines = storage_lines(res.log)
    told = r"failing for [\d.]+ s \(" if kind == "refusing" else r"stalled for [\d.]+ s \(\d+ upload\(s\) in progress got no answer\)"
    assert any(re.search(rf"uploads to {re.escape(uri)} \(endpoint {re.escape(s3_proxy.url)}\) {told}", line) for line in lines), lines
    assert sum("recovered after" in line for line in lines) >= 1
    assert len(lines) <= 6, f"a few lines for the outage, not one per file: {lines}"
    assert spooled_files(spool) == []


def test_an_outage_longer_than_the_deadline_ends_the_run_incomplete_and_the_next_run_publishes_it(
        tmp_path: Path, s3_bucket: str, s3_proxy: TcpProxy) -> None:
    uri, spool = f"s3://{s3_bucket}/corpus", tmp_path / "spool"
    store = open_store(uri)
    server = site()
    try:
        fault = Fault(spool, 3, s3_proxy.refuse)  # and it stays down until this run has ended
        first = crawl(server, uri, spool, s3_proxy, ARCHIVE_UPLOAD_DEADLINE=4)
    finally:
        server.stop()
    fault.check(mid_run=False)
    assert first.returncode == 2, first.log[-3000:]
    lines = storage_lines(first.log)
    gave_up = [line for line in lines if "no more uploads in this run" in line]
    assert len(gave_up) == 1 and f"uploads to {uri} (endpoint {s3_proxy.url}) failed for" in gave_up[0], lines
    assert "(ARCHIVE_UPLOAD_DEADLINE 4 s)" in gave_up[0]
    assert len(lines) <= 6, lines
    assert re.search(r"is not published: .*ARCHIVE_UPLOAD_DEADLINE 4 s.*; \d+ file\(s\) wait in the spool", first.log)
    kept = spooled_files(spool)
    assert "_SUCCESS" in kept and "manifest.jsonl" in kept and any(n.endswith(".warc.gz") for n in kept), kept
    assert completed_runs(store) == [], "no marker for a run that is not all in the store"
    assert not any(k.endswith(".open") for k in store.list_keys())

    s3_proxy.forward()
    server = site(delay=0)
    try:
        second = crawl(server, uri, spool, s3_proxy)
    finally:
        server.stop()
    assert second.returncode == 0, second.log[-3000:]
    runs = completed_runs(store)
    assert len(runs) == 2, "the first run was published by the second"
    assert_exactly_once(store, tmp_path)
    assert spooled_files(spool) == []
    first_summary = read_summary(store, runs[0])
    assert first_summary["outcome"] == "incomplete", first_summary


def test_a_missing_bucket_stops_the_run_before_it_fetches_anything(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = "bucket-never-made"
    server = site(delay=0)
    try:
        res = crawl(server, f"s3://{bucket}/corpus", tmp_path / "spool")
        hits = sum(server.hits.values())
    finally:
        server.stop()
    assert res.returncode == 1, res.log[-3000:]
    named = [line for line in res.log.splitlines() if re.search(r"\] (CRITICAL|ERROR): ", line) and f"bucket '{bucket}' does not exist at {s3_endpoint}" in line]
    assert len(named) == 1, named
    assert hits == 0, "nothing was fetched"
    assert "Traceback" not in res.log, "one line, not a flood of tracebacks"


def test_a_bucket_deleted_mid_run_stops_uploads_at_once_and_the_next_run_publishes_everything(tmp_path: Path, s3_endpoint: str) -> None:
    client = boto3.client("s3")
    bucket = "bucket-deleted-mid-run"
    uri, spool = f"s3://{bucket}/corpus", tmp_path / "spool"
    client.create_bucket(Bucket=bucket)
    gate = threading.Event()  # the feed waits until the bucket is gone: no article was uploaded before

    def delete_bucket() -> None:
        end = time.monotonic() + 60
        while not list(spool.rglob("manifest.jsonl")):  # the archive is open: the run has started
            assert time.monotonic() < end
            time.sleep(0.05)
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):  # the run's lock
            client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)
        gate.set()

    server = site(feed_gate=gate)
    try:
        deleter = threading.Thread(target=delete_bucket, daemon=True)
        deleter.start()
        first = crawl(server, uri, spool, ARCHIVE_UPLOAD_DEADLINE=300)  # a deadline that would be far too long
    finally:
        gate.set()
        server.stop()
    deleter.join(timeout=10)
    assert first.returncode == 2, first.log[-3000:]
    gone = [line for line in storage_lines(first.log) if f"bucket '{bucket}' does not exist at {s3_endpoint}: uploads stop" in line]
    assert len(gone) == 1, storage_lines(first.log)
    assert "failing for" not in first.log, "no retries for a missing bucket"
    assert any(n.endswith(".txt") for n in spooled_files(spool))

    client.create_bucket(Bucket=bucket)
    server = site(delay=0)
    try:
        second = crawl(server, uri, spool)
    finally:
        server.stop()
    assert second.returncode == 0, second.log[-3000:]
    store = open_store(uri)
    assert len(completed_runs(store)) == 2
    assert_exactly_once(store, tmp_path)
    assert spooled_files(spool) == []


def test_kill_9_mid_run_on_s3_then_restart_loses_nothing(tmp_path: Path, s3_bucket: str) -> None:
    uri, spool, log = f"s3://{s3_bucket}/corpus", tmp_path / "spool", tmp_path / "killed.log"
    server = site()
    try:
        proc = crawl_popen("brecorder", server, uri, spool, SETTINGS, log=log)
        end = time.monotonic() + 120
        while spooled_written_rows(spool) < 5:
            assert time.monotonic() < end and proc.poll() is None, log.read_text(errors="replace")[-2000:]
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        server.stop()
    store = open_store(uri)
    assert completed_runs(store) == [], "a killed run publishes no completion marker"
    assert not any(k.endswith(".open") for k in store.list_keys())

    server = site(delay=0)
    try:
        res = crawl(server, uri, spool)
    finally:
        server.stop()
    assert res.returncode == 0, res.log[-3000:]
    runs = completed_runs(store)
    assert len(runs) == 2
    assert sum(bool(read_summary(store, p).get("recovered")) for p in runs) == 1
    assert_exactly_once(store, tmp_path)
    assert spooled_files(spool) == [] and not list(spool.rglob("*.open"))
