"""Article extraction with trafilatura, in worker processes so the reactor never blocks on it.

trafilatura is CPU-bound and has no timeout of its own. Each call runs in a worker process
(``pipelines/workers.py``) under two deadlines: a ``SIGALRM`` in the worker (``EXTRACT_TIMEOUT``),
cheap but acted on only between Python bytecodes, and the pool's hard one
(``EXTRACT_TIMEOUT + KILL_MARGIN``), which kills the worker stuck inside one C call (an lxml XPath
on a page of 100k ``<p>`` runs for minutes). Either way one pathological page costs one ``error``
row, not the crawl.
"""

from __future__ import annotations

import json
import logging
import re
import signal
from copy import deepcopy
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import trafilatura
from trafilatura.xml import xmltotxt
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
    paragraphs (trafilatura's text lines, list items as "• " lines: :func:`text_with_bullets`;
    cleaning groups them) and removed (HTML rule counts).
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
        try:
            tree = lxml_html.document_fromstring(text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))
        except etree.ParserError:
            # "Document is empty" (a blank or whitespace-only page): no text, an ``empty`` row; lxml's
            # exception carries its error log, which cannot travel back from an extraction worker
            return {"title": "", "authors": [], "published": None, "canonical_url": None, "language": None,
                    "encoding": encoding, "paragraphs": [], "removed": {}}
    canonical = _canonical(tree, url)
    ld = json_ld_article(tree)
    published = _meta(tree, "article:published_time", "datePublished", "pubdate", "publish-date") or ld.get("published")
    html_lang = (tree.get("lang") or "").split("-")[0].lower() or None
    outlet = get_outlet(outlet_name) if outlet_name else None
    # Page metadata from meta tags and JSON-LD: cheap. trafilatura's own metadata search (htmldate
    # and friends) costs more than the extraction itself, so it runs only when both lack them.
    title = (_meta(tree, "og:title", "twitter:title") or ld.get("title") or _first_text(tree, "//h1")
             or _first_text(tree, "//title") or "")
    author = _meta(tree, "author", "article:author")
    authors = [a for a in _split_authors(author)] if author and not author.startswith("http") else list(ld.get("authors", []))
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
        "paragraphs": [ln.strip() for ln in text_with_bullets(doc).split("\n") if ln.strip()] if doc is not None else [],
        "removed": dict(removed),
    }


#: how the corpus writes a list item (the seed documents, ``shared/seeds/``); trafilatura's plain
#: text writes "- " (indented by nesting level), which a paragraph may also start with
LIST_BULLET = "• "
ITEM_MARK = "\u205c"  # a printable character trafilatura's text sanitising keeps (a private-use one it drops)


def text_with_bullets(doc: Any) -> str:
    """trafilatura's text of the article with its list items written as "• " lines.

    trafilatura's ``xmltotxt`` writes "- " before an ``<item>`` of a ``<list>``, the same as a
    paragraph of the page that starts with a dash. To map only the items' markers, the body is
    rendered again (the same ``xmltotxt``, so every other byte is as in ``doc.text``) from a copy
    whose items begin with a mark that occurs nowhere in the text: "- " followed by the mark is an
    item's marker. A marker left alone on its line (an item whose text starts with a line break,
    or whose content begins with a sublist, which trafilatura gives no marker of its own) goes to
    the item's next line, unless that is a sublist's item. Items inside a table cell get no marker
    (trafilatura flattens them into the cell) and no mark. Nesting is not shown: every item is one
    "• " line."""
    text = doc.text or ""
    body = doc.body
    if body is None or body.find(".//item") is None:
        return text
    mark = ITEM_MARK
    while mark in text:
        mark += ITEM_MARK
    copy = deepcopy(body)
    for item in copy.iter("item"):
        if any(parent.tag == "cell" for parent in item.iterancestors()):
            continue
        first = item[0] if len(item) and not _has_text(item.text) else None
        if first is not None and first.tag == "lb":
            # a leading line break: the item's text starts in the break's tail
            first.tail = mark + (first.tail or "").lstrip()
        elif _has_text(item.text):
            item.text = mark + (item.text or "")
        else:
            item.text = mark
    lines: list[str] = []
    pending = False  # a marker whose item goes on on the next line
    for line in xmltotxt(copy, False).split("\n"):
        m = re.match(rf"\s*- {re.escape(mark)}(.*)", line)
        if m and not m[1].strip():
            pending = True
            continue
        if m or (pending and line.strip()):
            line, pending = LIST_BULLET + (m[1] if m else line.lstrip()), False
        lines.append(line.replace(mark, ""))
    return "\n".join(lines)


def _has_text(value: str | None) -> bool:
    return bool(value and not value.isspace())


#: schema.org types whose ``datePublished`` is the article's (NewsArticle and its subtypes, ...)
_LD_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "BackgroundNewsArticle",
    "OpinionNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle", "BlogPosting", "LiveBlogPosting",
    "Report", "ScholarlyArticle",
})
_LD_FIELD_RE = {
    "published": re.compile(r'"datePublished"\s*:\s*"([^"\\]{4,64})"'),
    "title": re.compile(r'"headline"\s*:\s*"((?:[^"\\]|\\.){1,2000})"'),
}


def json_ld_article(tree: lxml_html.HtmlElement) -> dict[str, Any]:
    """The article's metadata from ``<script type="application/ld+json">``: ``published``
    (``datePublished`` as given, time and zone kept), ``title`` (``headline``) and ``authors``
    (``author`` names), from the first Article-type object, also inside ``@graph`` and lists.

    Some pages give the date only there (Ukrainska Pravda). Reads the already parsed tree (no
    second parse of the page); a block that is not valid JSON (raw control characters are
    tolerated, real pages have them in ``articleBody``) is searched for the two string fields
    instead, so one broken block costs at most the authors."""
    found: dict[str, Any] = {}
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            for key, rx in _LD_FIELD_RE.items():
                m = rx.search(raw)
                if m and key not in found:
                    value = m[1] if key == "published" else _unescape_json(m[1])
                    if value.strip():
                        found[key] = value.strip()
            if "published" in found:
                return found
            continue
        article = _ld_find_article(data)
        if article is None:
            continue
        date_value = article.get("datePublished")
        if isinstance(date_value, str) and date_value.strip():
            found.setdefault("published", date_value.strip())
        headline = article.get("headline") or article.get("name")
        if isinstance(headline, str) and headline.strip() and "title" not in found:
            found["title"] = " ".join(headline.split())
        names = _ld_names(article.get("author"))
        if names and "authors" not in found:
            found["authors"] = names
        if "published" in found:
            return found
    return found


def _ld_find_article(data: Any, depth: int = 0) -> dict[str, Any] | None:
    """The first object whose ``@type`` is an article type: the value itself, a list's items,
    an ``@graph``'s members (not deeper: a page's main article sits at the top)."""
    if depth > 3:
        return None
    if isinstance(data, list):
        for item in data:
            found = _ld_find_article(item, depth + 1)
            if found is not None:
                return found
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    if any(isinstance(k, str) and k.rsplit("/", 1)[-1] in _LD_ARTICLE_TYPES for k in kinds):
        return data
    graph = data.get("@graph")
    return _ld_find_article(graph, depth + 1) if graph is not None else None


def _ld_names(value: Any) -> list[str]:
    """Author names: a string, a Person/Organization object with ``name``, or a list of either."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip() and not name.strip().startswith("http"):
            names.append(" ".join(name.split()))
    return names


def _unescape_json(text: str) -> str:
    try:
        return json.loads(f'"{text}"', strict=False)
    except ValueError:
        return text


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
