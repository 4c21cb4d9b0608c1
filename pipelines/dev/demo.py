"""The offline demo: every outlet's fixture mirror served on loopback and crawled by the real spiders
into an archive of its own (``./demo-archive`` by default), never into a real one.

The demo's runs are mirror runs (``-a base_url=``): marked in their summaries and manifests, their
state and dedup index kept apart. It refuses an archive that holds a live run (one that did not
crawl a mirror), so fixture texts and fixture URLs under the real domains never enter a real
archive; run it twice and the second run archives only what the first could not (incremental).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from typing import TextIO

from pipelines.archive import non_mirror_runs
from pipelines.crawljob import mirror_crawl_command
from pipelines.dev.mirror import serve
from pipelines.layout import MANIFEST
from pipelines.reader import completed_runs, read_summary
from pipelines.storage import FileStore, open_store

DEFAULT_ARCHIVE = "./demo-archive"
#: the Scrapy project of the crawls, so that the demo also works from another folder
SETTINGS_MODULE = "crawler.settings"


class DemoRefused(Exception):
    """The demo will not write into this archive: ``str()`` is one line naming it and what to do."""


def check_demo_archive(archive: str) -> None:
    """Refuse an archive that holds a live run (raises :class:`DemoRefused`); a new or a mirror-only
    archive (an earlier demo's) is fine."""
    try:
        store = open_store(archive)
    except ValueError as exc:
        raise DemoRefused(f"bad --archive {archive!r}: {exc}") from exc
    try:
        live = non_mirror_runs(store)
    except Exception as exc:  # S3 unreachable, a missing bucket, no permission
        raise DemoRefused(f"archive {archive} could not be read ({type(exc).__name__}: {exc}); fix --archive or the store") from exc
    if live:
        raise DemoRefused(
            f"{archive} holds {len(live)} live run(s) (not of a mirror, e.g. {live[0]}): the demo never writes fixture "
            f"texts into a real archive; leave out --archive (default {DEFAULT_ARCHIVE}) or give a new folder"
        )


def run_demo(outlets: Sequence[str], archive: str = DEFAULT_ARCHIVE, log_level: str = "WARNING", out: TextIO = sys.stdout) -> int:
    """Serve and crawl each outlet's fixture mirror into ``archive``; print where the runs are and how
    to look at them. Returns the first non-zero exit code of the crawls (0: all complete)."""
    check_demo_archive(archive)
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": os.environ.get("SCRAPY_SETTINGS_MODULE") or SETTINGS_MODULE}
    status = 0
    for outlet in outlets:
        server = serve(outlet)
        try:
            print(f"== {outlet}: fixture mirror at {server.base_url}, crawling into {archive}", file=out, flush=True)
            # backfill=1: the fixture sites are dated in the past, a first run's discovery window would skip them
            cmd = mirror_crawl_command(outlet, server.base_url, archive, {"LOG_LEVEL": log_level}, {"backfill": "1"})
            status = status or subprocess.run(cmd, check=False, env=env).returncode
        finally:
            server.stop()
    report(archive, out)
    return status


def report(archive: str, out: TextIO = sys.stdout) -> None:
    """The demo archive's runs, and how to look at them."""
    store = open_store(archive)
    print(f"\nDemo archive {archive} ({store.uri}; mirror runs only, apart from any real archive):", file=out)
    with_texts = []
    for prefix in completed_runs(store):
        summary = read_summary(store, prefix)
        print(f"  {prefix}: {summary.get('outcome')}, {summary.get('counts')} (mirror {summary.get('mirror')})", file=out)
        if summary.get("text_files"):
            with_texts.append(prefix)
    print(f"Look at it: python -m pipelines check {archive}", file=out)
    if with_texts:
        where = f"{store.root}/{with_texts[-1]}" if isinstance(store, FileStore) else f"{store.uri.rstrip('/')}/{with_texts[-1]}"
        print(f"Texts (one cleaned article each) in each run's text/ folder, e.g. {where}/text/; its rows in "
              f"{MANIFEST}, its HTTP exchanges in warc/ (format: docs/corpus-format.md)", file=out)
