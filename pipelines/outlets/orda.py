"""Orda.kz — independent Kazakh news site (news, explainers, investigations) in Russian, Kazakh and English.

Structure, as far as it could be confirmed from public material (no live access):

* Each language is a separate WordPress install on its own host: Russian on ``https://orda.kz``,
  English on ``https://en.orda.kz``, Kazakh on ``https://kaz.orda.kz`` (host map and article URLs
  cited in public scrapers and link lists, e.g. ``https://en.orda.kz/<slug>-9716/``,
  ``https://orda.kz/<translit-slug>-417627/``, ``https://kaz.orda.kz/<slug>-137363/``).
* Articles are one path segment: ``/<slug>-<numeric id>/``; the numeric id is per host.
* RSS at ``/feed/`` (cited for orda.kz and en.orda.kz); WordPress also serves Atom at ``/feed/atom/``
  (standard WordPress endpoint, assumed, not seen cited).
* Sitemaps at ``/sitemap/sitemap_news<N>.xml`` with ``<lastmod>`` (cited, same on all three hosts);
  the ``/sitemap.xml`` index pointing to them is an assumption.
* ``/last-news/`` is the chronological news list (cited for orda.kz, assumed for en); category pages
  are assumed at the WordPress default ``/category/<slug>/``; search is a Google CSE page at
  ``/search-results.html?q=`` (cited). Uploads live under ``/uploads/posts/YYYY-MM/`` (cited).
* Article pages have no ``<article>`` element and no ``itemprop="articleBody"`` (noted by a public
  scraper). The class names used below (``post__content``, ``currency-bar``, ``adv-in-text``,
  ``last-news-block``...) are those of the fixture mirror ``tests/sites/orda/``; they are a plausible
  reconstruction, NOT verified against the live markup — check them on a live capture.

The default edition is English, so ``base_url`` is the English host. The Outlet model has one
``base_url`` per outlet, so the ``ru`` edition must be crawled with ``-a base_url=https://orda.kz``.
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

#: ``/<slug>-<id>/``: one path segment ending in a hyphen and a numeric id (trailing slash optional).
_ARTICLE = r"^/[a-z0-9][a-z0-9%A-F_-]*-\d{3,7}/?$"  # percent-escapes are upper-case (pipelines/urls.py)
#: archive/listing/system paths (tag, author, category, video, gallery...), trashed posts that
#: sitemaps still list (``/<slug>-<id>__trashed/``) and search/comment-reply query URLs. Most of
#: these already fail the one-segment article pattern; the guard covers odd permalinks too.
_EXCLUDE = (
    r"^/(?:tag|author|category|video|videos|gallery|photo|page|feed|search-results\.html|wp-admin|"
    r"wp-content|wp-json|uploads)(?:/|$)|__trashed|[?&](?:s|q|replytocom)="
)


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


OUTLET = Outlet(
    name="orda",
    title="Orda.kz",
    country="KZ",
    base_url="https://en.orda.kz",
    domains=("orda.kz", "www.orda.kz", "en.orda.kz", "kaz.orda.kz"),
    default_edition="en",
    editions={
        "en": Edition(
            language="en",
            feeds=("/feed/", "/feed/atom/"),
            sitemaps=("/sitemap.xml",),
            sections=("/last-news/", "/category/politics/"),
            article_pattern=_ARTICLE,
            exclude_pattern=_EXCLUDE,
        ),
        # Served from https://orda.kz (crawl with -a base_url=https://orda.kz); same WordPress layout.
        "ru": Edition(
            language="ru",
            feeds=("/feed/",),
            sitemaps=("/sitemap.xml", "/sitemap/sitemap_news1.xml"),
            sections=("/last-news/",),
            article_pattern=_ARTICLE,
            exclude_pattern=_EXCLUDE,
        ),
    },
    html_rules=(
        node_rule("currency_bar", f"//div[{_cls('currency-bar')}]"),
        node_rule("site_header", f"//header[{_cls('site-header')}]"),
        node_rule("site_footer", f"//footer[{_cls('site-footer')}]"),
        node_rule("nav_menu", "//nav"),
        node_rule("mobile_menu", f"//div[{_cls('mobile-menu')}]"),
        node_rule("breadcrumbs", f"//div[{_cls('breadcrumbs')}]"),
        node_rule("post_meta", f"//div[{_cls('post__meta')}]"),
        node_rule("category_link", f"//a[{_cls('post__category')}]"),
        node_rule("inline_ad", f"//div[{_cls('adv-in-text')}]"),
        node_rule("ad_label_block", f"//p[{_cls('adv-label')}]"),
        node_rule("ad_slot", f"//div[{_cls('adfox-slot')}]"),
        node_rule("read_also_box", f"//div[{_cls('read-also')}]"),
        node_rule("related_posts", f"//div[{_cls('related-posts')}]"),
        node_rule("telegram_promo_box", f"//div[{_cls('tg-promo')}]"),
        node_rule("support_box", f"//div[{_cls('support-orda')}]"),
        node_rule("tag_list", f"//div[{_cls('post__tags')}]"),
        node_rule("share_buttons", f"//div[{_cls('share-block')}]"),
        node_rule("subscribe_box", f"//div[{_cls('post-subscribe')}]"),
        node_rule("latest_news", f"//div[{_cls('last-news-block')}]"),
        node_rule("comments_block", f"//div[{_cls('comments-block')}]"),
        node_rule("sidebar", f"//aside[{_cls('sidebar')}]"),
        node_rule("image_caption", "//figcaption"),
        node_rule("embed_iframe", "//iframe"),
    ),
    text_rules=(
        # currency / commodity ticker strip (header marquee, repeated twice)
        line_rule("currency_ticker", r"^(?:USD|EUR|RUB|CNY|KGS|UZS|GBP|Brent|Gold)\s+\$?[\d.,]+\s+[▲▼]\s*-?[\d.,]+%?$"),
        line_rule("ad_label", r"^(?:Advertisement|Реклама|Жарнама)$"),
        line_rule("read_also", r"^(?:Read also|Читайте также|Оқи отырып)\s*:"),
        line_rule("list_heading", r"^(?:Related|Latest news|Последние новости|Соңғы жаңалықтар|Popular|All news)$"),
        line_rule("follow_us", r"^(?:Subscribe to|Follow) (?:Orda\.kz|Orda|our)\b.{0,80}\b(?:Telegram|Instagram|WhatsApp|YouTube)\b"),
        line_rule("follow_us_ru", r"^Подписывайтесь на .{0,60}(?:Telegram|Instagram|WhatsApp)"),
        line_rule("telegram_promo", r"^Orda\.kz in Telegram\b"),
        line_rule("support_us", r"^(?:Support Orda\.kz|Become a supporter)$"),
        line_rule("newsletter_promo", r"^(?:The week in Kazakhstan — in your inbox|Every Friday we send a digest\b.*)$"),
        line_rule("donation_appeal", r"^Investigations like this one take .{0,40}Orda\.kz is an independent media outlet"),
        line_rule("typo_report", r"^(?:Found a typo|Нашли ошибку)\?.{0,60}Ctrl\s*\+\s*Enter\.?$"),
        # image credits ("Video: ..." is deliberately absent: video stories have headlines like that)
        line_rule("image_credit", r"^(?:Illustrative photo|Photo|Photos|Image|Collage|Screenshot|Фото|Коллаж)(?: by)?\s*:\s*.{1,100}$"),
        line_rule("share_label", r"^(?:Share|Поделиться)\s*:?$"),
        line_rule("comments_heading", r"^(?:Comments|Комментарии)(?: \(\d+\))?$"),
    ),
    notes=(
        "English edition on https://en.orda.kz (default); Russian on https://orda.kz, Kazakh on "
        "https://kaz.orda.kz: crawl ru with -a base_url=https://orda.kz. Sitemaps are numbered "
        "/sitemap/sitemap_news<N>.xml and may list trashed posts (slug suffix __trashed, excluded). "
        "Search (/search-results.html) is a Google CSE page, disallowed in robots.txt."
    ),
)
