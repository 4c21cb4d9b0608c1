"""The article item that flows spider -> extract -> clean -> dedup -> archive.

One item per article URL the spider tried, whatever happened to it, so that every outcome
ends up as a manifest row with a reason (:meth:`Article.manifest_row`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.manifest import DUPLICATE, EMPTY, ERROR, SKIPPED, WRITTEN, ManifestRow, docid_for
from pipelines.warc import RecordLocation

__all__ = ["DUPLICATE", "EMPTY", "ERROR", "FETCHED", "SKIPPED", "WRITTEN", "Article"]

#: internal: fetched, waiting for extraction (never a manifest status)
FETCHED = "fetched"


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
    warc: RecordLocation | None = None  # the response record, from the WARC capture middleware
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

    def distrust_canonical(self, why: str) -> None:
        """The page's canonical URL is not its identity: the fetched URL is, and the row says why."""
        self.reason = f"canonical URL {self.canonical_url} not used as identity: {why}"
        self.canonical_url = ""

    def manifest_row(self) -> ManifestRow:
        """The item as a manifest row; the archive adds the text and WARC keys."""
        return ManifestRow(
            docid=self.docid,
            url=self.url,
            final_url=self.final_url or self.url,
            canonical_url=self.canonical_url or self.final_url or self.url,
            outlet=self.outlet,
            edition=self.edition,
            language=self.language,
            title=self.title or None,
            authors=self.authors,
            published=self.published,
            fetched_at=self.fetched_at or None,
            http_status=self.http_status,
            content_type=self.content_type or None,
            source=self.source,
            truncated=self.truncated,
            removed_lines=self.removed_lines,
            wire=self.wire,
            duplicate_of=self.duplicate_of,
            similarity=self.similarity,
            containment=self.containment,
            status=self.status,
            reason=self.reason or None,
        )
