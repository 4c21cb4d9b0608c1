"""Faults of the run itself: stopped by SIGTERM or a CLOSESPIDER limit, and a spool disk that fills up.

Each plays the fault for real (a signal to a ``scrapy crawl`` subprocess, a write the disk refuses)
and asserts what was archived, what summary.json says, the exit code, and that the next run
completes the work with every article written exactly once.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines import warc
from pipelines.archive import Archive, StorageFault
from pipelines.dev.mirror import serve
from pipelines.layout import MANIFEST
from pipelines.process import HOST
from pipelines.publish import LIVE_MARK
from pipelines.reader import completed_runs, read_rows, read_summary
from pipelines.storage import FileStore, open_store
from pipelines.verify import verify_archive, verify_run
from tests.conftest import ROOT, crawl_popen, expected, run_crawl
from tests.test_archive import config, exchange, row
from tests.faults import assert_each_written_once
from tests.test_crawl import assert_archive_sound


def wait_for_rows(spool: Path, proc: subprocess.Popen[bytes], log: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(spool.rglob(MANIFEST))
        if found and sum(1 for line in found[0].read_text().splitlines() if '"written"' in line) >= n:
            return
        assert proc.poll() is None, log.read_text()[-2000:]
        time.sleep(0.05)
    raise AssertionError("the slow crawl wrote no articles in time")


def check(archive: str, *flags: str) -> int:
    return subprocess.run([sys.executable, "-m", "pipelines", "check", archive, *flags], cwd=ROOT, capture_output=True).returncode


def test_sigterm_mid_run_is_incomplete_and_the_next_run_completes(tmp_path: Path) -> None:
    exp = expected("orda")
    want = {u for u, e in exp["articles"].items() if e["status"] == "written"}
    archive, spool, log = str(tmp_path / "archive"), tmp_path / "spool", tmp_path / "term.log"
    slow = serve("orda", delay=0.4)
    try:
        proc = crawl_popen("orda", slow, archive, spool, exp.get("settings"), log=log)
        wait_for_rows(spool, proc, log, 2)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=120) == 2, log.read_text()[-3000:]
    finally:
        slow.stop()
    store = open_store(archive)
    [stopped] = completed_runs(store)  # everything it wrote is published and whole: it has its marker
    summary = read_summary(store, stopped)
    assert summary["finish_reason"] == "shutdown"
    assert summary["outcome"] == "incomplete" and "SIGTERM" in summary["outcome_reason"]
    # Scrapy's graceful shutdown lets in-flight requests finish: on this small site they may be all
    assert 2 <= summary["counts"].get("written", 0) <= len(want)
    assert "incomplete" in log.read_text() and "exit 2" in log.read_text()
    assert_archive_sound(store, tmp_path)
    assert check(archive) == 0 and check(archive, "--strict") == 1, "--strict fails on a run that is not complete"

    server = serve("orda")
    try:
        res = run_crawl("orda", server, archive, spool, exp.get("settings"))
        assert res.returncode == 0, res.log[-2000:]
    finally:
        server.stop()
    assert_each_written_once(store, want)
    later = [p for p in completed_runs(store) if p != stopped]
    assert [read_summary(store, p)["outcome"] for p in later] == ["complete"]
    assert_archive_sound(store, tmp_path)


def test_a_closespider_limit_is_incomplete(tmp_path: Path) -> None:
    exp = expected("orda")
    server = serve("orda")
    try:
        res = run_crawl("orda", server, str(tmp_path / "a"), tmp_path / "spool", {**exp.get("settings", {}), "CLOSESPIDER_ITEMCOUNT": 2})
    finally:
        server.stop()
    assert res.returncode == 2, res.log[-2000:]
    store = open_store(str(tmp_path / "a"))
    [prefix] = completed_runs(store)
    summary = read_summary(store, prefix)
    assert summary["finish_reason"] == "closespider_itemcount" and summary["outcome"] == "incomplete"
    assert "CLOSESPIDER_ITEMCOUNT" in summary["outcome_reason"]


class FillsUp:
    """A file whose disk fills during a write: part of the bytes land, then ENOSPC (as write(2) does)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.full = False

    def write(self, data: Any) -> int:
        if not self.full:
            return self._fh.write(data)
        self._fh.write(bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


@pytest.mark.parametrize("where", ["warc", "manifest"])
def test_a_write_the_full_disk_refuses_is_undone_and_stops_the_run(where: str, tmp_path: Path) -> None:
    archive = Archive.create(config(tmp_path, "20261125T120000Z-full"), "orda", "en")
    archive.open()
    faults: list[str] = []
    archive.on_storage_fault = faults.append
    kept = "https://en.orda.kz/kept-12345/"
    archive.add(row(kept), "Kept\n\nKept body.", archive.record_exchange(exchange(kept)))
    disk = FillsUp(archive.warc._fh if where == "warc" else archive._manifest._fh)  # type: ignore[union-attr]
    if where == "warc":
        archive.warc._fh = disk  # type: ignore[assignment]
    else:
        archive._manifest._fh = disk  # type: ignore[union-attr]
    disk.full = True
    lost = "https://en.orda.kz/lost-12346/"
    with pytest.raises(StorageFault):
        archive.add(row(lost), "Lost\n\nLost body.", archive.record_exchange(exchange(lost)))
    assert len(faults) == 1 and "No space left on device" in faults[0], "told once, with the cause"
    with pytest.raises(StorageFault):  # nothing more is written once the disk is full
        archive.record_exchange(exchange("https://en.orda.kz/next-12347/"))
    disk.full = False  # the uploads at close free the disk
    summary = archive.close("storage_failed")
    assert summary is not None and summary["outcome"] == "failed" and summary["published"]
    store = FileStore(tmp_path / "archive")
    [prefix] = completed_runs(store)
    assert verify_run(store, prefix)[0] == [], "the published WARC and manifest parse to the end"
    assert [r.url for r in read_rows(store, prefix)] == [kept], "the acknowledged row is kept, the refused one is not"
    for key in store.list_keys(prefix + "/warc/"):
        assert warc.check_warc(store.get_bytes(key) or b"") == []
    assert lost not in archive.state and kept in archive.state, "the next run fetches the lost article"
    problems, report = verify_archive(str(tmp_path / "archive"))
    assert report["outcomes"] == {"failed": 1} and [p for p in problems if "outcome failed" in p] != [], "failed is a problem without --strict"


def test_recovery_cuts_a_manifest_at_its_last_complete_row(tmp_path: Path) -> None:
    dead = Archive.create(config(tmp_path, "20261125T120000Z-dead"), "orda", "en")
    dead.open()
    kept = "https://en.orda.kz/kept-12345/"
    dead.add(row(kept), "Kept\n\nKept body.", dead.record_exchange(exchange(kept)))
    dead.warc.close()
    with open(dead.run_dir / MANIFEST, "ab") as fh:  # a crash in the middle of the next row
        fh.write(b'{"docid": "0123456789abcdef", "url": "https://en.or')
    (dead.run_dir / LIVE_MARK).write_text(f"{HOST} 999999999\n")  # its process is gone
    dead.lock.release()  # type: ignore[union-attr]
    later = Archive.create(config(tmp_path, "20261125T130000Z-next"), "orda", "en")
    later.open()
    later.close("finished")
    store = FileStore(tmp_path / "archive")
    assert dead.prefix in completed_runs(store)
    assert (store.get_bytes(f"{dead.prefix}/{MANIFEST}") or b"").endswith(b"\n")
    assert verify_run(store, dead.prefix)[0] == []
    summary = read_summary(store, dead.prefix)
    assert summary["outcome"] == "incomplete" and summary["recovered"] is True


def test_check_reports_a_damaged_archive_instead_of_crashing(tmp_path: Path) -> None:
    run = tmp_path / "archive" / "runs" / "2026-11-25" / "orda" / "r1"
    run.mkdir(parents=True)
    (run / "_SUCCESS").write_text("{}\n")
    (run / "summary.json").write_text('{"outcome": "comp')  # cut short
    (run / MANIFEST).write_text('{"docid": "x", "url": "https://en.orda.kz/a-1/", "status": "written"}\n{"docid"')
    (run / "warc").mkdir()
    (run / "warc" / "orda-1.warc.gz").write_bytes(b"\x1f\x8b\x08garbage")
    res = subprocess.run([sys.executable, "-m", "pipelines", "check", str(tmp_path / "archive")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "r1" in res.stderr
