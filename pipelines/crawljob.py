"""A crawl as a process: the ``scrapy crawl`` command line that starts it and the exit code that ends it.

One home for both, shared by the scheduler, the workers, the demo, the tests and the benches,
and by the ``crawl`` command that maps a run's outcome to its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

#: how a run ended: the ``outcome`` of its summary.json and, with REFUSED, of the process
COMPLETE, INCOMPLETE, FAILED, REFUSED = "complete", "incomplete", "failed", "refused"
OUTCOMES = (COMPLETE, INCOMPLETE, FAILED)  # what summary.json can say

#: finish reasons our own components close a run with (besides Scrapy's "finished", "shutdown", ...)
FRONTIER_LOST = "frontier_lost"  # the shared frontier's Redis stayed unreachable (crawler/frontier.py)
STORAGE_FAILED = "storage_failed"  # the spool could not take more (disk full, ENOSPC)
#: how the outcome reason of a blocked run starts (``blocked by <outlet>: N of M requests blocked (...)``,
#: pipelines/blocking.py run_blocked): a failed run with this reason exits EXIT_BLOCKED
BLOCKED_BY = "blocked by"

_STOPPED = {
    "shutdown": "stopped by a signal (SIGTERM or SIGINT) before it finished",
    "cancelled": "cancelled before it finished",
    FRONTIER_LOST: "the shared frontier's Redis stayed unreachable longer than FRONTIER_REDIS_TIMEOUT",
}

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_BLOCKED, EXIT_REFUSED = 0, 1, 2, 3, 75
EXIT_MEANINGS = {
    EXIT_OK: "complete",
    EXIT_FAILED: "failed (could not start, read no source, or a storage fault stopped it)",
    EXIT_INCOMPLETE: "incomplete (stopped early, or uploads pending)",
    EXIT_BLOCKED: "failed, blocked: the outlet refused most requests (401/403/429, bot challenges)",
    EXIT_REFUSED: "refused: another run holds the lock",
}
EXIT_CODES_DOC = """\
0  complete: the run finished and everything it wrote is published (completion marker written)
1  failed: the run could not start (archive unreachable, bad arguments, spider error at start),
   could read not one of the outlet's sources (feeds, sitemaps, sections), or a storage fault
   (spool disk full) stopped it; what it wrote is published, or waits in the spool for the next run
2  incomplete: the run was stopped before it finished (SIGTERM/SIGINT, a CLOSESPIDER_* limit, the
   shared frontier lost), or uploads failed for ARCHIVE_UPLOAD_DEADLINE and files wait in the spool
   (the next run publishes them)
3  failed, blocked: most of the run's requests were refused by the outlet (HTTP 401/403/429 or a
   bot challenge page such as Cloudflare's; at least BLOCKED_MIN_REQUESTS answers, a share of at
   least BLOCKED_SHARE blocked) and no article could be written from a feed's full text instead
75 refused: another run of the outlet holds the archive's lock (EX_TEMPFAIL: try later)"""


def finish_outcome(finish_reason: str) -> tuple[str, str | None]:
    """The outcome Scrapy's finish reason alone gives: ``finished`` is complete, anything else is not."""
    if finish_reason == "finished":
        return COMPLETE, None
    if finish_reason == STORAGE_FAILED:
        return FAILED, "a storage fault stopped the run"
    if finish_reason.startswith("closespider_"):
        return INCOMPLETE, f"stopped by the {finish_reason.upper()} limit before it finished"
    return INCOMPLETE, _STOPPED.get(finish_reason, f"ended with finish reason {finish_reason!r}")


def run_outcome(finish_reason: str, storage_problem: str | None = None, unreadable: str | None = None, upload_problem: str | None = None) -> tuple[str, str | None]:
    """How a run ended, with the reason: the worst of its faults, its finish reason and its uploads.

    ``unreadable``: why the run reached nothing (no source read; or blocked, with a reason starting
    :data:`BLOCKED_BY`, which :func:`exit_code` maps to :data:`EXIT_BLOCKED`)."""
    if storage_problem:
        return FAILED, storage_problem
    if unreadable:
        return FAILED, unreadable
    outcome, reason = finish_outcome(finish_reason)
    if upload_problem:
        return INCOMPLETE, f"{reason}; {upload_problem}" if reason else upload_problem
    return outcome, reason


def is_blocked(outcome: str | None, reason: str | None) -> bool:
    """A failed run whose outcome reason says the outlet blocked it (:data:`BLOCKED_BY`)."""
    return outcome == FAILED and (reason or "").startswith(BLOCKED_BY + " ")


def outcome_label(outcome: str, reason: str | None) -> str:
    """How ``python -m pipelines check`` names an outcome: ``failed-blocked`` for a blocked run."""
    return f"{FAILED}-blocked" if is_blocked(outcome, reason) else outcome


def exit_code(outcome: str | None, started: bool, reason: str | None = None) -> int:
    """The exit code of a run with ``outcome`` and its ``reason`` (None: the archive never closed;
    ``started``: Scrapy bootstrapped); a blocked run (:func:`is_blocked`) exits :data:`EXIT_BLOCKED`."""
    if outcome == REFUSED:
        return EXIT_REFUSED
    if started and is_blocked(outcome, reason):
        return EXIT_BLOCKED
    if not started or outcome is None or outcome == FAILED:
        return EXIT_FAILED
    return EXIT_OK if outcome == COMPLETE else EXIT_INCOMPLETE


def meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "failed")


#: settings that make a loopback crawl quick; politeness stays on for real crawls
LOOPBACK_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "RETRY_BACKOFF_BASE": "0.1",
    "BLOCKED_BACKOFF_START": "0.2",  # a fixture's refused page does not hold the mirror back for seconds
}


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
