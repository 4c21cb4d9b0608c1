"""What every fault test asserts across runs: each article written exactly once, nothing lost.

Counts come from every published manifest (completed runs and runs a later run recovered), row by
row, so an article written twice within one run counts twice too.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipelines import layout
from pipelines.reader import read_rows
from pipelines.storage import Store, open_store


def run_prefixes(store: Store) -> list[str]:
    """Every run with a published manifest, completed or not."""
    return sorted(k.rsplit("/", 1)[0] for k in store.list_keys("runs/") if k.endswith("/" + layout.MANIFEST))


def written_rows(archive: Store | str) -> dict[str, int]:
    """How many ``written`` rows each URL has across every published run of the archive."""
    store = open_store(archive) if isinstance(archive, str) else archive
    counts: dict[str, int] = {}
    for prefix in run_prefixes(store):
        for row in read_rows(store, prefix):
            if row.status == "written":
                counts[row.url] = counts.get(row.url, 0) + 1
    return counts


def spooled_written_rows(spool: Path) -> int:
    """``written`` rows in the manifests still in a spool (a run in progress or waiting to publish)."""
    return sum(m.read_text(errors="replace").count('"status": "written"') for m in spool.rglob(layout.MANIFEST))


def assert_each_written_once(archive: Store | str, want: Iterable[str]) -> None:
    """Every URL of ``want`` written exactly once, and nothing else written."""
    want = set(want)
    counts = written_rows(archive)
    assert set(counts) == want, f"lost: {sorted(want - set(counts))[:5]}, unexpected: {sorted(set(counts) - want)[:5]}"
    assert {u: n for u, n in counts.items() if n > 1} == {}, "written more than once"
    # the figures of the table: `python -m pytest -s tests/test_fault_*.py | grep ^fault-check`
    store = open_store(archive) if isinstance(archive, str) else archive
    print(f"fault-check: {len(want)} articles, written once across {len(run_prefixes(store))} run(s), 0 lost, 0 duplicated")


def wait_for(condition: Callable[[], Any], what: str, timeout: float, procs: Iterable[subprocess.Popen[bytes]] = ()) -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` s or when a process of ``procs`` ended."""
    procs = list(procs)
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert all(p.poll() is None for p in procs), f"a crawler ended while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
