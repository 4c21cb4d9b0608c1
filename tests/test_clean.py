"""Text cleaning: the seeds through the clean command, the labeled set, generic pages, dated rules."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipelines.outlets import Edition, Outlet, TextRule
from pipelines.clean import clean_lines, rules_for
from tests.quality import LABELED, doc_lines, fixture_docs, generic_pages, score_lines, seed_docs, word_f1

ROOT = Path(__file__).resolve().parents[1]
SEEDS = LABELED / "seeds"
OUTLETS = json.loads((SEEDS / "outlets.json").read_text())


def run_clean(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines", "clean", *args], cwd=ROOT, capture_output=True, text=True)


def test_seeds_lose_the_listed_junk_and_keep_every_body_paragraph(tmp_path: Path) -> None:
    for raw in sorted(SEEDS.glob("*.raw.txt")):
        outlet = OUTLETS[raw.name[:3]]
        res = run_clean([*(["--outlet", outlet] if outlet else []), "--out", str(tmp_path), str(raw)])
        assert res.returncode == 0, res.stderr
        out = (tmp_path / raw.name).read_text(encoding="utf-8")
        expected = raw.with_name(raw.name.replace(".raw.txt", ".expected.txt")).read_text(encoding="utf-8")
        title = expected.split("\n", 1)[0]
        assert out.split("\n", 1)[0] == title, "the headline comes first"
        assert out.split("\n\n", 1)[0] == title and "\n\n" in out
        assert [ln for ln in doc_lines(expected) if ln not in set(doc_lines(out))] == [], f"{raw.name}: body lost"
        assert doc_lines(out).count(title) == 1, "no repeated headline"
        for junk in ("Decreased By ▼", "Increased By ▲", "No Change ▼", "KSE100 55,391", "Advertisement", "Support Us",
                     "Support UP or become our patron!", "Follow us on", "Comments", "1000 characters", "Read more stories",
                     "Latest news", "Related content", "Images source:", "PHOTO:", "NewsLavrov", "Brecorder Logo",
                     "PRINT EDITION", "Bagdat Musin", "Palestinians facing genocidal war", "© Communities"):
            assert junk not in out, f"{raw.name}: {junk!r} kept"


def test_body_text_that_looks_like_junk_stays() -> None:
    seed4 = (SEEDS / "004_00b48622cc574a10.expected.txt").read_text()
    seed1 = (SEEDS / "001_8aa0ecb8040d0b20.expected.txt").read_text()
    assert "Background:\n\n• Recently" in seed4 and "• In October" in seed4
    assert "Western countries 'tend not to make friends for their own good'" in seed1
    lines = [
        "Stocks rallied on Monday as the KSE-100 index increased by 1,129.9 points to close at 55,391.",
        "KSE100 55,391 Increased By 1129.9 (2.08%)",
        "Photo: the minister said the pictures were taken in March.",
        '"Advertisement is not a crime," the minister said at the hearing on Tuesday.',
        "Comments",
        "He said the plan would go ahead despite the comments, and that the budget stays unchanged.",
    ]
    # a lone ticker-like line, a sentence starting "Photo:", "Comments" before the last paragraph: all stay
    assert clean_lines(lines, "Title", rules_for(None)).lines == lines


def test_labeled_set_loses_no_body_line_and_removes_junk() -> None:
    docs = [*seed_docs(), *fixture_docs()]
    assert len(docs) >= 5 + 3 * 5, "five seeds and at least five fixture articles per outlet"
    scores = [score_lines(d.name, d.raw_lines, d.expected, d.output) for d in docs]
    lost = {s.name: s.body_lost for s in scores if s.body_lost}
    assert lost == {}, lost
    junk = sum(s.junk for s in scores)
    removed_junk = sum(s.removed_junk for s in scores)
    assert junk >= 100 and removed_junk / junk >= 0.95


def test_generic_pages_are_not_worse_than_plain_trafilatura() -> None:
    import trafilatura

    from pipelines.clean import clean_text
    from pipelines.extract import decode_html, extract_document

    ours, plain = [], []
    for _, html, gold in generic_pages():
        result = extract_document(html, "text/html", "", None)
        ours.append(word_f1("\n".join(clean_text(result["title"], result["paragraphs"], None)[1]), gold))
        text, _ = decode_html(html, "text/html")
        plain.append(word_f1(trafilatura.extract(text, include_tables=True, deduplicate=False) or "", gold))
    assert len(ours) == 5
    assert sum(ours) >= sum(plain)


def test_explain_names_the_rule_of_every_removed_line(tmp_path: Path) -> None:
    res = run_clean(["--outlet", "pravda", "--explain", "--out", str(tmp_path), str(SEEDS)])
    assert res.returncode == 0, res.stderr
    assert "[ad_label] Advertisement:" in res.stdout
    assert "[repeated_headline] Macron arrives in Kazakhstan" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in SEEDS.glob("*.txt"))


def test_dated_outlet_rules_clean_old_texts_with_the_rules_of_their_time() -> None:
    outlet = Outlet(
        name="dated", title="Dated", country="XX", base_url="https://example.org", domains=("example.org",),
        editions={"en": Edition(language="en")}, default_edition="en",
        text_rules=(TextRule("old_promo", r"Subscribe to the Daily Paper", valid_until=date(2025, 1, 1)),),
    )
    lines = ["A first paragraph that is long enough to count as the body of this story, surely.", "Subscribe to the Daily Paper"]
    assert clean_lines(lines, "T", rules_for(outlet, date(2024, 6, 1))).counts == {"dated:old_promo": 1}
    assert clean_lines(lines, "T", rules_for(outlet, date(2026, 6, 1))).lines == lines
