"""Dedup index benchmark: 10k, 100k and 1M synthetic documents, embedded and Redis backends.

    python bench/dedup_bench.py [--sizes 10000,100000,1000000] [--backends embedded,redis] [--queries 5000]

For each backend and size, in a fresh process: build the index from N documents, then run
``--queries`` checks (half modified copies of indexed documents: ending cut, a paragraph
dropped, a local paragraph added; half new documents) and print checks/s, median and p99
latency of one check, the share of copies found and new documents wrongly matched, and memory
(peak RSS of the process; for Redis also the server's used_memory). A check is the index lookup
and verification of a fingerprinted text; fingerprinting (tokenising, shingling, MinHash) is
timed separately, since it is paid once per article whatever the index size.

Also compares the MinHash libraries (rensa and datasketch) on the same texts.
Fingerprints of the synthetic corpus are cached in bench/out/ (building 1M takes a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from pipelines.dedup import FULL_PERM, Fingerprint, MemoryIndex, RedisIndex, fingerprint  # noqa: E402

VOCAB = 60_000
WORDS = [f"w{r}" for r in range(VOCAB)]
# Zipf-Mandelbrot word frequencies (1 / (rank + 2.7)), as in English text: the top word ~3.5 %
CUM = np.cumsum(1.0 / (np.arange(VOCAB) + 2.7)).tolist()


def synthetic_paragraphs(i: int) -> list[str]:
    """Document ``i``: 4-10 paragraphs of 30-80 words, a news-sized text."""
    rng = random.Random(i)
    return [" ".join(rng.choices(WORDS, cum_weights=CUM, k=rng.randint(30, 80))) for _ in range(rng.randint(4, 10))]


def _fp(i: int) -> tuple[np.ndarray, np.ndarray, int]:
    fp = fingerprint("\n".join(synthetic_paragraphs(i)))
    return fp.sig, fp.keys(), fp.size


def corpus(n: int) -> dict[str, np.ndarray]:
    """Fingerprints of documents 0..n-1, cached as .npy files and memory-mapped."""
    names = ("sigs", "keys", "sizes")
    paths = {k: OUT / f"corpus-{n}-{k}.npy" for k in names}
    if not all(p.exists() for p in paths.values()):
        OUT.mkdir(parents=True, exist_ok=True)
        with Pool(os.cpu_count()) as pool:
            rows = pool.map(_fp, range(n), chunksize=2000)
        np.save(paths["sigs"], np.stack([r[0] for r in rows]))
        np.save(paths["keys"], np.stack([r[1] for r in rows]))
        np.save(paths["sizes"], np.asarray([r[2] for r in rows], dtype=np.uint32))
        del rows
    return {k: np.load(p, mmap_mode="r") for k, p in paths.items()}


def read_rows(n: int, name: str, lo: int, hi: int) -> np.ndarray:
    """Rows lo..hi of a cached corpus array, copied; the mapping is closed so its pages leave the RSS."""
    mapped = np.load(OUT / f"corpus-{n}-{name}.npy", mmap_mode="r")
    rows = np.array(mapped[lo:hi])
    del mapped
    return rows


def queries(n: int, count: int) -> list[tuple[str, Fingerprint, int | None]]:
    """(name, fingerprint, index of the original or None): half copies, half new documents."""
    rng = random.Random(n)
    out = []
    for q in range(count):
        if q % 2 == 0:
            i = rng.randrange(n)
            paras = synthetic_paragraphs(i)
            kind = q % 6
            if kind == 0:
                paras = paras[: max(2, len(paras) - 2)]  # ending cut
            elif kind == 2:
                paras = paras[:1] + paras[2:]  # a paragraph dropped
            else:
                paras = paras[:2] + ["local paragraph " + " ".join(f"x{rng.randrange(500)}" for _ in range(40))] + paras[2:]
            out.append((f"copy-{q}", fingerprint("\n".join(paras)), i))
        else:
            out.append((f"new-{q}", fingerprint("\n".join(synthetic_paragraphs(10_000_000 + q))), None))
    return out


def drop_namespace(r, ns: str) -> None:  # type: ignore[no-untyped-def]
    batch = []
    for key in r.scan_iter(f"{ns}:*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            r.unlink(*batch)
            batch.clear()
    if batch:
        r.unlink(*batch)


def run_one(backend: str, n: int, count: int) -> dict[str, float]:
    corpus(n)
    qs = queries(n, count)
    t0 = time.perf_counter()
    texts = ["\n".join(synthetic_paragraphs(10_000_000 + q)) for q in range(200)]
    t1 = time.perf_counter()
    for t in texts:
        fingerprint(t)
    fp_us = (time.perf_counter() - t1) / len(texts) * 1e6
    del t0
    if backend == "embedded":
        index = MemoryIndex()
        start = time.perf_counter()
        for lo in range(0, n, 100_000):  # the corpus is read in chunks so it stays out of the RSS figure
            sigs, keys, sizes = (read_rows(n, k, lo, lo + 100_000) for k in ("sigs", "keys", "sizes"))
            for j in range(len(sigs)):
                fp = Fingerprint(sig=sigs[j], lead=np.zeros(0, dtype=np.uint32), size=int(sizes[j]))
                index.add(f"{lo + j:016x}", fp, keys=keys[j])
            del sigs, keys, sizes
        index.compact()  # as after loading an archive's index files
        build = time.perf_counter() - start
        check = index.check
        redis_mem = None
        index_mib = index.nbytes() / 2**20
    else:
        ns = f"bench-{n}"
        index = RedisIndex("redis://127.0.0.1:6379/0", namespace=ns)
        r = index.r
        drop_namespace(r, index.ns)
        mem0 = int(r.info("memory")["used_memory"])
        start = time.perf_counter()
        pipe = r.pipeline(transaction=False)
        for lo in range(0, n, 100_000):
            sigs, keys, sizes = (read_rows(n, k, lo, lo + 100_000) for k in ("sigs", "keys", "sizes"))
            for j in range(len(sigs)):
                i = lo + j
                pipe.hset(f"{index.ns}:d:{i}", mapping={"docid": f"{i:016x}", "sig": sigs[j].tobytes(), "size": int(sizes[j])})
                for k in keys[j].tolist():
                    pipe.sadd(f"{index.ns}:k:{k}", i)
                if i % 2000 == 1999:
                    pipe.execute()
        pipe.execute()
        r.set(f"{index.ns}:seq", n)
        build = time.perf_counter() - start
        redis_mem = (int(r.info("memory")["used_memory"]) - mem0) / 2**20
        index_mib = redis_mem  # the index lives in the Redis server

        def check(docid: str, fp: Fingerprint):  # type: ignore[no-untyped-def]
            token = index._lock()
            try:
                return index._check(docid, fp)
            finally:
                index._unlock(token)

    lat = []
    found = false_pos = copies = 0
    for name, fp, original in qs:
        t = time.perf_counter()
        match = check(name, fp)
        lat.append(time.perf_counter() - t)
        if original is not None:
            copies += 1
            found += match is not None and match.canonical == f"{original:016x}"
        else:
            false_pos += match is not None
    if backend == "redis":
        drop_namespace(index.r, index.ns)
    lat_sorted = sorted(lat)
    return {
        "backend": backend,
        "docs": n,
        "build_docs_per_s": n / build,
        "checks_per_s": len(lat) / sum(lat),
        "median_ms": statistics.median(lat) * 1000,
        "p99_ms": lat_sorted[int(len(lat) * 0.99) - 1] * 1000,
        "copies_found": found / copies,
        "new_matched": false_pos / (len(qs) - copies),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "index_mib": index_mib,
        "redis_used_mib": redis_mem,
        "fingerprint_us": fp_us,
    }


def compare_libraries() -> None:
    import datasketch
    import rensa

    from pipelines.dedup import SEED, shingles, tokens

    docs = [shingles(tokens("\n".join(synthetic_paragraphs(i)))) for i in range(300)]
    t = time.perf_counter()
    for sh in docs:
        m = rensa.RMinHash(num_perm=FULL_PERM, seed=SEED)
        m.update(sh)
        m.digest()
    r_us = (time.perf_counter() - t) / len(docs) * 1e6
    t = time.perf_counter()
    for sh in docs:
        m = datasketch.MinHash(num_perm=FULL_PERM, seed=SEED)
        m.update_batch([s.encode() for s in sh])
    d_us = (time.perf_counter() - t) / len(docs) * 1e6
    print(f"MinHash of one document ({FULL_PERM} permutations, ~{sum(map(len, docs)) // len(docs)} shingles): rensa {r_us:.1f} us, datasketch {d_us:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="embedded,redis")
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.one:
        backend, n = ns.one.split(":")
        print(json.dumps(run_one(backend, int(n), ns.queries)))
        return
    compare_libraries()
    for n in map(int, ns.sizes.split(",")):
        corpus(n)  # build the cached fingerprints outside the timed processes
        for backend in ns.backends.split(","):
            res = subprocess.run([sys.executable, __file__, "--one", f"{backend}:{n}", "--queries", str(ns.queries)], capture_output=True, text=True)
            if res.returncode != 0:
                print(f"{backend} {n}: failed\n{res.stderr[-2000:]}")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            redis = " (Redis used_memory)" if r["redis_used_mib"] is not None else ""
            print(f"{backend:8} {n:>9,} docs: {r['checks_per_s']:8.0f} checks/s, median {r['median_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms; "
                  f"copies found {r['copies_found']:.3f}, new docs matched {r['new_matched']:.3f}; build {r['build_docs_per_s']:.0f} docs/s; "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB, index structures {r['index_mib']:.0f} MiB{redis}; fingerprint {r['fingerprint_us']:.0f} us/doc", flush=True)


if __name__ == "__main__":
    main()
