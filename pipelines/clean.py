"""Cleaning in two layers: outlet HTML rules before extraction, text line rules after it.

Layer 1 (:func:`prune_html`) drops the nodes an outlet declares as boilerplate (ticker bars, ad
slots, share widgets, related lists, promos), so trafilatura never sees them.

Layer 2 (:func:`clean_lines`) removes what survives extraction, deciding on lines *in context*:
a ticker line goes only inside a run of ticker lines, site chrome only before the first body
paragraph, "read more" lists only after the last one. A body paragraph is never removed by a
positional rule: a line of 20+ words, or a sentence that ends like one, is body. Rules that
could match a sentence of the story are written so they cannot (whole-line matches, short
lines only): a rule that misses junk is preferred to one that eats a paragraph.

Rules are data (:class:`TextRule`), generic ones here and outlet ones in the outlet's module,
each valid for a date range (Fundus's ``VALID_UNTIL``), so re-cleaning an old archive uses the
rules of the day it was fetched (:func:`rules_for`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from lxml import etree
from lxml import html as lxml_html

from pipelines.outlets import Outlet
from pipelines.outlets.base import NodeRule, TextRule

# --------------------------------------------------------------------------- generic rules

#: Scopes (see TextRule): "line" anywhere; "run" only in a run of >= 2 matching lines; "head" only
#: before the first body paragraph; "tail" only after the last one; "marker" a heading that opens
#: a trailing list: it and everything after it go, if it stands after the last body paragraph.
#: Site-specific strips (Business Recorder's PSX ticker) are outlet rules, in the outlet's module.
GENERIC_RULES: tuple[TextRule, ...] = (
    TextRule("fx_strip", r"•?\s*(?:[A-Z]{3})/(?:USD|EUR|RUB) = [\d.]+ -?[\d.]+%", "run"),
    TextRule("ad_label", r"(?:Advertisement|ADVERTISEMENT|Advertising|Sponsored|Реклама|РЕКЛАМА|Жарнама)\s*:?"),
    TextRule("follow_us", r"(?:Follow|Subscribe to|Join) (?:us|our \w+) on (?:Instagram|Telegram|Facebook|X|Twitter|YouTube|WhatsApp|Google News|TikTok)(?: and \w+)?\s*[!.]?"),
    TextRule("support_us", r"(?:Support [Uu]s|Support our journalism|Donate|Become a (?:patron|supporter|member))\s*[!.]?"),
    # a credit is a few words ("Photo: Getty Images / Reuters"), never a sentence
    TextRule("image_credit", r"(?:Images? source|Image credit|Photo credit|Photos?|PHOTOS?|Image|Illustration|Credit|Фото|ФОТО)\s*:\s*(?:[^\s.!?]+\s*){1,6}"),
    TextRule("caption_credit", r"[^a-zа-яіїє]{3,160}\b(?:PHOTO|PHOTOS|ФОТО|IMAGE|ILLUSTRATION)\s*:\s*[^a-zа-яіїє]{2,80}"),
    TextRule("comment_widget", r"(?:\d+\s+)?(?:characters? (?:left|remaining)|characters)|Leave a comment|Post a comment|Add a comment|Log in to comment", "tail"),
    TextRule("editor_credit", r"(?:ed\.|Edited by:?) [A-Z][A-Za-z.]{1,20}", "head"),
    TextRule("logo_alt", r"[\w .&'-]{2,40} [Ll]ogo", "head"),
    TextRule("nav_trail", r".{0,200}(?:►|»|›|\s\|\s).{0,200}(?:►|»|›|\s\|\s).{0,200}", "head"),
    TextRule("copyright", r"(?:©|\(c\)|Copyright)\s.{0,120}", "tail"),
    TextRule("list_marker", r"(?:Read more stories|Read more|More stories|More from [\w .]{2,40}|Related(?: content| news| articles| stories)?|"
                            r"Latest(?: news| stories)?|You may (?:also )?like|Recommended|Trending(?: now)?|Trends 24h|Most read|Most popular|"
                            r"Popular|Also read|See also|Comments|Читайте также|Последние новости|Останні новини|Читайте також)\s*:?", "marker"),
)

#: names of the decisions :func:`clean_lines` takes in context rather than by a rule's pattern
#: (a line without letters, a date line before the body, a repeated headline, a trailing list...).
POSITIONAL_RULES: tuple[str, ...] = (
    "stray_symbols", "date_line", "duplicate_caption", "head_chrome", "breadcrumb_headline",
    "repeated_headline", "trailing_list",
)
#: every generic ``removed_lines`` key (no outlet prefix): the generic rules' names and the positional decisions.
GENERIC_RULE_NAMES: frozenset[str] = frozenset({r.name for r in GENERIC_RULES} | set(POSITIONAL_RULES))

MIN_BODY_WORDS = 20
_SENTENCE_END = re.compile(r"[.!?…]['’\"”»)]*$|[.!?]\s*\S{0,3}$")
_LETTER = re.compile(r"\w", re.UNICODE)
_DATE_WORDS = {
    *"january february march april may june july august september october november december".split(),
    *"jan feb mar apr jun jul aug sep sept oct nov dec".split(),
    *"monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun".split(),
    *"am pm a.m. p.m. utc gmt est edt cet cest pst pdt msk pkt almt eet eest updated published at on".split(),
    *"січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня".split(),
    *"понеділок вівторок середа четвер п'ятниця субота неділя".split(),
    *"января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split(),
    *"понедельник вторник среда четверг пятница суббота воскресенье".split(),
}


def _norm(line: str) -> str:
    """Comparable form of a line: case, quotes, dashes and punctuation folded away."""
    text = unicodedata.normalize("NFKC", line).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def words(line: str) -> int:
    return len(line.split())


def is_body(line: str) -> bool:
    """A line that reads as part of the story: long, or a sentence that ends like one."""
    n = words(line)
    return n >= MIN_BODY_WORDS or (n >= 6 and bool(_SENTENCE_END.search(line)) and not line.endswith(("...", "…")))


def is_date_line(line: str) -> bool:
    """The whole line is a date or time ("3:48 PM EST, November 12, 2023", "2023-11-12T11:52:15Z")."""
    if not re.search(r"\d", line) or words(line) > 10:
        return False
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?", line.strip()):
        return True
    tokens = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?\.?", line.casefold())
    return all(t in _DATE_WORDS or t.rstrip(".") in _DATE_WORDS for t in tokens)


# --------------------------------------------------------------------------- rule sets


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[TextRule, ...]
    compiled: tuple[tuple[TextRule, re.Pattern[str]], ...] = field(repr=False, default=())

    @classmethod
    def of(cls, rules: tuple[TextRule, ...]) -> "RuleSet":
        return cls(rules, tuple((r, re.compile(r.pattern)) for r in rules))

    def match(self, line: str, scope: str) -> TextRule | None:
        for rule, pattern in self.compiled:
            if rule.scope == scope and pattern.fullmatch(line):
                return rule
        return None

    def name(self, line: str, scope: str) -> str | None:
        rule = self.match(line, scope)
        return rule.name if rule is not None else None


@lru_cache(maxsize=256)
def rules_for(outlet: Outlet | None, when: date | None = None) -> RuleSet:
    """Generic plus outlet rules (named ``<outlet>:<name>``) valid on ``when`` (default: today)."""
    day = when or date.today()
    extra = outlet.qualified_text_rules() if outlet is not None else ()
    return RuleSet.of(tuple(r for r in GENERIC_RULES + extra if r.valid_on(day)))


# --------------------------------------------------------------------------- layer 1


@lru_cache(maxsize=None)
def _xpath(expr: str) -> etree.XPath:
    return etree.XPath(expr)


def prune_html(tree: lxml_html.HtmlElement, rules: tuple[NodeRule, ...]) -> Counter[str]:
    """Remove the nodes each rule's XPath matches (their tail text is kept); count them per rule
    name, the manifest key (:meth:`Outlet.qualified_html_rules`: ``<outlet>:<name>``)."""
    removed: Counter[str] = Counter()
    for rule in rules:
        for node in _xpath(rule.xpath)(tree):
            if not isinstance(node, lxml_html.HtmlElement) or node.getparent() is None:
                continue
            node.drop_tree()
            removed[rule.name] += 1
    return removed


# --------------------------------------------------------------------------- layer 2


@dataclass
class Cleaned:
    title: str
    lines: list[str]  # kept body lines, in order
    removed: list[tuple[str, str]]  # (line, rule name), in order

    @property
    def counts(self) -> Counter[str]:
        return Counter(rule for _, rule in self.removed)


def clean_lines(lines: list[str], title: str | None, ruleset: RuleSet) -> Cleaned:
    """Decide line by line, in context, what is junk. ``title`` None: the headline is among ``lines``
    (a seed-format file whose first lines may be site chrome) and is chosen here."""
    items = [ln.strip() for ln in lines if ln.strip()]
    why: list[str | None] = [None] * len(items)

    def drop(i: int, rule: str) -> None:
        if why[i] is None:
            why[i] = rule

    # anywhere: specific whole-line rules; lines without a letter or digit ("«", "***" stays: see below)
    for i, line in enumerate(items):
        rule = ruleset.match(line, "line")
        if rule is not None:
            drop(i, rule.name)
        elif not _LETTER.search(line) and line not in ("***", "* * *") and not line.startswith("|"):
            drop(i, "stray_symbols")
    # runs of ticker-like lines (a single look-alike line might be a sentence)
    i = 0
    while i < len(items):
        rule = ruleset.match(items[i], "run")
        if rule is None:
            i += 1
            continue
        j = i
        while j < len(items) and ruleset.match(items[j], "run") is not None:
            j += 1
        if j - i >= 2:
            for k in range(i, j):
                drop(k, ruleset.name(items[k], "run") or "")
        i = j

    def body_indices() -> list[int]:
        return [k for k, ln in enumerate(items) if why[k] is None and is_body(ln)]

    # footer: a copyright line near the end takes the short legal lines after it
    for k in range(max(0, len(items) - 6), len(items)):
        if why[k] is None and ruleset.name(items[k], "tail") == "copyright":
            for m in range(k, len(items)):
                if words(items[m]) < 40:
                    drop(m, "copyright")
            break

    body = body_indices()
    first = body[0] if body else len(items)
    last = body[-1] if body else -1

    # head: chrome before the first body paragraph
    for k in range(first):
        if why[k] is None:
            rule = ruleset.match(items[k], "head")
            if rule is not None:
                drop(k, rule.name)
            elif is_date_line(items[k]):
                drop(k, "date_line")
    # duplicated caption (image alt text and caption): two equal short lines in the head
    for k in range(min(first, len(items)) - 1):
        if why[k] is None and why[k + 1] is None and items[k] == items[k + 1] and words(items[k]) <= 8:
            drop(k, "duplicate_caption")
            drop(k + 1, "duplicate_caption")

    headline, at = _choose_headline(items, why, first, title, drop)

    # repeated headline anywhere else
    if headline:
        key = _norm(headline)
        for k, line in enumerate(items):
            if why[k] is None and _norm(line) == key and k != at:
                drop(k, "repeated_headline")

    # tail: after the last body paragraph
    for k in range(last + 1, len(items)):
        # a list heading opens the trailing list even when another rule already took the heading itself
        if ruleset.match(items[k], "marker") is not None:
            for m in range(k, len(items)):
                drop(m, "trailing_list")
            break
        if why[k] is not None:
            continue
        rule = ruleset.match(items[k], "tail")
        if rule is not None:
            drop(k, rule.name)

    kept = [ln for k, ln in enumerate(items) if why[k] is None and k != at]
    removed = [(ln, why[k]) for k, ln in enumerate(items) if why[k] is not None]  # type: ignore[misc]
    return Cleaned(headline or "", kept, removed)


def _choose_headline(items: list[str], why: list[str | None], first: int, title: str | None, drop: Callable[[int, str], None]) -> tuple[str, int]:
    """The headline and its index in ``items`` (-1 when it came from the page's metadata)."""
    if title is not None:
        # a known headline: lines before its first repeat in the head are chrome (section label, site name)
        key = _norm(title)
        for k in range(first):
            if why[k] is None and _norm(items[k]) == key:
                for m in range(k):
                    if why[m] is None and not is_body(items[m]) and words(items[m]) <= 12:
                        drop(m, "head_chrome")
                break
        return title.strip(), -1
    # seed format: a breadcrumb glued to the headline ("NewsLavrov denies ...") followed by the headline
    for k in range(min(first, len(items)) - 1):
        a, b = items[k], items[k + 1]
        if why[k] is None and why[k + 1] is None and a.endswith(b) and a != b and re.fullmatch(r"[^\W\d_]{2,20}", a[: len(a) - len(b)].strip()):
            drop(k, "breadcrumb_headline")
    candidates = [k for k in range(first) if why[k] is None and not is_date_line(items[k]) and words(items[k]) >= 3 and not _SENTENCE_END.search(items[k].rstrip("\"”»’'"))]
    if not candidates:
        candidates = [k for k in range(min(first + 1, len(items))) if why[k] is None]
    if not candidates:
        return "", -1
    best = max(candidates, key=lambda k: (words(items[k]), -k))
    for m in range(best):
        if why[m] is None and not is_body(items[m]) and words(items[m]) <= 12:
            drop(m, "head_chrome")
    return items[best], best


def clean_text(title: str | None, paragraphs: list[str], outlet: Outlet | None, when: date | None = None) -> tuple[str, list[str], Counter[str]]:
    """Text layer for one article: (corpus text, kept paragraphs, removed line counts per rule)."""
    lines = [ln for p in paragraphs for ln in p.split("\n")]
    result = clean_lines(lines, title, rules_for(outlet, when))
    paras = group_lines(result.lines)
    return format_document(result.title, paras), paras, result.counts


_BLOCK_LINE = re.compile(r"^(?:\||- |• |\* )")


def group_lines(lines: list[str]) -> list[str]:
    """Lines as corpus paragraphs: a table's rows or a list's items stay one block."""
    blocks: list[str] = []
    for line in lines:
        prev = blocks[-1].rsplit("\n", 1)[-1] if blocks else ""
        if prev and _BLOCK_LINE.match(line) and _BLOCK_LINE.match(prev) and line[0] == prev[0]:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def format_document(title: str, paragraphs: list[str]) -> str:
    """The corpus format: headline, blank line, paragraphs separated by blank lines (no final newline, as the seeds)."""
    return "\n\n".join([title.strip(), *paragraphs]) if title.strip() else "\n\n".join(paragraphs)


def parse_document(text: str) -> list[str]:
    """The non-empty lines of a seed-format file (its first line is meant to be the headline)."""
    return [ln.strip() for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
