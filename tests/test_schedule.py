"""The scheduler service: cron config, next run times, and a real --once round over two outlets."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.dev.mirror import serve
from pipelines.outlets import all_outlets
from pipelines.schedule import load_jobs
from pipelines.storage import open_store
from pipelines.reader import completed_runs

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_schedule_parses_and_runs_each_outlet_hourly() -> None:
    jobs = {j.outlet: j for j in load_jobs(ROOT / "deploy" / "schedule.toml")}
    assert all_outlets() and sorted(jobs) == sorted(all_outlets()), "the shipped schedule crawls exactly the registry's outlets"
    t = datetime(2026, 11, 25, 10, 7, tzinfo=UTC)
    assert jobs["brecorder"].next_after(t) == datetime(2026, 11, 25, 11, 5, tzinfo=UTC)
    assert jobs["orda"].next_after(t) == datetime(2026, 11, 25, 10, 25, tzinfo=UTC)
    assert jobs["pravda"].command()[-4:] == ["crawl", "pravda", "-a", "edition=en"]


def test_bad_cron_expression_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[outlets.orda]\ncron = "every hour"\n')
    with pytest.raises(ValueError, match="bad cron"):
        load_jobs(cfg)


def test_once_runs_every_crawl_and_reports_the_exit_codes(tmp_path: Path) -> None:
    servers = {o: serve(o) for o in ("brecorder", "orda")}
    archive = tmp_path / "archive"
    try:
        cfg = tmp_path / "schedule.toml"
        cfg.write_text("".join(
            f'[outlets.{o}]\ncron = "0 * * * *"\nargs = {{ base_url = "{srv.base_url}", backfill = "1" }}\n'
            f'settings = {{ ARCHIVE_URI = "{archive}", ARCHIVE_SPOOL_DIR = "{tmp_path / "spool"}", AUTOTHROTTLE_ENABLED = "0", '
            f'DOWNLOAD_DELAY = "0", EXTRACT_WORKERS = "1", DOWNLOAD_MAXSIZE = "300000" }}\n'
            for o, srv in servers.items()
        ))
        res = subprocess.run([sys.executable, "-m", "pipelines", "schedule", "--once", "--config", str(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        for srv in servers.values():
            srv.stop()
    assert res.returncode == 0, res.stderr[-2000:]
    assert "crawl brecorder exited 0: complete" in res.stderr and "crawl orda exited 0: complete" in res.stderr
    assert sorted(p.split("/")[2] for p in completed_runs(open_store(str(archive)))) == ["brecorder", "orda"]
