"""``python -m pipelines`` as an operator meets it: one line on stderr with a documented exit code for
every expected failure (never a traceback), unknown outlets and schedule sections refused before
anything starts, and ``check`` verdicts that never call a missing or empty archive a pass.

Every case is a real ``python -m pipelines`` subprocess from the repository root. The bad-input
matrix starts all its processes at once (module fixture), so it costs about its slowest case: an
unreachable Redis, which a one-shot worker waits on for a few seconds in case Redis is restarting.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.archive import Archive
from pipelines.layout import MANIFEST
from pipelines.manifest import ERROR
from pipelines.outlets import all_outlets
from tests.conftest import ROOT, free_port
from tests.test_archive import config, exchange, row

PROG = "python -m pipelines"
OUTLETS = ", ".join(sorted(all_outlets()))  # the registry, as the refusals list it


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # {tmp}: the matrix's input folder, {busy}: a port something listens on, {closed}: one nothing listens on
    code: int
    says: tuple[str, ...]  # what the one stderr line must name
    env: tuple[tuple[str, str | None], ...] = ()  # None: removed from the environment


CASES = [
    Case("no-command", (), 2, ("required", "COMMAND")),
    Case("unknown-command", ("nosuch",), 2, ("invalid choice", "'nosuch'", "check")),
    Case("clean-missing-file", ("clean", "--out", "{tmp}/out", "/nonexistent/a.txt"), 1, ("/nonexistent/a.txt", "no such file")),
    Case("clean-unknown-outlet", ("clean", "--outlet", "nosuch", "--out", "{tmp}/out", "{tmp}/a.txt"), 1, ("unknown outlet 'nosuch'", OUTLETS)),
    Case("clean-bad-date", ("clean", "--as-of", "2023-13-45", "--out", "{tmp}/out", "{tmp}/a.txt"), 2, ("--as-of", "2023-13-45", "YYYY-MM-DD")),
    Case("clean-no-text-files", ("clean", "--out", "{tmp}/out", "{tmp}/empty"), 1, ("no .txt files", "empty")),
    Case("clean-out-is-a-file", ("clean", "--out", "{tmp}/a.txt", "{tmp}/a.txt"), 1, ("--out", "is a file")),
    Case("clean-not-utf8", ("clean", "--out", "{tmp}/out", "{tmp}/latin1.txt"), 1, ("latin1.txt", "not UTF-8")),
    Case("dedup-missing-file", ("dedup", "/nonexistent/a.txt"), 1, ("/nonexistent/a.txt", "no such file")),
    Case("dedup-unknown-outlet", ("dedup", "--outlet", "nosuch", "{tmp}/a.txt"), 1, ("unknown outlet 'nosuch'", OUTLETS)),
    Case("dedup-bad-redis-url", ("dedup", "--redis", "localhost:6379", "{tmp}/a.txt"), 1, ("bad Redis URL", "redis://")),
    Case("demo-unknown-outlet", ("demo", "nosuch"), 1, ("unknown outlet 'nosuch'", OUTLETS)),
    Case("serve-unknown-outlet", ("serve", "nosuch"), 1, ("unknown outlet 'nosuch'", OUTLETS)),
    Case("serve-bad-port", ("serve", "orda", "--port", "99999"), 2, ("--port", "99999")),
    Case("serve-busy-port", ("serve", "orda", "--port", "{busy}"), 1, ("127.0.0.1:{busy}", "in use", "--port")),
    Case("check-missing-path", ("check", "/nonexistent/path"), 1, ("/nonexistent/path", "no such folder")),
    Case("check-a-file", ("check", "README.md"), 1, ("README.md", "is a file, not an archive")),
    Case("check-empty-folder", ("check", "{tmp}/empty"), 1, ("empty", "holds no runs")),
    Case("check-no-completed-run", ("check", "{tmp}/unfinished"), 1, ("unfinished", "no completed run", "1 run(s) without _SUCCESS")),
    Case("check-bad-scheme", ("check", "ftp://example.org/archive"), 1, ("unsupported archive URI scheme 'ftp'",)),
    Case("check-s3-without-bucket", ("check", "s3://"), 1, ("without bucket",)),
    Case("schedule-missing-file", ("schedule", "--once", "--config", "/nonexistent/schedule.toml"), 1, ("/nonexistent/schedule.toml", "no such file", "--config")),
    Case("schedule-invalid-toml", ("schedule", "--once", "--config", "{tmp}/invalid.toml"), 1, ("invalid.toml", "not valid TOML", "line 1")),
    Case("schedule-section-outside-outlets", ("schedule", "--once", "--config", "{tmp}/bare.toml"), 1, ("unknown section [orda]", "[outlets.orda]", OUTLETS)),
    Case("schedule-unknown-outlet", ("schedule", "--once", "--config", "{tmp}/nosuch.toml"), 1, ("[outlets.nosuch]", "unknown outlet 'nosuch'", OUTLETS)),
    Case("schedule-unknown-key", ("schedule", "--once", "--config", "{tmp}/key.toml"), 1, ("[outlets.orda]", "unknown key 'crn'", "cron, args, settings")),
    Case("schedule-bad-cron", ("schedule", "--once", "--config", "{tmp}/cron.toml"), 1, ("[outlets.orda]", "bad cron expression 'every hour'")),
    Case("schedule-nothing-scheduled", ("schedule", "--once", "--config", "{tmp}/blank.toml"), 1, ("nothing to schedule", "[outlets.NAME]")),
    Case("worker-unknown-outlet", ("worker", "--once", "--outlets", "orda,nosuch", "--redis", "redis://127.0.0.1:{closed}/0"), 1, ("unknown outlet 'nosuch'", OUTLETS)),
    Case("worker-bad-redis-url", ("worker", "--once", "--redis", "localhost:6379"), 1, ("bad frontier Redis URL", "redis://")),
    Case("worker-redis-unreachable", ("worker", "--once", "--outlets", "orda", "--redis", "redis://127.0.0.1:{closed}/0"), 1, ("127.0.0.1:{closed}", "unreachable", "--redis")),
    Case("worker-no-frontier", ("worker", "--once"), 2, ("--redis", "SCHEDULER_URI"), env=(("SCHEDULER_URI", None),)),
    Case("worker-bad-spider-argument", ("worker", "--once", "-a", "max_articles", "--redis", "redis://127.0.0.1:{closed}/0"), 2, ("-a", "NAME=VALUE")),
]


def make_inputs(tmp: Path) -> None:
    """The files the bad-input cases name: texts, an empty folder, a run without its marker, schedules."""
    (tmp / "a.txt").write_text("Headline\n\nA body paragraph.\n", encoding="utf-8")
    (tmp / "latin1.txt").write_bytes("Überschrift\n\nKörper.\n".encode("latin-1"))
    (tmp / "empty").mkdir()
    run = tmp / "unfinished" / "runs" / "2026-11-25" / "orda" / "20261125T120000Z-r1"
    run.mkdir(parents=True)
    (run / MANIFEST).write_text("")
    schedules = {
        "invalid": "[outlets.orda\n",
        "bare": '[orda]\ncron = "25 * * * *"\n',
        "nosuch": '[outlets.nosuch]\ncron = "25 * * * *"\n',
        "key": '[outlets.orda]\ncrn = "25 * * * *"\n',
        "cron": '[outlets.orda]\ncron = "every hour"\n',
        "blank": "# nothing here\n",
    }
    for name, text in schedules.items():
        (tmp / f"{name}.toml").write_text(text)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen[str], dict[str, str]]]]:
    """Every case started at once; each test waits for its own."""
    tmp = tmp_path_factory.mktemp("cli")
    make_inputs(tmp)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        names = {"tmp": str(tmp), "busy": str(busy.getsockname()[1]), "closed": str(free_port())}
        running = {}
        for case in CASES:
            env = {**os.environ}
            for key, value in case.env:
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
            args = [a.format(**names) for a in case.args]
            running[case.id] = (subprocess.Popen([sys.executable, "-m", "pipelines", *args], cwd=ROOT, env=env, text=True,
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE), names)
        yield running
        for proc, _ in running.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_with_its_exit_code(case: Case, matrix: dict[str, tuple[subprocess.Popen[str], dict[str, str]]]) -> None:
    proc, names = matrix[case.id]
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err + out, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one line on stderr, got:\n{err}"
    [line] = lines
    assert line.startswith(f"{PROG}") and ": error: " in line, line
    for fragment in case.says:
        assert fragment.format(**names) in line, line
    assert proc.returncode == case.code, line


def test_help_lists_every_command_and_the_exit_codes() -> None:
    res = subprocess.run([sys.executable, "-m", "pipelines", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0
    listed = {line.split()[0] for line in res.stdout.splitlines() if line.startswith("    ") and not line.startswith("     ")}
    for command in ("demo", "serve", "check", "clean", "schedule", "worker", "dedup"):
        assert command in listed, res.stdout
    assert "exit status:" in res.stdout and "75" in res.stdout and "usage" in res.stdout


def test_debug_shows_the_traceback() -> None:
    for args in (["--debug", "check", "/nonexistent/path"], ["check", "/nonexistent/path", "--debug"]):
        res = subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert res.returncode == 1 and "Traceback" in res.stderr and "ArchiveUnavailable" in res.stderr, res.stderr


# --------------------------------------------------------------------------- check on real archives


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """Two runs of orda, built in-process: one complete (2 articles, 1 error row), one stopped by a signal (1 article)."""
    tmp = tmp_path_factory.mktemp("good")
    prefixes = []
    for run_id, urls, reason in (("20261125T120000Z-one", ["a-12345", "b-12346"], "finished"), ("20261125T130000Z-two", ["c-12347"], "shutdown")):
        run = Archive.create(config(tmp, run_id), "orda", "en")
        run.open()
        for slug in urls:
            url = f"https://en.orda.kz/{slug}/"
            run.add(row(url), f"Headline {slug}\n\nBody of {slug}.", run.record_exchange(exchange(url)))
        if reason == "finished":
            run.add(row("https://en.orda.kz/gone-12399/", ERROR), "", None)
        run.close(reason)
        prefixes.append(run.prefix)
    return str(tmp / "archive"), prefixes


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines", "check", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_check_prints_a_verdict_per_run_and_ok(archive: tuple[str, list[str]]) -> None:
    uri, (one, two) = archive
    res = check(uri)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == f"{one}: complete, 2 articles, 0 problems"
    assert lines[1].startswith(f"{two}: incomplete (") and lines[1].endswith("), 1 article, 0 problems")
    assert lines[-1] == "OK: 2 runs, 3 articles (1 complete, 1 incomplete)" and len(lines) == 3
    assert res.stderr == ""


def test_check_strict_fails_on_the_incomplete_run_with_counts(archive: tuple[str, list[str]]) -> None:
    uri, (one, two) = archive
    res = check("--strict", uri)
    assert res.returncode == 1
    lines = res.stdout.strip().splitlines()
    assert lines[0] == f"{one}: complete, 2 articles, 0 problems" and lines[1].endswith("1 article, 1 problem")
    assert lines[-1] == "FAILED: 1 problem in 1 of 2 runs, 3 articles (1 complete, 1 incomplete)"
    assert [ln for ln in res.stderr.splitlines()] == [f"PROBLEM: {two}: outcome incomplete: " + lines[1].split("(", 1)[1].split("), ")[0]]


def test_check_json_keeps_the_report(archive: tuple[str, list[str]]) -> None:
    uri, prefixes = archive
    res = check("--json", uri)
    assert res.returncode == 0
    report = json.loads(res.stdout)
    assert [r["prefix"] for r in report["completed_runs"]] == prefixes
    assert report["outcomes"] == {"complete": 1, "incomplete": 1} and report["articles"] == 3 and report["problems"] == 0


def test_check_reports_a_damaged_run_and_fails_with_counts(tmp_path: Path) -> None:
    run = tmp_path / "archive" / "runs" / "2026-11-25" / "orda" / "r1"
    (run / "warc").mkdir(parents=True)
    (run / "_SUCCESS").write_text("{}\n")
    (run / "summary.json").write_text('{"outcome": "comp')  # cut short
    (run / MANIFEST).write_text('{"docid": "x", "url": "https://en.orda.kz/a-1/", "status": "written"}\n{"docid"')
    (run / "warc" / "orda-1.warc.gz").write_bytes(b"\x1f\x8b\x08garbage")
    res = check(str(tmp_path / "archive"))
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("runs/2026-11-25/orda/r1: unknown (summary.json unreadable") and len(lines) == 2
    assert lines[-1].startswith("FAILED: ") and " in 1 of 1 run, 1 article (1 unknown)" in lines[-1]
    assert all(ln.startswith("PROBLEM: runs/2026-11-25/orda/r1") for ln in res.stderr.splitlines())


def test_check_refuses_a_missing_or_empty_bucket(s3_bucket: str) -> None:
    """S3 as the operator has it (moto's server, the AWS environment set by the fixture): no bucket, or no runs in it."""
    missing = check("s3://no-such-bucket-for-check/corpus")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr, missing.stderr
    assert missing.stderr.count("\n") == 1 and "NoSuchBucket" in missing.stderr and "s3://no-such-bucket-for-check/corpus" in missing.stderr
    empty = check(f"s3://{s3_bucket}/corpus")
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1 and "holds no runs" in empty.stderr, empty.stderr
