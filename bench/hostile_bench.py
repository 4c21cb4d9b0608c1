"""Hostile-response benchmark: decompression bombs and very big pages, crawled for real on loopback.

For each case a Business Recorder look-alike (``tests/hostile.py``) lists one normal article and the
case's article; the real ``brecorder`` spider crawls it (``scrapy crawl`` subprocess, as in
production). Printed per case: the bytes on the wire, the crawl's exit code, the case row's
manifest status / truncated / reason, the crawl's wall time and the peak RSS of the crawl's process
tree (crawler + extraction workers, sampled from /proc every 50 ms), and how much of that is above
the ``idle`` case (the same crawl with two normal articles).

    python bench/hostile_bench.py [--cases bomb-gzip,big-100k] [--save FILE] [--before FILE]

``--save`` writes the figures as JSON; ``--before FILE`` prints them beside this run's (e.g. figures
saved on the unfixed code) as a before/after table.

Cases: ``bomb-<enc>``: 1 GiB of zeros sent with ``Content-Encoding: <enc>`` (about 1 MB on the wire
for gzip/deflate, less for br/zstd), whatever the crawler's Accept-Encoding said; ``bomb-gzip,gzip``:
the same bomb gzipped twice (``Content-Encoding: gzip, gzip``, which Scrapy decodes);
``bombs-x8``: eight bombs (two per coding) in one crawl;
``big-100k``/``big-250k``: an article of 100k / 250k ``<p>`` elements, served plainly (measured
here; the extraction deadline is another bench's concern).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crawl_bench import run_measured  # noqa: E402
from pipelines.crawljob import mirror_crawl_command  # noqa: E402
from pipelines.reader import completed_runs, read_rows  # noqa: E402
from pipelines.storage import open_store  # noqa: E402
from tests.hostile import LIVE, Handler, HostileServer, article_html, article_id, bomb, brecorder_site, page, send  # noqa: E402

NORMAL, CASE = article_id(1), article_id(2)
ENCODINGS = ("gzip", "deflate", "br", "zstd")


def raw(body: bytes, content_encoding: str) -> Handler:
    return lambda req: send(req, 200, body, "text/html; charset=utf-8", {"Content-Encoding": content_encoding})


def big_page(paragraphs: int) -> str:
    html = article_html("Big page", words=50)
    filler = "".join(f"<p>Paragraph {i} of a very long page, with a few words of text in it.</p>" for i in range(paragraphs))
    return html.replace("</div></article>", filler + "</div></article>")


def cases() -> dict[str, tuple[dict[str, Handler], int]]:
    """Case name -> (the case's articles: path -> handler, bytes on the wire)."""
    second = article_html("Second normal article", seed=2).encode()
    out: dict[str, tuple[dict[str, Handler], int]] = {"idle": ({CASE: page(second)}, len(second))}
    bombs = {enc: bomb(enc) for enc in ENCODINGS}
    for enc, data in bombs.items():
        out[f"bomb-{enc}"] = ({CASE: raw(data, enc)}, len(data))
    nested = gzip.compress(bombs["gzip"], compresslevel=9, mtime=0)
    out["bomb-gzip,gzip"] = ({CASE: raw(nested, "gzip, gzip")}, len(nested))
    # eight bombs in one crawl, two of each coding, fetched two at a time (CONCURRENT_REQUESTS_PER_DOMAIN)
    eight = {article_id(10 + i): raw(bombs[enc], enc) for i, enc in enumerate(ENCODINGS * 2)}
    out["bombs-x8"] = (eight, 2 * sum(len(b) for b in bombs.values()))
    for n in (100_000, 250_000):
        body = big_page(n).encode()
        out[f"big-{n // 1000}k"] = ({CASE: page(body)}, len(body))
    return out


def crawl_case(name: str, articles: dict[str, Handler], work: Path) -> dict[str, Any]:
    routes = brecorder_site({NORMAL: page(article_html("Normal article", seed=1)), **articles})
    work.mkdir(parents=True)
    archive = work / "archive"
    with HostileServer(routes) as server:
        cmd = mirror_crawl_command("brecorder", server.base_url, str(archive), {
            "ARCHIVE_SPOOL_DIR": str(work / "spool"), "EXTRACT_WORKERS": "2", "LOG_LEVEL": "INFO", "RETRY_TIMES": "0",
        }, {"backfill": "1"})  # the hostile pages are dated in the past: no discovery window
        rc, elapsed, peak = run_measured(cmd, work / "crawl.log", interval=0.05, timeout=900)
    row: dict[str, Any] = {}
    store = open_store(str(archive))
    runs = completed_runs(store)
    if runs:
        rows = {r.url: r for r in read_rows(store, runs[-1])}
        found = [rows[LIVE + path] for path in articles if LIVE + path in rows]
        if found:
            statuses = sorted({c.status for c in found})
            row = {"status": "/".join(statuses) + (f" x{len(found)}" if len(found) > 1 else ""),
                   "truncated": all(c.truncated for c in found), "reason": found[0].reason}
    return {"case": name, "exit": rc, "wall_s": round(elapsed, 2), "peak_rss_mib": round(peak / 1024), **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--before", type=Path, help="figures saved by an earlier --save, printed beside these")
    parser.add_argument("--keep", action="store_true", help="keep the archives and logs")
    ns = parser.parse_args()
    all_cases = cases()
    wanted = [c for c in all_cases if c == "idle"] + [c for c in all_cases if c != "idle" and (not ns.cases or c in ns.cases.split(","))]
    before = {r["case"]: r for r in json.loads(ns.before.read_text())} if ns.before else {}
    work = Path(tempfile.mkdtemp(prefix="newsarchive-hostile-bench-"))
    results: list[dict[str, Any]] = []
    print(f"{os.cpu_count()} cores; crawl = scrapy crawl brecorder of a normal article + the case article", flush=True)
    print(f"{'case':<15} {'wire':>10} {'exit':>4} {'status':<10} {'trunc':<5} {'wall s':>7} {'peak RSS MiB':>12} {'above idle':>10}"
          + ("   before: wall s / peak MiB / status" if before else "") + "  reason", flush=True)
    try:
        idle = 0
        for name in wanted:
            articles, wire = all_cases[name]
            r = crawl_case(name, articles, work / name)
            results.append(r)
            if name == "idle":
                idle = r["peak_rss_mib"]
            b = before.get(name)
            was = f"   {b['wall_s']:>7.1f} / {b['peak_rss_mib']:>6} / {b.get('status', '-')}" if b else ("   (none)" if before else "")
            print(f"{name:<15} {wire:>10} {r['exit']:>4} {r.get('status', '-'):<10} {str(r.get('truncated', '-')):<5} "
                  f"{r['wall_s']:>7.1f} {r['peak_rss_mib']:>12} {r['peak_rss_mib'] - idle:>+10}{was}  {r.get('reason') or ''}", flush=True)
    finally:
        if ns.save:
            ns.save.write_text(json.dumps(results, indent=1))
        if ns.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
