"""The article item that flows spider -> extract -> clean -> dedup -> archive, and how feeds export it.

One item per article URL the spider tried, whatever happened to it, so that every outcome
ends up as a manifest row with a reason (:meth:`Article.manifest_row`).

What Scrapy sees of an item (feed exports ``-O``/``-o``, ``scrapy parse``, ``ItemAdapter``) is its
declared fields: the manifest row's fields in the manifest's order, the corpus text and two fetch
details. The pipelines' working state (the raw body, the paragraphs, the WARC record location, the
shared frontier's entry) is kept in plain attributes, never exported: a feed gets no raw bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field, fields
from typing import Any
from xml.sax.xmlreader import AttributesImpl

from scrapy.exporters import CsvItemExporter, XmlItemExporter

from pipelines.manifest import DUPLICATE, EMPTY, ERROR, SCHEMA_VERSION, SKIPPED, WRITTEN, ManifestRow, docid_for
from pipelines.warc import RecordLocation

__all__ = ["DUPLICATE", "EMPTY", "ERROR", "FETCHED", "SKIPPED", "WRITTEN", "Article", "CsvArticleExporter", "XmlArticleExporter"]

#: internal: fetched, waiting for extraction (never a manifest status)
FETCHED = "fetched"


@dataclass(kw_only=True)
class Article:
    """One article URL the run tried. Until the archive writes its row, the fields hold the pipelines'
    values ("" for a string not known yet); :meth:`record` then makes them the row as written."""

    # --- the manifest row's fields, in its order (pipelines/manifest.py, docs/corpus-format.md);
    # docid, seq, text_* and warc_* are the archive's, set when the row is written (:meth:`record`)
    schema_version: int = SCHEMA_VERSION
    docid: str = ""
    seq: int | None = None
    url: str  # the outlet URL as discovered (live-site form, also when crawling a mirror)
    final_url: str = ""  # outlet URL after redirects
    canonical_url: str = ""
    outlet: str
    edition: str
    language: str
    title: str | None = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    fetched_at: str | None = ""
    http_status: int | None = None
    content_type: str | None = ""
    source: str  # feed / sitemap / section that listed it
    text_key: str | None = None
    text_sha256: str | None = None
    text_source: str | None = None
    warc_key: str | None = None
    warc_record_id: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    truncated: bool = False
    removed_lines: dict[str, int] = field(default_factory=dict)
    # filled by dedup
    wire: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    containment: float | None = None
    status: str = FETCHED
    reason: str | None = ""
    mirror: bool = False  # crawled from a mirror (-a base_url=); the archive sets it on the row
    # --- beyond the manifest row
    text: str = field(default="", repr=False)  # the corpus text: headline, blank line, paragraphs (written rows)
    fetched_url: str = ""  # what was actually requested (the mirror's address when crawling a mirror)
    published_hint: str | None = None  # date given by the feed or sitemap
    #: shared-frontier bookkeeping (crawler/frontier.py): an attribute, not a field
    frontier_entry: InitVar[str | None] = None

    def __post_init__(self, frontier_entry: str | None) -> None:
        # working state of the pipelines: plain attributes, so no exporter ever sees them
        self.frontier_entry = frontier_entry
        self.body: bytes = b""  # decoded transfer/content encodings, raw charset (ExtractPipeline empties it)
        self.paragraphs: list[str] = []  # filled by extraction and cleaning
        self.warc: RecordLocation | None = None  # the response record, from the WARC capture middleware
        #: an article written from its feed's text: the failed page's item (blocked, 5xx), recorded instead
        #: should the feed text give no article text (crawler.pipelines)
        self.page_failure: Article | None = None

    def identity(self) -> str:
        """The docid the article has now (its canonical URL may still change before it is written)."""
        return docid_for(self.canonical_url or self.final_url or self.url)

    def distrust_canonical(self, why: str) -> None:
        """The page's canonical URL is not its identity: the fetched URL is, and the row says why."""
        self.reason = f"canonical URL {self.canonical_url} not used as identity: {why}"
        self.canonical_url = ""

    def record(self, row: ManifestRow) -> None:
        """Take the row as the archive wrote it (docid, seq, text and WARC keys, the manifest's URLs
        and nulls): from then on the item's manifest fields are the manifest row, and its text is the
        text file's content, empty for a row without one (a duplicate's text is its canonical's)."""
        for f in fields(row):
            if f.name in _FIELDS:
                setattr(self, f.name, getattr(row, f.name))
        if row.text_key is None:
            self.text = ""

    def manifest_row(self) -> ManifestRow:
        """The item as a manifest row; the archive adds the text and WARC keys."""
        return ManifestRow(
            docid=self.identity(),
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
            text_source=self.text_source,
            truncated=self.truncated,
            removed_lines=self.removed_lines,
            wire=self.wire,
            duplicate_of=self.duplicate_of,
            similarity=self.similarity,
            containment=self.containment,
            status=self.status,
            reason=self.reason or None,
        )


_FIELDS = frozenset(f.name for f in fields(Article))


class CsvArticleExporter(CsvItemExporter):
    """Scrapy's CSV exporter (lists joined with commas), with a mapping (``removed_lines``) written
    as JSON rather than as Python's repr."""

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        value = super().serialize_field(field, name, value)
        return json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping) else value


class XmlArticleExporter(XmlItemExporter):
    """Scrapy's XML exporter, with a mapping's entries as ``<value key="...">`` elements (the keys of
    ``removed_lines`` are rule names, not XML names) and a null field left out rather than "None"."""

    def _export_xml_field(self, name: str, serialized_value: Any, depth: int) -> None:
        if serialized_value is None:
            return
        if not isinstance(serialized_value, Mapping):
            super()._export_xml_field(name, serialized_value, depth)
            return
        self._beautify_indent(depth=depth)
        self.xg.startElement(name, AttributesImpl({}))
        self._beautify_newline()
        for key, value in serialized_value.items():
            self._beautify_indent(depth=depth + 1)
            self.xg.startElement("value", AttributesImpl({"key": str(key)}))
            self.xg.characters(str(value))
            self.xg.endElement("value")
            self._beautify_newline()
        self._beautify_indent(depth=depth)
        self.xg.endElement(name)
        self._beautify_newline()
