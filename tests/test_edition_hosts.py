"""Editions on their own host, and the Orda / Business Recorder rules modelled on the public evidence (issue 12).

An edition with its own ``base_url`` (orda's ``en`` on ``en.orda.kz``, ``ru`` on ``orda.kz``) accepts
only article URLs on that host: the Russian and Kazakh stories an English page or sitemap lists are
other editions', never crawled, never an English page's identity, and never mapped to ``en.orda.kz``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipelines.clean import clean_lines, rules_for
from pipelines.outlets import get_outlet
from pipelines.urls import normalize_article_url
from tests.golden_tool import GOLDEN, SITES, expected_text, written_pages
from tests.test_discovery import requests_of
from tests.units import FixtureSite, source_response, unit_crawler

ORDA, BRECORDER = get_outlet("orda"), get_outlet("brecorder")
EN = "https://en.orda.kz/almaty-chp-2-gas-conversion-slips-again-contractor-cites-equipment-delays-12311/"
RU = "https://orda.kz/tokaev-podpisal-zakon-ob-onlajn-platformah-417627/"  # listed on the fixture's /last-news/
KK = "https://kaz.orda.kz/almatyda-avtobys-jelektrondy-zholaky-toleu-zhyjesi-iske-kosylady-137363/"  # in sitemap_news2.xml


# ---------------------------------------------------------------------------------- editions and hosts


@pytest.mark.parametrize(
    ("url", "edition", "article"),
    [
        (EN, "en", True),
        (EN.rstrip("/"), "en", True),  # stored en.orda.kz pages are addressed without the slash
        ("https://www.en.orda.kz/x-story-12311/", "en", True),  # the www. spelling of the edition's host
        (RU, "en", False),
        ("https://www.orda.kz/x-story-417627/", "en", False),
        (KK, "en", False),
        (RU, "ru", True),
        ("https://www.orda.kz/x-story-417627/", "ru", True),
        (EN, "ru", False),
        (KK, "ru", False),
        ("/x-story-12311/", "en", True),  # a bare path is judged by its shape
    ],
)
def test_an_edition_with_its_own_host_accepts_only_articles_on_it(url: str, edition: str, article: bool) -> None:
    assert ORDA.is_article_url(url, edition) is article


def test_another_editions_page_is_no_identity_for_this_edition() -> None:
    assert ORDA.canonical_problem(EN, "en") is None
    assert ORDA.canonical_problem(RU, "en") == "it is on orda.kz, not the host of edition en"
    assert ORDA.canonical_problem(KK, "ru") == "it is on kaz.orda.kz, not the host of edition ru"
    assert ORDA.canonical_problem("https://en.orda.kz/tag/armenia/", "en") == "it is not an article URL"
    assert ORDA.canonical_problem("https://example.org/x-12311/", "en") == "it is on another site"


def test_an_outlet_on_one_host_is_not_restricted() -> None:
    # Business Recorder's edition has no base_url of its own: both spellings of its one host are articles
    assert BRECORDER.edition().base_url is None
    assert BRECORDER.is_article_url("https://brecorder.com/news/40456101") and BRECORDER.is_article_url("https://www.brecorder.com/news/40456101/x")


@pytest.mark.parametrize(
    ("edition", "url", "want"),
    [
        ("en", "http://orda.kz/x-story-417627/", "https://orda.kz/x-story-417627/"),  # never en.orda.kz
        ("en", "http://www.orda.kz/x-story-417627/", "https://www.orda.kz/x-story-417627/"),
        ("en", "http://www.en.orda.kz/x-story-12311/", "https://en.orda.kz/x-story-12311/"),
        ("ru", "http://www.orda.kz/x-story-417627/", "https://orda.kz/x-story-417627/"),  # the ru edition's own alias
        ("ru", "https://en.orda.kz/x-story-12311/", "https://en.orda.kz/x-story-12311/"),  # never orda.kz
        ("ru", "https://KAZ.orda.kz/x-story-137363/", "https://kaz.orda.kz/x-story-137363/"),
    ],
)
def test_normalizing_never_maps_one_editions_host_to_another(edition: str, url: str, want: str) -> None:
    assert normalize_article_url(url, ORDA, edition) == want


def test_the_ru_edition_crawls_its_own_host_without_base_url(tmp_path: Path) -> None:
    with unit_crawler("orda", tmp_path, open_archive=False, edition="ru") as unit:
        spider = unit.spider
        assert spider.mirror_url is None and spider.absolute("/feed/") == "https://orda.kz/feed/"
        assert spider.allowed_domains == list(ORDA.domains)


def test_other_editions_urls_on_the_english_fixture_are_never_requested(tmp_path: Path) -> None:
    """The fixture's /last-news/ links a Russian and a Kazakh story and sitemap_news2.xml lists the
    Kazakh one: an English mirror run requests neither (they would be fetched from the mirror)."""
    site = FixtureSite("orda")
    assert RU in site.text("https://en.orda.kz/last-news/") and KK in site.text("https://en.orda.kz/sitemap/sitemap_news2.xml")
    with unit_crawler("orda", tmp_path, open_archive=False, base_url="http://127.0.0.1:8080") as unit:
        spider = unit.spider
        got = []
        for path, parse in (("/last-news/", spider.parse_section), ("/sitemap/sitemap_news2.xml", spider.parse_sitemap)):
            request = source_response(f"http://127.0.0.1:8080{path}", site.body(f"https://en.orda.kz{path}"), site.route(path)["content_type"])
            got += [r.meta["article"]["url"] for r in requests_of(parse(request)) if "article" in r.meta]
    assert got and all(urlsplit(u).hostname == "en.orda.kz" for u in got), got
    assert not {RU, KK} & set(got)
    assert "https://en.orda.kz/mazhilis-passes-online-platforms-bill-in-first-reading-11208/" in got


# ---------------------------------------------------------------------------------- orda's junk lines


ORDA_RULES = rules_for(ORDA)
BODY = "The akimat said the works would resume in spring after the ground thaws and the contractor returns to the site."


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Society | 3 December 2025, 14:05", "orda:section_label"),
        ("News | 21 November 2026, 10:12", "orda:section_label"),
        ("Ордынка | Почему в Алматы снова дорожает проезд", "orda:section_label"),
        ("RU | KZ | EN", "orda:language_switch"),
        ("Orda.kz is an online publication. Certificate of registration of a network publication No. KZ12VPY00067XXX "
         "issued by the Ministry of Information and Social Development of the Republic of Kazakhstan.", "orda:media_registration"),
        ("Сетевое издание Orda.kz. Свидетельство о постановке на учет № KZ12VPY00067XXX выдано Министерством информации.", "orda:media_registration"),
        ("Orda.kz желілік басылымы. Есепке қою туралы куәлігі № KZ12VPY00067XXX.", "orda:media_registration"),
        ("We use cookies to make Orda.kz work better for you. By continuing to use the site, you agree to our privacy policy.", "orda:cookie_notice"),
        ("Мы используем файлы cookie. Продолжая пользоваться сайтом, вы соглашаетесь с политикой конфиденциальности.", "orda:cookie_notice"),
        ("banner_inline_300x250 -->", "orda:comment_residue"),
    ],
)
def test_orda_junk_lines_go_by_their_named_rules(line: str, rule: str) -> None:
    result = clean_lines([BODY, line, BODY + " Again."], "Headline", ORDA_RULES)
    assert result.lines == [BODY, BODY + " Again."]
    assert result.counts == {rule: 1}


@pytest.mark.parametrize(
    "line",
    [
        "The company's certificate of registration was revoked by the court in October, the prosecutor's office said.",
        "Bakers say the price of cookies and cakes rose by a fifth this year, and customers are buying less of them.",
        "Новости о том, что Ордынка закрыта на ремонт, не подтвердились, сообщили в акимате района в среду.",
        "He said the figures --> and the ministry's own report show the opposite, and asked for an audit.",
    ],
)
def test_story_sentences_that_look_like_orda_junk_stay(line: str) -> None:
    result = clean_lines([BODY, line, BODY + " Again."], "Headline", ORDA_RULES)
    assert line in result.lines, result.counts


def test_the_translators_credit_goes_only_after_the_story() -> None:
    credit = "Original author: Saule Abdykamit"
    assert clean_lines([BODY, credit], "Headline", ORDA_RULES).counts == {"orda:original_author": 1}
    assert credit in clean_lines([credit, BODY], "Headline", ORDA_RULES).lines


def test_the_orda_fixture_pages_carry_the_junk_and_their_goldens_do_not() -> None:
    # (in the page's markup, as the text would read it)
    junk = {"Original author:": "Original author:", "Certificate of registration": "Certificate of registration",
            "News | 2": '">News</a> | 2', "Society | 2": '">Society</a> | 2', "-->": "300x250 -->",
            "RU | KZ | EN": '">RU</a> | <a', "cookies": "We use cookies"}
    pages = [(url, body) for url, body, _ in written_pages("orda")]
    assert all(b"<article" not in body for _, body in pages), "Orda's article pages have no <article> element"
    seen = {j for _, body in pages for j, markup in junk.items() if markup.encode() in body}
    assert seen == set(junk), set(junk) - seen
    for path in (GOLDEN / "orda").glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        assert not [j for j in junk if j in text], path.name


# ---------------------------------------------------------------------------------- Business Recorder


def test_brecorder_stories_are_keyed_by_the_slugless_canonical_and_keep_the_listed_url() -> None:
    exp = json.loads((SITES / "brecorder" / "expected.json").read_text(encoding="utf-8"))
    index = json.loads((GOLDEN / "brecorder" / "INDEX.json").read_text(encoding="utf-8"))
    for url, body, ctype in written_pages("brecorder"):
        canonical = exp["articles"][url]["canonical_url"]
        assert url.startswith(canonical + "/"), "the listed URL is the slugged one"
        docid, _ = expected_text("brecorder", url, body, ctype)
        assert index[docid]["url"] == url and BRECORDER.canonical_problem(canonical) is None


def test_brecorder_sources_are_the_ones_the_evidence_names() -> None:
    ed = BRECORDER.edition()
    assert ed.feeds == ("/feeds/latest-news/",) and ed.sitemaps == ("/feeds/sitemap",)
    robots = (SITES / "brecorder" / "robots.txt").read_text(encoding="utf-8")
    assert "Sitemap: https://www.brecorder.com/feeds/sitemap\n" in robots and "Disallow: */print\n" in robots
    blocked = FixtureSite("brecorder").routes["/news/40456109/govt-raises-petrol-price-by-rs302-per-litre-for-second-half-of-november"]
    assert blocked["status"] == 403 and blocked["headers"]["cf-mitigated"] == "challenge"
    assert b"<title>Just a moment...</title>" in (SITES / "brecorder" / blocked["file"]).read_bytes()


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Jan 30, 2025 اردو ► PRINT EDITION ► BR MARKETS ► Dollar to PKR ►", "brecorder:masthead_links"),
        ("Nov 12, 2023 PRINT EDITION ► BR MARKETS ► Dollar to PKR ►", "brecorder:masthead_links"),
        ("BR Web Desk Published January 29, 2025", "brecorder:byline_timestamp"),
        ("AFP Published 12 Nov, 2023 05:28pm", "brecorder:byline_timestamp"),
        ("200 characters", "brecorder:comment_counter"),
        ("Follow us", "brecorder:follow_us"),
    ],
)
def test_brecorder_lines_of_the_2023_seed_and_the_2025_page_go(line: str, rule: str) -> None:
    result = clean_lines([line, BODY, BODY + " Again."], "Headline", rules_for(BRECORDER))
    assert result.lines == [BODY, BODY + " Again."] and result.counts == {rule: 1}
