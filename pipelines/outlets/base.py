"""Outlets are declared as data, one module each, so adding an outlet means adding one file.

A module in ``pipelines.outlets`` defines a module-level ``OUTLET = Outlet(...)``; the
registry in ``pipelines.outlets`` discovers it. Paths are relative to ``base_url`` so that
the same declaration drives a crawl of the live site and of a mirror (``-a base_url=``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlsplit
from typing import Any

from lxml import etree


#: where a text rule applies, see :class:`TextRule`.
SCOPES: tuple[str, ...] = ("line", "run", "head", "tail", "marker")
#: a rule's short name: snake_case, what the rule removes (``masthead_logo``, ``support_us``).
RULE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
#: a rule's key in the manifest: a generic rule's name, or ``<outlet>:<name>``.
_RULE_KEY = re.compile(rf"(?:[a-z0-9][a-z0-9_.-]*:)?{RULE_NAME.pattern}")


@dataclass(frozen=True)
class TextRule:
    """A text cleaning rule: a regex that must match a whole (stripped) line, and where it applies.

    ``scope``: ``line`` anywhere; ``run`` only inside a run of two or more matching lines;
    ``head`` only before the first body paragraph; ``tail`` only after the last one; ``marker``
    a heading that opens a trailing list (it and what follows go). ``valid_from``/``valid_until``
    bound the fetch days the rule applies to, so old archives are re-cleaned with the rules of
    their time (a site redesign retires a rule instead of deleting it).
    """

    #: the rule's id, recorded in the manifest's ``removed_lines``: snake_case for a generic rule
    #: (``ad_label``); an outlet rule is declared with a short snake_case name and keyed
    #: ``<outlet>:<name>`` (``brecorder:masthead_logo``) by :meth:`Outlet.qualified_text_rules`.
    name: str
    pattern: str
    scope: str = "line"
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RULE_KEY.fullmatch(self.name):
            raise ValueError(f"text rule name {self.name!r} is not snake_case (or <outlet>:<snake_case>)")
        if self.scope not in SCOPES:
            raise ValueError(f"text rule {self.name!r}: scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"text rule {self.name!r}: bad pattern: {exc}") from None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_until is None or day < self.valid_until)


def line_rule(name: str, regex: str, scope: str = "line", *, valid_from: date | None = None, valid_until: date | None = None) -> TextRule:
    """An outlet text rule from a regex written from the line's start (``^...``).

    The regex must match the start of the (stripped) line; ending it with ``$`` makes it match the
    whole line, otherwise the rest of the line is free (``^Read also:`` takes "Read also: ...").
    ``name`` is the short snake_case id of what the rule removes; the manifest key is ``<outlet>:<name>``.
    """
    return TextRule(name, regex[:-1] if regex.endswith("$") else f"(?:{regex}).*", scope, valid_from, valid_until)


@dataclass(frozen=True)
class NodeRule:
    """An HTML cleaning rule: the nodes an XPath expression matches are removed before extraction
    (their tail text is kept, see :func:`pipelines.clean.prune_html`).

    ``name`` is the rule's stable id, recorded in the manifest's ``removed_lines`` as
    ``<outlet>:<name>`` (:meth:`Outlet.qualified_html_rules`): keep it when the XPath changes.
    """

    name: str
    xpath: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RULE_KEY.fullmatch(self.name):
            raise ValueError(f"HTML rule name {self.name!r} is not snake_case (or <outlet>:<snake_case>)")
        if not isinstance(self.xpath, str):
            raise TypeError(f"HTML rule {self.name!r}: xpath {self.xpath!r} is not a string")
        try:
            etree.XPath(self.xpath)
        except etree.XPathSyntaxError as exc:
            raise ValueError(f"HTML rule {self.name!r}: bad XPath {self.xpath!r}: {exc}") from None


def node_rule(name: str, xpath: str) -> NodeRule:
    """An outlet HTML rule: remove the nodes ``xpath`` matches (boilerplate: ticker bars, ad slots,
    share widgets, related lists). ``name`` is the short snake_case id of what the rule removes,
    unique among the outlet's HTML and text rules; the manifest key is ``<outlet>:<name>``."""
    return NodeRule(name, xpath)


@dataclass(frozen=True)
class Edition:
    """One language edition of an outlet: its own sources and article URL shape."""

    language: str
    #: RSS/Atom feed paths.
    feeds: tuple[str, ...] = ()
    #: sitemap or sitemap-index paths (news sitemaps included).
    sitemaps: tuple[str, ...] = ()
    #: section pages, used as a fallback source: article links are taken from them.
    sections: tuple[str, ...] = ()
    #: regex matched (``re.search``) against the URL path (plus query) of an article page.
    article_pattern: str = r"$^"
    #: regex of paths that are never articles even if ``article_pattern`` matches
    #: (tag, author, video, gallery pages).
    exclude_pattern: str | None = None
    #: when the edition lives on its own host (en.orda.kz), its scheme and host: its article URLs are
    #: then only those on that host (or its ``www.``/bare spelling), never another edition's host
    base_url: str | None = None
    #: the edition whose stories this one translates (pravda's ``en`` and ``ru``: ``"uk"``): a listed
    #: article URL that answers 404/410 is a translation not published (yet), status ``missing``
    translation_of: str | None = None


@dataclass(frozen=True, eq=False)  # identity hash: one instance per outlet, usable as a cache key
class Outlet:
    """A news outlet: where to find its articles and how to strip its chrome."""

    name: str
    title: str
    country: str
    #: scheme and host of the live site, without trailing slash.
    base_url: str
    #: every host name the outlet serves from; links elsewhere are offsite.
    domains: tuple[str, ...]
    editions: dict[str, Edition]
    default_edition: str
    #: boilerplate nodes removed before extraction (ticker bars, ad slots, share widgets,
    #: related/latest lists, promos): named XPath rules (:func:`node_rule`), each with a short
    #: snake_case name unique among the outlet's HTML and text rules; the manifest counts the
    #: nodes each removed as ``<outlet>:<name>``.
    html_rules: tuple[NodeRule, ...] = ()
    #: text lines removed after extraction (outlet-specific promos, tickers, chrome): named rules
    #: (:func:`line_rule` or :class:`TextRule`), each with a short snake_case name unique among the
    #: outlet's HTML and text rules; the manifest counts them as ``<outlet>:<name>``.
    text_rules: tuple[TextRule, ...] = ()
    #: the outlet's own wire credit lines, regexes with an ``{agency}`` placeholder
    #: (e.g. a byline "AFP Published 12 Nov, 2023"); generic credit lines are in pipelines/dedup.py
    wire_bylines: tuple[str, ...] = ()
    #: free-form notes for operators (robots quirks, bot protection...).
    notes: str = ""
    _compiled: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _qualified: tuple[TextRule, ...] = field(default=(), init=False, repr=False, compare=False)
    _qualified_html: tuple[NodeRule, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        html_names = self._check_names("HTML", self.html_rules, NodeRule, "node_rule(name, xpath)", set())
        self._check_names("text", self.text_rules, TextRule, "line_rule(name, regex)", html_names)
        object.__setattr__(self, "_qualified", tuple(replace(r, name=f"{self.name}:{r.name}") for r in self.text_rules))
        object.__setattr__(self, "_qualified_html", tuple(replace(r, name=f"{self.name}:{r.name}") for r in self.html_rules))

    def _check_names(self, kind: str, rules: tuple[Any, ...], cls: type, how: str, taken: set[str]) -> set[str]:
        """Each rule declared with ``how``, under a snake_case name unique in the outlet (the manifest
        key ``<outlet>:<name>``), and not one of ``taken`` (the other kind's names)."""
        names: set[str] = set()
        for rule in rules:
            if not isinstance(rule, cls):
                raise TypeError(f"outlet {self.name!r}: {kind} rule {rule!r} is not a {cls.__name__}; declare it with {how}")
            if not RULE_NAME.fullmatch(rule.name):
                raise ValueError(
                    f"outlet {self.name!r}: {kind} rule name {rule.name!r} must be a short snake_case name "
                    "(the manifest key <outlet>:<name> is made from it)"
                )
            if rule.name in names:
                raise ValueError(f"outlet {self.name!r}: two {kind} rules are named {rule.name!r}")
            if rule.name in taken:
                raise ValueError(
                    f"outlet {self.name!r}: an HTML rule and a text rule are both named {rule.name!r} "
                    "(both would count as the same manifest key)"
                )
            names.add(rule.name)
        return names

    @property
    def remove_xpaths(self) -> tuple[str, ...]:
        """The XPath expressions of the outlet's HTML rules, in order."""
        return tuple(r.xpath for r in self.html_rules)

    def edition(self, name: str | None = None) -> Edition:
        key = name or self.default_edition
        try:
            return self.editions[key]
        except KeyError:
            raise ValueError(
                f"outlet {self.name!r} has no edition {key!r}; choose one of {sorted(self.editions)}"
            ) from None

    def is_article_url(self, url: str, edition: str | None = None) -> bool:
        """True when ``url``'s path has the shape of an article of this edition, and, for an edition
        with its own ``base_url``, ``url`` is on that host (a host-less path is judged by shape)."""
        key = edition or self.default_edition
        if self.other_edition_host(url, key):
            return False
        if key not in self._compiled:
            ed = self.edition(key)
            # ASCII classes: ``\d`` must not match Arabic-Indic or other Unicode digits in a URL path
            self._compiled[key] = (
                re.compile(ed.article_pattern, re.ASCII),
                re.compile(ed.exclude_pattern, re.ASCII) if ed.exclude_pattern else None,
            )
        pattern, exclude = self._compiled[key]
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if exclude is not None and exclude.search(path):
            return False
        return pattern.search(path) is not None

    def qualified_text_rules(self) -> tuple[TextRule, ...]:
        """The outlet's text rules named by their manifest key, ``<outlet>:<name>``."""
        return self._qualified

    def qualified_html_rules(self) -> tuple[NodeRule, ...]:
        """The outlet's HTML rules named by their manifest key, ``<outlet>:<name>``."""
        return self._qualified_html

    def rule_keys(self) -> frozenset[str]:
        """Every ``removed_lines`` key the outlet's own rules (HTML and text, any date) can write."""
        return frozenset(r.name for r in (*self._qualified_html, *self._qualified))

    def canonical_problem(self, canonical: str, edition: str | None = None) -> str | None:
        """Why a page's canonical URL cannot be its identity (another site, another edition's host,
        not an article), or None."""
        if not self.owns_host(urlsplit(canonical).hostname or ""):
            return "it is on another site"
        if other := self.other_edition_host(canonical, edition):
            return f"it is on {other}, not the host of edition {edition or self.default_edition}"
        return None if self.is_article_url(canonical, edition) else "it is not an article URL"

    def other_edition_host(self, url: str, edition: str | None = None) -> str | None:
        """The host of ``url`` when the edition has its own ``base_url`` and ``url`` is on another
        host (orda's en edition and ``https://orda.kz/...``, the Russian edition's), else None.
        The ``www.`` and bare spellings of the edition's host are the same host."""
        own = self.edition(edition).base_url
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if not own or not host:
            return None
        want = (urlsplit(own).hostname or "").lower()
        return None if host.removeprefix("www.") == want.removeprefix("www.") else host

    def owns_host(self, host: str) -> bool:
        host = host.lower().split(":")[0]
        return any(host == d or host.endswith("." + d) for d in self.domains)
