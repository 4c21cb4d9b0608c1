"""The Limited Times (newsrnd): seed 001's page crawls to the cleaned seed, the outlet's rules hold on the
text formats the seed shows, its cited URL shapes are articles (tests/sites/newsrnd/README.md has the
evidence), and the seeds' one Lavrov story told by three outlets is three stories in one archive.

The cleaned seed is the hand-labeled ``tests/labeled/seeds/001_8aa0ecb8040d0b20.expected.txt``; the raw seed is
``shared/seeds/001_8aa0ecb8040d0b20.txt``, copied unchanged to ``tests/labeled/seeds/001_8aa0ecb8040d0b20.raw.txt``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.clean import clean_lines, clean_text, parse_document, rules_for
from pipelines.dedup import detect_wire
from pipelines.dev.mirror import serve
from pipelines.extract import extract_document
from pipelines.outlets import get_outlet
from pipelines.reader import completed_runs, read_rows
from pipelines.storage import open_store
from tests.conftest import SITES, crawl_fixture, run_crawl
from tests.quality import LABELED
from tests.test_essanews import SEED_URL as ESSANEWS_SEED_URL, visible_lines

ROOT = Path(__file__).resolve().parents[1]
SITE = SITES / "newsrnd"
SEED_RAW = LABELED / "seeds" / "001_8aa0ecb8040d0b20.raw.txt"
SEED_CLEAN = LABELED / "seeds" / "001_8aa0ecb8040d0b20.expected.txt"
SEED_PATH = "/news/2023-11-12-eu-will-not-succeed-in-ousting-russia-from-central-asia-says-sergey-lavrov.HkQ3xT1Vp6.html"
SEED_URL = "https://newsrnd.com" + SEED_PATH
OUTLET = get_outlet("newsrnd")


def seed_page() -> tuple[bytes, str]:
    route = json.loads((SITE / "site.json").read_text(encoding="utf-8"))["routes"][SEED_PATH]
    return (SITE / route["file"]).read_bytes(), route["content_type"]


def test_the_seed_page_shows_the_seed_with_its_junk() -> None:
    """The fixture page is built from the seed: its visible text is the seed's lines in the seed's order,
    junk included (site name, banner, timestamp, highlights, the lone «, lists, footer)."""
    seed = parse_document(SEED_RAW.read_text(encoding="utf-8"))
    shown = visible_lines(seed_page()[0])
    at = [shown.index(line) for line in seed]
    assert at == sorted(at), "the seed's lines appear in the seed's order"
    assert shown[at[0]] == "The Limited Times" and shown[-1] == seed[-1]


def test_the_seed_page_extracts_to_the_cleaned_seed() -> None:
    """Extraction and cleaning as in the crawl: title first, every body line, no junk; byte for byte the labeled text."""
    body, ctype = seed_page()
    result = extract_document(body, ctype, SEED_URL, "newsrnd")
    text, _, counts = clean_text(result["title"], result["paragraphs"], OUTLET)
    want = SEED_CLEAN.read_text(encoding="utf-8")
    assert text.split("\n", 1)[0] == want.split("\n", 1)[0]
    assert text == want
    assert text.endswith("\n\nSource: lefigaro"), "the attribution is the story's last line, kept"
    assert result["canonical_url"] == SEED_URL and result["published"] == "2023-11-12T11:52:15.031Z" and result["language"] == "en"
    assert counts["stray_symbols"] == 1, "the lone « is the text layer's"
    for junk in ("The Limited Times", "non-English", "Highlights", "2023-11-12T", "All news articles", "You may like",
                 "Trends 24h", "Latest", "Communities", "external sources", "«"):
        assert junk not in text, junk


def test_clean_command_turns_the_raw_seed_into_the_cleaned_seed(tmp_path: Path) -> None:
    """The seed as the site's page text reads, re-cleaned with ``--outlet newsrnd``: the labeled text (without the
    outlet's rules the highlights and the day-archive link stay)."""
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "pipelines", "clean", "--outlet", "newsrnd", "--explain", "--out", str(out), str(SEED_RAW)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (out / SEED_RAW.name).read_text(encoding="utf-8") == SEED_CLEAN.read_text(encoding="utf-8")
    for rule in ("newsrnd:language_banner_text", "newsrnd:highlights_text", "newsrnd:day_archive_text"):
        assert res.stdout.count(f"[{rule}]") == 1, rule
    plain = clean_lines(parse_document(SEED_RAW.read_text(encoding="utf-8")), None, rules_for(None)).lines
    assert any(ln.startswith("Highlights: ") for ln in plain) and "All news articles on 2023-11-12" in plain


def test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page(tmp_path: Path) -> None:
    """``scrapy crawl newsrnd`` against the fixture mirror: the seed page's text file is the cleaned seed; the
    slug with ``(2-1)--`` is fetched and written like any other."""
    run = crawl_fixture("newsrnd", tmp_path)
    paren = "/sports/2026-11-23-spain-norway-(2-1)--la-roja-reach-the-nations-league-final.SJ9cK0dQ1e.html"
    assert run.hits[paren] == 1
    rows, row = run.rows, run.rows[SEED_URL]
    assert run.text(SEED_URL) == SEED_CLEAN.read_text(encoding="utf-8")
    assert row.title == parse_document(SEED_RAW.read_text(encoding="utf-8"))[2]
    assert row.outlet == "newsrnd" and row.language == "en" and (row.published or "").startswith("2023-11-12")
    assert {"newsrnd:highlights", "newsrnd:day_archive_link", "newsrnd:link_lists", "newsrnd:language_banner"} <= set(row.removed_lines)
    assert rows["https://newsrnd.com" + paren].status == "written"


def test_one_story_told_by_three_outlets_is_three_stories(tmp_path: Path) -> None:
    """Seeds 000, 001 and 003 report the same Lavrov story in different words (essanews, newsrnd, and the Times of
    Central Asia's page of seed 003): crawled into one archive, each is written, none is a duplicate of another."""
    archive = str(tmp_path / "archive")
    for outlet in ("essanews", "newsrnd", "timesca"):
        server = serve(outlet)
        try:
            result = run_crawl(outlet, server, archive, tmp_path / f"spool-{outlet}")
            assert result.returncode == 0, result.log[-3000:]
        finally:
            server.stop()
    store = open_store(archive)
    rows = {r.url: r for prefix in completed_runs(store) for r in read_rows(store, prefix)}
    timesca_seed = "https://timesca.com/moscow-weighs-in-on-armenia-seeking-to-expand-us-and-eu-ties/"
    lavrov = [rows[u] for u in (ESSANEWS_SEED_URL, SEED_URL, timesca_seed)]
    assert [r.status for r in lavrov] == ["written"] * 3, [(r.url, r.status, r.reason) for r in lavrov]
    assert not [r.url for r in rows.values() if r.status == "duplicate"], "no article of the three fixtures copies another"


# ---------------------------------------------------------------------------------- URLs and rules


@pytest.mark.parametrize("path", [
    # article URLs of the live site cited in public repositories (see the module docstring)
    "/tech/2022-06-24-data-confiscated-from-pirate-party-servers.SJxeH5I79q.html",
    "/sports/2023-08-08-france-morocco-(4-0)--les-bleues-join-the-quarters-of-the-women-s-world-cup-without-trembling.BJXjfpknn.html",
    "/life/2023-12-05-the-mountain-guide-s-heartbreaking-last-message-to-his-wife-and-a-new-version-of-his-death.SyrDzr-6HT.html",
    SEED_PATH,
])
def test_cited_article_urls_are_articles(path: str) -> None:
    assert OUTLET.is_article_url("https://newsrnd.com" + path)
    assert OUTLET.canonical_problem("https://newsrnd.com" + path) is None


@pytest.mark.parametrize("path", [
    "/", "/news", "/world", "/news?page=2", "/archive/2023-11-12", "/tag/russia", "/search?q=lavrov", "/rss.xml",
    "/sitemap.xml", "/sitemaps/2023-11.xml", "/images/no-image.png",
    # the article shape with a piece missing or wrong: no date, no id, no .html, a short id, two segments of section
    "/tech/data-confiscated-from-pirate-party-servers.SJxeH5I79q.html", "/tech/2022-06-24-data-confiscated.html",
    "/tech/2022-06-24-data-confiscated.SJxeH5I79q", "/tech/2022-06-24-data-confiscated.SJx.html",
    "/tech/news/2022-06-24-data-confiscated.SJxeH5I79q.html",
])
def test_other_pages_are_not_articles(path: str) -> None:
    assert not OUTLET.is_article_url("https://newsrnd.com" + path)


def test_text_rules_take_the_sites_chrome_lines_and_leave_sentences() -> None:
    """Lines in the seed's formats go wherever they stand; body sentences that look alike stay."""
    body = [
        "Highlights of the season included two cup finals and a league title, the club said in its annual report on Monday.",
        "All news articles on the website are translated automatically, the company said, and some errors remain in them.",
        "The information on this site was checked by two editors, the ministry said, before it was published in the spring.",
        "Source: lefigaro",
    ]
    lines = ["Now you can see non-English news...", "2026-11-24T08:15:40.112Z", "Highlights: A. B. C.", body[0], body[1],
             "All news articles on 2026-11-24", body[2], body[3],
             "The inclusion of any links does not necessarily imply a recommendation or endorse the views expressed within them."]
    result = clean_lines(lines, "Headline", rules_for(OUTLET))
    assert result.lines == body
    counts = result.counts
    assert counts["newsrnd:language_banner_text"] == counts["newsrnd:highlights_text"] == counts["newsrnd:day_archive_text"] == 1
    assert counts["newsrnd:external_sources_disclaimer"] == 1 and counts["date_line"] == 1


def test_a_lower_case_agency_source_line_is_a_wire_credit() -> None:
    """"Source: afp" (the seed's lower-case format with an agency, assumed) credits the agency; a newspaper does not."""
    body = "Russian Foreign Minister Sergei Lavrov said the European Union was trying to oust Russia from Central Asia."
    assert detect_wire(f"{body}\n\nSource: afp", bylines=OUTLET.wire_bylines) == "AFP"
    assert detect_wire(f"{body}\n\nSource: reuters", bylines=OUTLET.wire_bylines) == "Reuters"
    assert detect_wire(f"{body}\n\nSource: afp") is None, "the generic credit lines want the agency's own spelling"
    assert detect_wire(SEED_CLEAN.read_text(encoding="utf-8"), bylines=OUTLET.wire_bylines) is None, "lefigaro is no agency"
