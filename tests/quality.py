"""Cleaning quality measures over the labeled set (``tests/labeled``, the fixture goldens).

Line level: a raw line is *junk* when the hand-written expected text does not have it, *body*
when it does. Removal precision/recall compare what our cleaning removed with the junk;
``body_lost`` counts expected lines missing from our output, ``junk_kept`` output lines the
expected text does not have. Word level: bag-of-words F1 of a text against a gold text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELED = ROOT / "tests" / "labeled"


def norm_line(line: str) -> str:
    return " ".join(line.split())


def doc_lines(text: str) -> list[str]:
    return [norm_line(ln) for ln in text.split("\n") if ln.strip()]


@dataclass
class LineScore:
    name: str
    junk: int
    removed: int
    removed_junk: int
    body_lost: list[str]
    junk_kept: list[str]

    @property
    def precision(self) -> float:
        return self.removed_junk / self.removed if self.removed else 1.0

    @property
    def recall(self) -> float:
        return self.removed_junk / self.junk if self.junk else 1.0


def score_lines(name: str, raw: list[str], expected: str, output: str) -> LineScore:
    want = set(doc_lines(expected))
    got = doc_lines(output)
    got_set = set(got)
    raw_set = {norm_line(r) for r in raw if r.strip()}
    junk = raw_set - want
    removed = raw_set - got_set
    return LineScore(
        name=name,
        junk=len(junk),
        removed=len(removed),
        removed_junk=len(removed & junk),
        body_lost=[ln for ln in doc_lines(expected) if ln not in got_set],
        junk_kept=[ln for ln in got if ln not in want],
    )


def word_f1(text: str, gold: str) -> float:
    ours = Counter(re.findall(r"\w+", text.casefold()))
    ref = Counter(re.findall(r"\w+", gold.casefold()))
    overlap = sum((ours & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- the labeled set


@dataclass
class LabeledDoc:
    name: str
    outlet: str | None
    raw_lines: list[str]  # what cleaning starts from (seed text, or plain trafilatura output)
    expected: str  # hand-written clean text
    output: str  # what our code produces


def seed_docs() -> Iterator[LabeledDoc]:
    """The five seeds: raw text -> ``python -m pipelines clean`` logic with the seed's outlet rules."""
    from pipelines.outlets import get_outlet
    from pipelines.clean import clean_lines, format_document, group_lines, parse_document, rules_for

    outlets = json.loads((LABELED / "seeds" / "outlets.json").read_text())
    for raw in sorted((LABELED / "seeds").glob("*.raw.txt")):
        outlet = outlets.get(raw.name[:3])
        lines = parse_document(raw.read_text(encoding="utf-8"))
        result = clean_lines(lines, None, rules_for(get_outlet(outlet) if outlet else None))
        yield LabeledDoc(
            name=f"seed {raw.name[:-8]}",
            outlet=outlet,
            raw_lines=lines,
            expected=raw.with_name(raw.name.replace(".raw.txt", ".expected.txt")).read_text(encoding="utf-8"),
            output=format_document(result.title, group_lines(result.lines)),
        )


def fixture_docs() -> Iterator[LabeledDoc]:
    """Fixture articles of every outlet: plain trafilatura lines -> our two layers; expected = golden."""
    import trafilatura

    from pipelines.outlets import all_outlets, get_outlet
    from pipelines.clean import clean_text
    from pipelines.extract import decode_html, extract_document
    from tests.golden_tool import GOLDEN, docid_of, written_pages

    for outlet in all_outlets():
        for url, body, ctype in written_pages(outlet):
            html, _ = decode_html(body, ctype)
            plain = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False) or ""
            result = extract_document(body, ctype, url, outlet)
            text, _, _ = clean_text(result["title"], result["paragraphs"], get_outlet(outlet))
            docid = docid_of(outlet, url, result["canonical_url"])
            yield LabeledDoc(
                name=f"{outlet} {docid}",
                outlet=outlet,
                raw_lines=[ln for ln in plain.split("\n") if ln.strip()],
                expected=(GOLDEN / outlet / f"{docid}.txt").read_text(encoding="utf-8"),
                output=text,
            )


def generic_pages() -> Iterator[tuple[str, bytes, str]]:
    """Real pages of non-outlet sites with gold body text (fundus test data in shared/fixtures)."""
    import gzip

    base = ROOT.parent / "shared" / "fixtures" / "pages" / "fundus"
    for country in ("ru", "ind", "tr"):
        folder = base / country
        if not folder.exists():
            continue
        for gold_file in folder.glob("*.json"):
            gold = json.loads(gold_file.read_text(encoding="utf-8"))
            pages = sorted(folder.glob(f"{gold_file.stem}_*.html.gz"))  # V1, V2... in date order
            for key, entry in gold.items():
                index = int(key.lstrip("V")) - 1
                if index >= len(pages):
                    continue
                page = pages[index]
                paragraphs = [p for s in entry["body"]["sections"] for p in s["headline"] + s["paragraphs"]]
                text = "\n".join([*entry["body"].get("summary", []), *paragraphs])
                yield f"{country}/{page.name}", gzip.decompress(page.read_bytes()), text
