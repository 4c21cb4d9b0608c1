"""docker-compose.yml, validated offline (no Docker engine here): the compose-spec JSON schema that
check-jsonschema ships, and every service, volume, network, env file and build context it names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_file_matches_the_compose_spec_schema() -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    res = subprocess.run([str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_everything_the_compose_file_references_exists() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    volumes = set(spec.get("volumes") or {})
    networks = set(spec.get("networks") or {}) | {"default"}
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep in deps if isinstance(deps, (dict, list)) else []:
            assert dep in services, f"{name} depends on unknown service {dep}"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0] if isinstance(vol, str) else vol.get("source")
            if source and not source.startswith((".", "/", "~")):
                assert source in volumes, f"{name} uses undeclared volume {source}"
            elif source and source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        for net in svc.get("networks", []):
            assert net in networks, f"{name} uses undeclared network {net}"
        env_files = svc.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            assert (ROOT / env_file).exists(), f"{name} reads missing env file {env_file}"
        if "build" in svc:
            context = ROOT / (svc["build"] if isinstance(svc["build"], str) else svc["build"].get("context", "."))
            assert (context / "Dockerfile").exists()
            for line in (context / "Dockerfile").read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (context / src).exists(), f"Dockerfile copies missing {src}"
        if "image" in svc:
            assert ":" in svc["image"] and not svc["image"].endswith(":latest"), f"{name}: pin the image tag"
        assert "restart" in svc, f"{name} has no restart policy"
    for name in ("minio", "redis", "scheduler", "worker"):
        assert "healthcheck" in services[name]
    assert "container_name" not in services["worker"] and not services["worker"].get("ports"), "workers scale (--scale worker=N)"
    assert services["worker"]["environment"]["SCHEDULER_URI"].startswith("redis://redis:")
    scheduled = services["scheduler"]["command"]
    assert (ROOT / scheduled[-1].removeprefix("/app/")).exists(), "the scheduler's config is in the image"
