"""Article metadata from JSON-LD (``pipelines/extract.py``): the date with its time and zone,
headline and authors when the meta tags lack them, robust to the shapes and breakage real pages have.

Shapes modelled on real pages: Ukrainska Pravda (``tests/sites/pravda``: one ``NewsArticle`` or
``Article`` block beside BreadcrumbList and NewsMediaOrganization blocks, raw tabs inside
``articleBody``, ``author`` a list of Person objects, no ``article:published_time`` meta) and the
champion.com.ua page syndicated at a pravda URL (``"datePublished": "2025-11-30 23:13:00"``, no zone).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines.extract import extract_document, json_ld_article

SITES = Path(__file__).parent / "sites"
BODY = "".join(f"<p>Paragraph {i} of the story, long enough to be kept by the extractor as article text.</p>" for i in range(8))


def page(*blocks: str, head: str = "") -> bytes:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return f"<html><head><meta charset=\"utf-8\">{head}{scripts}</head><body><article><h1>H1 title</h1>{BODY}</article></body></html>".encode()


def ld(body: bytes) -> dict:
    return json_ld_article(lxml_html.document_fromstring(body))


ARTICLE = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Headline from JSON-LD",
    "articleBody": " \tFirst paragraph.\t Second paragraph.",
    "datePublished": "2025-12-01T00:08:00+02:00",
    "dateModified": "2025-12-01T09:30:00+02:00",
    "author": [{"@type": "Person", "name": "Ольга Глущенко", "url": "https://www.pravda.com.ua/authors/6207bc214d5db/"}],
}
CRUMBS = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": []}
ORG = {"@context": "https://schema.org", "@type": "NewsMediaOrganization", "name": "Українська правда", "foundingDate": "2000-04-16"}


def test_date_with_time_and_zone_title_and_authors_from_the_article_block_among_others() -> None:
    body = page(json.dumps(ORG), json.dumps(CRUMBS), json.dumps(ARTICLE, ensure_ascii=False))
    assert ld(body) == {"published": "2025-12-01T00:08:00+02:00", "title": "Headline from JSON-LD", "authors": ["Ольга Глущенко"]}
    doc = extract_document(body, "text/html; charset=utf-8", "https://www.pravda.com.ua/news/2025/12/01/8009697/", None)
    assert doc["published"] == "2025-12-01T00:08:00+02:00"  # as the page gives it, not cut to the day
    assert doc["title"] == "Headline from JSON-LD"  # before the h1
    assert doc["authors"] == ["Ольга Глущенко"]


def test_meta_tags_win_over_json_ld() -> None:
    head = ('<meta property="og:title" content="OG title"><meta name="author" content="Meta Author">'
            '<meta property="article:published_time" content="2025-12-02T10:00:00Z">')
    doc = extract_document(page(json.dumps(ARTICLE), head=head), "text/html", "https://example.org/a", None)
    assert (doc["title"], doc["published"], doc["authors"]) == ("OG title", "2025-12-02T10:00:00Z", ["Meta Author"])


@pytest.mark.parametrize("kind", ["Article", "ReportageNews", ["NewsArticle", "WebPage"], "https://schema.org/NewsArticle"])
def test_article_types(kind: object) -> None:
    assert ld(page(json.dumps({**ARTICLE, "@type": kind})))["published"] == "2025-12-01T00:08:00+02:00"


def test_inside_graph_and_top_level_list() -> None:
    graph = {"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Site"}, {"@type": "WebPage", "datePublished": "2020-01-01"}, ARTICLE]}
    assert ld(page(json.dumps(graph)))["published"] == "2025-12-01T00:08:00+02:00"  # the WebPage's date is not the article's
    assert ld(page(json.dumps([CRUMBS, ARTICLE])))["title"] == "Headline from JSON-LD"


def test_no_article_block_gives_nothing() -> None:
    assert ld(page(json.dumps(ORG), json.dumps({"@type": "WebPage", "datePublished": "2020-01-01"}))) == {}
    assert ld(page()) == {}


def test_broken_json_still_gives_date_and_headline() -> None:
    # a trailing comma and an unescaped quote: not JSON; the two string fields are still found
    broken = '{"@type": "NewsArticle", "headline": "Trump on \\"peace\\" talks", "datePublished": "2025-12-01T00:08:00+02:00", "description": "say "hi"",}'
    assert ld(page(broken)) == {"title": 'Trump on "peace" talks', "published": "2025-12-01T00:08:00+02:00"}
    # a broken block without the fields does not hide a later good one
    assert ld(page("{not json", json.dumps(ARTICLE)))["published"] == "2025-12-01T00:08:00+02:00"


def test_a_block_nested_past_the_parser_depth_is_skipped() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert ld(page(deep, json.dumps(ARTICLE)))["published"] == "2025-12-01T00:08:00+02:00"


def test_raw_control_characters_and_zoneless_date_as_given() -> None:
    block = '{"@type": "NewsArticle", "articleBody": "line one\n\tline two", "datePublished": "2025-11-30 23:13:00", "author": {"@type": "Organization", "name": "Champion.com.ua"}}'
    assert ld(page(block)) == {"published": "2025-11-30 23:13:00", "authors": ["Champion.com.ua"]}


def test_real_pravda_page_published_time_from_json_ld() -> None:
    """The real Russian-edition page (flairNLP/fundus test data, see tests/sites/pravda/README.md)
    has no date meta tag: its JSON-LD gives the minute and the zone."""
    path = SITES / "pravda/pages/rus/articles/2026/01/08/8015225.html"
    body = path.read_bytes()
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    doc = extract_document(body, "text/html; charset=utf-8", "https://www.pravda.com.ua/rus/articles/2026/01/08/8015225/", "pravda")
    assert doc["published"] == "2026-01-08T17:46:00+02:00"
    assert doc["authors"] == ["Ярослав Кузишин", "Антон Зелинский", "Карина Гасимова"]
