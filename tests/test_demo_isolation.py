"""The offline demo never touches real data, and mirror runs never feed live runs (issue 11).

``python -m pipelines demo`` writes into an archive of its own (``./demo-archive``) and refuses an
archive that holds a live run; a run with ``base_url`` (a mirror run) is marked in its summary and
manifest, and its state files and dedup delta are kept apart: a live run never loads them, a mirror
rerun does. The archive core is tested in-process (as ``tests/test_archive.py``), the demo as the
operator runs it (``python -m pipelines`` subprocesses).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import layout
from pipelines.archive import Archive, non_mirror_runs
from pipelines.dedup import MemoryIndex, fingerprint
from pipelines.manifest import ERROR
from pipelines.process import HOST
from pipelines.publish import LIVE_MARK
from pipelines.reader import completed_runs, read_rows, read_summary
from pipelines.state import ArchivedState
from pipelines.storage import FileStore
from pipelines.verify import verify_run
from tests.conftest import REDIS_URL, ROOT
from tests.test_archive import config, exchange, row

MIRROR = "http://127.0.0.1:9"  # a mirror's base URL (nothing is fetched in-process)
REAL = "https://en.orda.kz/a-real-story-12345/"
FIXTURE = "https://en.orda.kz/a-fixture-story-12311/"
TEXT = "Headline\n\n" + " ".join(f"word{n}" for n in range(80)) + "."


def write_run(tmp_path: Path, run_id: str, url: str, mirror: str | None = None, text: str = TEXT) -> Archive:
    """One finished run of orda with one written article (a mirror run when ``mirror`` is given)."""
    archive = Archive.create(dataclasses.replace(config(tmp_path, run_id), mirror=mirror), "orda", "en")
    archive.open()
    archive.add(row(url), text, archive.record_exchange(exchange(url)))
    index = MemoryIndex()
    index.add(row(url).docid, fingerprint(text.partition("\n\n")[2]))
    archive.put_dedup_delta(index.delta_bytes())
    summary = archive.close("finished")
    assert summary is not None and summary["published"] and summary["mirror"] == mirror
    return archive


def opened(tmp_path: Path, run_id: str, mirror: str | None = None) -> Archive:
    archive = Archive.create(dataclasses.replace(config(tmp_path, run_id), mirror=mirror), "orda", "en")
    archive.open()
    return archive


def pipelines_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "ARCHIVE_SPOOL_DIR": str(cwd / ".spool")})


def archive_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


# ---------------------------------------------------------------------------------- the archive core


def test_a_mirror_run_is_marked_and_its_state_and_dedup_index_are_kept_apart(tmp_path: Path) -> None:
    mirror = write_run(tmp_path, "20261125T120000Z-mirror", FIXTURE, MIRROR)
    store = FileStore(tmp_path / "archive")
    summary = read_summary(store, mirror.prefix)
    assert summary["mirror"] == MIRROR and list(summary).index("mirror") == list(summary).index("archive") + 1
    assert [r.mirror for r in read_rows(store, mirror.prefix)] == [True]
    assert verify_run(store, mirror.prefix)[0] == []
    keys = store.list_keys()
    assert layout.state_key("orda", mirror.run_id, mirror=True) in keys
    assert layout.dedup_key(mirror.run_id, mirror=True) in keys
    assert layout.state_key("orda", mirror.run_id) not in keys and layout.dedup_key(mirror.run_id) not in keys
    assert non_mirror_runs(store) == [], "an archive of mirror runs only holds no live run"

    live = opened(tmp_path, "20261125T130000Z-live")
    assert not live.is_archived(FIXTURE), "a live run never counts a mirror run's URL as archived"
    assert live.load_dedup_deltas() == [], "nor compares real texts with a mirror run's"
    live.add(row(REAL), TEXT, live.record_exchange(exchange(REAL)))
    live_summary = live.close("finished")
    assert live_summary is not None and live_summary["mirror"] is None
    assert [r.mirror for r in read_rows(store, live.prefix)] == [False]
    assert read_summary(store, live.prefix)["mirror"] is None
    assert non_mirror_runs(store) == [live.run_id]

    rerun = opened(tmp_path, "20261125T140000Z-mirror2", MIRROR)
    assert rerun.is_archived(FIXTURE), "a mirror rerun skips what mirror runs archived"
    assert not rerun.is_archived(REAL), "and never takes the live runs' state for its own"
    assert len(rerun.load_dedup_deltas()) == 1
    rerun.close("finished")


def test_a_live_run_ignores_mirror_urls_in_the_shared_redis_set(tmp_path: Path, redis_ns: str) -> None:
    """Frontier mode: the archive's Redis set of archived URLs is shared; a live run leaves out what only mirror runs archived."""
    import redis

    mirror = write_run(tmp_path, "20261125T120000Z-mirror", FIXTURE, MIRROR)
    store = FileStore(tmp_path / "archive")
    live = ArchivedState(store, "orda", REDIS_URL, key_prefix=redis_ns)
    r = redis.Redis.from_url(REDIS_URL)
    r.sadd(live.redis_key, FIXTURE, REAL)  # a mirror worker's URL, and one a live worker archived
    assert live.load() == 1 and REAL in live and FIXTURE not in live
    assert ArchivedState(store, "orda", REDIS_URL, key_prefix=redis_ns, mirror=True).load() == 2
    assert mirror.state.mirror


def test_a_mirror_run_into_an_archive_with_live_runs_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_run(tmp_path, "20261125T120000Z-live", REAL)
    with caplog.at_level(logging.WARNING, logger="pipelines.archive"):
        mirror = opened(tmp_path, "20261125T130000Z-mirror", MIRROR)
    mirror.close("finished")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "holds 1 live run(s) of orda" in warning and MIRROR in warning and "kept apart" in warning


def test_a_dead_mirror_run_is_recovered_under_the_mirror_keys(tmp_path: Path) -> None:
    """Spool recovery by a live run: the dead mirror run's state, attempts and dedup delta go under the mirror keys."""
    dead = opened(tmp_path, "20261125T120000Z-dead", MIRROR)
    dead.add(row(FIXTURE), TEXT, dead.record_exchange(exchange(FIXTURE)))
    gone = row("https://en.orda.kz/a-fixture-404-12297/", ERROR)
    gone.http_status = 404
    dead.add(gone, "", None)
    dead.warc.close()
    (dead.run_dir / LIVE_MARK).write_text(f"{HOST} 999999999\n")  # its process is gone
    dead.lock.release()  # type: ignore[union-attr]

    live = opened(tmp_path, "20261125T130000Z-live")
    assert live.recovered_runs == [dead.prefix]
    assert not live.is_archived(FIXTURE) and live.load_dedup_deltas() == []
    live.close("finished")
    store = FileStore(tmp_path / "archive")
    summary = read_summary(store, dead.prefix)
    assert summary["recovered"] is True and summary["mirror"] == MIRROR
    assert {r.mirror for r in read_rows(store, dead.prefix)} == {True}
    keys = store.list_keys()
    for key in (layout.state_key("orda", dead.run_id, True), layout.attempts_key("orda", dead.run_id, True), layout.dedup_key(dead.run_id, True)):
        assert key in keys, key
    assert not [k for k in keys if dead.run_id in k and not k.startswith("runs/") and "/mirror/" not in k], keys
    assert not [k for k in keys if k.startswith(dead.prefix) and k.rsplit("/", 1)[-1].startswith(".")], "the mirror mark is never published"
    assert opened(tmp_path, "20261125T140000Z-mirror", MIRROR).is_archived(FIXTURE)


def test_runs_from_before_the_mirror_mark_count_as_live(tmp_path: Path) -> None:
    """A completed run whose summary names no mirror (written before the mark existed) is live for the demo."""
    old = write_run(tmp_path, "20261125T120000Z-old", FIXTURE, MIRROR)
    store = FileStore(tmp_path / "archive")
    summary_path = tmp_path / "archive" / old.prefix / layout.SUMMARY
    summary = json.loads(summary_path.read_text())
    del summary["mirror"]
    summary_path.write_text(json.dumps(summary))
    assert non_mirror_runs(store) == [old.prefix]


# ---------------------------------------------------------------------------------- the demo


def test_the_demo_refuses_an_archive_holding_a_live_run(tmp_path: Path) -> None:
    live = write_run(tmp_path, "20261125T120000Z-live", REAL)
    before = archive_files(tmp_path / "archive")
    result = pipelines_cli("demo", "orda", "--archive", str(tmp_path / "archive"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("python -m pipelines demo: error: "), lines[0]
    for says in (str(tmp_path / "archive"), "1 live run(s)", live.run_id, "./demo-archive"):
        assert says in lines[0], (says, lines[0])
    assert result.stdout == "", "nothing was served or crawled"
    assert archive_files(tmp_path / "archive") == before, "the real archive is untouched"
    assert not (tmp_path / "demo-archive").exists()


def test_the_demo_writes_its_own_archive_apart_from_the_real_one_and_runs_twice(tmp_path: Path) -> None:
    """The README's first command: a real crawl into ./archive, then the demo: two clean archives."""
    live = write_run(tmp_path, "20261125T120000Z-live", REAL)  # the real crawl's archive
    real = archive_files(tmp_path / "archive")
    demo = tmp_path / "demo-archive"
    outputs = []
    for _ in range(2):
        result = pipelines_cli("demo", "orda", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        outputs.append(result.stdout)
    for out in outputs:
        assert "crawling into ./demo-archive" in out and "Demo archive ./demo-archive" in out
        assert "Look at it: python -m pipelines check ./demo-archive" in out and "/text/" in out
    assert archive_files(tmp_path / "archive") == real, "the real archive is untouched"

    store = FileStore(demo)
    first, second = completed_runs(store)
    for prefix in (first, second):
        assert read_summary(store, prefix)["mirror"].startswith("http://127.0.0.1:")
        assert read_summary(store, prefix)["outcome"] == "complete"
        assert {r.mirror for r in read_rows(store, prefix)} == {True}
    assert read_summary(store, first)["counts"]["written"] > 0
    assert {r.status for r in read_rows(store, second)} == {"error"}, "the second demo fetches only what failed"
    assert non_mirror_runs(store) == []
    state = [k for k in store.list_keys() if k.startswith(("state/", "dedup/"))]
    assert state and all("/mirror/" in k for k in state), state
    assert not [k for k in store.list_keys() if k.startswith("runs/") and live.run_id in k]

    # the real archive's live run still sees only its own state
    again = opened(tmp_path, "20261126T120000Z-live2")
    assert again.is_archived(REAL) and len(again.state) == 1 and len(again.load_dedup_deltas()) == 1
    again.close("finished")

    check = pipelines_cli("check", "./demo-archive", cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.splitlines()[-1].startswith("OK: 2 runs"), check.stdout + check.stderr
