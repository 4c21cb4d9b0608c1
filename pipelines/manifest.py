"""The manifest row: one definition of the corpus contract's per-article record (docs/corpus-format.md).

The writer (:class:`~pipelines.archive.Archive`), the checker (``verify``), spool recovery, the
tests and any reader use :class:`ManifestRow`; its field order is the order of the JSON keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from collections.abc import Container
from typing import Any

from pipelines.warc import RecordLocation

#: version of the corpus format's records: every manifest row and ``summary.json`` carry it as
#: ``schema_version``. Bumped (by one) on any incompatible change: a field removed or renamed, a
#: type or meaning changed, ``removed_lines`` keys renamed. Adding a field, a status or a rule
#: key keeps it. 1: rows without the field (``removed_lines`` had ``html:<xpath>`` keys);
#: 2: the field added, every ``removed_lines`` key a stable rule name. The JSON Schema of a row
#: is ``docs/manifest.schema.json``.
SCHEMA_VERSION = 2
#: the version of a row written before ``schema_version`` existed
UNVERSIONED = 1

#: row statuses (docs/corpus-format.md)
WRITTEN, EMPTY, SKIPPED, ERROR, DUPLICATE = "written", "empty", "skipped", "error", "duplicate"
#: a translation the outlet lists but does not have (yet): its URL answered 404/410 (multi-edition outlets)
MISSING = "missing"
#: the outlet refused the crawler: a 401/403/429 wall or a bot challenge page instead of the article
BLOCKED = "blocked"
STATUSES = (WRITTEN, DUPLICATE, EMPTY, SKIPPED, ERROR, MISSING, BLOCKED)
#: where a written row's text comes from: the article's page, or the full text its feed item carried
#: (the page could not be fetched: blocked, 5xx after retries)
TEXT_FROM_PAGE, TEXT_FROM_FEED = "page", "feed"
TEXT_SOURCES = (TEXT_FROM_PAGE, TEXT_FROM_FEED)
#: the ``reason`` of an article robots.txt forbids (``...: disallow_all (HTTP 503)`` when the host is disallowed)
ROBOTS_FORBIDDEN = "forbidden by robots.txt"
#: rows whose URLs count as archived: the next run does not fetch them again (errors are retried)
ARCHIVED_STATUSES = (WRITTEN, EMPTY, SKIPPED, DUPLICATE)


def docid_for(url: str) -> str:
    """First 16 hex digits of SHA-256 of the canonical URL: stable across runs and machines."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass
class ManifestRow:
    """One article URL a run tried, whatever happened to it."""

    #: the corpus format version the row follows (keyword-only so that it can be the first JSON key)
    schema_version: int = field(default=SCHEMA_VERSION, kw_only=True)
    docid: str
    seq: int | None = None
    url: str = ""
    final_url: str = ""
    canonical_url: str = ""
    outlet: str = ""
    edition: str = ""
    language: str = ""
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    fetched_at: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    source: str = ""
    text_key: str | None = None
    text_sha256: str | None = None
    #: ``page`` or ``feed`` (:data:`TEXT_SOURCES`) on a written row; None on a row without a text file
    text_source: str | None = None
    warc_key: str | None = None
    warc_record_id: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    truncated: bool = False
    removed_lines: dict[str, int] = field(default_factory=dict)
    wire: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    containment: float | None = None
    status: str = ERROR
    reason: str | None = None
    #: the run crawled a mirror (``-a base_url=``: a fixture, staging or ``wget --mirror`` copy), not the
    #: live outlet; ``url`` and the other URLs are still the live outlet's (docs/corpus-format.md)
    mirror: bool = False

    def locate(self, warc_key: str, location: RecordLocation | None) -> None:
        """Point the row at its response record (``warc_key`` is the published file's key)."""
        if location is None:
            return
        self.warc_key = warc_key
        self.warc_record_id = location.record_id
        self.warc_offset = location.offset
        self.warc_length = location.length

    @property
    def archived(self) -> bool:
        return self.status in ARCHIVED_STATUSES

    def urls(self) -> set[str]:
        """The URLs this row marks as archived: as listed, after redirects, canonical."""
        return {u for u in (self.url, self.final_url, self.canonical_url) if u}

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ManifestRow":
        """A row as read back; a row without ``schema_version`` was written before it existed (version 1)."""
        known = {f.name for f in fields(cls)}
        return cls(**{"schema_version": UNVERSIONED, **{k: v for k, v in data.items() if k in known}})


def parse_manifest(text: str) -> list[ManifestRow]:
    """The rows of a manifest; a last line cut by a crash ends the list (its article is fetched again)."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(ManifestRow.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            break
    return rows


def read_manifest(path: Path) -> list[ManifestRow]:
    return parse_manifest(path.read_text(encoding="utf-8")) if path.exists() else []


class ManifestWriter:
    """Appends rows to a spooled ``manifest.jsonl``, one write per row: a crash keeps what was
    acknowledged, and a write the disk refuses (ENOSPC) is cut back off, so the file always ends
    with a complete line."""

    def __init__(self, path: Path) -> None:
        truncate_manifest(path)
        self._fh = open(path, "ab", buffering=0)
        self._size = self._fh.seek(0, os.SEEK_END)

    def write(self, row: ManifestRow) -> None:
        start = self._size
        try:
            view = memoryview((row.to_json() + "\n").encode("utf-8"))
            while view:
                view = view[self._fh.write(view) or 0:]
        except OSError:
            os.ftruncate(self._fh.fileno(), start)
            raise
        self._size = self._fh.tell()

    def close(self) -> None:
        self._fh.close()


def truncate_manifest(path: Path) -> int:
    """Cut a spooled manifest after its last complete line (a crash or a full disk can leave half a
    row); returns the bytes removed. The cut row's article is not in the state: it is fetched again."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        os.truncate(path, keep)
    return len(data) - keep


REDIRECT_CODES = (301, 302, 303, 307, 308)
#: HTTP answers that will not change by trying again soon: they count toward ARCHIVE_MAX_ATTEMPTS
PERMANENT_HTTP = (404, 410, 451)


def moved_to(row: ManifestRow) -> str | None:
    """For the row of an article URL that redirected to another article URL: that URL.

    Such a row is ``skipped`` and is archived only once its target is (otherwise a later run
    tries the old URL again), never the target on its behalf.
    """
    if row.status == SKIPPED and row.http_status in REDIRECT_CODES and row.final_url and row.final_url != row.url:
        return row.final_url
    return None


def archived_urls(rows: list[ManifestRow], already: Container[str] = ()) -> list[str]:
    """Sorted URLs a run archived (its incremental state file): the URLs of its archived rows, and
    the old URL of a moved article whose new URL is archived (by this run or in ``already``)."""
    done: set[str] = set()
    for row in rows:
        if row.archived and moved_to(row) is None:
            done |= row.urls()
    for row in rows:
        target = moved_to(row)
        if target is not None and (target in done or target in already):
            done.add(row.url)
    return sorted(done)


#: separates a ``missing`` row's URL from its publication day in a run's attempts file
MISSING_MARK = "\tmissing "


def missing_line(row: ManifestRow) -> str:
    """A ``missing`` row's line in its run's attempts file: ``URL<TAB>missing YYYY-MM-DD`` (the row's
    ``published``, the listing's date or the URL's; nothing after ``missing `` when unknown), so that
    the archived state judges it by its date (pipelines/state.py), not by attempts."""
    return f"{row.url}{MISSING_MARK}{row.published or ''}".rstrip()


def read_attempt_line(line: str) -> tuple[str, bool, str | None]:
    """``(url, missing, day)`` of an attempts-file line: a permanent failure's bare URL, or a
    :func:`missing_line` (``day`` None when the row had no date)."""
    url, tab, rest = line.partition("\t")
    if not tab or not rest.startswith(MISSING_MARK.strip()):
        return line, False, None
    return url, True, rest[len(MISSING_MARK.strip()):].strip() or None


def failed_attempts(rows: list[ManifestRow], archived: Container[str]) -> list[str]:
    """Sorted lines of the run's attempts file: the URLs whose try counts toward ARCHIVE_MAX_ATTEMPTS,
    a permanent failure (404, 410, 451, a redirect loop or chain) or a moved article whose new URL
    was not archived, and the ``missing`` translations with their day (:func:`missing_line`).
    Transient failures (5xx, timeouts, truncation) do not count: they are retried as long as they are listed."""
    out: set[str] = set()
    for row in rows:
        if row.status == MISSING and row.url not in archived:
            out.add(missing_line(row))
        elif row.status == ERROR and row.http_status is not None and (row.http_status in PERMANENT_HTTP or row.http_status in REDIRECT_CODES):
            out.add(row.url)
        elif moved_to(row) is not None and row.url not in archived:
            out.add(row.url)
    return sorted(out)
