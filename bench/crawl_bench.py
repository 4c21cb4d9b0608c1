"""Crawl throughput benchmark: N generated article pages served on loopback, crawled for real.

Prints: pages/s of the whole crawl (fetch, WARC, extraction in the process pool, cleaning,
archive), pages/s of trafilatura extraction alone on the same pages in one process, the share of
our cleaning in the per-page time, and the peak RSS of the crawl's process tree.

    python bench/crawl_bench.py [--pages 2000] [--workers 0] [--keep]

Pages are 80-150 KB like real news pages (navigation, ticker, article, related lists, footer),
in Business Recorder's URL structure so the real ``brecorder`` spider crawls them; politeness
delays are off (loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.dev.mirror import MirrorServer  # noqa: E402
from pipelines.crawljob import mirror_crawl_command  # noqa: E402

WORDS = ("market index government minister policy rupee export bank investors growth inflation "
         "energy textile cotton agreement budget reform province court statement analysts week "
         "percent billion prices demand supply officials said country trade security").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 28))]
    return " ".join(words).capitalize() + "."


def page(i: int, rng: random.Random) -> str:
    url = f"https://www.brecorder.com/news/{40500000 + i}/bench-article-{i}"
    nav = "".join(f'<li><a href="https://www.brecorder.com/section-{k}">Section {k}</a></li>' for k in range(60))
    ticker = "".join(
        f'<li>SYM{k:02d} {rng.uniform(1, 300):.2f} Increased By ▲ {rng.uniform(0, 5):.2f} ({rng.uniform(0, 3):.2f}%)</li>' for k in range(34)
    ) * 2
    paragraphs = "".join(f"<p>{' '.join(sentence(rng) for _ in range(rng.randint(2, 5)))}</p>" for _ in range(rng.randint(8, 18)))
    related = "".join(f'<li><a href="https://www.brecorder.com/news/{40400000 + k}/x">{sentence(rng)}</a></li>' for k in range(40))
    filler = "".join(f'<div class="promo-card"><a href="/p/{k}">{sentence(rng)}</a><span>{sentence(rng)}</span></div>' for k in range(rng.randint(120, 260)))
    # Business Recorder's page structure (class names as in tests/sites/brecorder), so the
    # outlet's HTML rules act on these pages as on the real ones
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench article {i}</title>
<link rel="canonical" href="{url}"><meta property="og:title" content="Bench article {i}">
<meta property="article:published_time" content="2026-11-2{i % 5}T10:00:00+05:00">
<script>{'var x=1;' * 800}</script></head><body>
<header class="pb-2"><div class="tickers"><div class="js-ticker">{ticker}</div></div><nav><ul>{nav}</ul></nav></header>
<div class="container flex"><div class="response-content articles w-full">
<article class="story"><h1 class="story__title">Bench article {i}: {sentence(rng)}</h1>
<div class="story__content">{paragraphs}</div>
<div class="story__tags"><a href="/trends/a">Markets</a><a href="/trends/b">Economy</a></div></article>
<section class="comments"><p>Comments</p><div class="comments__limit">1000 characters</div></section>
<div class="related-stories"><h3>Read more stories</h3><ul>{related}</ul></div></div>
<div class="w-80 flex-shrink-0 hidden lg:block sidebar"><div class="tabs">{filler}</div></div></div>
<footer class="w-full"><p>Copyright Business Recorder</p></footer></body></html>"""


def build_site(directory: Path, n: int, seed: int = 7) -> tuple[list[Path], int]:
    rng = random.Random(seed)
    (directory / "pages").mkdir(parents=True)
    routes: dict[str, dict[str, object]] = {
        "/robots.txt": {"body": "User-agent: *\nDisallow: /search\n", "content_type": "text/plain"},
    }
    urls, files, total = [], [], 0
    for i in range(n):
        body = page(i, rng).encode("utf-8")
        path = f"/news/{40500000 + i}/bench-article-{i}"
        f = directory / "pages" / f"{i}.html"
        f.write_bytes(body)
        files.append(f)
        total += len(body)
        routes[path] = {"file": f"pages/{i}.html", "content_type": "text/html; charset=utf-8", "gzip": True}
        urls.append(f"<url><loc>https://www.brecorder.com{path}</loc><lastmod>2026-11-24</lastmod></url>")
    sitemap = '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(urls) + "</urlset>"
    routes["/sitemap.xml"] = {"body": sitemap, "content_type": "application/xml"}
    (directory / "site.json").write_text(json.dumps({"routes": routes}))
    return files, total


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run_measured(cmd: list[str], log: Path, interval: float, timeout: float | None = None) -> tuple[int, float, int]:
    """Run ``cmd`` (output to ``log``): its exit code, wall seconds and the peak RSS (KiB) of its
    process tree, sampled every ``interval`` seconds; killed after ``timeout`` seconds."""
    peak = 0
    done = threading.Event()
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_kib(proc.pid))
                time.sleep(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
    return rc, elapsed, peak


def run_crawl(site: Path, work: Path, workers: int) -> dict[str, float]:
    server = MirrorServer(site).start()
    try:
        cmd = mirror_crawl_command("brecorder", server.base_url, str(work / "archive"), {
            "ARCHIVE_SPOOL_DIR": str(work / "spool"), "EXTRACT_WORKERS": str(workers), "LOG_LEVEL": "WARNING",
            "CONCURRENT_REQUESTS": "32", "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        }, {"backfill": "1"})  # the generated site is dated in the past: no discovery window
        rc, elapsed, peak = run_measured(cmd, work / "crawl.log", interval=0.2)
    finally:
        server.stop()
    if rc != 0:
        raise SystemExit(f"crawl failed (exit {rc}); see {work / 'crawl.log'}")
    summaries = list((work / "archive").rglob("summary.json"))
    summary = json.loads(summaries[0].read_text())
    return {"elapsed": elapsed, "written": summary["counts"].get("written", 0), "peak_rss_mib": peak / 1024, "warc_bytes": summary["warc_bytes"]}


def extraction_alone(files: list[Path]) -> dict[str, float]:
    import trafilatura

    from pipelines.outlets import get_outlet
    from pipelines.clean import clean_text
    from pipelines.extract import extract_document

    plain, bare, ours, clean = [], [], [], []
    outlet = get_outlet("brecorder")
    for f in files:
        html = f.read_bytes()
        t0 = time.perf_counter()
        trafilatura.extract(html.decode("utf-8"), include_comments=False, include_tables=True, deduplicate=False)
        t1 = time.perf_counter()
        extract_document(html, "text/html; charset=utf-8", "https://www.brecorder.com/x", None)  # no HTML rules
        t2 = time.perf_counter()
        result = extract_document(html, "text/html; charset=utf-8", "https://www.brecorder.com/x", "brecorder")
        t3 = time.perf_counter()
        clean_text(result["title"], result["paragraphs"], outlet)
        t4 = time.perf_counter()
        plain.append(t1 - t0)
        bare.append(t2 - t1)
        ours.append(t3 - t2)
        clean.append(t4 - t3)
    html_rules = sum(ours) - sum(bare)  # negative when the pruned nodes save trafilatura more than the rules cost
    return {
        "plain_pages_s": len(files) / sum(plain),
        "ours_pages_s": len(files) / sum(ours),
        "median_ms": statistics.median(ours) * 1000,
        "html_share": html_rules / sum(bare),
        "text_share": sum(clean) / sum(bare),
    }


def fixture_cleaning_cost(rounds: int = 5) -> dict[str, float]:
    """Cleaning's share of the extraction time on each outlet's fixture articles (real page shapes)."""
    from pipelines.outlets import all_outlets, get_outlet
    from pipelines.clean import clean_text
    from pipelines.extract import extract_document
    from tests.golden_tool import written_pages

    shares = {}
    for name in all_outlets():
        outlet, pages = get_outlet(name), list(written_pages(name))
        bare = ours = 0.0
        for _ in range(rounds):
            for url, body, ctype in pages:
                t0 = time.perf_counter()
                extract_document(body, ctype, url, None)
                t1 = time.perf_counter()
                result = extract_document(body, ctype, url, name)
                clean_text(result["title"], result["paragraphs"], outlet)
                t2 = time.perf_counter()
                bare, ours = bare + t1 - t0, ours + t2 - t1
        shares[name] = ours / bare - 1
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=0, help="extraction processes (0: one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the generated site and archive")
    ns = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    try:
        files, total = build_site(work / "site", ns.pages)
        print(f"{ns.pages} pages, {total / ns.pages / 1024:.0f} KB on average, {os.cpu_count()} cores", flush=True)
        crawl = run_crawl(work / "site", work, ns.workers)
        print(f"crawl:      {crawl['written'] / crawl['elapsed']:7.1f} pages/s  ({crawl['written']} written in {crawl['elapsed']:.1f} s, "
              f"WARC {crawl['warc_bytes'] / 2**20:.0f} MiB), peak RSS {crawl['peak_rss_mib']:.0f} MiB (crawler + extraction workers)", flush=True)
        sample = files
        ext = extraction_alone(sample)
        print(f"trafilatura.extract alone, one process: {ext['plain_pages_s']:7.1f} pages/s")
        print(f"our extraction (decode + HTML rules + trafilatura), one process: {ext['ours_pages_s']:7.1f} pages/s, median {ext['median_ms']:.1f} ms/page")
        print(f"cleaning changes the extraction time per page by {(ext['html_share'] + ext['text_share']) * 100:+.1f}% "
              f"(HTML rules {ext['html_share'] * 100:+.1f}%, text rules {ext['text_share'] * 100:+.1f}%; {len(sample)} pages)")
        cost = fixture_cleaning_cost()
        print("on the outlets' fixture pages: " + "; ".join(f"{o} {share * 100:+.1f}%" for o, share in cost.items())
              + " (negative: the HTML rules remove more work than they cost)")
    finally:
        if ns.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
