"""Finishing a run: its summary, state file and completion marker, publishing, and spool recovery.

A run stages everything in the spool (see :mod:`pipelines.storage`). At its end, or when a later
run finds it left behind by a dead process, :func:`finalize_run` derives the run's state file and
summary from its manifest, writes the marker, and :func:`publish_run` uploads data first, then
state, dedup delta, manifest and summary, the marker last. A file leaves the spool only once the
store has it, so a failed publish is simply repeated by the next run.

A mirror run (``-a base_url=``) leaves :data:`MIRROR_MARK` in its spooled folder (never published):
whoever finishes the run, itself or a later run's recovery, puts its state files and dedup delta
under the mirror keys (:mod:`pipelines.layout`) and its summary says ``"mirror": "<base_url>"``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Container
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines import warc
from pipelines.crawljob import INCOMPLETE, finish_outcome
from pipelines.layout import MANIFEST, MARKER, SUMMARY, attempts_key, dedup_key, outlet_of, run_id_of, state_key
from pipelines.manifest import DUPLICATE, EMPTY, SCHEMA_VERSION, TEXT_FROM_FEED, WRITTEN, ManifestRow, archived_urls, failed_attempts, read_manifest, truncate_manifest
from pipelines.outlets import all_outlets
from pipelines.process import is_alive, this_process
from pipelines.state import load_state
from pipelines.storage import Spool, Store, Uploader, write_atomic

logger = logging.getLogger(__name__)

LIVE_MARK = ".lock"  # in a spooled run folder: "host pid" of the process writing it
MIRROR_MARK = ".mirror"  # in a spooled run folder of a mirror run: the mirror's base URL (never published)
RECOVERED_REASON = "recovered after the run died"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mark_live(run_dir: Path) -> None:
    """Claim a spooled run folder for this process (before anything else is written to it)."""
    host, pid = this_process()
    write_atomic(run_dir / LIVE_MARK, f"{host} {pid}\n".encode())


def mark_mirror(run_dir: Path, base_url: str) -> None:
    """Mark a spooled run folder as a mirror run's (written with :func:`mark_live`, before any data)."""
    write_atomic(run_dir / MIRROR_MARK, f"{base_url}\n".encode())


def spooled_mirror(run_dir: Path) -> str | None:
    """The mirror's base URL of a spooled run folder, or None for a live run's."""
    try:
        return (run_dir / MIRROR_MARK).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _belongs_to_live_process(run_dir: Path) -> bool:
    mark = run_dir / LIVE_MARK
    if not mark.exists():  # a folder being created right now, or a very old layout: wait a while
        return time.time() - run_dir.stat().st_mtime < 300
    try:
        host, pid = mark.read_text().split()
        return is_alive(host, int(pid))
    except (OSError, ValueError):
        return False


#: an HTML rule that matched none of at least this many article pages of a run is reported (a redesign alarm)
RULE_HEALTH_MIN_PAGES = 20


def rule_health(outlet: str, rows: list[ManifestRow]) -> dict[str, Any]:
    """How many of the run's extracted pages each of the outlet's HTML rules matched (from the rows'
    ``removed_lines``), and, once there are enough pages to tell, the rules that matched none."""
    known = all_outlets().get(outlet)
    keys = [r.name for r in known.qualified_html_rules()] if known is not None else []
    # pages: rows extracted from a fetched page (a text from a feed item has none of the page's chrome)
    pages = [row for row in rows if row.status in (WRITTEN, DUPLICATE, EMPTY) and row.text_source != TEXT_FROM_FEED]
    matched = {key: sum(1 for row in pages if row.removed_lines.get(key)) for key in keys}
    unmatched = [key for key, n in matched.items() if n == 0] if len(pages) >= RULE_HEALTH_MIN_PAGES else []
    return {"pages": len(pages), "matched": matched, "unmatched": unmatched}


def run_summary(prefix: str, rows: list[ManifestRow], warc_files: list[str], finish_reason: str, recovered: bool,
                outcome: str | None = None, outcome_reason: str | None = None, mirror: str | None = None, **live: Any) -> dict[str, Any]:
    """The run's ``summary.json``; counts come from its manifest rows (what a reader will find).

    ``outcome`` (``complete``, ``incomplete``, ``failed``; pipelines/crawljob.py) and its reason
    default to what the finish reason alone says; ``mirror``: the base URL of the mirror a mirror run
    crawled (None for a live run)."""
    if outcome is None:
        outcome, outcome_reason = finish_outcome(finish_reason)
    counts = Counter(row.status for row in rows)
    summary: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "run_id": run_id_of(prefix), "prefix": prefix, "outlet": outlet_of(prefix)}
    for key in ("edition", "archive"):
        if key in live:
            summary[key] = live.pop(key)
    summary["mirror"] = mirror
    if "started_at" in live:
        summary["started_at"] = live.pop("started_at")
    summary["finished_at"] = live.pop("finished_at", None) or iso(datetime.now(UTC))
    if "duration_s" in live:
        summary["duration_s"] = live.pop("duration_s")
    summary.update({
        "finish_reason": finish_reason,
        "outcome": outcome,
        "outcome_reason": outcome_reason,
        "recovered": recovered,
        "counts": dict(sorted(counts.items())),
        "articles": len(rows),
        "text_files": counts.get(WRITTEN, 0),
    })
    if "text_bytes" in live:
        summary["text_bytes"] = live.pop("text_bytes")
    summary["warc_files"] = warc_files
    summary.update(live)
    summary["manifest_rows"] = len(rows)
    summary["rule_health"] = rule_health(summary["outlet"], rows)
    return summary


def finalize_run(spool: Spool, store: Store, prefix: str, summary_fields: dict[str, Any], uploader: Uploader, already: Container[str] | None = None,
                 rows: list[ManifestRow] | None = None) -> tuple[bool, dict[str, Any]]:
    """Write the run's state file, summary and marker to the spool, then publish the whole run.

    ``summary_fields``: what only the running process knows (see :func:`run_summary`); a recovered
    run has only ``warc_files``, ``finish_reason`` and ``recovered``; a mirror run's ``mirror`` comes
    from ``summary_fields`` or else from its spooled :data:`MIRROR_MARK`. ``already``: the URLs archived
    before this run by runs of its kind (read from the store when not given); ``rows``: its manifest's
    rows (read from the spool when not given). Returns whether the whole run is in the store
    (otherwise it stays in the spool), and the summary.
    """
    if rows is None:
        rows = read_manifest(spool.dir / prefix / MANIFEST)
    run_id = run_id_of(prefix)
    outlet = outlet_of(prefix)
    fields = dict(summary_fields)
    mirror = fields.pop("mirror", None) or spooled_mirror(spool.dir / prefix)
    if already is None:
        already = load_state(store, outlet, mirror=mirror is not None)[0]
    archived = archived_urls(rows, already)
    spool.put(state_key(outlet, run_id, mirror is not None), "".join(u + "\n" for u in archived).encode("utf-8"))
    failed = failed_attempts(rows, set(archived))
    if failed:
        spool.put(attempts_key(outlet, run_id, mirror is not None), "".join(u + "\n" for u in failed).encode("utf-8"))
    summary = run_summary(prefix, rows, mirror=mirror, **fields)
    _spool_summary(spool, prefix, summary)
    marker = {"run_id": run_id, "prefix": prefix, "finished_at": summary["finished_at"], "manifest_rows": len(rows), "recovered": summary["recovered"]}
    spool.put(f"{prefix}/{MARKER}", (json.dumps(marker) + "\n").encode("utf-8"))
    return publish_run(uploader, prefix), summary


def _spool_summary(spool: Spool, prefix: str, summary: dict[str, Any]) -> None:
    spool.put(f"{prefix}/{SUMMARY}", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def amend_summary(spool: Spool, prefix: str, summary: dict[str, Any]) -> None:
    """Rewrite the spooled summary of a run that is not all published (its marker is not in the
    store), so the run that publishes it later publishes this one (its amended outcome)."""
    _spool_summary(spool, prefix, summary)


def publish_run(uploader: Uploader, prefix: str) -> bool:
    """Publish a finished run's spooled files: data first (in parallel), then state, attempts, dedup
    delta, manifest and summary, the marker last, so a reader never finds a marker without its run."""
    spool = uploader.spool
    run_id = run_id_of(prefix)
    last = (f"{prefix}/{MANIFEST}", f"{prefix}/{SUMMARY}")
    keys = [k for k in spool.pending(prefix) if k not in last and not k.endswith("/" + MARKER)]
    outlet = outlet_of(prefix)
    tail = [k for mirror in (False, True) for k in (state_key(outlet, run_id, mirror), attempts_key(outlet, run_id, mirror), dedup_key(run_id, mirror))
            if (spool.dir / k).exists()] + list(last)
    ok = uploader.publish_all(keys)
    for key in tail:
        if (spool.dir / key).exists():
            ok = uploader.publish(key) and ok
    if not ok:
        return False
    if (spool.dir / prefix / MARKER).exists() and not uploader.publish(f"{prefix}/{MARKER}"):
        return False
    shutil.rmtree(spool.dir / prefix, ignore_errors=True)
    return True


def recover_spool(spool: Spool, store: Store, uploader: Uploader, skip: str = "") -> list[str]:
    """Repair and publish every run left in the spool by a dead or failed run; return their prefixes."""
    recovered = []
    runs_root = spool.dir / "runs"
    run_dirs = sorted(p for p in runs_root.glob("*/*/*") if p.is_dir()) if runs_root.exists() else []
    for run_dir in run_dirs:
        prefix = run_dir.relative_to(spool.dir).as_posix()
        if prefix == skip:
            continue
        if _belongs_to_live_process(run_dir):
            logger.info("spool run %s belongs to a live process; left alone", prefix)
            continue
        # a run that died before fetching anything left only folders; one whose uploads stopped at
        # its end may have only its summary and marker left, and they must still be published
        has_data = any(p.is_file() and p.name not in (LIVE_MARK, MIRROR_MARK) for p in run_dir.rglob("*"))
        if not has_data:
            shutil.rmtree(run_dir, ignore_errors=True)
            continue
        for open_file in sorted((run_dir / "warc").glob("*" + warc.OPEN_SUFFIX)):
            closed = warc.repair_open_warc(open_file)
            logger.warning("recovered WARC %s from a dead run: %s", open_file.name, closed.name if closed else "no complete record, removed")
        if not (run_dir / MARKER).exists():
            cut = truncate_manifest(run_dir / MANIFEST)
            if cut:
                logger.warning("dead run %s: its manifest ended in a partial row (%d bytes); cut at the last complete row", prefix, cut)
            rows = read_manifest(run_dir / MANIFEST)
            _drop_texts_without_rows(run_dir, prefix, rows)
            warc_files = sorted(f"{prefix}/warc/{p.name}" for p in (run_dir / "warc").glob("*" + warc.WARC_SUFFIX))
            rebuild_dedup_delta(spool, store, prefix, rows)
            why = f"the run's process ended before the run was finished (killed, crashed, or out of spool space); what it wrote was recovered by run {run_id_of(skip) or 'a later run'}"
            fields = {"warc_files": warc_files, "finish_reason": RECOVERED_REASON, "outcome": INCOMPLETE, "outcome_reason": why, "recovered": True}
            finalize_run(spool, store, prefix, fields, uploader)
        else:
            publish_run(uploader, prefix)
        (run_dir / LIVE_MARK).unlink(missing_ok=True)
        recovered.append(prefix)
    # loose files (e.g. a state file whose upload failed) outside run folders
    for key in list(spool.pending("state")):
        uploader.publish(key)
    return recovered


def _drop_texts_without_rows(run_dir: Path, prefix: str, rows: list[ManifestRow]) -> None:
    """A run killed between a text file and its row: the text goes (its article is not in the
    state, so the next run fetches it again); a reader never gets a text without a row."""
    keep = {row.text_key for row in rows if row.text_key}
    for path in sorted((run_dir / "text").glob("*.txt")):
        key = f"{prefix}/text/{path.name}"
        if key not in keep:
            path.unlink()
            logger.warning("dead run %s: text file %s has no manifest row; dropped (the article is fetched again)", prefix, path.name)


def rebuild_dedup_delta(spool: Spool, store: Store, prefix: str, rows: list[ManifestRow]) -> None:
    """A dead run (or one whose spool was full) wrote no dedup delta: derive it from the texts it
    wrote (spooled or published); a mirror run's goes under the mirror key."""
    from pipelines.dedup import MemoryIndex, fingerprint

    index = MemoryIndex()
    for row in rows:
        if row.status != WRITTEN or not row.text_key:
            continue
        path = spool.dir / row.text_key
        data = path.read_bytes() if path.exists() else store.get_bytes(row.text_key)
        if data:
            index.add(row.docid, fingerprint(data.decode("utf-8").partition("\n\n")[2]))
    delta = index.delta_bytes()
    if delta:
        spool.put(dedup_key(run_id_of(prefix), spooled_mirror(spool.dir / prefix) is not None), delta)
