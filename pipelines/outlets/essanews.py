"""essanews.com: the English-language news site of Wirtualna Polska (WP), the Polish media group;
world news with an eye on Poland and Central and Eastern Europe, hence ``country="PL"``.

Evidence (no live access; the search tool's stored pages and public repositories, 2026). Each claim is
marked **confirmed**, **reported** (one public source), **assumed** or **invented** (the fixture's own).

* WP property (confirmed): public cookie-consent filter lists group ``essanews.com`` with WP's own
  sites (``money.pl``, ``dobreprogramy.pl``, ``autokult.pl``...) and its other English sites
  ``dailywrap.uk`` and ``dailywrap.ca`` under one rule set (one consent platform).
* Article URLs ``/<slug>,<16-digit id>a`` on the bare host (reported, for the sister site: a public
  write-up cites ``https://dailywrap.uk/russian-planes-unexpected-visit-to-the-us-raises-questions,7043084396886145a``;
  the same shape on essanews.com is **assumed**). The trailing ``a`` marks an article; WP's galleries
  and videos are taken to end in ``g`` and ``v`` (assumed) and are not crawled.
* Page text (confirmed by seed 000, ``shared/seeds/000_3446e2ee4f353061.txt``, a page of this site as
  text): a section breadcrumb glued to the headline ("NewsLavrov denies ..."), the headline, the lead
  image's alt text and caption (the same words twice), ``Images source: © GETTY | Anadolu Agency``, the
  editor's initials ``ed. MUP``, a US-time date line ``3:48 PM EST, November 12, 2023``, the story with
  subheadings, then a ``Related content`` list.
* **Not confirmed**: no stored HTML page, feed, sitemap or robots.txt of essanews.com was found. The
  feed ``/rss``, the sitemap index ``/sitemap.xml`` with a news child, the section page ``/news``,
  robots.txt and every class name below are assumptions (the class names are the fixture's own,
  ``tests/sites/essanews/``); the text rules rest on the confirmed text formats of seed 000, so they
  still clean a page whose markup differs.
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

#: ``/<slug>,<16-digit id>a`` (an article; ``g`` galleries and ``v`` videos end otherwise)
_ARTICLE = r"^/[a-z0-9]+(?:-[a-z0-9]+)*,\d{16}a$"
#: listings, tags, authors and system paths, which never have the id suffix anyway; kept explicit
_EXCLUDE = r"^/(?:tag|tags|author|authors|search|rss|sitemap|static|api)(?:/|$|\.)|[?&](?:page|q)="


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


OUTLET = Outlet(
    name="essanews",
    title="essanews.com",
    country="PL",
    base_url="https://essanews.com",
    domains=("essanews.com", "www.essanews.com"),
    default_edition="en",
    editions={
        "en": Edition(
            language="en",
            feeds=("/rss",),
            sitemaps=("/sitemap.xml",),
            sections=("/news",),
            article_pattern=_ARTICLE,
            exclude_pattern=_EXCLUDE,
        ),
    },
    # Every HTML rule is an assumption: the class names are the fixture's (no stored page of the site).
    html_rules=(
        node_rule("site_header", "//header[@id='site-header']"),
        node_rule("site_footer", "//footer[@id='site-footer']"),
        node_rule("cookie_consent", f"//div[{_cls('consent-bar')}]"),
        # the section breadcrumb glued to the headline ("News" + headline, seed 000's first line)
        node_rule("breadcrumb", f"//nav[{_cls('article-breadcrumb')}]"),
        # lead image: alt text, caption and the "Images source: ..." credit
        node_rule("lead_image", f"//figure[{_cls('article-lead-image')}]"),
        # editor's initials and the date line
        node_rule("article_meta", f"//div[{_cls('article-meta')}]"),
        node_rule("ad_slot", f"//div[{_cls('ad-slot')}]"),
        node_rule("share_bar", f"//div[{_cls('share-bar')}]"),
        # the "Related content" list after the story
        node_rule("related_content", f"//section[{_cls('related-content')}]"),
        node_rule("most_read", f"//aside[{_cls('most-read')}]"),
    ),
    text_rules=(
        # the lead image credit, "Images source: © GETTY | Anadolu Agency" (confirmed format); the generic
        # image_credit takes short ones, this one also long agency chains
        line_rule("images_source", r"^Images source: ©.{1,120}$"),
        # (the editor's initials under the headline, "ed. MUP", are the generic editor_credit's)
        # the date line, "3:48 PM EST, November 12, 2023" (confirmed format; US time zones)
        line_rule("us_date_line", r"^\d{1,2}:\d{2} [AP]M (?:EST|EDT|CST|CDT|PST|PDT|UTC|GMT), [A-Z][a-z]+ \d{1,2}, \d{4}$"),
        # ("Related content", the heading of the list after the story, is the generic list_marker's)
    ),
    notes=(
        "Wirtualna Polska's English site on https://essanews.com; articles /<slug>,<16-digit id>a (shape of "
        "the sister site dailywrap.uk, assumed here). Feed /rss, sitemap /sitemap.xml, section /news and "
        "robots.txt are not confirmed; all HTML rules are the fixture's class names."
    ),
)
