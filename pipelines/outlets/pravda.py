"""Ukrainska Pravda (www.pravda.com.ua), Kyiv: Ukraine's largest independent online newspaper.

Three language editions share one host and one id space: Ukrainian at the root (``/news/...``), the
original, and its translations, Russian under ``/rus/`` and English under ``/eng/`` (``translation_of``).
Article URLs are ``/<edition>/<news|articles|columns|interview>/YYYY/MM/DD/<numeric id>/`` (older English
URLs have an unpadded day and an id of their own, e.g. ``/eng/news/2023/05/4/7400574/``); ``index.amp``
appended gives the AMP copy. robots.txt names ``/sitemap/sitemap.xml``, an index of
``/sitemap/sitemap-archive.xml`` (309 monthly children ``sitemap-YYYY-MM.xml.gz``, 2000-04 to now, newest
first, no ``<lastmod>``) and the Google News ``/sitemap/sitemap-news.xml``. A monthly child lists every id
three times (``/``, ``/rus/``, ``/eng/``), each ``<url>`` with a ``<lastmod>`` (time and zone) and
``xhtml:link hreflang`` alternates for the two other languages, also for stories that have no English
(or Russian) version: those URLs answer 404 (``missing``). Each edition filters the shared sitemaps by
its ``article_pattern``. RSS: ``/rss/`` and ``/rss/view_news/`` (uk), 20 items with the full text in
``content:encoded``; ``/rus/rss/`` (ru), ``/eng/rss/`` and ``/eng/rss/view_news/`` (en).

Evidence:
- Real pages: the Russian-edition article in ``/work/shared/fixtures/pages/fundus/ua`` (flairNLP/fundus
  @ 18da6e5, MIT); a Ukrainian news page (``/news/2025/12/01/8009697/``), a page served at a pravda
  news URL whose canonical is champion.com.ua (syndicated sport), the real archive index and the
  first day of the real ``sitemap-2025-12.xml.gz`` (loxar-ua/case-monitoring-etl ``tests/fixtures/pravda``,
  read as evidence, not copied). News pages: ``article.post_news`` > ``header.post_news_header``
  (``post_news_title``, ``post_news_date`` = ``post_news_author`` + "— 1 грудня, 00:08": no weekday,
  no year), ``post_news_body`` > ``post_news_photo`` (``post_news_photo_source``),
  ``aside.post_news_service`` (share buttons, "Посилання скопійовано", views), ``post_news_text``
  (``advtext_mob`` "Реклама:" + ``nts-ad``, ``nts-video-wrapper`` "РЕКЛАМА:"), ``post_news_tags``,
  banners, ``advtext1`` commenting rules, ``comentario-comments``, ``aside.section_other_news``; beside
  it ``div.section_news_side`` > ``post_side_topic`` (the tag's headlines), ``post_side_news``
  ("Останні новини") and ``section_news_adv`` ("Реклама:" banner). The date is only in JSON-LD
  (``NewsArticle``/``Article`` ``datePublished`` with time and zone); no ``article:published_time``.
- Reported: robots.txt's ``Sitemap:`` line, ``/rss/`` and ``/rss/view_news/`` answering 200 with
  ``content:encoded`` while HTML pages and sitemaps answer 403 to plain clients (a public live check,
  2026-09-22); fundus crawls Pravda with browser-TLS impersonation; the ``sitemap.xml`` index's
  children (a public scraper, 2023); English "Top news of today" (a public scraper's test); project
  seed 004 (English news page text, 2023: "Support Us", "Follow us on Instagram!", "Advertisement:",
  "Support UP or become our patron!", the older dateline "Wednesday, 1 November 2023, 13:56").
- Not confirmed: the ``/eng/rss/``, ``/eng/rss/view_news/`` and ``/rus/rss/`` feeds; the column author
  bio/disclaimer box; the English and Russian dateline month names (assumed like the Ukrainian).
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

#: robots.txt's index (archive + Google News) and the archive index itself, in case the first moves
_SITEMAPS: tuple[str, ...] = ("/sitemap/sitemap.xml", "/sitemap/sitemap-archive.xml")
_KINDS = r"(?:news|articles|columns|interview)/\d{4}/\d{1,2}/\d{1,2}/\d+/?$"
_EXCLUDE = r"/(?:tags|authors|video|photo|photo-video|search|rss|sitemap|archives)/|index\.amp|[?&]page="

OUTLET = Outlet(
    name="pravda",
    title="Ukrainska Pravda",
    country="UA",
    base_url="https://www.pravda.com.ua",
    domains=("pravda.com.ua", "www.pravda.com.ua"),
    default_edition="en",
    editions={
        "en": Edition(
            language="en",
            feeds=("/eng/rss/", "/eng/rss/view_news/"),
            sitemaps=_SITEMAPS,
            sections=("/eng/news/", "/eng/articles/"),
            article_pattern=r"^/eng/" + _KINDS, translation_of="uk",
            exclude_pattern=_EXCLUDE,
        ),
        "uk": Edition(
            language="uk",
            feeds=("/rss/", "/rss/view_news/"),
            sitemaps=_SITEMAPS,
            sections=("/news/",),
            article_pattern=r"^/" + _KINDS,
            exclude_pattern=_EXCLUDE,
        ),
        "ru": Edition(
            language="ru",
            feeds=("/rus/rss/",),
            sitemaps=_SITEMAPS,
            sections=("/rus/news/", "/rus/articles/"),
            article_pattern=r"^/rus/" + _KINDS, translation_of="uk",
            exclude_pattern=_EXCLUDE,
        ),
    },
    html_rules=(
        # site chrome: header with "Support Us"/"Підтримати УП" button, menus, search, footer
        node_rule("site_header", "//header[contains(concat(' ', normalize-space(@class), ' '), ' header ')]"),
        node_rule("main_menu", "//nav[contains(@class, 'main_menu_wrapper')]"),
        node_rule("menu_popups", "//div[contains(@class, 'menu_popup') or contains(@class, 'search_popup')]"),
        node_rule("club_button", "//a[contains(@class, 'top_options_club')]"),
        node_rule("site_footer", "//footer[contains(concat(' ', normalize-space(@class), ' '), ' footer ')]"),
        # ad slots and their "Advertisement:" / "Реклама:" labels (advtext, advtext_mob, advtext1)
        node_rule("ad_label_block", "//div[contains(@class, 'advtext')]"),
        node_rule("ad_slot", "//div[contains(@class, 'nts-ad')]"),
        # in-text video ad with its own "РЕКЛАМА:" label (nts-video-label)
        node_rule("video_ad", "//div[contains(@class, 'nts-video-wrapper')]"),
        node_rule("banners", "//div[contains(@class, 'unit_header_banner') or contains(@class, 'unit_side_banner')]"),
        node_rule("article_sidebar", "//aside[contains(@class, 'post_article_side')]"),
        # share buttons, "link copied" tooltip and view counter: articles, news
        node_rule("service_bar", "//aside[contains(@class, 'post_article_service')]"),
        node_rule("news_service_bar", "//aside[contains(@class, 'post_news_service')]"),
        node_rule("tag_list", "//div[contains(@class, 'post_news_tags')]"),
        # "Головне сьогодні" / "Top news of today" list under the story
        node_rule("other_news", "//aside[contains(@class, 'section_other_news')]"),
        # news page side column: the tag's headlines, "Останні новини" list, the "Реклама:" banner
        node_rule("side_topic", "//div[contains(concat(' ', normalize-space(@class), ' '), ' post_side_topic ')]"),
        node_rule("side_news", "//div[contains(concat(' ', normalize-space(@class), ' '), ' post_side_news ')]"),
        node_rule("side_ad", "//div[contains(concat(' ', normalize-space(@class), ' '), ' section_news_adv ')]"),
        # news dateline ("Ольга Глущенко — 1 грудня, 00:08"): the author span sits inside it
        node_rule("dateline_block", "//div[contains(@class, 'post_news_date')]"),
        # image captions and credits
        node_rule("image_caption", "//div[contains(@class, 'image-box__caption') or contains(@class, 'image-box__author')]"),
        node_rule("header_media_source", "//div[contains(@class, 'post_article_header_media_source')]"),
        node_rule("photo_caption", "//div[contains(@class, 'post_news_photo_captain') or contains(@class, 'post_news_photo_source')]"),
        # comments widget (its rules line is an advtext1 div, removed above)
        node_rule("comments_widget", "//comentario-comments"),
        # the authors' names closing an article ("<p><strong><em>A, B</em></strong></p>", real page)
        node_rule("author_signature", "//div[contains(@class, 'post_article_text')]/p[last()][strong/em and "
                                      "normalize-space(.) = normalize-space(strong/em)]"),
        # column disclaimer and author bio box: unconfirmed (no real column page seen), kept for columns
        node_rule("disclaimer_bio", "//div[contains(@class, 'post_article_disclaimer') or contains(@class, 'post_author_bio')]"),
    ),
    text_rules=(
        line_rule("ad_label", r"^(?:Advertisement|ADVERTISEMENT|Реклама|РЕКЛАМА):?\s*$"),
        line_rule("support_us", r"^(?:Support Us|Підтримати УП|Поддержать УП)\s*$"),
        line_rule("patron_appeal", r"^(?:Support UP or become our patron|Підтримайте УП або станьте нашим патроном|"
                                   r"Поддержите УП или станьте нашим патроном)!?\s*$"),
        line_rule("follow_us", r"^(?:Follow us on|Підписуйтеся на нас [ву]|Подписывайтесь на нас в) "
                               r"(?:Instagram|Telegram|Facebook|X|YouTube|TikTok|WhatsApp|Viber)!?\s*$"),
        line_rule("become_patron", r"^Become a patron of Ukrainska Pravda"),
        line_rule("read_also", r"^(?:Read (?:also|more)(?: on this topic)?|Читайте також(?: на цю тему)?|"
                               r"Читайте также(?: на эту тему)?|Читайте більше у статті|Читайте больше в статье):"),
        line_rule("commenting_rules", r"^(?:Dear readers, please follow the Commenting rules|"
                                      r"Шановні читачі, просимо дотримуват(?:ися|ись) Правил коментування|"
                                      r"Уважаемые читатели, просим соблюдать Правила комментирования)\s*$"),
        line_rule("column_disclaimer", r"^(?:The column is the author's personal opinion|Колонка є авторською|Колонка является авторской)"),
        # upper-case image captions with credit, e.g. "EMMANUEL MACRON AND ... PHOTO: GETTY IMAGES"
        line_rule("caption_credit", r"^[^a-zа-яіїєґ]*\b(?:PHOTO|VIDEO|ФОТО|ВІДЕО|ВИДЕО): [^a-zа-яіїєґ]+$"),
        # news dateline, with or without the author before a dash: today's "1 грудня, 00:08" (year
        # only for another year, assumed), and seed 004's older "Wednesday, 1 November 2023, 13:56"
        line_rule("dateline", r"^(?:.{0,120}\s[—–-]\s*|[—–-]\s*)?(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
                              r"Понеділок|Вівторок|Середа|Четвер|П'ятниця|Субота|Неділя|"
                              r"Понедельник|Вторник|Среда|Четверг|Пятница|Суббота|Воскресенье), \d{1,2} \w+ \d{4}|"
                              r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December|"
                              r"січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня|"
                              r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
                              r"(?: \d{4})?), \d{1,2}:\d{2}$"),
    ),
    notes=(
        "Sitemaps are shared by the uk/ru/en editions; each edition keeps only URLs matching its "
        "article_pattern. The archive index's children carry no <lastmod>: their month is in the name. "
        "A monthly child lists every id under all three editions, so en/ru crawls meet 404s for "
        "stories not translated (yet). Podcasts (/podcasts/<show>/YYYY/MM/DD/<id>/) are listed too and "
        "are not articles here. Section listings use ?page=N / page_N pagination. robots.txt disallows "
        "/search/ (and per-edition /eng/search/, /rus/search/). Plain clients are reported to get 403 on "
        "pages and sitemaps (Cloudflare) while the uk RSS feeds answer with full text."
    ),
)
