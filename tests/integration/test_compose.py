"""deploy/compose/compose.yaml without a Docker engine: the compose specification's schema (shipped
in check-jsonschema), the files it mounts, and the configurations of the services that can be run
here as processes (nginx -t with the very files the nginx container gets, promtool)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.support.nginx import binary
from tests.support.server import ROOT

COMPOSE = ROOT / "deploy" / "compose"
FROM_MONITORING = {ROOT / "deploy" / "prometheus", ROOT / "deploy" / "grafana"}  # the rules/dashboard work


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def _tool(name: str) -> str | None:
    return shutil.which(name, path=str(ROOT / ".venv" / "bin")) or shutil.which(name)


def test_the_file_follows_the_compose_specification():
    run = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                          str(COMPOSE / "compose.yaml")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_it_runs_the_whole_service(compose):
    assert {"nginx", "podium-1", "podium-2", "postgres", "redis", "jobs", "prometheus",
            "grafana"} <= set(compose["services"])
    one, two = compose["services"]["podium-1"], compose["services"]["podium-2"]
    assert one["volumes"] == two["volumes"], "both instances share the store and the instance folder"
    assert one["environment"]["PODIUM_DEMOS"] == "1"
    assert two["environment"]["PODIUM_DEMOS"] == "0"
    assert {"postgres", "redis"} <= set(two["depends_on"])
    assert compose["services"]["jobs"]["command"] == ["flask", "jobs", "worker"]


def _bind_sources(compose: dict):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                yield name, (COMPOSE / source).resolve()
    for secret in compose.get("secrets", {}).values():
        yield "secrets", (COMPOSE / secret["file"]).resolve()


def test_every_mounted_file_is_in_the_repository(compose):
    for service, path in _bind_sources(compose):
        if path.parent == COMPOSE / "secrets":
            continue  # made by the operator (see the file's header)
        if path in FROM_MONITORING and not path.exists():
            continue  # arrives with the alert rules and dashboard
        assert path.exists(), f"{service} mounts {path}, which is missing"


def _private_mounts() -> bool:
    """Whether this process may make a mount namespace (root, and not in a locked-down container)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(binary() is None or not _private_mounts(),
                    reason="needs nginx and a private /etc/hosts (unshare -m, as root)")
def test_the_nginx_container_configuration_passes_nginx_t(compose, tmp_path):
    """The container's /etc/nginx laid out in a folder; podium-1/-2 resolve via a private hosts file."""
    for volume in compose["services"]["nginx"]["volumes"]:
        source, target = volume.split(":")[:2]
        if target.startswith("/etc/nginx/"):
            destination = tmp_path / target.removeprefix("/etc/nginx/")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(COMPOSE / source, destination)
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{ include {tmp_path}/conf.d/*.conf; }}\n")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n10.0.0.1 podium-1\n10.0.0.2 podium-2\n")
    run = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind "{tmp_path}/hosts" /etc/hosts && '
                          f'exec "{binary()}" -t -p "{tmp_path}" -c "{main}"'],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "test is successful" in run.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_the_prometheus_configuration_is_valid():
    run = subprocess.run(["promtool", "check", "config", str(COMPOSE / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
