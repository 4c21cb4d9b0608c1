"""Cleaning in two layers: outlet HTML rules before extraction, text line rules after it.

Layer 1 (:func:`prune_html`) drops the nodes an outlet declares as boilerplate, so trafilatura
never sees them. Layer 2 (:func:`clean_paragraphs`) removes lines that survive extraction
because sites put them inside the article container (market tickers, "Advertisement:" labels)
and the outlet's own promo lines. Text rules act on whole lines only and are written so that a
body sentence mentioning a market figure or the word "advertisement" never matches: a rule
that misses junk is preferred to one that eats a paragraph.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from crawler.items import EMPTY, FETCHED, WRITTEN, Article
from crawler.outlets import Outlet, get_outlet


@dataclass(frozen=True)
class LineRule:
    name: str
    pattern: re.Pattern[str]


GENERIC_RULES: tuple[LineRule, ...] = (
    LineRule("ticker_stock", re.compile(r"^[A-Z][A-Z0-9]{1,9} [\d,]+\.\d{2} (?:Increased By ▲|Decreased By ▼|No Change ▼) -?[\d,.]+ \(-?[\d.]+%\)$")),
    LineRule("ticker_index", re.compile(r"^(?:BR100|BR30|KSE100|KSE30|ALLSHR|KMI30) [\d,]+(?:\.\d+)? (?:Increased|Decreased) By -?[\d,.]+ \(-?[\d.]+%\)$")),
    LineRule("fx_strip", re.compile(r"^•?\s*(?:KGS|KZT|TJS|UZS|TMT)/USD = [\d.]+ -?[\d.]+%$")),
    LineRule("ad_label", re.compile(r"^(?:Advertisement|ADVERTISEMENT|Реклама)\s*:?$")),
)


@lru_cache(maxsize=None)
def _xpath(expr: str) -> etree.XPath:
    return etree.XPath(expr)


def prune_html(tree: lxml_html.HtmlElement, xpaths: tuple[str, ...]) -> Counter[str]:
    """Remove the nodes matched by ``xpaths`` (their tail text is kept); count per expression."""
    removed: Counter[str] = Counter()
    for expr in xpaths:
        for node in _xpath(expr)(tree):
            if not isinstance(node, lxml_html.HtmlElement) or node.getparent() is None:
                continue
            node.drop_tree()
            removed[f"html:{expr}"] += 1
    return removed


@lru_cache(maxsize=None)
def outlet_rules(outlet: Outlet | None) -> tuple[LineRule, ...]:
    if outlet is None:
        return GENERIC_RULES
    extra = tuple(LineRule(f"{outlet.name}:{i}", re.compile(p)) for i, p in enumerate(outlet.junk_line_patterns))
    return GENERIC_RULES + extra


def clean_paragraphs(title: str, paragraphs: list[str], rules: tuple[LineRule, ...]) -> tuple[list[str], Counter[str]]:
    """Drop junk lines; a leading repeat of the headline goes too."""
    removed: Counter[str] = Counter()
    kept: list[str] = []
    for para in paragraphs:
        lines = []
        for line in para.split("\n"):
            stripped = line.strip()
            rule = next((r for r in rules if r.pattern.match(stripped)), None)
            if rule is not None:
                removed[rule.name] += 1
            elif stripped:
                lines.append(stripped)
        if lines:
            kept.append("\n".join(lines))
    if kept and title and kept[0].strip() == title.strip():
        kept.pop(0)
        removed["repeated_headline"] += 1
    return kept, removed


def format_document(title: str, paragraphs: list[str]) -> str:
    """The corpus format: headline, blank line, paragraphs separated by blank lines (no final newline, as the seeds)."""
    return "\n\n".join([title.strip(), *paragraphs]) if title.strip() else "\n\n".join(paragraphs)


def clean_text(title: str, paragraphs: list[str], outlet: Outlet | None) -> tuple[str, list[str], Counter[str]]:
    """Text layer for one article: (corpus text, kept paragraphs, removed line counts per rule)."""
    kept, removed = clean_paragraphs(title, paragraphs, outlet_rules(outlet))
    return format_document(title, kept), kept, removed


class CleanPipeline:
    """Applies the text rules of the item's outlet and assembles the corpus text."""

    def process_item(self, item: Article) -> Article:
        if item.status != FETCHED:
            return item
        item.text, paragraphs, removed = clean_text(item.title, item.paragraphs, get_outlet(item.outlet))
        item.paragraphs = paragraphs
        item.removed_lines = dict(sorted((Counter(item.removed_lines) + removed).items()))
        if paragraphs:
            item.status = WRITTEN
        else:
            item.status, item.reason = EMPTY, "no article text left after cleaning"
        return item


__all__ = ["CleanPipeline", "GENERIC_RULES", "LineRule", "clean_paragraphs", "format_document", "prune_html"]
