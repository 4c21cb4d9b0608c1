"""Verify an archive the way a downstream reader depends on it (``python -m pipelines check``).

For every completed run: WARC files complete (our own length scan) with valid digests (warcio),
every manifest row's ``warc_offset``/``warc_length`` reading back a response record of that
row's URL, every text file present with the recorded SHA-256, and no ``.open`` file published.
Each run's outcome (``summary.json``) is reported; a ``failed`` run is a problem (what it wrote
is whole, but the crawl did not happen: an alert must see it); ``strict`` makes any run that is not
``complete`` a problem. A damaged archive is reported, never a crash; a URI with nothing to
verify (missing, a file, no completed run, a store that cannot be listed) raises
:class:`ArchiveUnavailable`, because "0 problems in 0 runs" must never read as a pass.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from pipelines import warc
from pipelines.layout import MARKER
from pipelines.manifest import WRITTEN, parse_manifest
from pipelines.crawljob import COMPLETE, FAILED, outcome_label
from pipelines.reader import completed_runs, read_manifest_text, read_summary
from pipelines.storage import FileStore, Store, open_store


class ArchiveUnavailable(Exception):
    """Nothing to verify at the URI; the message names what is there instead, in one line."""


def verify_run(store: Store, prefix: str) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    keys = store.list_keys(prefix + "/")
    if any(k.endswith(warc.OPEN_SUFFIX) for k in keys):
        problems.append(f"{prefix}: an .open WARC file was published")
    warcs: dict[str, bytes] = {}
    for key in (k for k in keys if k.endswith(warc.WARC_SUFFIX)):
        data = store.get_bytes(key) or b""
        warcs[key] = data
        problems += [f"{key}: {p}" for p in warc.check_warc(data)]
        try:
            for _ in warc.iter_records(data):
                pass
        except Exception as exc:  # warcio's ArchiveLoadFailed on a digest mismatch
            problems.append(f"{key}: warcio: {exc}")
    manifest = read_manifest_text(store, prefix)
    rows = parse_manifest(manifest)
    if len(rows) < sum(1 for line in manifest.splitlines() if line.strip()):
        problems.append(f"{prefix}: manifest line {len(rows) + 1} is not a complete row")
    text_keys = {k for k in keys if "/text/" in k}
    for row in rows:
        if row.warc_key and row.warc_offset is not None and row.warc_length is not None:
            data = warcs.get(row.warc_key)
            if data is None:
                problems.append(f"{prefix}: row {row.url}: WARC {row.warc_key} missing")
            else:
                try:
                    rec = warc.read_record(data, row.warc_offset, row.warc_length)
                except Exception as exc:
                    problems.append(f"{prefix}: row {row.url}: no record at its offset ({exc})")
                else:
                    if rec.rec_type != "response" or rec.record_id != row.warc_record_id:
                        problems.append(f"{prefix}: row {row.url}: offset points to {rec.rec_type} {rec.record_id}")
        if row.text_key:
            data = store.get_bytes(row.text_key)
            if data is None:
                problems.append(f"{prefix}: text {row.text_key} missing")
            elif hashlib.sha256(data).hexdigest() != row.text_sha256:
                problems.append(f"{prefix}: text {row.text_key} SHA-256 differs from the manifest")
            text_keys.discard(row.text_key)
    problems += [f"{prefix}: text file {k} has no manifest row" for k in sorted(text_keys)]
    report = {"prefix": prefix, "rows": len(rows), "statuses": dict(Counter(r.status for r in rows)), "warc_files": len(warcs)}
    return problems, report


def run_outcome_of(store: Store, prefix: str) -> tuple[str, str | None]:
    """A completed run's outcome and reason from its summary (runs from before outcomes: by finish reason)."""
    summary = read_summary(store, prefix)
    if "outcome" in summary:
        return summary["outcome"], summary.get("outcome_reason")
    reason = summary.get("finish_reason")
    return (COMPLETE, None) if reason == "finished" else ("incomplete", f"finish reason {reason!r}")


def open_archive(uri: str) -> tuple[Store, list[str]]:
    """The store at ``uri`` and its completed runs; :class:`ArchiveUnavailable` when there is nothing to verify."""
    try:
        store = open_store(uri)
    except ValueError as exc:  # unsupported scheme, s3:// without a bucket
        raise ArchiveUnavailable(f"{exc}; give the archive as a folder, file://PATH or s3://BUCKET/PREFIX") from exc
    where = str(store.root) if isinstance(store, FileStore) else store.uri
    if isinstance(store, FileStore):
        if not store.root.exists():
            raise ArchiveUnavailable(f"no archive at {where}: no such folder; give the folder the crawls write to (ARCHIVE_URI), file://PATH or s3://BUCKET/PREFIX")
        if not store.root.is_dir():
            raise ArchiveUnavailable(f"{where} is a file, not an archive; give the archive's folder (the one holding runs/)")
    try:
        runs = completed_runs(store)
        started = runs or store.list_keys("runs/")  # listed again only when nothing completed
    except Exception as exc:  # S3: no bucket, no credentials, endpoint down; the store's own words
        raise ArchiveUnavailable(f"cannot list {where}: {type(exc).__name__}: {exc}; check the URI and the AWS environment") from exc
    if not started:
        raise ArchiveUnavailable(f"{where} holds no runs: not an archive, or no crawl has published to it yet (an archive has runs/DAY/OUTLET/RUN/)")
    if not runs:
        unfinished = len({"/".join(k.split("/")[:4]) for k in started})
        raise ArchiveUnavailable(f"{where} has no completed run: {unfinished} run(s) without {MARKER} (still running, or left by a "
                                 "dead run that the outlet's next run recovers); check again after the next run")
    return store, runs


def verify_archive(uri: str, strict: bool = False, on_run: Callable[[list[str], dict[str, Any]], None] | None = None) -> tuple[list[str], dict[str, Any]]:
    """Problems of every completed run, and a report; a ``failed`` run is a problem; ``strict``: any run not ``complete`` is.

    ``on_run(problems, run_report)`` is called as each run is done (a long check shows progress).
    Raises :class:`ArchiveUnavailable` when there is no completed run to verify at ``uri``.
    """
    store, prefixes = open_archive(uri)
    problems: list[str] = []
    runs = []
    for prefix in prefixes:
        try:
            p, report = verify_run(store, prefix)
        except Exception as exc:  # a damaged file must be reported, not crash the check
            p, report = [f"{prefix}: could not be checked ({type(exc).__name__}: {exc})"], {"prefix": prefix, "rows": 0, "statuses": {}, "warc_files": 0}
        try:
            report["outcome"], report["outcome_reason"] = run_outcome_of(store, prefix)
        except Exception as exc:  # summary.json cut short or not JSON
            report["outcome"], report["outcome_reason"] = "unknown", f"summary.json unreadable ({type(exc).__name__})"
            p.append(f"{prefix}: summary.json unreadable ({type(exc).__name__}: {exc})")
        if report["outcome"] == FAILED or (strict and report["outcome"] != COMPLETE):
            p.append(f"{prefix}: outcome {report['outcome']}: {report.get('outcome_reason')}")
        report["outcome"] = outcome_label(report["outcome"], report.get("outcome_reason"))  # failed-blocked
        report["articles"] = report["statuses"].get(WRITTEN, 0)
        report["problems"] = len(p)
        problems += p
        runs.append(report)
        if on_run is not None:
            on_run(p, report)
    return problems, {
        "archive": store.uri,
        "completed_runs": runs,
        "outcomes": dict(Counter(r["outcome"] for r in runs)),
        "articles": sum(r["articles"] for r in runs),
        "problems": len(problems),
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def run_verdict(report: dict[str, Any]) -> str:
    """One line per run: prefix, outcome (with its reason when not complete), articles, problems."""
    outcome = report.get("outcome", "unknown")
    if outcome != COMPLETE and report.get("outcome_reason"):
        outcome = f"{outcome} ({report['outcome_reason']})"
    return f"{report['prefix']}: {outcome}, {_n(report.get('articles', 0), 'article')}, {_n(report.get('problems', 0), 'problem')}"


def archive_verdict(report: dict[str, Any]) -> str:
    """The last line: ``OK: N runs, M articles`` or ``FAILED: P problems in K of N runs, M articles``."""
    runs = report["completed_runs"]
    outcomes = report["outcomes"]
    counts = f"{_n(len(runs), 'run')}, {_n(report['articles'], 'article')}"
    if set(outcomes) - {COMPLETE}:
        counts += " (" + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) + ")"
    if not report["problems"]:
        return f"OK: {counts}"
    bad = sum(1 for r in runs if r.get("problems"))
    return f"FAILED: {_n(report['problems'], 'problem')} in {bad} of {counts}"
