"""Cleaning quality: junk removal on the labeled set, and no loss on generic pages.

    python bench/clean_quality.py [--verbose]

Prints, over the labeled set (the five seeds and every outlet's fixture articles), line-level
precision and recall of junk removal, the body lines lost and the junk lines kept; then, on real
pages of sites that are not our outlets, word-level F1 against their gold text for our
extraction + generic cleaning and for plain trafilatura, and the share of trafilatura's
evaluation snippets ("with" present, "without" absent) each gets right.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.quality import LabeledDoc, fixture_docs, generic_pages, score_lines, seed_docs, word_f1  # noqa: E402


def labeled(verbose: bool) -> None:
    docs: list[LabeledDoc] = [*seed_docs(), *fixture_docs()]
    totals = {"junk": 0, "removed": 0, "removed_junk": 0, "lost": 0, "kept": 0}
    print(f"{'document':34} {'junk':>5} {'removed':>7} {'prec':>6} {'recall':>6} {'lost':>5} {'kept':>5}")
    for doc in docs:
        s = score_lines(doc.name, doc.raw_lines, doc.expected, doc.output)
        totals["junk"] += s.junk
        totals["removed"] += s.removed
        totals["removed_junk"] += s.removed_junk
        totals["lost"] += len(s.body_lost)
        totals["kept"] += len(s.junk_kept)
        print(f"{doc.name:34} {s.junk:5d} {s.removed:7d} {s.precision:6.3f} {s.recall:6.3f} {len(s.body_lost):5d} {len(s.junk_kept):5d}")
        if verbose:
            for line in s.body_lost:
                print(f"    LOST: {line[:100]}")
            for line in s.junk_kept:
                print(f"    KEPT: {line[:100]}")
    precision = totals["removed_junk"] / totals["removed"] if totals["removed"] else 1.0
    recall = totals["removed_junk"] / totals["junk"] if totals["junk"] else 1.0
    print(f"\nlabeled set: {len(docs)} documents, {totals['junk']} junk lines; removal precision {precision:.3f}, "
          f"recall {recall:.3f}; body lines lost {totals['lost']}; junk lines kept {totals['kept']}")


def generic(verbose: bool) -> None:
    import trafilatura

    from pipelines.clean import clean_text
    from pipelines.extract import decode_html, extract_document

    ours_f1, plain_f1 = [], []
    print(f"\n{'non-outlet page (fundus gold)':44} {'ours F1':>8} {'plain F1':>8}")
    for name, html, gold in generic_pages():
        result = extract_document(html, "text/html", "", None)
        _, paragraphs, _ = clean_text(result["title"], result["paragraphs"], None)
        ours = "\n".join(paragraphs)
        text, _ = decode_html(html, "text/html")
        plain = trafilatura.extract(text, include_comments=False, include_tables=True, deduplicate=False) or ""
        ours_f1.append(word_f1(ours, gold))
        plain_f1.append(word_f1(plain, gold))
        print(f"{name:44} {ours_f1[-1]:8.3f} {plain_f1[-1]:8.3f}")
    if ours_f1:
        print(f"mean word F1 over {len(ours_f1)} pages: ours {sum(ours_f1) / len(ours_f1):.3f}, plain trafilatura {sum(plain_f1) / len(plain_f1):.3f}")

    cache = ROOT.parent / "shared" / "fixtures" / "pages" / "trafilatura-cache"
    evaldata = json.loads((cache / "evaldata.json").read_text(encoding="utf-8"))
    right = {"ours": 0, "plain": 0}
    total = 0
    for entry in evaldata.values():
        path = cache / entry["file"]
        if not path.exists():
            continue
        raw = path.read_bytes()
        result = extract_document(raw, "text/html", "", None)
        _, paragraphs, _ = clean_text(result["title"], result["paragraphs"], None)
        texts = {"ours": "\n".join(paragraphs)}
        html, _ = decode_html(raw, "text/html")
        texts["plain"] = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False) or ""
        for key, text in texts.items():
            right[key] += sum(s in text for s in entry.get("with", [])) + sum(s not in text for s in entry.get("without", []))
        total += len(entry.get("with", [])) + len(entry.get("without", []))
    print(f"trafilatura evaluation snippets ({total} over {len(evaldata)} pages) right: ours {right['ours'] / total:.3f}, plain trafilatura {right['plain'] / total:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="list every lost body line and kept junk line")
    ns = parser.parse_args()
    labeled(ns.verbose)
    generic(ns.verbose)


if __name__ == "__main__":
    main()
