"""Commands: ``python -m pipelines demo|serve|check``.

- ``demo [OUTLET...]``: serve each outlet's fixture mirror on loopback and crawl it with the real
  spider into ``--archive`` (default ``./archive``): the offline demo of the whole run.
- ``serve OUTLET``: only serve a fixture mirror (for a manual ``scrapy crawl -a base_url=...``).
- ``check ARCHIVE``: verify a local or S3 archive: completed runs, WARC lengths and digests,
  every manifest row's WARC offset/length, text hashes; reports each run's outcome (complete,
  incomplete, failed). Exit status 1 on any problem (``--strict``: also on a run not complete).
- ``clean [--outlet NAME] [--as-of DATE] --out DIR [--explain] PATH...``: re-clean seed-format
  text files (or folders of them) with the text rules (generic, plus the outlet's), valid on
  ``--as-of`` (default today), writing the cleaned files under the same names to ``--out``.
- ``schedule [--config deploy/schedule.toml] [--once]``: the scheduler service: starts each outlet's
  crawl at its cron times (``--once``: every crawl now, exit with the worst exit code).
- ``worker [--outlets a,b] [--redis URL] [--once] [-a k=v] [-s K=V]``: a scalable crawl worker: joins
  any crawl job of those outlets that has requests waiting in the shared frontier.
- ``dedup [--outlet NAME] [--redis URL] PATH...``: find syndicated copies among seed-format text
  files (cleaned first, like the crawl does), checked in name order; prints the duplicate groups as
  JSON (canonical, members with similarity and containment, wire agency).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.crawljob import mirror_crawl_command
from pipelines.dev.mirror import serve
from pipelines.outlets import all_outlets


def text_files(paths: list[str]) -> list[Path]:
    """The .txt files given, folders expanded (in name order)."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.txt")) if path.is_dir() else [path]
    return files


def cmd_demo(ns: argparse.Namespace) -> int:
    outlets = ns.outlets or list(all_outlets())
    status = 0
    for outlet in outlets:
        server = serve(outlet)
        try:
            print(f"== {outlet}: fixture mirror at {server.base_url}, crawling into {ns.archive}", flush=True)
            cmd = mirror_crawl_command(outlet, server.base_url, ns.archive, {"LOG_LEVEL": ns.log_level})
            result = subprocess.run(cmd, check=False)
            status = status or result.returncode
        finally:
            server.stop()
    from pipelines.layout import MARKER
    from pipelines.storage import open_store

    store = open_store(ns.archive)
    print(f"\nArchive {store.uri}:")
    for key in store.list_keys("runs/"):
        if key.endswith("/summary.json"):
            summary = json.loads(store.get_bytes(key) or b"{}")
            done = store.get_bytes(key.rsplit("/", 1)[0] + "/" + MARKER) is not None
            print(f"  {summary.get('prefix')}: {summary.get('counts')} {'complete' if done else 'INCOMPLETE'}")
    return status


def cmd_serve(ns: argparse.Namespace) -> int:
    server = serve(ns.outlet, port=ns.port)
    print(f"serving the {ns.outlet} fixture mirror at {server.base_url}; crawl it with:\n"
          f"  scrapy crawl {ns.outlet} -a base_url={server.base_url} -s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def cmd_check(ns: argparse.Namespace) -> int:
    from pipelines.verify import verify_archive

    problems, report = verify_archive(ns.archive, strict=ns.strict)
    print(json.dumps(report, indent=2))
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    return 1 if problems else 0


def cmd_clean(ns: argparse.Namespace) -> int:
    from datetime import date

    from pipelines.outlets import get_outlet
    from pipelines.clean import clean_lines, format_document, group_lines, parse_document, rules_for

    outlet = get_outlet(ns.outlet) if ns.outlet else None
    ruleset = rules_for(outlet, date.fromisoformat(ns.as_of) if ns.as_of else None)
    files = text_files(ns.paths)
    if not files:
        print("no .txt files given", file=sys.stderr)
        return 2
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        result = clean_lines(parse_document(path.read_text(encoding="utf-8")), None, ruleset)
        (out / path.name).write_bytes(format_document(result.title, group_lines(result.lines)).encode("utf-8"))
        if ns.explain:
            print(f"== {path.name}: headline {result.title!r}; {len(result.removed)} line(s) removed")
            for line, rule in result.removed:
                print(f"  [{rule}] {line}")
        else:
            print(f"{path.name}: {len(result.removed)} line(s) removed, {len(result.lines)} kept")
    return 0


def cmd_dedup(ns: argparse.Namespace) -> int:
    from pipelines.outlets import get_outlet
    from pipelines.clean import clean_lines, parse_document, rules_for
    from pipelines.dedup import MemoryIndex, RedisIndex, detect_wire, fingerprint

    ruleset = rules_for(get_outlet(ns.outlet) if ns.outlet else None)
    files = text_files(ns.paths)
    index = RedisIndex(ns.redis, namespace=ns.namespace) if ns.redis else MemoryIndex()
    groups: dict[str, list[dict[str, object]]] = {}
    wires: dict[str, str] = {}
    try:
        for path in sorted(files, key=lambda p: p.name):
            name = path.stem
            body = "\n".join(clean_lines(parse_document(path.read_text(encoding="utf-8")), None, ruleset).lines)
            wire = detect_wire(body)
            if wire:
                wires[name] = wire
            match = index.check_and_add(name, fingerprint(body))
            if match is not None:
                groups.setdefault(match.canonical, []).append(
                    {"name": name, "similarity": match.similarity, "containment": match.containment, "exact": match.exact, "wire": wire}
                )
    finally:
        index.close()
    out = {
        "documents": len(files),
        "groups": [{"canonical": c, "wire": wires.get(c), "members": m} for c, m in groups.items()],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def cmd_schedule(ns: argparse.Namespace) -> int:
    import logging

    from pipelines.schedule import load_jobs, run_once, serve as serve_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    jobs = load_jobs(Path(ns.config))
    root = Path(__file__).resolve().parent.parent
    if ns.once:
        return run_once(jobs, root)
    serve_jobs(jobs, root)
    return 0


def cmd_worker(ns: argparse.Namespace) -> int:
    import logging

    from pipelines.schedule import work

    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    redis_url = ns.redis or os.environ.get("SCHEDULER_URI", "")
    if not redis_url:
        print("a worker needs the shared frontier: --redis URL or SCHEDULER_URI", file=sys.stderr)
        return 2
    outlets = ns.outlets.split(",") if ns.outlets else list(all_outlets())
    extra = [x for a in ns.arg for x in ("-a", a)] + [x for s in ns.set for x in ("-s", s)]
    return work(outlets, redis_url, Path(__file__).resolve().parent.parent, extra, once=ns.once)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="crawl the fixture mirrors offline into a local archive")
    demo.add_argument("outlets", nargs="*", help="outlets (default: all)")
    demo.add_argument("--archive", default="./archive", help="archive URI (path, file:// or s3://)")
    demo.add_argument("--log-level", default="WARNING")
    demo.set_defaults(func=cmd_demo)
    srv = sub.add_parser("serve", help="serve one outlet's fixture mirror")
    srv.add_argument("outlet")
    srv.add_argument("--port", type=int, default=8080)
    srv.set_defaults(func=cmd_serve)
    chk = sub.add_parser("check", help="verify an archive")
    chk.add_argument("archive")
    chk.add_argument("--strict", action="store_true", help="a run whose outcome is not complete is a problem too")
    chk.set_defaults(func=cmd_check)
    cln = sub.add_parser("clean", help="re-clean seed-format text files without refetching")
    cln.add_argument("paths", nargs="+", help="text files or folders of .txt files")
    cln.add_argument("--out", required=True, help="folder for the cleaned files (same names)")
    cln.add_argument("--outlet", help="also apply this outlet's rules")
    cln.add_argument("--as-of", help="use the rules valid on this day (YYYY-MM-DD), e.g. the day the texts were fetched")
    cln.add_argument("--explain", action="store_true", help="print every removed line with the rule that removed it")
    cln.set_defaults(func=cmd_clean)
    sch = sub.add_parser("schedule", help="start the outlets' crawls at their cron times")
    sch.add_argument("--config", default="deploy/schedule.toml")
    sch.add_argument("--once", action="store_true", help="run every crawl now and exit with the worst exit code")
    sch.set_defaults(func=cmd_schedule)
    wrk = sub.add_parser("worker", help="join crawl jobs waiting in the shared frontier (scale out)")
    wrk.add_argument("--outlets", help="comma-separated outlets (default: all)")
    wrk.add_argument("--redis", help="the frontier's Redis (default: the environment's SCHEDULER_URI; a URL with a password belongs there, since every local user sees process arguments)")
    wrk.add_argument("--once", action="store_true", help="one pass: join what is waiting now, then exit")
    wrk.add_argument("-a", dest="arg", action="append", default=[], help="spider argument NAME=VALUE")
    wrk.add_argument("-s", dest="set", action="append", default=[], help="setting NAME=VALUE")
    wrk.set_defaults(func=cmd_worker)
    ddp = sub.add_parser("dedup", help="group syndicated copies among text files")
    ddp.add_argument("paths", nargs="+", help="text files or folders of .txt files")
    ddp.add_argument("--outlet", help="also apply this outlet's cleaning rules first")
    ddp.add_argument("--redis", default=os.environ.get("DEDUP_URI", ""), help="use (and add to) the shared index in this Redis, e.g. redis://127.0.0.1:6379/0 (default: the environment's DEDUP_URI; a URL with a password belongs there, since every local user sees process arguments)")
    ddp.add_argument("--namespace", default="dedup-cli", help="Redis key namespace (default: dedup-cli)")
    ddp.set_defaults(func=cmd_dedup)
    ns = parser.parse_args(argv)
    return ns.func(ns)


if __name__ == "__main__":
    sys.exit(main())
