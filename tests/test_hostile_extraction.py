"""A page that keeps extraction inside one C call for a minute: an ``error`` row at the deadline, the crawl goes on.

The in-worker ``SIGALRM`` acts only between Python bytecodes; one lxml XPath call holds the GIL
until it returns. The pool (``pipelines/workers.py``) enforces the deadline from the parent and
kills the worker. Tested here: the pool in-process (tasks blocked in C: catastrophic regex
backtracking, which no signal interrupts), and a real crawl of a Business Recorder look-alike with
one such page among normal ones.

The pathological page: 200 nested ``story__content`` wrappers around 6000 read-also paragraphs
(410 KB). The outlet's HTML rule ``//div[contains(@class,'story__content')]//p[...]`` merges
each wrapper's paragraphs into one node set, with a duplicate check per node: one XPath call,
depth x paragraphs^2 in C. Measured on the 2-core dev machine (``python -m tests.test_hostile_extraction``
prints it): 61-66 s unbounded; with ``EXTRACT_TIMEOUT=3`` the alarm alone acts after 59-79 s
(when that call returns). With the hard deadline the whole crawl of the test takes about 7 s.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import wait
from pathlib import Path

import pytest

from pipelines.reader import completed_runs, read_rows, read_summary
from pipelines.storage import open_store
from pipelines.workers import PoolClosed, RemoteTraceback, TaskTimeout, WorkerDied, WorkerPool
from tests.conftest import ROOT, run_crawl
from tests.hostile import LIVE, HostileServer, article_html, article_id, brecorder_site, page
from tests.test_crawl import assert_archive_sound

# --------------------------------------------------------------------------- worker tasks
# (module level: the spawned workers import them from here)


def backtrack(n: int = 40) -> object:
    """Catastrophic backtracking: ~2**n steps inside one C call that holds the GIL (hours for 40)."""
    return re.match(r"(a+)+$", "a" * n + "b")


def announce_then_backtrack(path: str) -> object:
    with open(path, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return backtrack()


def echo(value: object) -> tuple[object, int]:
    return value, os.getpid()


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def exit_now(code: int) -> None:
    os._exit(code)


def boom() -> None:
    raise ValueError("boom in the worker")


# --------------------------------------------------------------------------- helpers


def gone(pid: int) -> bool:
    """The process does not exist, or is a zombie (dead, not yet reaped by whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def my_children() -> set[int]:
    """Direct children of this process, zombies included (from /proc)."""
    kids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            kids.update(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return kids


def assert_no_worker_left(pids: set[int]) -> None:
    assert pids, "no worker pids recorded"
    assert not pids & {p.pid for p in multiprocessing.active_children()}
    assert not pids & my_children(), "a worker is still a child of this process (running or a zombie)"
    assert all(gone(p) for p in pids)


@pytest.fixture()
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(2, name="test")
    seen: set[int] = set(p.pids())
    p.seen = seen  # type: ignore[attr-defined]
    yield p
    seen.update(p.pids())
    p.close()
    assert_no_worker_left(seen)


def wait_ready(p: WorkerPool) -> None:
    """Both workers answered once (started and ready)."""
    wait([p.submit(nap, 0.3) for _ in range(p.size)], timeout=60)


# --------------------------------------------------------------------------- the pool


def test_a_task_stuck_in_c_is_killed_at_its_deadline_and_its_worker_replaced(pool: WorkerPool) -> None:
    wait_ready(pool)
    before = set(pool.pids())
    stuck = pool.submit(backtrack, deadline=1.0)
    with pytest.raises(TaskTimeout, match="1s deadline"):
        stuck.result(timeout=60)  # unbounded it runs for hours, and no signal interrupts it
    after = set(pool.pids())
    pool.seen.update(after)  # type: ignore[attr-defined]
    killed = before - after
    assert len(killed) == 1 and len(after) == 2, (before, after)
    assert all(gone(p) for p in killed)
    assert not killed & my_children(), "the killed worker was reaped"
    # the replacement takes tasks once it is ready
    new, ran = after - before, set()
    end = time.monotonic() + 60
    while not new <= ran and time.monotonic() < end:
        ran |= {f.result(timeout=60) for f in [pool.submit(nap, 0.3) for _ in range(4)]}
    assert new <= ran


def test_tasks_queued_behind_a_stuck_task_are_neither_lost_nor_failed() -> None:
    """One worker, two tasks written to its pipe at a time: the ones behind the stuck task go to
    the replacement worker and succeed, in order."""
    with WorkerPool(1, prefetch=2, name="test") as p:
        first = set(p.pids())
        stuck = p.submit(backtrack, deadline=2.0)
        behind = [p.submit(echo, i, deadline=30) for i in range(6)]
        results = [f.result(timeout=60) for f in behind]
        with pytest.raises(TaskTimeout):
            stuck.result(timeout=60)
        second = set(p.pids())
    assert [value for value, _ in results] == list(range(6))
    assert {pid for _, pid in results} == second and not second & first
    assert_no_worker_left(first | second)


def test_other_workers_keep_flowing_while_one_is_stuck(pool: WorkerPool) -> None:
    wait_ready(pool)
    stuck = pool.submit(backtrack, deadline=600)
    results = [f.result(timeout=60) for f in [pool.submit(echo, i, deadline=30) for i in range(40)]]
    assert [value for value, _ in results] == list(range(40))
    assert not stuck.done(), "the stuck task is still running: its neighbours did not wait for it"
    pool.seen.update(pool.pids())  # type: ignore[attr-defined]
    pool.close(timeout=1)  # ends the stuck worker too
    with pytest.raises(PoolClosed):
        stuck.result(timeout=0)


def test_a_worker_that_dies_fails_only_its_own_task(pool: WorkerPool) -> None:
    wait_ready(pool)
    dying = pool.submit(exit_now, 3)
    others = [pool.submit(echo, i) for i in range(10)]
    with pytest.raises(WorkerDied, match="exited with code 3"):
        dying.result(timeout=60)
    assert [f.result(timeout=60)[0] for f in others] == list(range(10))
    pool.seen.update(pool.pids())  # type: ignore[attr-defined]
    assert len(pool.pids()) == 2
    assert pool.submit(echo, "again").result(timeout=60)[0] == "again"


def test_an_exception_in_a_task_comes_back_with_the_worker_traceback(pool: WorkerPool) -> None:
    with pytest.raises(ValueError, match="boom in the worker") as info:
        pool.submit(boom).result(timeout=60)
    assert isinstance(info.value.__cause__, RemoteTraceback) and "in boom" in str(info.value.__cause__)
    assert pool.submit(echo, 1).result(timeout=60)[0] == 1


@pytest.mark.parametrize("body", [b"", b"   \n\t  ", b"\xef\xbb\xbf  "])
def test_a_blank_page_comes_back_from_a_worker_as_no_text_not_as_a_worker_error(pool: WorkerPool, body: bytes) -> None:
    """lxml's "Document is empty" carries an error log that cannot be pickled back: it must not escape."""
    from pipelines.extract import extract_document

    result = pool.submit(extract_document, body, "text/html; charset=utf-8", "https://example.test/a", None).result(timeout=60)
    assert result["paragraphs"] == [] and result["title"] == ""


def test_close_fails_what_did_not_start_and_refuses_new_tasks() -> None:
    p = WorkerPool(1, prefetch=1, name="test")
    pids = set(p.pids())
    wait_ready(p)
    running = p.submit(nap, 1.0)
    end = time.monotonic() + 60
    while not running.running() and time.monotonic() < end:  # handed to the worker
        time.sleep(0.01)
    queued = [p.submit(echo, i) for i in range(3)]
    p.close()
    assert running.result(timeout=0) in pids, "a running task ends normally"
    for f in queued:
        with pytest.raises(PoolClosed):
            f.result(timeout=0)
    with pytest.raises(PoolClosed):
        p.submit(echo, 1)
    assert_no_worker_left(pids)


SCRIPT = """
import sys, time
from pipelines.workers import WorkerPool
from tests.test_hostile_extraction import announce_then_backtrack
pool = WorkerPool(2, name="orphan-test")
futures = [pool.submit(announce_then_backtrack, sys.argv[1]) for _ in range(2)]
time.sleep(600)
"""


def test_workers_stuck_in_c_die_when_the_pool_process_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    marker.touch()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(marker)], cwd=ROOT)
    try:
        end = time.monotonic() + 60
        while len(marker.read_text().split()) < 2 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        workers = {int(p) for p in marker.read_text().split()}
        assert len(workers) == 2, "both workers started their task"
        time.sleep(0.5)  # inside the regex by now
        assert not any(gone(p) for p in workers)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    end = time.monotonic() + 30
    while not all(gone(p) for p in workers) and time.monotonic() < end:
        time.sleep(0.1)
    alive = {p for p in workers if not gone(p)}
    for p in alive:  # do not leave them spinning for hours
        os.kill(p, signal.SIGKILL)
    assert not alive, "workers outlived their killed parent"


# --------------------------------------------------------------------------- a real crawl

NESTED_DEPTH, READ_ALSO = 200, 6000
UNBOUNDED_S = 60  # measured (at least), see the module docstring


def pathological_page(title: str) -> str:
    read_also = '<p><strong><a href="/news/1/older-story">Read more</a></strong></p>' * READ_ALSO
    wrapper = '<div class="story__content">'
    return article_html(title).replace(wrapper, wrapper * NESTED_DEPTH + read_also + "</div>" * (NESTED_DEPTH - 1), 1)


def test_a_page_stuck_in_one_c_call_becomes_an_error_row_at_the_deadline_and_the_crawl_goes_on(tmp_path: Path) -> None:
    normal = [article_id(i) for i in range(1, 7)]
    bad = article_id(99)
    articles = {path: page(article_html(f"Normal story {i}")) for i, path in enumerate(normal, 1)}
    articles[bad] = page(pathological_page("A page of nested wrappers"))
    assert len(pathological_page("x").encode()) < 1 << 20  # far from any size limit
    tag = uuid.uuid4().hex  # finds this crawl's processes afterwards
    archive = str(tmp_path / "archive")
    with HostileServer(brecorder_site(articles, listed=[normal[0], bad, *normal[1:]])) as server:
        result = run_crawl("brecorder", server, archive, tmp_path / "spool",
                           {"EXTRACT_TIMEOUT": 3, "EXTRACT_WORKERS": 2, "RETRY_TIMES": 0},
                           env={"HOSTILE_EXTRACTION_TEST": tag}, timeout=600)
    assert result.returncode == 0, result.log[-3000:]
    store = open_store(archive)
    [prefix] = completed_runs(store)
    rows = {row.url: row for row in read_rows(store, prefix)}
    assert set(rows) == {LIVE + p for p in [*normal, bad]}
    assert rows[LIVE + bad].status == "error"
    assert rows[LIVE + bad].reason == "extraction took longer than EXTRACT_TIMEOUT=3.0s"
    assert {p: rows[LIVE + p].status for p in normal} == {p: "written" for p in normal}
    assert_archive_sound(store, tmp_path)
    # the crawl did not wait for the page: the worker was killed (the alarm never got a chance)
    assert "stopped at EXTRACT_TIMEOUT=3.0s (worker killed)" in result.log
    assert re.search(r"extract: worker \d+ killed at the deadline of its task; replaced", result.log)
    duration = read_summary(store, prefix)["duration_s"]
    assert duration < UNBOUNDED_S / 2, f"the run took {duration} s: it waited for the page"
    # and no extraction worker outlived the crawl (its processes carry the tag in their environment)
    end = time.monotonic() + 10  # multiprocessing's resource tracker exits once it sees the crawl gone
    while (leftovers := tagged_processes(tag)) and time.monotonic() < end:
        time.sleep(0.2)
    assert not leftovers, f"processes of the crawl still running: {leftovers}"


def tagged_processes(tag: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f"HOSTILE_EXTRACTION_TEST={tag}".encode() in (proc / "environ").read_bytes() and not gone(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


if __name__ == "__main__":  # the figures of the module docstring
    from pipelines.extract import ExtractionTimeout, extract_document

    body = pathological_page("Measure").encode()
    print(f"page: {len(body)} bytes")
    for timeout in (0, 3):
        t0 = time.perf_counter()
        try:
            extract_document(body, "text/html; charset=utf-8", LIVE + article_id(99), "brecorder", timeout)
            how = "finished"
        except ExtractionTimeout:
            how = "alarm acted"
        print(f"EXTRACT_TIMEOUT={timeout}: {how} after {time.perf_counter() - t0:.1f} s (in one process, no hard kill)")
