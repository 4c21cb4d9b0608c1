"""Article extraction with trafilatura, in a process pool so the reactor never blocks on it.

trafilatura is CPU-bound and has no timeout of its own; each call runs in a worker process
under a ``SIGALRM`` deadline (``EXTRACT_TIMEOUT``), so one pathological page costs one
``error`` row, not the crawl.
"""

from __future__ import annotations

import logging
import re
import signal
from typing import Any

import charset_normalizer
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode

from pipelines.outlets import get_outlet
from pipelines.clean import prune_html

logger = logging.getLogger(__name__)


class ExtractionTimeout(Exception):
    pass


def _detect(body: bytes) -> str | None:
    """Encoding of a page that declares none: UTF-8 if it decodes, else charset detection."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body).best()
    return best.encoding if best else None


def decode_html(body: bytes, content_type: str) -> tuple[str, str]:
    """Decode by BOM, HTTP charset, meta declaration, then detection; returns (text, encoding)."""
    encoding, text = html_to_unicode(content_type or None, body, auto_detect_fun=_detect)
    return text, encoding


def _meta(tree: lxml_html.HtmlElement, *names: str) -> str | None:
    for name in names:
        for value in tree.xpath(f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]/@content'):
            if value and value.strip():
                return value.strip()
    return None


def _on_alarm(signum: int, frame: Any) -> None:
    raise ExtractionTimeout()


def extract_document(body: bytes, content_type: str, url: str, outlet_name: str | None, timeout: float = 0) -> dict[str, Any]:
    """Decode, prune the outlet's boilerplate nodes and extract the article; runs in a worker.

    Returns title, authors, published (ISO 8601 or None), canonical_url, language, encoding,
    paragraphs (trafilatura's text lines; cleaning groups them) and removed (HTML rule counts).
    """
    if timeout:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return _extract(body, content_type, url, outlet_name)
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _extract(body: bytes, content_type: str, url: str, outlet_name: str | None) -> dict[str, Any]:
    text, encoding = decode_html(body, content_type)
    try:
        tree = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        # e.g. a str with an XML encoding declaration: parse the bytes once re-encoded
        tree = lxml_html.document_fromstring(text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))
    canonical = None
    for href in tree.xpath('//link[@rel="canonical"]/@href'):
        if href.strip():
            canonical = href.strip()
            break
    canonical = canonical or _meta(tree, "og:url")
    published = _meta(tree, "article:published_time", "datePublished", "pubdate", "publish-date")
    html_lang = (tree.get("lang") or "").split("-")[0].lower() or None
    outlet = get_outlet(outlet_name) if outlet_name else None
    # Page metadata from meta tags: cheap. trafilatura's own metadata search (htmldate and
    # friends) costs more than the extraction itself, so it runs only when the tags are missing.
    title = _meta(tree, "og:title", "twitter:title") or _first_text(tree, "//h1") or _first_text(tree, "//title") or ""
    author = _meta(tree, "author", "article:author")
    authors = [a for a in _split_authors(author)] if author and not author.startswith("http") else []
    removed = prune_html(tree, outlet.remove_xpaths) if outlet else {}
    need_metadata = not (title and published)
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=need_metadata,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
    )
    if doc is not None and need_metadata:
        title = title or (doc.title or "")
        published = published or doc.date
        authors = authors or _split_authors(doc.author or "")
    return {
        "title": " ".join(title.split()),
        "authors": authors,
        "published": published,
        "canonical_url": canonical,
        "language": html_lang or (doc.language if doc is not None else None),
        "encoding": encoding,
        "paragraphs": [ln.strip() for ln in (doc.text or "").split("\n") if ln.strip()] if doc is not None else [],
        "removed": dict(removed),
    }


def _first_text(tree: lxml_html.HtmlElement, xpath: str) -> str | None:
    for node in tree.xpath(xpath):
        text = " ".join(node.text_content().split())
        if text:
            return text
    return None


def _split_authors(value: str) -> list[str]:
    return [a.strip() for a in re.split(r";|,|\s+and\s+", value) if a.strip()]
