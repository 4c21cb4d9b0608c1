"""List items in the corpus format: "• item" lines (pipelines/extract.py ``text_with_bullets``).

The seed documents (``shared/seeds/``, e.g. seed 004's "Background:" list) write a list item as
"• item"; trafilatura's plain text writes "- item", as a paragraph that starts with a dash reads.
Only lines that come from an ``<item>`` of trafilatura's body become bullets.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.xml import xmltotxt

from pipelines.extract import ITEM_MARK, LIST_BULLET, extract_document, text_with_bullets
from tests.conftest import SITES

#: a paragraph long enough that trafilatura takes the page for an article
FILLER = "<p>" + "The index rose after the ministry said the budget would help exporters and the textile sector. " * 3 + "</p>"


def paragraphs(body_html: str) -> list[str]:
    page = f"<html><head><title>Lists</title></head><body><article>{FILLER}{body_html}{FILLER}</article></body></html>"
    result = extract_document(page.encode(), "text/html; charset=utf-8", "https://example.com/news/lists", None)
    return [p for p in result["paragraphs"] if not p.startswith("The index rose")]


def test_a_list_becomes_bullet_lines() -> None:
    got = paragraphs("<p><strong>Background:</strong></p><ul><li>First item.</li><li>Second <b>bold</b> item, <a href='/x'>linked</a>.</li></ul>")
    assert got == ["Background:", "• First item.", "• Second bold item, linked."]


def test_a_paragraph_or_line_starting_with_a_dash_stays() -> None:
    got = paragraphs("<p>- not an item, a paragraph</p><p>One line<br>- after a line break</p><ul><li>- an item that starts with a dash</li></ul>")
    assert got == ["- not an item, a paragraph", "One line", "- after a line break", "• - an item that starts with a dash"]


def test_nested_and_ordered_lists() -> None:
    """Every item is one bullet line (nesting is not shown); an item whose content begins with a
    sublist has no line of its own; ordered items are bullets too (trafilatura's text drops numbers)."""
    got = paragraphs("<ul><li>outer<ul><li>inner a</li><li>inner b</li></ul></li><li><ul><li>only a sublist</li></ul></li>"
                     "<li>last</li></ul><ol><li>first</li><li>second</li></ol>")
    assert got == ["• outer", "• inner a", "• inner b", "• only a sublist", "• last", "• first", "• second"]


def test_items_starting_with_a_line_break_or_markup() -> None:
    got = paragraphs("<ul><li><br>after a break</li><li><b>bold</b> start</li><li> <a href='/y'>link</a> start</li></ul>")
    assert got == ["• after a break", "• bold start", "• link start"]


def test_the_mark_is_never_confused_with_the_text() -> None:
    """A page whose text holds the mark character itself: the mark grows until it is unique."""
    got = paragraphs(f"<p>Odd {ITEM_MARK} sign</p><ul><li>{ITEM_MARK} item</li><li>plain</li></ul>")
    assert got == [f"Odd {ITEM_MARK} sign", f"• {ITEM_MARK} item", "• plain"]


def test_items_in_a_table_cell_get_no_bullet() -> None:
    """trafilatura flattens an item inside a table cell into the cell's text, without a marker; it
    stays so. (trafilatura 2.3 drops a list nested in an HTML table cell before that, so the body
    is built directly.)"""
    body = etree.fromstring("<body><table><row><cell><list><item>cell a</item><item>cell b</item></list></cell>"
                            "<cell>x</cell></row></table><list><item>outside</item></list></body>")
    doc = SimpleNamespace(text=xmltotxt(body, False), body=body)
    assert "cell a cell b" in doc.text and "- outside" in doc.text
    assert text_with_bullets(doc) == doc.text.replace("- outside", "• outside")
    assert ITEM_MARK not in etree.tostring(body, encoding="unicode"), "the caller's tree is not modified"


def test_an_item_whose_text_starts_on_the_next_line_is_one_bullet_line() -> None:
    """trafilatura writes such an item as a bare "- " line and its text below (seen on an orda
    section page: the item's text begins with a line break); the bullet goes to the text's line."""
    body = etree.fromstring("<body><p>Intro.</p><list><item>\nOn the next line.</item><item>Plain.</item></list></body>")
    doc = SimpleNamespace(text=xmltotxt(body, False), body=body)
    assert doc.text.split("\n") == ["Intro.", "- ", "On the next line.", "- Plain."]
    assert text_with_bullets(doc).split("\n") == ["Intro.", "• On the next line.", "• Plain."]


def fixture_pages() -> list[Path]:
    pages = []
    for site in sorted(p for p in SITES.iterdir() if (p / "site.json").is_file()):
        routes = json.loads((site / "site.json").read_text(encoding="utf-8"))["routes"]
        for route in routes.values():
            path = site / route["file"] if "file" in route else None
            if path is not None and path.suffix == ".html" and b"<li" in path.read_bytes():
                pages.append(path)
    return sorted(set(pages))


def joined_markers(lines: list[str]) -> list[str]:
    """trafilatura's lines with a marker alone on its line ("- ") joined to the item's next line."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].strip() == "-" and line.strip():
            out[-1] = "- " + line.lstrip()
        else:
            out.append(line)
    return out


def test_on_the_fixture_pages_only_the_item_markers_change() -> None:
    """On every fixture page with a list: the text is trafilatura's, line for line, except that the
    lines of list items start with "• " instead of "- " (at most one per item)."""
    bullets = 0
    for page in fixture_pages():
        doc = trafilatura.bare_extraction(lxml_html.document_fromstring(page.read_bytes()), with_metadata=False,
                                          include_comments=False, include_tables=True, include_images=False, deduplicate=False)
        if doc is None:
            continue
        ours, theirs = text_with_bullets(doc).split("\n"), joined_markers((doc.text or "").split("\n"))
        assert len(ours) == len(theirs), page
        changed = [(a, b) for a, b in zip(ours, theirs) if a != b]
        assert all(a.startswith(LIST_BULLET) and b.lstrip().startswith("- ") and a[2:] == b.lstrip()[2:] for a, b in changed), (page, changed)
        assert len(changed) <= sum(1 for _ in doc.body.iter("item")), page
        bullets += len(changed)
    assert bullets >= 10, "the fixture sites have lists (pravda's Background lists, timesca's currency strip, ...)"
