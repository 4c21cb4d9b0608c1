"""Outlets are declared as data, one module each, so adding an outlet means adding one file.

A module in ``crawler.outlets`` defines a module-level ``OUTLET = Outlet(...)``; the
registry in ``crawler.outlets`` discovers it. Paths are relative to ``base_url`` so that
the same declaration drives a crawl of the live site and of a mirror (``-a base_url=``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit


@dataclass(frozen=True)
class TextRule:
    """A text cleaning rule: a regex that must match a whole (stripped) line, and where it applies.

    ``scope``: ``line`` anywhere; ``run`` only inside a run of two or more matching lines;
    ``head`` only before the first body paragraph; ``tail`` only after the last one; ``marker``
    a heading that opens a trailing list (it and what follows go). ``valid_from``/``valid_until``
    bound the fetch days the rule applies to, so old archives are re-cleaned with the rules of
    their time (a site redesign retires a rule instead of deleting it).
    """

    name: str
    pattern: str
    scope: str = "line"
    valid_from: date | None = None
    valid_until: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_until is None or day < self.valid_until)


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
    #: when the edition lives on its own host (en.orda.kz), its scheme and host
    base_url: str | None = None


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
    #: XPath expressions of boilerplate nodes removed before extraction
    #: (ticker bars, ad slots, share widgets, related/latest lists, promos).
    remove_xpaths: tuple[str, ...] = ()
    #: whole text lines removed after extraction (outlet-specific promos): a regex (a ``line``
    #: rule valid forever, named ``<outlet>:<regex>``) or a :class:`TextRule`.
    junk_line_patterns: tuple[str | TextRule, ...] = ()
    #: free-form notes for operators (robots quirks, bot protection...).
    notes: str = ""
    _compiled: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def edition(self, name: str | None = None) -> Edition:
        key = name or self.default_edition
        try:
            return self.editions[key]
        except KeyError:
            raise ValueError(
                f"outlet {self.name!r} has no edition {key!r}; choose one of {sorted(self.editions)}"
            ) from None

    def is_article_url(self, url: str, edition: str | None = None) -> bool:
        """True when ``url``'s path has the shape of an article of this edition."""
        key = edition or self.default_edition
        if key not in self._compiled:
            ed = self.edition(key)
            self._compiled[key] = (
                re.compile(ed.article_pattern),
                re.compile(ed.exclude_pattern) if ed.exclude_pattern else None,
            )
        pattern, exclude = self._compiled[key]
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if exclude is not None and exclude.search(path):
            return False
        return pattern.search(path) is not None

    def text_rules(self) -> tuple[TextRule, ...]:
        """The outlet's rules; a plain regex matches from the line's start (``re.match``)."""
        return tuple(
            p if isinstance(p, TextRule) else TextRule(f"{self.name}:{p[:60]}", p[:-1] if p.endswith("$") else f"(?:{p}).*")
            for p in self.junk_line_patterns
        )

    def owns_host(self, host: str) -> bool:
        host = host.lower().split(":")[0]
        return any(host == d or host.endswith("." + d) for d in self.domains)
