"""An article's full text as its feed item carries it: used when the page itself cannot be fetched.

Some feeds carry whole articles: RSS ``content:encoded`` (WordPress), Atom ``<content>``, a full
HTML ``<description>``, and ``yandex:full-text`` (or a bare ``fulltext``) in feeds made for Yandex
News, common in Ukrainian and Russian outlets. When an article's page is blocked or answers 5xx
after its retries, the spider writes the article from such a text: :func:`feed_page` wraps it in a
minimal HTML page (title, date, canonical URL, the feed's HTML as the article body) that goes
through the same extraction and cleaning as a fetched page. A short teaser (a description of a
sentence or two) is never taken for the article (:func:`item_full_text`, ``min_chars``).
"""

from __future__ import annotations

import html
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree
from lxml import html as lxml_html

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
ATOM_NS = "http://www.w3.org/2005/Atom"
#: elements of a feed item that may carry the full text, most explicit first: (namespace, local
#: name); namespace None: any namespace but Media RSS's (``media:content`` is an enclosure)
FULL_TEXT_ELEMENTS: tuple[tuple[str | None, str], ...] = (
    (None, "full-text"),  # yandex:full-text (also rambler:full-text)
    (None, "fulltext"),
    (CONTENT_NS, "encoded"),  # content:encoded
    (ATOM_NS, "content"),
    ("", "content"),  # an unqualified <content> in an RSS item
    ("", "description"),  # RSS 2.0: sometimes the whole article in HTML
    ("http://purl.org/rss/1.0/", "description"),  # RSS 1.0
    (ATOM_NS, "summary"),
)
_MEDIA_NS = "http://search.yahoo.com/mrss/"


@dataclass(frozen=True)
class FeedText:
    """What a feed said about one article, and where the feed's answer is archived."""

    url: str  # the article's URL (live form, as scheduled)
    title: str
    html: str  # the article body as HTML
    element: str  # the feed element it came from (``content:encoded``, ``yandex:full-text``, ...)
    published: str | None
    source: str  # the feed (``feed:/rss/``)
    content_type: str  # the feed response's
    http_status: int
    fetched_at: str
    warc: Any = None  # the feed response's RecordLocation


def _qname(el: Any) -> tuple[str, str]:
    q = etree.QName(el)
    return q.namespace or "", q.localname


def _element_html(el: Any) -> str:
    """The HTML an element carries: escaped or CDATA HTML as text, Atom ``type="xhtml"`` as markup,
    ``type="text"`` as text (escaped)."""
    kind = (el.get("type") or "").lower()
    if kind == "xhtml":
        return "".join(etree.tostring(child, encoding="unicode", method="html") for child in el)
    text = el.text or ""
    if kind == "text":
        return html.escape(text)
    return text


def as_paragraphs(markup: str) -> str:
    """``markup`` as HTML: plain text (no tags) becomes one ``<p>`` per line."""
    if "<" in markup and ">" in markup:
        return markup
    return "".join(f"<p>{line.strip()}</p>" for line in markup.splitlines() if line.strip())


def text_length(markup: str) -> int:
    """Characters of text (whitespace runs as one) in an HTML fragment."""
    if not markup.strip():
        return 0
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return len(" ".join(markup.split()))
    return len(" ".join(root.text_content().split()))


def item_full_text(item: Any, min_chars: int) -> tuple[str, str] | None:
    """(element name, HTML) of the first element of the feed ``item`` (an lxml element, RSS
    ``<item>`` or Atom ``<entry>``) that carries at least ``min_chars`` characters of text, in the
    order of :data:`FULL_TEXT_ELEMENTS`; None when the item has only a teaser or nothing."""
    children = [c for c in item if isinstance(c.tag, str)]
    for ns, local in FULL_TEXT_ELEMENTS:
        for child in children:
            cns, clocal = _qname(child)
            if clocal != local or (ns is None and cns == _MEDIA_NS) or (ns is not None and cns != ns):
                continue
            markup = as_paragraphs(_element_html(child).strip())
            if text_length(markup) >= min_chars:
                prefix = child.prefix or ""
                return (f"{prefix}:{clocal}" if prefix else clocal), markup
    return None


def iso_date(value: str | None) -> str | None:
    """A feed date (RFC 822 or ISO 8601) as ISO 8601, or as given when it is neither."""
    if not value:
        return None
    value = value.strip()
    if value[:4].isdigit():
        return value
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError):
        return value


def feed_page(text: FeedText, language: str = "") -> str:
    """A minimal HTML page of the article from its feed text: what extraction reads in place of the page."""
    title = html.escape(text.title, quote=True)
    head = f'<meta charset="utf-8"><title>{title}</title><meta property="og:title" content="{title}">'
    head += f'<link rel="canonical" href="{html.escape(text.url, quote=True)}">'
    published = iso_date(text.published)
    if published:
        head += f'<meta property="article:published_time" content="{html.escape(published, quote=True)}">'
    lang = f' lang="{html.escape(language, quote=True)}"' if language else ""
    return f"<!doctype html><html{lang}><head>{head}</head><body><article><h1>{title}</h1>{text.html}</article></body></html>"


class FeedTexts:
    """The newest ``limit`` feed texts of a run, by article URL (kept in the spider, never in a
    request: a shared frontier serialises requests to Redis)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._texts: OrderedDict[str, FeedText] = OrderedDict()

    def put(self, text: FeedText) -> None:
        if self.limit <= 0:
            return
        self._texts[text.url] = text
        self._texts.move_to_end(text.url)
        while len(self._texts) > self.limit:
            self._texts.popitem(last=False)

    def get(self, url: str) -> FeedText | None:
        return self._texts.get(url)

    def discard(self, url: str) -> None:
        self._texts.pop(url, None)

    def __len__(self) -> int:
        return len(self._texts)
