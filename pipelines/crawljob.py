"""A crawl as a process: the ``scrapy crawl`` command line that starts it and the exit code that ends it.

One home for both, shared by the scheduler, the workers, the demo, the tests and the benches,
and by the ``crawl`` command that maps a run's outcome to its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

#: how a run ended (decided by the Scrapy layer from the archive's close, see crawler/extensions.py)
COMPLETE, INCOMPLETE, REFUSED = "complete", "incomplete", "refused"

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_REFUSED = 0, 1, 2, 75
EXIT_MEANINGS = {
    EXIT_OK: "complete",
    EXIT_FAILED: "could not start",
    EXIT_INCOMPLETE: "incomplete (uploads pending or stopped early)",
    EXIT_REFUSED: "refused: another run holds the lock",
}
EXIT_CODES_DOC = """\
0  the run finished and is published (completion marker written)
1  the run could not start (archive unreachable, bad arguments, spider error at start)
2  the run ended but is not complete: uploads failed (files wait in the spool for the next run),
   it was stopped before it finished (finish reason other than "finished"), or not one of the
   outlet's sources (feeds, sitemaps, sections) could be read
75 refused: another run of the outlet holds the archive's lock (EX_TEMPFAIL: try later)"""

#: settings that make a loopback crawl quick; politeness stays on for real crawls
LOOPBACK_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "RETRY_BACKOFF_BASE": "0.1",
}


def exit_code(outcome: str | None, started: bool) -> int:
    """The exit code of a run with ``outcome`` (None: the archive never closed; ``started``: Scrapy bootstrapped)."""
    if outcome == REFUSED:
        return EXIT_REFUSED
    if not started or outcome is None:
        return EXIT_FAILED
    return EXIT_OK if outcome == COMPLETE else EXIT_INCOMPLETE


def meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "failed")


def crawl_command(outlet: str, args: Mapping[str, str] | None = None, settings: Mapping[str, str] | None = None, extra: Sequence[str] = ()) -> list[str]:
    """``scrapy crawl OUTLET -a k=v... -s K=V...`` with this interpreter; ``extra``: raw arguments appended."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", outlet]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd + list(extra)


def mirror_crawl_command(outlet: str, base_url: str, archive: str, settings: Mapping[str, str] | None = None, args: Mapping[str, str] | None = None) -> list[str]:
    """The crawl of a mirror of ``outlet`` at ``base_url`` into ``archive``, with loopback politeness."""
    return crawl_command(outlet, {"base_url": base_url, **(args or {})}, {"ARCHIVE_URI": archive, **LOOPBACK_SETTINGS, **(settings or {})})
