"""Every seed's page crawls to its cleaned seed text (issue 12, "Done when").

The seeds are ``tests/labeled/seeds/NNN_*.raw.txt`` (the page's visible text, copied unchanged from
``shared/seeds/``) and ``NNN_*.expected.txt`` (the cleaned text, labeled by hand); ``outlets.json``
names each seed's outlet. Each seed is checked on a real ``scrapy crawl`` of its outlet's fixture
mirror: the seed page's row is ``written`` and its text file equals the expected file byte for byte
(title first, body complete, junk gone).

Where each seed is covered:

- 000 essanews: ``tests/test_essanews.py::test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page``
- 001 newsrnd: ``tests/test_newsrnd.py::test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page``
- 002 brecorder, 003 orda, 004 pravda: here (one crawl per outlet)
- 003 is also served by timesca (The Times of Central Asia republished Orda's story):
  ``tests/test_timesca.py::test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page``

Every crawl test also compares all written texts with the goldens (``tests/test_crawl.py``), whose
seed-page files equal the expected files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines.clean import parse_document
from tests.conftest import SITES, crawl_fixture
from tests.quality import LABELED

SEEDS = LABELED / "seeds"
OUTLETS: dict[str, str] = json.loads((SEEDS / "outlets.json").read_text(encoding="utf-8"))

#: seed -> (outlet, the URL of the seed's page in that outlet's fixture site), crawled here
CRAWLED_HERE = {
    "002": ("brecorder", "https://www.brecorder.com/news/40456101/russia-says-eu-wont-push-it-out-of-central-asia"),
    "003": ("orda", "https://en.orda.kz/moscow-weighs-in-on-armenia-seeking-to-expand-us-and-eu-ties-12304/"),
    "004": ("pravda", "https://www.pravda.com.ua/eng/news/2023/11/1/7426708/"),
}
#: seed -> (outlet, the test that crawls it)
CRAWLED_ELSEWHERE = {
    "000": ("essanews", "tests/test_essanews.py"),
    "001": ("newsrnd", "tests/test_newsrnd.py"),
}


def seed_file(seed: str, kind: str) -> Path:
    (path,) = SEEDS.glob(f"{seed}_*.{kind}.txt")
    return path


def test_every_seed_is_crawled_by_a_test_with_its_outlet() -> None:
    """A new seed in outlets.json needs a crawl check: here or in its outlet's own test file."""
    covered = {**{k: v[0] for k, v in CRAWLED_HERE.items()}, **{k: v[0] for k, v in CRAWLED_ELSEWHERE.items()}}
    assert covered == OUTLETS
    root = Path(__file__).resolve().parents[1]
    for seed, (_, test_file) in CRAWLED_ELSEWHERE.items():
        source = (root / test_file).read_text(encoding="utf-8")
        assert "def test_crawl_of_the_fixture_writes_the_cleaned_seed_for_the_seed_page" in source, test_file
        assert seed_file(seed, "expected").name in source, (seed, test_file)


@pytest.mark.parametrize("seed", sorted(CRAWLED_HERE))
def test_the_seed_page_crawls_to_the_cleaned_seed(seed: str, tmp_path: Path) -> None:
    outlet, url = CRAWLED_HERE[seed]
    run = crawl_fixture(outlet, tmp_path)
    row = run.rows[url]
    want = seed_file(seed, "expected").read_text(encoding="utf-8")
    assert run.text(url) == want
    assert row.title == want.split("\n", 1)[0]


def test_the_pravda_seed_page_shows_the_seed_with_its_junk() -> None:
    """Seed 004's fixture page at its original URL (/eng/news/2023/11/1/7426708/) shows every line of
    the raw seed, junk included: as visible text, or the repeated headline (without quotes) as the
    photo's alt text, which is how a text dump of the page shows it."""
    route = json.loads((SITES / "pravda" / "site.json").read_text(encoding="utf-8"))["routes"]["/eng/news/2023/11/1/7426708/"]
    tree = lxml_html.document_fromstring((SITES / "pravda" / route["file"]).read_bytes().decode("utf-8"))
    alts = {" ".join(a.split()) for a in tree.xpath("//img/@alt")}
    for node in tree.xpath("//script | //style | //head | //svg"):
        node.drop_tree()
    blocks = tree.xpath("//body//*[self::p or self::li or self::h1 or self::span or self::div[not(*)]]")
    shown = {" ".join(b.text_content().split()) for b in blocks}
    raw = parse_document(seed_file("004", "raw").read_text(encoding="utf-8"))
    missing = [line for line in raw if " ".join(line.lstrip("• ").split()) not in shown | alts]
    assert missing == []
