"""Verify an archive the way a downstream reader depends on it (``python -m pipelines check``).

For every completed run: WARC files complete (our own length scan) with valid digests (warcio),
every manifest row's ``warc_offset``/``warc_length`` reading back a response record of that
row's URL, every text file present with the recorded SHA-256, and no ``.open`` file published.
Each run's outcome (``summary.json``) is reported; ``strict`` makes any run that is not
``complete`` a problem. A damaged archive is reported, never a crash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from pipelines import warc
from pipelines.manifest import parse_manifest
from pipelines.crawljob import COMPLETE
from pipelines.reader import completed_runs, read_manifest_text, read_summary
from pipelines.storage import Store, open_store


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


def verify_archive(uri: str, strict: bool = False) -> tuple[list[str], dict[str, Any]]:
    """Problems of every completed run, and a report; ``strict``: a run not ``complete`` is a problem too."""
    store = open_store(uri)
    problems: list[str] = []
    runs = []
    for prefix in completed_runs(store):
        try:
            p, report = verify_run(store, prefix)
            report["outcome"], report["outcome_reason"] = run_outcome_of(store, prefix)
        except Exception as exc:  # a damaged file must be reported, not crash the check
            p, report = [f"{prefix}: could not be checked ({type(exc).__name__}: {exc})"], {"prefix": prefix, "outcome": "unknown"}
        if strict and report["outcome"] != COMPLETE:
            p.append(f"{prefix}: outcome {report['outcome']}: {report.get('outcome_reason')}")
        problems += p
        runs.append(report)
    return problems, {"archive": store.uri, "completed_runs": runs, "outcomes": dict(Counter(r["outcome"] for r in runs))}
