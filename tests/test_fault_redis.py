"""Faults of the shared frontier's Redis, on loopback with Redis servers of the tests' own.

Two frontier workers crawl a Business Recorder look-alike with many articles, served slowly enough
that the fault happens mid-crawl (each test asserts it did). Redis restarted with its AOF, Redis
restarted empty, a worker killed with SIGKILL, Redis gone for good: every article is still written
exactly once across the workers and runs, every WARC verifies, no ``.open`` file is published and
the exit codes say what happened. Two archives on one Redis never skip each other's articles, a
worker whose sources failed is fine when its job read them, and a Redis password never shows in a
process's arguments, a log, a summary, a manifest or a WARC.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines import layout
from pipelines.crawljob import mirror_crawl_command
from pipelines.reader import read_rows, read_summary
from pipelines.state import archive_id
from pipelines.storage import Store, open_store
from tests.conftest import ROOT, crawl_popen, fixture_args
from tests.hostile import LIVE, HostileServer, Request, article_html, article_id, brecorder_site, page
from tests.redisproc import RedisProc
from tests.faults import assert_each_written_once, run_prefixes, wait_for
from tests.test_crawl import assert_archive_sound

HEARTBEAT = 0.5


# --------------------------------------------------------------------------- helpers


def slow(handler: Callable[[Request], None], delay: float) -> Callable[[Request], None]:
    def answer(req: Request) -> None:
        time.sleep(delay)
        handler(req)

    return answer


def news_site(n: int, delay: float = 0.0) -> tuple[HostileServer, set[str]]:
    """``n`` distinct articles listed in the latest-news feed, each answered after ``delay`` seconds
    (the outlet's other sources answer 404); returns the server and the article URLs."""
    paths = [article_id(i) for i in range(n)]
    articles = {p: slow(page(article_html(f"Fault story {i}: markets and policy", seed=i)), delay) for i, p in enumerate(paths)}
    return HostileServer(brecorder_site(articles)).start(), {LIVE + p for p in paths}


def frontier_settings(redis: RedisProc, job: str, **extra: str) -> dict[str, str]:
    return {"SCHEDULER_URI": redis.url, "FRONTIER_JOB": job, "DEDUP_URI": redis.url, "DEDUP_NAMESPACE": f"dedup-{job}",
            "FRONTIER_HEARTBEAT": str(HEARTBEAT), "FRONTIER_REDIS_TIMEOUT": "60", "EXTRACT_WORKERS": "1", **extra}


def archived_key(store: Store, prefix: str = "archived") -> str:
    return layout.archived_set_key(prefix, archive_id(store.uri), "brecorder")


def logged(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


@pytest.fixture()
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Crawler processes a test started: any still running at the end is killed (by its pid)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


@pytest.fixture()
def job() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- Redis restarts


@pytest.mark.parametrize("appendonly", [True, False], ids=["aof", "empty"])
def test_redis_restart_mid_crawl_loses_nothing_and_duplicates_nothing(appendonly: bool, job: str, tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """Redis stopped (SIGTERM) and started again while two workers crawl. With its AOF it comes back
    with the job; without persistence it comes back empty and the workers republish and re-seed."""
    server, want = news_site(60, delay=0.25)
    archive = str(tmp_path / "archive")
    store = open_store(archive)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    with RedisProc(tmp_path / "redis", appendonly=appendonly) as redis_proc:
        r = redis_proc.client()
        try:
            procs += [crawl_popen("brecorder", server, archive, tmp_path / f"spool{n}", frontier_settings(redis_proc, job), log=log)
                      for n, log in enumerate(logs, 1)]
            queue = layout.frontier_requests_key("brecorder", job)
            wait_for(lambda: r.scard(archived_key(store)) >= 10 and r.zcard(queue) > 0, "articles written and queued", 90, procs)
            written_before, queued_before = r.scard(archived_key(store)), r.zcard(queue)
            redis_proc.stop()
            r.close()
            wait_for(lambda: all(logged(log, "frontier Redis") and logged(log, "unreachable") for log in logs), "both workers to notice", 30, procs)
            time.sleep(4 * HEARTBEAT)  # an outage longer than heartbeat keys live: with the AOF they come back expired
            redis_proc.start()
            codes = [p.wait(timeout=180) for p in procs]
        finally:
            server.stop()
    text = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0], [t[-3000:] for t in text]
    # one warning when Redis goes (its URL without password), one line when it is back
    assert [t.count("[crawler.frontier] WARNING: frontier Redis redis://127.0.0.1:") for t in text] == [1, 1]
    assert all(t.count("[crawler.frontier] INFO: frontier Redis") == 1 and "is back after" in t for t in text)
    assert 0 < written_before < len(want) and queued_before > 0, "the restart came mid-crawl, with articles waiting"
    if appendonly:
        assert not any("Redis lost it" in t for t in text), "the AOF kept the job"
    else:
        assert all("Redis lost it" in t for t in text), "every worker noticed the job was gone"
        assert sum("re-seeded" in t for t in text) == 1, "one worker re-seeded it"
    assert_each_written_once(store, want)
    assert_archive_sound(store, tmp_path)
    assert [read_summary(store, p)["finish_reason"] for p in run_prefixes(store)] == ["finished", "finished"]


def test_one_of_two_workers_killed_mid_crawl(job: str, tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL to one worker: the other puts its in-flight requests back and finishes the job; the
    killed one, restarted on its machine (its spool), repairs and publishes its dead run."""
    server, want = news_site(50, delay=0.25)
    archive = str(tmp_path / "archive")
    store = open_store(archive)
    with RedisProc(tmp_path / "redis", appendonly=False) as redis_proc:
        r = redis_proc.client()
        try:
            doomed, other = (crawl_popen("brecorder", server, archive, tmp_path / f"spool{n}", frontier_settings(redis_proc, job), log=tmp_path / f"w{n}.log")
                             for n in (1, 2))
            procs += [doomed, other]
            inflight = layout.inflight_key(layout.frontier_requests_key("brecorder", job), "*")
            doomed_inflight = layout.inflight_key(layout.frontier_requests_key("brecorder", job), f"*:{doomed.pid}:*")  # host:pid:id
            wait_for(lambda: r.scard(archived_key(store)) >= 10 and sum(r.hlen(k) for k in r.scan_iter(doomed_inflight)) >= 2,
                     "articles written and in flight at the doomed worker", 90, procs)
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=30)
            written_before = r.scard(archived_key(store))
            assert sum(r.hlen(k) for k in r.scan_iter(doomed_inflight)) > 0, "the killed worker had requests in flight"
            assert other.wait(timeout=180) == 0, (tmp_path / "w2.log").read_text()[-3000:]
            restarted = crawl_popen("brecorder", server, archive, tmp_path / "spool1", frontier_settings(redis_proc, job), log=tmp_path / "w3.log")
            procs.append(restarted)
            assert restarted.wait(timeout=180) == 0, (tmp_path / "w3.log").read_text()[-3000:]
            assert not any(r.hlen(k) for k in r.scan_iter(inflight)), "nothing is left in flight"
        finally:
            server.stop()
    assert written_before < len(want), "the kill came mid-crawl"
    assert "in-flight request(s) put back in the queue" in (tmp_path / "w2.log").read_text()
    assert len(run_prefixes(store)) == 3, "the killed worker's run was repaired and published"
    assert_each_written_once(store, want)
    assert_archive_sound(store, tmp_path)


def test_redis_gone_for_good_ends_the_worker_incomplete_and_a_later_worker_finishes(job: str, tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """A Redis that stays away: the worker waits FRONTIER_REDIS_TIMEOUT, closes with frontier_lost
    (exit 2, run incomplete, what it wrote published); once Redis is back a worker does the rest."""
    server, want = news_site(40, delay=0.25)
    archive = str(tmp_path / "archive")
    store = open_store(archive)
    with RedisProc(tmp_path / "redis", appendonly=True) as redis_proc:
        r = redis_proc.client()
        try:
            settings = frontier_settings(redis_proc, job, FRONTIER_REDIS_TIMEOUT="3")
            lost = crawl_popen("brecorder", server, archive, tmp_path / "spool1", settings, log=tmp_path / "w1.log")
            procs.append(lost)
            wait_for(lambda: r.scard(archived_key(store)) >= 5, "articles written", 90, procs)
            redis_proc.stop()
            r.close()
            assert lost.wait(timeout=120) == 2, (tmp_path / "w1.log").read_text()[-3000:]
            redis_proc.start()
            later = crawl_popen("brecorder", server, archive, tmp_path / "spool2", settings, log=tmp_path / "w2.log")
            procs.append(later)
            assert later.wait(timeout=180) == 0, (tmp_path / "w2.log").read_text()[-3000:]
        finally:
            server.stop()
    log = (tmp_path / "w1.log").read_text()
    assert "FRONTIER_REDIS_TIMEOUT" in log and "frontier_lost" in log
    first, second = run_prefixes(store)
    assert read_summary(store, first)["finish_reason"] == "frontier_lost"
    assert read_summary(store, second)["finish_reason"] == "finished"
    assert 0 < sum(r.status == "written" for r in read_rows(store, first)) < len(want), "the first run ended mid-crawl"
    assert_each_written_once(store, want)
    assert_archive_sound(store, tmp_path)


# --------------------------------------------------------------------------- sharing one Redis


def test_two_archives_on_one_redis_do_not_skip_each_others_articles(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    server, want = news_site(20)
    stores = [open_store(str(tmp_path / name)) for name in ("archive-a", "archive-b")]
    with RedisProc(tmp_path / "redis", appendonly=False) as redis_proc:
        r = redis_proc.client()
        try:
            for n, store in enumerate(stores):
                # the embedded dedup index (kept with each archive): this test is about the archived state
                settings = {**frontier_settings(redis_proc, f"job-{n}"), "DEDUP_URI": ""}
                p = crawl_popen("brecorder", server, store.uri, tmp_path / f"spool{n}", settings, log=tmp_path / f"w{n}.log")
                procs.append(p)
                assert p.wait(timeout=180) == 0, (tmp_path / f"w{n}.log").read_text()[-3000:]
            sets = [{u.decode() for u in r.smembers(archived_key(store))} for store in stores]
        finally:
            server.stop()
    for store in stores:
        assert_each_written_once(store, want)
        assert_archive_sound(store, tmp_path)
    assert archived_key(stores[0]) != archived_key(stores[1]) and sets[0] == sets[1] == want
    assert all(server.hits[p.removeprefix(LIVE)] == 2 for p in want), "each archive fetched every article"


def test_a_worker_whose_sources_failed_is_fine_when_its_job_read_them(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """Only the job as a whole reading no source is a failure: another worker of the job counted its
    reads in Redis, so this worker (every source 404) ends complete; alone it would fail."""
    server = HostileServer({}).start()  # every source 404 (robots.txt too: allow all)
    codes = []
    with RedisProc(tmp_path / "redis", appendonly=False) as redis_proc:
        r = redis_proc.client()
        try:
            for n, read_elsewhere in enumerate([2, 0]):
                job = f"sources-{n}"
                if read_elsewhere:
                    r.set(layout.frontier_sources_key("brecorder", job), read_elsewhere)  # what the job's other worker read
                p = crawl_popen("brecorder", server, str(tmp_path / "archive"), tmp_path / "spool", frontier_settings(redis_proc, job), log=tmp_path / f"w{n}.log")
                procs.append(p)
                codes.append(p.wait(timeout=120))
        finally:
            server.stop()
    store = open_store(str(tmp_path / "archive"))
    stats = [read_summary(store, p)["scrapy_stats"] for p in run_prefixes(store)]
    assert [s["discovery/sources_failed"] > 0 and not s.get("discovery/feeds") for s in stats] == [True, True]
    assert sorted(s["frontier/job_sources_read"] for s in stats) == [0, 2]
    assert codes[0] == 0, (tmp_path / "w0.log").read_text()[-3000:]
    assert codes[1] != 0 and "no source of brecorder" in (tmp_path / "w1.log").read_text()


# --------------------------------------------------------------------------- secrets


def test_redis_password_appears_in_no_argv_log_summary_manifest_or_warc(job: str, tmp_path: Path) -> None:
    """A frontier job on a Redis with a password: a crawl and ``python -m pipelines worker --once``
    joining it get the URL through the environment. /proc/*/cmdline is scanned while they run."""
    password = f"pw-{uuid.uuid4().hex}"
    server, want = news_site(40, delay=0.4)
    archive = str(tmp_path / "archive")
    seen_in_argv: list[str] = []
    running: list[subprocess.Popen[bytes]] = []
    with RedisProc(tmp_path / "redis", appendonly=False, password=password) as redis_proc:
        env = {**os.environ, "SCHEDULER_URI": redis_proc.url, "FRONTIER_JOB": job, "DEDUP_URI": redis_proc.url}
        plain = {"FRONTIER_HEARTBEAT": str(HEARTBEAT), "EXTRACT_WORKERS": "1", "ARCHIVE_SPOOL_DIR": str(tmp_path / "spool1"), "LOG_LEVEL": "INFO"}
        r = redis_proc.client()
        try:
            with open(tmp_path / "crawl.log", "wb") as crawl_log, open(tmp_path / "worker.log", "wb") as worker_log:
                running.append(subprocess.Popen(mirror_crawl_command("brecorder", server.base_url, archive, plain, fixture_args()), cwd=ROOT, env=env,
                                                stdout=crawl_log, stderr=subprocess.STDOUT))
                wait_for(lambda: r.zcard(layout.frontier_requests_key("brecorder", job)) >= 5, "articles waiting in the frontier", 90, running)
                wenv = {k: v for k, v in env.items() if k != "FRONTIER_JOB"}  # the worker finds the job itself
                extra = [x for k, v in {**plain, "ARCHIVE_URI": archive, "ARCHIVE_SPOOL_DIR": str(tmp_path / "spool2"),
                                        "AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0"}.items() for x in ("-s", f"{k}={v}")]
                running.append(subprocess.Popen([sys.executable, "-m", "pipelines", "worker", "--once", "--outlets", "brecorder",
                                                 "-a", f"base_url={server.base_url}", *extra], cwd=ROOT, env=wenv,
                                                stdout=worker_log, stderr=subprocess.STDOUT))
                deadline = time.monotonic() + 180
                while any(p.poll() is None for p in running):
                    assert time.monotonic() < deadline, "the crawls did not end"
                    seen_in_argv += scan_cmdlines(password.encode())
                    time.sleep(0.02)
        finally:
            for p in running:
                if p.poll() is None:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=30)
            server.stop()
    logs = (tmp_path / "crawl.log").read_text(errors="replace") + (tmp_path / "worker.log").read_text(errors="replace")
    assert [p.returncode for p in running] == [0, 0], logs[-3000:]
    assert "joining crawl brecorder, frontier job " + job in logs, "the worker joined the waiting job"
    assert seen_in_argv == [], f"the password is in the arguments of {seen_in_argv}"
    assert password not in logs
    store = open_store(archive)
    assert len(run_prefixes(store)) == 2
    assert_each_written_once(store, want)
    leaks = [key for key in store.list_keys() if password.encode() in readable(store.get_bytes(key) or b"")]
    assert leaks == [], f"the password is in {leaks}"
    assert not any(password.encode() in readable(p.read_bytes()) for p in tmp_path.glob("spool*/**/*") if p.is_file())


def test_redact_strips_a_redis_password_from_urls_and_log_lines() -> None:
    from pipelines.redisconn import shown
    from pipelines.urls import redact

    assert shown("redis://:s3cret@127.0.0.1:6390/0") == "redis://127.0.0.1:6390/0"
    assert shown("rediss://user:s3cret@redis.example:6380/2") == "rediss://redis.example:6380/2"
    assert redact("joining redis://:s3cret@127.0.0.1:6390/0 and unix://:s3cret@/run/redis.sock") == "joining redis://127.0.0.1:6390/0 and unix:///run/redis.sock"


def scan_cmdlines(secret: bytes) -> list[str]:
    """Processes whose arguments hold ``secret`` (every process this user may read)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            if secret in cmdline:
                found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def readable(data: bytes) -> bytes:
    """``data``, gunzipped when it is gzip (WARC files: every member, warcinfo records included)."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data
