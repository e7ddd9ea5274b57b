"""compose.yaml, the production deployment: the services, their health checks, restart
policies and start order, secrets from .env, and no port but the API's on the host. Also
validated by `docker compose config` (or the older `docker-compose`) when installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
LONG_RUNNING = ("postgres", "redis", "web", "worker")
APP_SERVICES = ("migrate", "web", "worker")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _project(tmp_path: Path, extra_env: str) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE.read_text())
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text() + extra_env)
    return tmp_path


def test_the_services_a_production_start_needs(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "caddy"}
    assert services["caddy"]["profiles"] == ["tls"], "Caddy only when asked for"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_are_health_checked_and_restarted(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    assert service["restart"] == "unless-stopped"
    check = service["healthcheck"]
    assert check["test"]
    assert check["interval"]
    assert check["retries"] >= 1


def test_the_probes_are_the_ones_the_app_serves(services: dict[str, Any]) -> None:
    assert "/health/ready" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][1:4] == [
        "python",
        "-m",
        "app.workers.liveness",
    ]
    assert services["worker"]["command"] == ["python", "-m", "app.workers"]
    worker_env = services["worker"]["environment"]
    assert worker_env["WORKER_METRICS_HOST"] == "0.0.0.0"
    assert worker_env["WORKER_METRICS_PORT"] in services["worker"]["healthcheck"]["test"][4]


def test_migrations_run_once_before_the_app_starts(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_app_runs_in_production_mode_with_secrets_from_the_env_file(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    assert service["env_file"] == ".env"
    assert service["build"] == "."
    environment = service["environment"]
    assert environment["ENVIRONMENT"] == "production"
    assert environment["RUN_WORKER_IN_PROCESS"] == "false"
    assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    assert "${REDIS_PASSWORD:?" in environment["REDIS_URL"]


def test_only_the_api_publishes_a_port(services: dict[str, Any]) -> None:
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"web", "caddy"}
    assert services["web"]["ports"] == ["${API_BIND:-0.0.0.0}:${API_PORT:-8000}:8000"]
    assert all("expose" not in service for service in services.values())


def test_every_variable_compose_reads_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "API_BIND", "API_PORT", "PUBLIC_HOSTNAME"):
        assert f"\n{name}=" in example, name


def test_the_image_has_what_the_services_run() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY app ./app", "COPY migrations ./migrations", "alembic.ini", "USER app"):
        assert needed in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored), "no secrets or local venv in the image"


def test_compose_validates(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    project = _project(tmp_path, "POSTGRES_PASSWORD=0123abcd\nREDIS_PASSWORD=4567ef\n")
    result = subprocess.run(
        [*cli, "config", "-q"], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_passwords(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    project = _project(tmp_path, "")
    result = subprocess.run(
        [*cli, "config", "-q"], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr
