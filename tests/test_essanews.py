"""essanews.com (essanews): seed 000's page crawls to the cleaned seed, and the outlet's rules hold on the
text formats the seed shows (tests/sites/essanews/README.md has the evidence).

The cleaned seed is the hand-labeled ``tests/labeled/seeds/000_3446e2ee4f353061.expected.txt``; the raw seed is
``shared/seeds/000_3446e2ee4f353061.txt``, copied unchanged to ``tests/labeled/seeds/000_3446e2ee4f353061.raw.txt``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines.clean import clean_lines, clean_text, parse_document, rules_for
from pipelines.extract import extract_document
from pipelines.outlets import get_outlet
from tests.conftest import SITES, crawl_fixture
from tests.quality import LABELED

ROOT = Path(__file__).resolve().parents[1]
SITE = SITES / "essanews"
SEED_RAW = LABELED / "seeds" / "000_3446e2ee4f353061.raw.txt"
SEED_CLEAN = LABELED / "seeds" / "000_3446e2ee4f353061.expected.txt"
SEED_PATH = "/lavrov-denies-union-accusations-we-arent-going-anywhere,6961838517263424a"
SEED_URL = "https://essanews.com" + SEED_PATH
OUTLET = get_outlet("essanews")

#: elements that start a block of text in a browser (an inline element's text joins its block's)
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "div", "nav", "figcaption", "section", "header", "footer", "article", "aside", "main", "ul", "ol", "figure", "form"}


def seed_page() -> tuple[bytes, str]:
    route = json.loads((SITE / "site.json").read_text(encoding="utf-8"))["routes"][SEED_PATH]
    return (SITE / route["file"]).read_bytes(), route["content_type"]


def visible_lines(body: bytes) -> list[str]:
    """The page's visible text, one line per innermost block (what a reader sees: no scripts, styles or metadata)."""
    tree = lxml_html.document_fromstring(body.decode("utf-8"))
    for node in tree.xpath("//script | //style | //head | //svg"):
        node.drop_tree()
    lines = []
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag in BLOCKS and not any(isinstance(d.tag, str) and d.tag in BLOCKS for d in el.iterdescendants()):
            text = " ".join(el.text_content().split())
            if text:
                lines.append(text)
    return lines


def test_the_seed_page_shows_the_seed_with_its_junk() -> None:
    """The fixture page is built from the seed: its visible text is the seed's lines in the seed's order,
    junk included (breadcrumb glued to the headline, caption twice, credit, editor, date line, "Related content")."""
    seed = parse_document(SEED_RAW.read_text(encoding="utf-8"))
    shown = visible_lines(seed_page()[0])
    at = [shown.index(line) for line in seed]
    assert at == sorted(at), "the seed's lines appear in the seed's order"
    assert shown[at[0]] == "NewsLavrov denies union accusations: \"We aren't going anywhere\"", "the breadcrumb is glued to the headline"
    assert shown.count("Sergey Lavrov") == 2


def test_the_seed_page_extracts_to_the_cleaned_seed() -> None:
    """Extraction and cleaning as in the crawl: title first, every body line, no junk; byte for byte the labeled text."""
    body, ctype = seed_page()
    result = extract_document(body, ctype, SEED_URL, "essanews")
    text, _, _ = clean_text(result["title"], result["paragraphs"], OUTLET)
    want = SEED_CLEAN.read_text(encoding="utf-8")
    assert text.split("\n", 1)[0] == want.split("\n", 1)[0] == parse_document(SEED_RAW.read_text(encoding="utf-8"))[1]
    assert text == want
    assert result["canonical_url"] == SEED_URL and result["published"].startswith("2023-11-12") and result["language"] == "en"
    for junk in ("NewsLavrov", "Sergey Lavrov\n", "Images source", "ed. MUP", "3:48 PM", "Related content", "Most read", "cookies", "Advertisement"):
        assert junk not in text, junk


def test_clean_command_turns_the_raw_seed_into_the_cleaned_seed(tmp_path: Path) -> None:
    """The seed as the site's page text reads, re-cleaned with ``--outlet essanews``: the labeled text."""
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "pipelines", "clean", "--outlet", "essanews", "--explain", "--out", str(out), str(SEED_RAW)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (out / SEED_RAW.name).read_text(encoding="utf-8") == SEED_CLEAN.read_text(encoding="utf-8")
    assert "[essanews:us_date_line] 3:48 PM EST, November 12, 2023" in res.stdout
    assert "[breadcrumb_headline] NewsLavrov" in res.stdout and "[trailing_list] Related content" in res.stdout


def test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page(tmp_path: Path) -> None:
    """``scrapy crawl essanews`` against the fixture mirror: the seed page's text file is the cleaned seed."""
    run = crawl_fixture("essanews", tmp_path)
    rows, row = run.rows, run.rows[SEED_URL]
    assert run.text(SEED_URL) == SEED_CLEAN.read_text(encoding="utf-8")
    assert row.title == SEED_CLEAN.read_text(encoding="utf-8").split("\n", 1)[0]
    assert row.outlet == "essanews" and row.language == "en" and (row.published or "").startswith("2023-11-12")
    assert {"essanews:breadcrumb", "essanews:lead_image", "essanews:article_meta", "essanews:related_content"} <= set(row.removed_lines)
    # the inline image credit of the rail story is the text layer's
    rail = next(r for u, r in rows.items() if "polish-rail-operator" in u)
    assert rail.status == "written" and rail.removed_lines.get("essanews:images_source") == 1


# ---------------------------------------------------------------------------------- URLs and rules


@pytest.mark.parametrize("path", [
    # the sister site dailywrap.uk's cited article path (same URL scheme, assumed for essanews.com)
    "/russian-planes-unexpected-visit-to-the-us-raises-questions,7043084396886145a",
    SEED_PATH,
    "/poland-s-new-budget-passes-the-sejm,7134523145216641a",
])
def test_article_urls_are_articles(path: str) -> None:
    assert OUTLET.is_article_url("https://essanews.com" + path)
    assert OUTLET.canonical_problem("https://essanews.com" + path) is None


@pytest.mark.parametrize("path", [
    "/", "/news", "/news?page=2", "/tag/russia", "/author/mup", "/search?q=lavrov", "/rss", "/sitemap.xml",
    # galleries and videos carry the same id with another letter (assumed)
    "/lavrov-in-pictures,6961840011223345g", "/watch-macron-in-astana,6960012233445566v",
    # an id too short or too long, no id, a trailing slash, an uppercase slug
    "/lavrov-denies-union-accusations,696183851726342a", "/lavrov-denies-union-accusations,69618385172634240a",
    "/lavrov-denies-union-accusations", SEED_PATH + "/", "/Lavrov-Denies,6961838517263424a",
])
def test_other_pages_are_not_articles(path: str) -> None:
    assert not OUTLET.is_article_url("https://essanews.com" + path)


def test_an_article_on_the_sister_site_is_not_essanews() -> None:
    url = "https://dailywrap.uk/russian-planes-unexpected-visit-to-the-us-raises-questions,7043084396886145a"
    assert OUTLET.canonical_problem(url) == "it is on another site"


def test_text_rules_take_the_sites_chrome_lines_and_leave_sentences() -> None:
    """Lines in the seed's formats go (also a credit too long for the generic rule, and a date line after
    the first paragraph); body sentences that look alike stay."""
    body = [
        "The minister said at 3:48 PM EST, November 12, 2023, the talks had ended without an agreement on the new border rules.",
        "Images source of the report were not disclosed, the agency said in a statement on Tuesday, citing legal reasons.",
        "ed. The editors of the paper declined to comment on the story when they were asked about it on Monday.",
    ]
    lines = ["ed. KMO", "Sergey Lavrov", body[0], "Images source: © Licensed by WP Media | East News / Getty Images / Mikhail Metzel",
             body[1], "9:12 AM EST, November 24, 2026", body[2]]
    result = clean_lines(lines, "Headline", rules_for(OUTLET))
    assert result.lines == ["Sergey Lavrov", *body]
    counts = result.counts
    assert counts["essanews:images_source"] == 1 and counts["essanews:us_date_line"] == 1
    assert counts["editor_credit"] == 1
    # the long credit and a date line inside the body are essanews's: other outlets keep them
    other = clean_lines(lines, "Headline", rules_for(get_outlet("orda"))).lines
    assert "9:12 AM EST, November 24, 2026" in other and lines[3] in other
