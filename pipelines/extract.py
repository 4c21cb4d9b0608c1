"""Article extraction with trafilatura, in worker processes so the reactor never blocks on it.

trafilatura is CPU-bound and has no timeout of its own. Each call runs in a worker process
(``pipelines/workers.py``) under two deadlines: a ``SIGALRM`` in the worker (``EXTRACT_TIMEOUT``),
cheap but acted on only between Python bytecodes, and the pool's hard one
(``EXTRACT_TIMEOUT + KILL_MARGIN``), which kills the worker stuck inside one C call (an lxml XPath
on a page of 100k ``<p>`` runs for minutes). Either way one pathological page costs one ``error``
row, not the crawl.
"""

from __future__ import annotations

import logging
import re
import signal
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode

from pipelines.outlets import get_outlet
from pipelines.clean import prune_html

logger = logging.getLogger(__name__)


#: seconds past ``EXTRACT_TIMEOUT`` after which the parent kills the worker (the in-worker alarm,
#: which costs no new process, has this long to act first)
KILL_MARGIN = 1.0


class ExtractionTimeout(Exception):
    pass


_alarm_fired = False


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
    global _alarm_fired
    _alarm_fired = True
    raise ExtractionTimeout()


_WARM_UP_PAGE = (
    '<html><head><meta property="og:title" content="Warm up">'
    '<meta property="article:published_time" content="2026-01-01T00:00:00+00:00"></head><body><article>'
    + "<p>The index rose after the ministry said the budget would help exporters and the textile sector.</p>" * 8
    + "</article></body></html>"
).encode()


def warm_up() -> None:
    """A worker's initializer: import and exercise the extraction once, so a new worker's first
    page does not pay for it inside its deadline. (A page of real length and metadata: a short one
    would load trafilatura's fallback extractors, 35 MB a worker, that ordinary pages never need.)"""
    _extract(_WARM_UP_PAGE, "text/html; charset=utf-8", "http://localhost/", None)


def extract_document(body: bytes, content_type: str, url: str, outlet_name: str | None, timeout: float = 0) -> dict[str, Any]:
    """Decode, prune the outlet's boilerplate nodes and extract the article; runs in a worker.

    Returns title, authors, published (ISO 8601 or None), canonical_url, language, encoding,
    paragraphs (trafilatura's text lines; cleaning groups them) and removed (HTML rule counts).
    """
    global _alarm_fired
    if timeout:
        _alarm_fired = False
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        result = _extract(body, content_type, url, outlet_name)
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    if timeout and _alarm_fired:  # the alarm's exception was swallowed by a library's broad ``except``
        raise ExtractionTimeout()
    return result


def _extract(body: bytes, content_type: str, url: str, outlet_name: str | None) -> dict[str, Any]:
    text, encoding = decode_html(body, content_type)
    try:
        tree = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        # e.g. a str with an XML encoding declaration: parse the bytes once re-encoded
        tree = lxml_html.document_fromstring(text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))
    canonical = _canonical(tree, url)
    published = _meta(tree, "article:published_time", "datePublished", "pubdate", "publish-date")
    html_lang = (tree.get("lang") or "").split("-")[0].lower() or None
    outlet = get_outlet(outlet_name) if outlet_name else None
    # Page metadata from meta tags: cheap. trafilatura's own metadata search (htmldate and
    # friends) costs more than the extraction itself, so it runs only when the tags are missing.
    title = _meta(tree, "og:title", "twitter:title") or _first_text(tree, "//h1") or _first_text(tree, "//title") or ""
    author = _meta(tree, "author", "article:author")
    authors = [a for a in _split_authors(author)] if author and not author.startswith("http") else []
    removed = prune_html(tree, outlet.qualified_html_rules()) if outlet else {}
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


def _canonical(tree: lxml_html.HtmlElement, url: str) -> str | None:
    """The page's canonical URL (``<link rel=canonical>``, else ``og:url``), made absolute against
    ``<base href>`` and the page's URL, as a browser would; None when there is none or it is not http(s)."""
    base = url
    for href in tree.xpath("//base/@href"):
        if href.strip():
            base = urljoin(url, href.strip())
            break
    for href in [*tree.xpath('//link[@rel="canonical"]/@href'), _meta(tree, "og:url") or ""]:
        if href.strip():
            absolute = urljoin(base, href.strip())
            return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    return None


def _first_text(tree: lxml_html.HtmlElement, xpath: str) -> str | None:
    for node in tree.xpath(xpath):
        text = " ".join(node.text_content().split())
        if text:
            return text
    return None


def _split_authors(value: str) -> list[str]:
    return [a.strip() for a in re.split(r";|,|\s+and\s+", value) if a.strip()]
