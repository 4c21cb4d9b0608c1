"""Shared frontier on Redis: several crawler processes split one crawl; a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from pipelines.dev.mirror import serve
from pipelines.layout import archived_set_key
from pipelines.state import archive_id
from pipelines.storage import open_store
from pipelines.reader import completed_runs
from tests.conftest import REDIS_URL, crawl_popen, expected
from tests.faults import assert_each_written_once
from tests.test_crawl import assert_archive_sound, run_files



@pytest.fixture()
def job(redis_ns: str) -> str:
    return redis_ns


def settings_for(job: str) -> dict[str, str]:
    return {"SCHEDULER_URI": REDIS_URL, "FRONTIER_JOB": job, "ARCHIVE_STATE_KEY_PREFIX": f"{job}-archived", "DEDUP_URI": REDIS_URL, "DEDUP_NAMESPACE": job,
            "FRONTIER_HEARTBEAT": "0.5", "EXTRACT_WORKERS": "1"}


def archived_key(job: str, archive: str) -> str:
    """The Redis set of the archive's archived brecorder URLs (see settings_for's key prefix)."""
    return archived_set_key(f"{job}-archived", archive_id(open_store(archive).uri), "brecorder")


@pytest.mark.parametrize("where", ["local", "s3"])
def test_two_workers_split_one_crawl_and_archive_every_article_once(where: str, job: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    want = {u for u, e in expected("brecorder")["articles"].items() if e["status"] == "written"}
    archive = f"s3://{request.getfixturevalue('s3_bucket')}/corpus" if where == "s3" else str(tmp_path / "archive")
    server = serve("brecorder", delay=0.2)
    try:
        workers = [crawl_popen("brecorder", server, archive, tmp_path / f"spool{n}", settings_for(job), log=tmp_path / f"w{n}.log") for n in (1, 2)]
        assert [w.wait(timeout=180) for w in workers] == [0, 0]
    finally:
        server.stop()
    store = open_store(archive)
    runs = completed_runs(store)
    assert len(runs) == 2, "each worker is a run of its own in the archive"
    assert_archive_sound(store, tmp_path)
    assert_each_written_once(archive, want)
    # one shared frontier: no page was requested by both workers (the 503-then-200 feed is retried once)
    paths = {urlsplit(u).path for u in want}
    assert all(server.hits[p] == 1 for p in paths), {p: server.hits[p] for p in paths}
    assert server.hits["/feeds/latest-news/"] == 2 and server.hits["/feeds/sitemap"] == 1
    # the "already archived" state is in the same Redis, under this archive's id: a later job on
    # another machine (a spool of its own) fetches none of these articles again
    r = redis.Redis.from_url(REDIS_URL)
    assert want <= {u.decode() for u in r.smembers(archived_key(job, archive))}
    # each worker's text files: one per article, all in the archive
    texts = [k for p in runs for k in run_files(store, p)["texts"]]
    assert len(texts) == len(want) == len({t.split("_", 1)[1] for t in texts})
    server = serve("brecorder")
    try:
        later = crawl_popen("brecorder", server, archive, tmp_path / "spool3",
                            {**settings_for(job), "FRONTIER_JOB": job + "-next"}, log=tmp_path / "w3.log")
        assert later.wait(timeout=180) == 0
    finally:
        server.stop()
    assert all(server.hits[p] == 0 for p in paths), "nothing archived is fetched again"


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_killed_workers_in_flight_requests_are_crawled_after_all(where: str, job: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The stack's topology on loopback: Redis, moto's S3 server, the fixture site, crawler workers."""
    want = {u for u, e in expected("brecorder")["articles"].items() if e["status"] == "written"}
    archive = f"s3://{request.getfixturevalue('s3_bucket')}/corpus" if where == "s3" else str(tmp_path / "archive")
    server = serve("brecorder", delay=0.6)
    r = redis.Redis.from_url(REDIS_URL)
    try:
        doomed = crawl_popen("brecorder", server, archive, tmp_path / "spool1", settings_for(job), log=tmp_path / "w1.log")
        deadline = time.monotonic() + 60
        inflight = f"frontier:brecorder:{job}:requests:inflight:"
        while not any(r.hlen(k) for k in r.scan_iter(f"{inflight}*")):
            assert time.monotonic() < deadline and doomed.poll() is None, (tmp_path / "w1.log").read_text()[-2000:]
            time.sleep(0.05)
        time.sleep(2.0)  # well into the crawl: articles are queued and in flight
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        lost = sum(r.hlen(k) for k in r.scan_iter(f"{inflight}*"))
        assert lost > 0, "the killed worker had requests in flight"
        other = crawl_popen("brecorder", server, archive, tmp_path / "spool2", settings_for(job), log=tmp_path / "w2.log")
        assert other.wait(timeout=180) == 0
        # the killed worker restarts on its machine: it repairs its dead run and crawls what is left
        restarted = crawl_popen("brecorder", server, archive, tmp_path / "spool1", settings_for(job), log=tmp_path / "w3.log")
        assert restarted.wait(timeout=180) == 0
    finally:
        server.stop()
    assert not any(r.hlen(k) for k in r.scan_iter(f"{inflight}*")), "nothing is left in flight"
    log = (tmp_path / "w2.log").read_text() + (tmp_path / "w3.log").read_text()
    assert "in-flight request(s) put back in the queue" in log
    assert_each_written_once(archive, want)
    assert_archive_sound(open_store(archive), tmp_path)


def test_a_scaled_worker_joins_the_waiting_job(job: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    want = {u for u, e in expected("brecorder")["articles"].items() if e["status"] == "written"}
    archive = str(tmp_path / "archive")
    server = serve("brecorder", delay=0.5)
    try:
        first = crawl_popen("brecorder", server, archive, tmp_path / "spool1", settings_for(job), log=tmp_path / "w1.log")
        r = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 60
        while r.zcard(f"frontier:brecorder:{job}:requests") < 6:  # articles are waiting
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        extra = [x for k, v in {**settings_for(job), "ARCHIVE_URI": archive, "ARCHIVE_SPOOL_DIR": str(tmp_path / "spool2"),
                                "AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0"}.items() if k not in ("SCHEDULER_URI", "FRONTIER_JOB")
                 for x in ("-s", f"{k}={v}")]
        worker = subprocess.run([sys.executable, "-m", "pipelines", "worker", "--once", "--outlets", "brecorder", "--redis", REDIS_URL,
                                 "-a", f"base_url={server.base_url}", "-a", "backfill=1", *extra], cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert first.wait(timeout=180) == 0
    finally:
        server.stop()
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert f"joining crawl brecorder, frontier job {job}" in worker.stderr
    assert len(completed_runs(open_store(archive))) == 2
    assert_each_written_once(archive, want)
