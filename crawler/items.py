"""The article item that flows spider -> extract -> clean -> archive.

One item per article URL the spider tried, whatever happened to it, so that every outcome
ends up as a manifest row with a reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: manifest status values (docs/corpus-format.md)
WRITTEN, EMPTY, SKIPPED, ERROR, DUPLICATE = "written", "empty", "skipped", "error", "duplicate"
#: internal: fetched, waiting for extraction
FETCHED = "fetched"


def docid_for(url: str) -> str:
    """First 16 hex digits of SHA-256 of the canonical URL: stable across runs and machines."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass
class Article:
    url: str  # the outlet URL as discovered (live-site form, also when crawling a mirror)
    outlet: str
    edition: str
    language: str
    source: str  # feed / sitemap / section that listed it
    status: str = FETCHED
    reason: str = ""
    fetched_url: str = ""  # what was actually requested (mirror address in tests)
    final_url: str = ""  # outlet URL after redirects
    canonical_url: str = ""
    http_status: int | None = None
    content_type: str = ""
    fetched_at: str = ""
    published_hint: str | None = None  # date given by the feed or sitemap
    truncated: bool = False
    warc: dict[str, Any] | None = None  # filename, record_id, offset, length
    body: bytes = field(default=b"", repr=False)  # decoded transfer/content encodings, raw charset
    # filled by extraction and cleaning
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    paragraphs: list[str] = field(default_factory=list, repr=False)
    text: str = field(default="", repr=False)  # the corpus text: headline, blank line, paragraphs
    removed_lines: dict[str, int] = field(default_factory=dict)
    # filled by dedup
    wire: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    containment: float | None = None
    #: shared-frontier bookkeeping (crawler/frontier.py), not part of the manifest
    frontier_entry: str | None = field(default=None, repr=False)

    @property
    def docid(self) -> str:
        return docid_for(self.canonical_url or self.final_url or self.url)
