"""Syndicated-copy detection: the syndication set on both backends, concurrency on Redis, wire credits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.dedup import MemoryIndex, RedisIndex, detect_wire, fingerprint
from pipelines.outlets import get_outlet
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[1]
SYND = ROOT / "tests" / "syndication"


@pytest.fixture()
def namespace(redis_ns: str) -> str:
    return redis_ns


def groups_from(output: str) -> tuple[dict[str, set[str]], dict[str, dict[str, object]]]:
    data = json.loads(output)
    groups = {g["canonical"]: {m["name"] for m in g["members"]} for g in data["groups"]}
    members = {m["name"]: m for g in data["groups"] for m in g["members"]}
    return groups, members


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_syndication_groups_come_out_exactly_right(backend: str, namespace: str) -> None:
    args = ["--redis", REDIS_URL, "--namespace", namespace] if backend == "redis" else []
    res = subprocess.run([sys.executable, "-m", "pipelines", "dedup", *args, str(SYND)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    groups, members = groups_from(res.stdout)
    want = json.loads((SYND / "expected_groups.json").read_text())
    assert groups == {g["canonical"]: set(g["members"]) for g in want["groups"]}
    for name in want["singletons"]:
        assert name not in members and name not in groups
    assert members["a3_brief"]["containment"] >= 0.75 and members["a3_brief"]["similarity"] < 0.6, "a brief is caught by containment"
    assert members["a4_copy_edited"]["exact"] is True, "quotes, spelling and Turkiye/Turkey are folded"
    assert members["a5_local_paragraph"]["wire"] == "AFP"


def test_fingerprints_are_identical_across_processes() -> None:
    text = (SYND / "a0_original.txt").read_text()
    code = "import sys; from pipelines.dedup import fingerprint; f = fingerprint(sys.stdin.read()); print(f.sig.tolist(), f.keys().tolist(), f.size)"
    outs = {
        subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, cwd=ROOT, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1 and outs != {""}
    fp = fingerprint(text)
    assert str(fp.sig.tolist()) in outs.pop()


def test_embedded_index_survives_as_delta_files() -> None:
    docs = {p.stem: fingerprint(p.read_text().split("\n\n", 1)[1]) for p in sorted(SYND.glob("*.txt"))}
    first = MemoryIndex()
    first.PENDING_DOCS = 2  # exercise the sorted segments, not only the recent-keys dict
    assert first.check_and_add("a0_original", docs["a0_original"]) is None
    assert first.check_and_add("e0_other_story", docs["e0_other_story"]) is None
    assert first.check_and_add("b_independent_rewrite", docs["b_independent_rewrite"]) is None
    delta = first.delta_bytes()
    assert delta is not None
    later = MemoryIndex()  # a later run on another machine, loading the archive's delta files
    assert later.load_delta(delta) == 3
    assert later.delta_bytes() is None, "loaded documents are not written again"
    assert later.check_and_add("a2", docs["a2_ending_cut"]).canonical == "a0_original"  # type: ignore[union-attr]
    assert later.check_and_add("e1", docs["e1_other_story_reprint"]).canonical == "e0_other_story"  # type: ignore[union-attr]
    assert later.check_and_add("d", docs["d_reuses_background"]) is None
    again = later.check_and_add("a0_original", docs["a0_original"])
    assert again is not None and again.exact and again.canonical == "a0_original", "the same text again"


def test_two_processes_sharing_redis_never_both_keep_a_story(namespace: str) -> None:
    """Both workers get every copy at the same moment; across both, each story has one canonical."""
    code = f"""
import sys, time
from pathlib import Path
from pipelines.dedup import RedisIndex, fingerprint
worker, start = sys.argv[1], float(sys.argv[2])
files = sorted(Path({str(SYND)!r}).glob("*.txt"), reverse=worker == "2")
fps = [(f"{{worker}}-{{p.stem}}", fingerprint(p.read_text().split("\\n\\n", 1)[1])) for p in files]
index = RedisIndex({REDIS_URL!r}, namespace={namespace!r})
while time.time() < start:
    pass
for name, fp in fps:
    m = index.check_and_add(name, fp)
    print(name, m.canonical if m else "CANONICAL")
"""
    import time

    start = str(time.time() + 2.0)
    procs = [subprocess.Popen([sys.executable, "-c", code, w, start], cwd=ROOT, stdout=subprocess.PIPE, text=True) for w in ("1", "2")]
    lines = [ln.split() for p in procs for ln in p.communicate(timeout=60)[0].splitlines()]
    assert len(lines) == 24
    canonical = sorted(name.split("-", 1)[1] for name, result in lines if result == "CANONICAL")
    # five stories (a, e and the three hard negatives), each kept once by exactly one of the workers
    assert len(canonical) == 5, canonical
    assert {c[0] for c in canonical} == {"a", "b", "c", "d", "e"}


def test_redis_index_matches_the_embedded_one(namespace: str) -> None:
    docs = [(p.stem, fingerprint(p.read_text().split("\n\n", 1)[1])) for p in sorted(SYND.glob("*.txt"))]
    embedded, shared = MemoryIndex(), RedisIndex(REDIS_URL, namespace=namespace)
    for name, fp in docs:
        a, b = embedded.check_and_add(name, fp), shared.check_and_add(name, fp)
        assert (a is None) == (b is None) and (a is None or (a.canonical, a.similarity) == (b.canonical, b.similarity))  # type: ignore[union-attr]
    shared.close()


def test_wire_attribution() -> None:
    assert detect_wire("MOSCOW (AFP) – Russia said on Sunday ...") == "AFP"
    assert detect_wire("Body.\n© 2023 AFP") == "AFP"
    assert detect_wire("Body text.\nWith inputs from Reuters") == "Reuters"
    assert detect_wire("Source: Reuters, cited by European Pravda\nDetails: ...") == "Reuters"
    brecorder = get_outlet("brecorder").wire_bylines  # Business Recorder's own byline shape
    assert detect_wire("AFP Published 12 Nov, 2023 05:28pm\nMOSCOW: Foreign Minister ...", bylines=brecorder) == "AFP"
    assert detect_wire("Reuters Updated 3 Jan, 2024 10:02am\nLONDON: ...", bylines=brecorder) == "Reuters"
    assert detect_wire("MOSCOW: Foreign Minister said ...", authors=["AFP"]) == "AFP"
    assert detect_wire("The map shows the AFP office in Paris and a Reuters building.") is None
    assert detect_wire("Nothing here.", authors=["Dana Serikbayeva"]) is None


def test_a_short_text_is_not_called_a_copy_by_containment_alone() -> None:
    long = fingerprint((SYND / "a0_original.txt").read_text().split("\n\n", 1)[1])
    tiny = fingerprint("Water is life, and from today we will manage it together.")
    index = MemoryIndex()
    index.check_and_add("long", long)
    assert index.check("tiny", tiny) is None
    assert np.count_nonzero(tiny.sig) > 0


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_crawl_marks_another_outlets_wire_reprint_as_duplicate(backend: str, namespace: str, tmp_path: Path) -> None:
    """brecorder publishes an AFP story; orda reprints it (new headline, ending cut, local paragraph)."""
    from pipelines.dev.mirror import serve
    from pipelines import warc
    from pipelines.storage import open_store
    from pipelines.reader import completed_runs
    from pipelines.verify import verify_run
    from tests.conftest import expected, run_crawl
    from tests.test_crawl import run_files

    settings = {"DEDUP_URI": REDIS_URL, "DEDUP_NAMESPACE": namespace} if backend == "redis" else {}
    # embedded: one archive holds the index; redis: two archives ("two machines") share the index
    archives = [str(tmp_path / "archive")] * 2 if backend == "embedded" else [str(tmp_path / "a"), str(tmp_path / "b")]
    for outlet, archive in zip(("brecorder", "orda"), archives):
        server = serve(outlet)
        try:
            res = run_crawl(outlet, server, archive, tmp_path / "spool", {**expected(outlet).get("settings", {}), **settings})
            assert res.returncode == 0, res.log[-2000:]
        finally:
            server.stop()
    rows = {}
    for archive in set(archives):
        store = open_store(archive)
        for prefix in completed_runs(store):
            assert verify_run(store, prefix)[0] == []
            run = run_files(store, prefix)
            rows.update(run["rows"])
            for row in run["rows"].values():
                if row["status"] == "duplicate":
                    assert row["text_key"] is None and row["warc_key"], "no text file, the response stays in the WARC"
                    rec = warc.read_record(run["warcs"][row["warc_key"]], row["warc_offset"], row["warc_length"])
                    assert rec.status == 200 and b"Lavrov" in rec.payload
    original = rows["https://www.brecorder.com/news/40456101/russia-says-eu-wont-push-it-out-of-central-asia"]
    reprint = rows["https://en.orda.kz/lavrov-accuses-eu-of-trying-to-push-russia-out-of-central-asia-12340/"]
    assert original["status"] == "written" and original["wire"] == "AFP"
    assert reprint["status"] == "duplicate" and reprint["duplicate_of"] == original["docid"]
    assert reprint["similarity"] >= 0.6 and reprint["containment"] >= 0.9 and reprint["wire"] == "AFP"
    assert [r for r in rows.values() if r["status"] == "duplicate"] == [reprint], "nothing else is a copy"


def test_two_concurrent_crawls_sharing_redis_write_each_story_once(namespace: str, tmp_path: Path) -> None:
    """Two crawler processes (two machines' archives) crawl the same outlet at the same time."""
    from pipelines.dev.mirror import serve
    from pipelines.storage import open_store
    from pipelines.reader import completed_runs
    from tests.conftest import crawl_popen
    from tests.test_crawl import run_files

    settings = {"DEDUP_URI": REDIS_URL, "DEDUP_NAMESPACE": namespace}
    servers = [serve("brecorder"), serve("brecorder")]
    try:
        procs = [crawl_popen("brecorder", srv, str(tmp_path / f"archive{n}"), tmp_path / f"spool{n}", settings, log=tmp_path / f"crawl{n}.log")
                 for n, srv in enumerate(servers)]
        assert [p.wait(timeout=180) for p in procs] == [0, 0]
    finally:
        for srv in servers:
            srv.stop()
    written: dict[str, int] = {}
    duplicates = 0
    for n in range(2):
        store = open_store(str(tmp_path / f"archive{n}"))
        for prefix in completed_runs(store):
            for url, row in run_files(store, prefix)["rows"].items():
                if row["status"] == "written":
                    written[url] = written.get(url, 0) + 1
                duplicates += row["status"] == "duplicate"
    assert len(written) >= 7 and set(written.values()) == {1}, "every story written by exactly one of the two crawlers"
    assert duplicates == len(written)


def test_segment_lookup_finds_exactly_the_matching_entries() -> None:
    from pipelines.dedup import _Segment

    rng = np.random.default_rng(7)
    for n in (5, 300, 50_000):
        keys = rng.integers(1, 2**32 - 1, size=n, dtype=np.uint64).astype(np.uint32)
        keys[: min(40, n)] = keys[0]  # one crowded bucket, wider than the lookup window
        segment = _Segment(_Segment.pack(keys, np.arange(n, dtype=np.uint32)))
        queries = np.unique(np.concatenate([keys[[0, n // 2, n - 1]], rng.integers(1, 2**32 - 1, size=5, dtype=np.uint64).astype(np.uint32)]))
        wanted = sorted(i for i in range(n) if int(keys[i]) in set(queries.tolist()))
        assert sorted(segment.lookup(queries).tolist()) == wanted
