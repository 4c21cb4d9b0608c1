"""``python -m pipelines COMMAND``: the operator's commands besides ``scrapy crawl`` (``--help`` lists them).

Handlers are thin: they check what the operator named (outlets, files, URLs) before anything starts
and hand the work to a library function. An expected failure ends as one line on stderr,
``python -m pipelines COMMAND: error: WHAT; WHAT TO DO``, with an exit code listed in ``--help``
(:data:`EXIT_HELP`); a traceback only with ``--debug`` or for a real bug, so alerting can tell the two apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import NoReturn

from pipelines.crawljob import EXIT_FAILED, EXIT_MEANINGS, EXIT_OK
from pipelines.dev.mirror import serve
from pipelines.outlets import all_outlets, get_outlet

PROG = "python -m pipelines"
EXIT_USAGE = 2  # argparse's own code for a bad command line
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_HELP = f"""\
exit status:
  {EXIT_OK}    success (check: every completed run verified)
  {EXIT_FAILED}    failed: one line on stderr names the problem and what to do (missing file or archive,
       unknown outlet, bad schedule, unreachable Redis, busy port; check: a problem found)
  {EXIT_USAGE}    usage: unknown option, missing or malformed argument
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
  schedule --once and worker --once exit with the worst code of their crawls (scrapy crawl --help):
""" + "".join(f"    {code:<3}{text}\n" for code, text in EXIT_MEANINGS.items()) + """\
--debug (before or after COMMAND) shows the traceback of an error."""


class CommandError(Exception):
    """An expected failure: reported as one line on stderr with ``code``, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (the problem and where to read more), not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def outlet_names(names: Iterable[str]) -> list[str]:
    """``names`` checked against the registry, so a typo is refused before anything starts."""
    names = list(names)
    for name in names:
        try:
            get_outlet(name)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
    return names


def iso_date(text: str) -> date:
    """argparse type: a real YYYY-MM-DD day."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 (any free one) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number 0-65535")
    return int(text)


def assignment(text: str) -> str:
    """argparse type: NAME=VALUE, as ``scrapy crawl -a/-s`` takes it."""
    if "=" not in text or not text.split("=", 1)[0]:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return text


def text_files(paths: list[str]) -> list[Path]:
    """The .txt files given, folders expanded (in name order); a missing path or no file at all is refused."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder; give seed-format .txt files or folders of them")
        files += sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise CommandError(f"no .txt files in {', '.join(paths)}; give seed-format .txt files or folders of them")
    return files


def read_text(path: Path) -> str:
    """A seed-format file's text; a file that is not UTF-8 is refused by name."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); give seed-format .txt files") from exc


def run_demo(ns: argparse.Namespace) -> int:
    """The demo, after its outlets are checked (a typo would otherwise fail inside the mirror server)."""
    outlet_names(ns.outlets)
    return cmd_demo(ns)


def cmd_demo(ns: argparse.Namespace) -> int:
    from pipelines.dev.demo import DemoRefused, run_demo as demo

    try:
        return demo(ns.outlets or list(all_outlets()), ns.archive, ns.log_level)
    except DemoRefused as exc:
        raise CommandError(str(exc)) from exc


def cmd_serve(ns: argparse.Namespace) -> int:
    outlet_names([ns.outlet])
    try:
        server = serve(ns.outlet, port=ns.port)
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1:{ns.port}: {exc.strerror or exc}; pick a free port with --port (0: any)") from exc
    print(f"serving the {ns.outlet} fixture mirror at {server.base_url}; crawl it with:\n"
          f"  scrapy crawl {ns.outlet} -a base_url={server.base_url} -s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0 -s ARCHIVE_URI=./demo-archive\n"
          f"(a mirror run: keep it out of a real archive; URLs it archived before are skipped, -a recrawl=1 fetches them again)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def cmd_check(ns: argparse.Namespace) -> int:
    from pipelines.verify import ArchiveUnavailable, archive_verdict, run_verdict, verify_archive

    def show(problems: list[str], run: dict[str, object]) -> None:
        print(run_verdict(run), flush=True)
        for problem in problems:
            print("PROBLEM:", problem, file=sys.stderr, flush=True)

    try:
        problems, report = verify_archive(ns.archive, strict=ns.strict, on_run=None if ns.json else show)
    except ArchiveUnavailable as exc:  # nothing to verify is a failure, never "0 problems"
        raise CommandError(str(exc)) from exc
    if ns.json:
        print(json.dumps(report, indent=2))
        for problem in problems:
            print("PROBLEM:", problem, file=sys.stderr)
    else:
        print(archive_verdict(report))
    return EXIT_FAILED if problems else EXIT_OK


def cmd_clean(ns: argparse.Namespace) -> int:
    outlet = get_outlet(outlet_names([ns.outlet])[0]) if ns.outlet else None
    files = text_files(ns.paths)
    out = Path(ns.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the cleaned files")
    from pipelines.clean import clean_lines, format_document, group_lines, parse_document, rules_for

    ruleset = rules_for(outlet, ns.as_of)
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        result = clean_lines(parse_document(read_text(path)), None, ruleset)
        (out / path.name).write_bytes(format_document(result.title, group_lines(result.lines)).encode("utf-8"))
        if ns.explain:
            print(f"== {path.name}: headline {result.title!r}; {len(result.removed)} line(s) removed")
            for line, rule in result.removed:
                print(f"  [{rule}] {line}")
        else:
            print(f"{path.name}: {len(result.removed)} line(s) removed, {len(result.lines)} kept")
    return 0


def cmd_dedup(ns: argparse.Namespace) -> int:
    outlet = get_outlet(outlet_names([ns.outlet])[0]) if ns.outlet else None
    files = text_files(ns.paths)
    from pipelines.clean import clean_lines, parse_document, rules_for
    from pipelines.dedup import MemoryIndex, RedisIndex, detect_wire, fingerprint
    from pipelines.redisconn import UNREACHABLE, shown

    ruleset = rules_for(outlet)
    try:
        index = RedisIndex(ns.redis, namespace=ns.namespace) if ns.redis else MemoryIndex()
    except ValueError as exc:  # redis-py's URL parser
        raise CommandError(f"bad Redis URL {shown(ns.redis)!r}: {exc}") from exc
    except UNREACHABLE as exc:
        raise CommandError(f"Redis {shown(ns.redis)} unreachable ({exc}); start it, or drop --redis/DEDUP_URI for an in-memory index") from exc
    groups: dict[str, list[dict[str, object]]] = {}
    wires: dict[str, str] = {}
    try:
        for path in sorted(files, key=lambda p: p.name):
            name = path.stem
            body = "\n".join(clean_lines(parse_document(read_text(path)), None, ruleset).lines)
            wire = detect_wire(body)
            if wire:
                wires[name] = wire
            match = index.check_and_add(name, fingerprint(body))
            if match is not None:
                groups.setdefault(match.canonical, []).append(
                    {"name": name, "similarity": match.similarity, "containment": match.containment, "exact": match.exact, "wire": wire}
                )
    except UNREACHABLE as exc:
        raise CommandError(f"Redis {shown(ns.redis)} became unreachable ({exc}); run again when it is back") from exc
    finally:
        index.close()
    out = {
        "documents": len(files),
        "groups": [{"canonical": c, "wire": wires.get(c), "members": m} for c, m in groups.items()],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def log_to_stderr(debug: bool) -> None:
    import logging

    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")


def cmd_schedule(ns: argparse.Namespace) -> int:
    from pipelines.schedule import ScheduleError, load_jobs, run_once, serve as serve_jobs

    try:
        jobs = load_jobs(Path(ns.config))  # the whole file is checked before the first crawl starts
    except ScheduleError as exc:
        raise CommandError(str(exc)) from exc
    log_to_stderr(ns.debug)
    root = Path(__file__).resolve().parent.parent
    if ns.once:
        return run_once(jobs, root)
    serve_jobs(jobs, root)
    return 0


def cmd_worker(ns: argparse.Namespace) -> int:
    redis_url = ns.redis or os.environ.get("SCHEDULER_URI", "")
    if not redis_url:
        raise CommandError("a worker needs the shared frontier: give --redis URL or set SCHEDULER_URI", EXIT_USAGE)
    outlets = outlet_names(ns.outlets.split(",")) if ns.outlets is not None else list(all_outlets())
    extra = [x for a in ns.arg for x in ("-a", a)] + [x for s in ns.set for x in ("-s", s)]
    from pipelines.redisconn import UNREACHABLE, shown
    from pipelines.schedule import ScheduleError, work

    log_to_stderr(ns.debug)
    try:
        return work(outlets, redis_url, Path(__file__).resolve().parent.parent, extra, once=ns.once)
    except ScheduleError as exc:  # a malformed Redis URL
        raise CommandError(str(exc)) from exc
    except UNREACHABLE as exc:
        raise CommandError(f"the frontier Redis {shown(redis_url)} is unreachable ({exc}); start it, or fix --redis/SCHEDULER_URI") from exc


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="The operator's commands besides scrapy crawl; COMMAND --help explains one.", epilog=EXIT_HELP,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also accepted after COMMAND)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    def command(name: str, help: str, description: str) -> Parser:
        return sub.add_parser(name, help=help, description=textwrap.fill(description, 100), parents=[common], epilog=EXIT_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    demo = command("demo", "crawl the fixture mirrors offline into an archive of their own (./demo-archive)",
                   "Serve each outlet's fixture mirror on loopback and crawl it with the real spider: the offline demo of a whole run. "
                   "Its runs are mirror runs, written into an archive of their own; an archive holding a live run is refused.")
    demo.add_argument("outlets", nargs="*", help="outlets (default: all)")
    demo.add_argument("--archive", default="./demo-archive",
                      help="archive URI (path, file:// or s3://; default ./demo-archive); must hold no live run")
    demo.add_argument("--log-level", default="WARNING")
    demo.set_defaults(func=run_demo)
    srv = command("serve", "serve one outlet's fixture mirror for a manual scrapy crawl",
                  "Serve one outlet's fixture mirror on 127.0.0.1 until Ctrl-C, for a manual scrapy crawl OUTLET -a base_url=...")
    srv.add_argument("outlet")
    srv.add_argument("--port", type=port_number, default=8080, help="TCP port (default 8080; 0: any free port)")
    srv.set_defaults(func=cmd_serve)
    chk = command("check", "verify an archive: one verdict line per run, then OK or FAILED",
                  "Verify a local or S3 archive as a downstream reader depends on it: completed runs, WARC lengths and digests, "
                  "every manifest row's WARC offset/length, text hashes. Prints one line per run (prefix, outcome, articles, "
                  "problems; a run the outlet blocked reads failed-blocked), PROBLEM lines on stderr, and a last line OK: N runs, M articles or FAILED: ... . Exit 1 on any "
                  "problem, and when there is nothing to verify (no such folder, a file, no completed run).")
    chk.add_argument("archive", help="the archive: a folder, file://... or s3://bucket/prefix")
    chk.add_argument("--strict", action="store_true", help="a run whose outcome is not complete is a problem too")
    chk.add_argument("--json", action="store_true", help="print the report as JSON instead of the verdict lines")
    chk.set_defaults(func=cmd_check)
    cln = command("clean", "re-clean seed-format text files without refetching",
                  "Re-clean seed-format text files (or folders of them) with the text rules (generic, plus the outlet's) valid "
                  "on --as-of (default today), writing the cleaned files under the same names to --out.")
    cln.add_argument("paths", nargs="+", help="text files or folders of .txt files")
    cln.add_argument("--out", required=True, help="folder for the cleaned files (same names)")
    cln.add_argument("--outlet", help="also apply this outlet's rules")
    cln.add_argument("--as-of", type=iso_date, help="use the rules valid on this day (YYYY-MM-DD), e.g. the day the texts were fetched")
    cln.add_argument("--explain", action="store_true", help="print every removed line with the rule that removed it")
    cln.set_defaults(func=cmd_clean)
    sch = command("schedule", "start the outlets' crawls at their cron times (the scheduler service)",
                  "The scheduler service: start each outlet's scrapy crawl at the cron times of the config ([outlets.NAME] "
                  "tables with cron, args, settings). The whole file is checked first: an unknown outlet, section or key is refused.")
    sch.add_argument("--config", default="deploy/schedule.toml", help="the schedule (default: deploy/schedule.toml)")
    sch.add_argument("--once", action="store_true", help="run every crawl now and exit with the worst exit code")
    sch.set_defaults(func=cmd_schedule)
    wrk = command("worker", "join crawl jobs waiting in the shared frontier (scale out)",
                  "A scalable crawl worker: joins any crawl job of the outlets that has requests waiting in the shared frontier. "
                  "The service waits out an unreachable Redis; --once fails at once.")
    wrk.add_argument("--outlets", help="comma-separated outlets (default: all)")
    wrk.add_argument("--redis", help="the frontier's Redis (default: the environment's SCHEDULER_URI; a URL with a password belongs there, since every local user sees process arguments)")
    wrk.add_argument("--once", action="store_true", help="one pass: join what is waiting now, then exit")
    wrk.add_argument("-a", dest="arg", type=assignment, action="append", default=[], help="spider argument NAME=VALUE")
    wrk.add_argument("-s", dest="set", type=assignment, action="append", default=[], help="setting NAME=VALUE")
    wrk.set_defaults(func=cmd_worker)
    ddp = command("dedup", "group syndicated copies among seed-format text files",
                  "Find syndicated copies among seed-format text files (cleaned first, like the crawl does), checked in name "
                  "order; print the duplicate groups as JSON (canonical, members with similarity and containment, wire agency).")
    ddp.add_argument("paths", nargs="+", help="text files or folders of .txt files")
    ddp.add_argument("--outlet", help="also apply this outlet's cleaning rules first")
    ddp.add_argument("--redis", default=os.environ.get("DEDUP_URI", ""), help="use (and add to) the shared index in this Redis, e.g. redis://127.0.0.1:6379/0 (default: the environment's DEDUP_URI; a URL with a password belongs there, since every local user sees process arguments)")
    ddp.add_argument("--namespace", default="dedup-cli", help="Redis key namespace (default: dedup-cli)")
    ddp.set_defaults(func=cmd_dedup)
    return parser


def expected_error(exc: BaseException) -> str | None:
    """The one line for an expected failure; None for a bug (its traceback is shown). Handlers turn
    their library's refusals into :class:`CommandError`; what is left here is the operating system's."""
    if isinstance(exc, CommandError):
        return str(exc)
    if isinstance(exc, OSError):  # the file system or the network said no: not our bug
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}; run with --debug for the traceback"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return ns.func(ns)
    except KeyboardInterrupt:
        print(f"{PROG} {ns.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        message = expected_error(exc)
        if message is None or ns.debug:
            raise
        print(f"{PROG} {ns.command}: error: {message}", file=sys.stderr)
        return exc.code if isinstance(exc, CommandError) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
