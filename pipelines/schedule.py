"""The scheduler service: starts ``scrapy crawl <outlet>`` at the cron times of ``deploy/schedule.toml``.

Each crawl is a subprocess; its exit code (see ``pipelines/crawljob.py``) is logged with its
meaning. A job whose previous run is still going when its next tick comes is not started again
here; across machines the archive's run lock does the same (exit 75).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from croniter import croniter

from pipelines import layout
from pipelines.crawljob import EXIT_FAILED, EXIT_REFUSED, crawl_command, meaning
from pipelines.outlets import all_outlets, get_outlet
from pipelines.redisconn import UNREACHABLE, connect, shown

logger = logging.getLogger("schedule")


@dataclass
class Job:
    outlet: str
    cron: str
    args: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return crawl_command(self.outlet, self.args, self.settings)

    def next_after(self, when: datetime) -> datetime:
        return croniter(self.cron, when).get_next(datetime)


class ScheduleError(ValueError):
    """A schedule or a worker that cannot run as given (unknown outlet, section or key, bad cron,
    unreadable file, malformed Redis URL): refused before anything starts, in one line that names
    the valid choices, because a typo that silently schedules nothing looks exactly like success."""


#: the keys of an ``[outlets.<name>]`` table
JOB_KEYS = ("cron", "args", "settings")


def require_outlets(names: list[str], where: str = "") -> list[str]:
    """``names`` if every one is a registered outlet, else :class:`ScheduleError` (the registry's words: the known ones)."""
    for name in names:
        try:
            get_outlet(name)
        except KeyError as exc:
            raise ScheduleError(where + exc.args[0]) from None
    return names


def load_jobs(path: Path) -> list[Job]:
    """The jobs of a schedule file, checked whole first: :class:`ScheduleError` on anything it cannot run."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScheduleError(f"{path}: no such file; give the schedule with --config (see deploy/schedule.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError(f"{path}: cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{path}: not valid TOML: {exc}") from exc
    known = ", ".join(all_outlets())
    for section, value in config.items():
        if section != "outlets":
            what = f"section [{section}]" if isinstance(value, dict) else f"top-level key {section!r}"
            hint = f" (write [outlets.{section}])" if section in all_outlets() else ""
            raise ScheduleError(f"{path}: unknown {what}{hint}; a schedule has only [outlets.NAME] tables, NAME one of: {known}")
    outlets = config.get("outlets", {})
    if not isinstance(outlets, dict) or not outlets:
        raise ScheduleError(f"{path}: nothing to schedule; add an [outlets.NAME] table with a cron (NAME one of: {known})")
    jobs = []
    for outlet, spec in sorted(outlets.items()):
        where = f"{path}: [outlets.{outlet}]"
        require_outlets([outlet], f"{where}: ")
        if not isinstance(spec, dict):
            raise ScheduleError(f"{where} must be a table with keys {', '.join(JOB_KEYS)}")
        unknown = [k for k in spec if k not in JOB_KEYS]
        if unknown:
            raise ScheduleError(f"{where}: unknown key {', '.join(map(repr, unknown))}; valid: {', '.join(JOB_KEYS)}")
        cron = spec.get("cron")
        if not isinstance(cron, str):
            raise ScheduleError(f"{where}: needs cron = \"MIN HOUR DAY MONTH WEEKDAY\" (UTC), e.g. cron = \"5 * * * *\"")
        if not croniter.is_valid(cron):
            raise ScheduleError(f"{where}: bad cron expression {cron!r}; use 5 fields, e.g. \"5 * * * *\" (hourly at :05, UTC)")
        for table in ("args", "settings"):
            if not isinstance(spec.get(table, {}), dict):
                raise ScheduleError(f"{where}: {table} must be a table, e.g. {table} = {{ name = \"value\" }}")
        jobs.append(Job(outlet, cron, {k: str(v) for k, v in spec.get("args", {}).items()}, {k: str(v) for k, v in spec.get("settings", {}).items()}))
    return jobs


def _finished(job: Job) -> int | None:
    if job.process is None or job.process.poll() is None:
        return None
    code = job.process.returncode
    logger.log(logging.INFO if code == 0 else logging.WARNING, "crawl %s exited %d: %s", job.outlet, code, meaning(code))
    job.process = None
    return code


def run_once(jobs: list[Job], cwd: Path) -> int:
    """Start every job now, wait for all; the exit code is the worst one (for tests and manual runs)."""
    for job in jobs:
        logger.info("starting crawl %s", job.outlet)
        job.process = subprocess.Popen(job.command(), cwd=cwd)
    codes = []
    for job in jobs:
        assert job.process is not None
        job.process.wait()
        codes.append(_finished(job) or 0)
    return max(codes, default=0, key=lambda c: (c not in (0, EXIT_REFUSED), c))


def serve(jobs: list[Job], cwd: Path) -> None:
    """Run forever: start each job at its cron times."""
    now = datetime.now(UTC)
    due = {job.outlet: job.next_after(now) for job in jobs}
    for job in jobs:
        logger.info("%s: cron %r, next run %s", job.outlet, job.cron, due[job.outlet].isoformat())
    while True:
        now = datetime.now(UTC)
        for job in jobs:
            _finished(job)
            if now >= due[job.outlet]:
                if job.process is not None:
                    logger.warning("crawl %s still running at its next tick; not started again", job.outlet)
                else:
                    logger.info("starting crawl %s", job.outlet)
                    job.process = subprocess.Popen(job.command(), cwd=cwd)
                due[job.outlet] = job.next_after(now)
        time.sleep(max(1.0, min(30.0, (min(due.values()) - datetime.now(UTC)).total_seconds())))


def active_jobs(redis_url: str, outlet: str) -> list[str]:
    """Frontier jobs of ``outlet`` that have requests waiting (keys: pipelines/layout.py)."""
    r = connect(redis_url)
    try:
        jobs = []
        for key in r.scan_iter(layout.FRONTIER_REQUESTS_PATTERN.format(outlet=outlet), count=1000):
            if r.zcard(key):
                jobs.append(layout.frontier_job_of(key.decode()))
        return sorted(jobs)
    finally:
        r.close()


def frontier_env(redis_url: str, job: str) -> dict[str, str]:
    """The environment of a crawl that joins frontier job ``job``: the Redis URL (it may hold a
    password) goes through the environment, never the command line, which every local user sees
    (crawler/settings.py reads both variables)."""
    return {**os.environ, "SCHEDULER_URI": redis_url, "FRONTIER_JOB": job}


def check_frontier(redis_url: str, ping: bool = True) -> None:
    """:class:`ScheduleError` on a malformed Redis URL; with ``ping``, :data:`UNREACHABLE` when Redis does not answer."""
    try:
        r = connect(redis_url)
    except ValueError as exc:  # redis-py parses the URL here
        raise ScheduleError(f"bad frontier Redis URL {shown(redis_url)!r}: {exc}") from exc
    try:
        if ping:
            r.ping()
    finally:
        r.close()


def work(outlets: list[str], redis_url: str, cwd: Path, extra: list[str], once: bool = False, poll: float = 30.0) -> int:
    """A scalable worker: joins any crawl job of ``outlets`` that has requests waiting in the frontier.

    Unknown outlets and a malformed Redis URL are refused before anything starts (:class:`ScheduleError`).
    With ``once`` an unreachable Redis is raised at once (a one-shot pass can do nothing); the
    service waits for it instead, logging, so it rides out a Redis restart."""
    require_outlets(outlets)
    check_frontier(redis_url, ping=once)
    worst = 0
    while True:
        joined = False
        for outlet in outlets:
            try:
                jobs = active_jobs(redis_url, outlet)
            except UNREACHABLE as exc:
                logger.warning("frontier Redis %s unreachable (%s); trying again later", shown(redis_url), exc)
                if once:
                    worst = max(worst, EXIT_FAILED)
                continue
            for job in jobs:
                logger.info("joining crawl %s, frontier job %s", outlet, job)
                code = subprocess.run(crawl_command(outlet, extra=extra), cwd=cwd, env=frontier_env(redis_url, job)).returncode
                logger.log(logging.INFO if code == 0 else logging.WARNING, "crawl %s (job %s) exited %d: %s", outlet, job, code, meaning(code))
                worst = max(worst, code)
                joined = True
        if once:
            if not joined:
                logger.info("no crawl of %s waiting in the frontier %s; nothing to join", ", ".join(outlets), shown(redis_url))
            return worst
        if not joined:
            time.sleep(poll)
