"""Fixture articles -> expected corpus text, shared by the golden tests and their regeneration.

``python tests/golden_tool.py [OUTLET...]`` rewrites ``tests/golden/<outlet>/<docid>.txt`` from the
fixture pages with the current extraction and cleaning code, and ``tests/golden/<outlet>/INDEX.json``
(docid -> the article URL and its fixture page, relative to ``tests/sites/<outlet>/``), since a docid
is a hash of the canonical URL. Golden files are the reviewed expectation: regenerate only on
purpose and read the diff before committing it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.outlets import all_outlets, get_outlet  # noqa: E402
from pipelines.manifest import docid_for  # noqa: E402
from pipelines.clean import clean_text  # noqa: E402
from pipelines.extract import extract_document  # noqa: E402

SITES = ROOT / "tests" / "sites"
GOLDEN = ROOT / "tests" / "golden"
#: per outlet, which fixture page each golden text comes from
INDEX = "INDEX.json"


def expectation_files(outlet: str) -> list[Path]:
    return sorted((SITES / outlet).glob("expected*.json"))


def written_page_files(outlet: str) -> Iterator[tuple[str, str, str]]:
    """(article URL, fixture file relative to tests/sites/<outlet>/, content type) of every fixture
    article expected to be written."""
    site = json.loads((SITES / outlet / "site.json").read_text(encoding="utf-8"))["routes"]
    for exp_file in expectation_files(outlet):
        for url, exp in json.loads(exp_file.read_text(encoding="utf-8"))["articles"].items():
            if exp["status"] != "written":
                continue
            parts = urlsplit(url)
            route = site[parts.path + (f"?{parts.query}" if parts.query else "")]
            yield url, route["file"], route.get("content_type", "text/html")


def written_pages(outlet: str) -> Iterator[tuple[str, bytes, str]]:
    """(article URL, page bytes, content type) of every fixture article expected to be written."""
    for url, page, ctype in written_page_files(outlet):
        yield url, (SITES / outlet / page).read_bytes(), ctype


def expected_text(outlet: str, url: str, body: bytes, content_type: str) -> tuple[str, str]:
    """(docid, corpus text) exactly as the crawl pipeline produces them."""
    result = extract_document(body, content_type, url, outlet)
    text, _, _ = clean_text(result["title"], result["paragraphs"], get_outlet(outlet))
    return docid_of(outlet, url, result["canonical_url"]), text


def docid_of(outlet: str, url: str, canonical: str | None) -> str:
    """The docid the crawl gives the article: as CleanPipeline, a canonical URL that cannot be its
    identity (on another site: a syndicated page) is not used."""
    out = get_outlet(outlet)
    edition = next((e for e in out.editions if out.is_article_url(url, e)), None)
    if canonical and out.canonical_problem(canonical, edition):
        canonical = None
    return docid_for(canonical or url)


def golden_texts(outlet: str) -> Iterator[tuple[str, str, str, str]]:
    """(docid, corpus text, article URL, fixture page path) of every fixture article expected to be written."""
    for url, page, ctype in written_page_files(outlet):
        docid, text = expected_text(outlet, url, (SITES / outlet / page).read_bytes(), ctype)
        yield docid, text, url, page


def render_index(entries: dict[str, dict[str, str]]) -> str:
    """INDEX.json as written: docid -> {"url", "page"}, keys sorted, UTF-8, final newline."""
    return json.dumps(entries, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def regenerate(outlet: str) -> int:
    out = GOLDEN / outlet
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    index: dict[str, dict[str, str]] = {}
    for docid, text, url, page in golden_texts(outlet):
        (out / f"{docid}.txt").write_bytes(text.encode("utf-8"))
        index[docid] = {"url": url, "page": page}
    (out / INDEX).write_text(render_index(index), encoding="utf-8")
    return len(index)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(all_outlets()):
        print(name, regenerate(name), "golden files")
