"""ops/kubernetes/cj-fulfillment.yaml: the scale-out shape (several web and worker
replicas, a migration Job, secrets from one Secret) with probes the app really serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "ops" / "kubernetes" / "cj-fulfillment.yaml"


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in documents}


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def test_the_objects(objects: dict[str, dict[str, Any]]) -> None:
    assert set(objects) == {
        "Job/cj-fulfillment-migrate",
        "Deployment/cj-fulfillment-web",
        "Service/cj-fulfillment-web",
        "Deployment/cj-fulfillment-worker",
    }


def test_several_replicas_of_each(objects: dict[str, dict[str, Any]]) -> None:
    assert objects["Deployment/cj-fulfillment-web"]["spec"]["replicas"] >= 2
    assert objects["Deployment/cj-fulfillment-worker"]["spec"]["replicas"] >= 2


@pytest.mark.parametrize(
    "name",
    [
        "Job/cj-fulfillment-migrate",
        "Deployment/cj-fulfillment-web",
        "Deployment/cj-fulfillment-worker",
    ],
)
def test_settings_come_from_one_secret_in_production_mode(
    objects: dict[str, dict[str, Any]], name: str
) -> None:
    container = _container(objects[name])
    assert container["envFrom"] == [{"secretRef": {"name": "cj-fulfillment"}}]
    assert _env(container)["ENVIRONMENT"] == "production"
    assert objects[name]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_web_probes_are_the_health_routes(objects: dict[str, dict[str, Any]]) -> None:
    web = _container(objects["Deployment/cj-fulfillment-web"])
    assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
    service = objects["Service/cj-fulfillment-web"]["spec"]
    assert (
        service["selector"]
        == objects["Deployment/cj-fulfillment-web"]["spec"]["selector"]["matchLabels"]
    )
    assert _env(web)["RUN_WORKER_IN_PROCESS"] == "false"


def test_the_worker_is_alive_only_while_it_beats(objects: dict[str, dict[str, Any]]) -> None:
    worker = _container(objects["Deployment/cj-fulfillment-worker"])
    assert worker["command"] == ["python", "-m", "app.workers"]
    probe = worker["livenessProbe"]["exec"]["command"]
    assert probe[:3] == ["python", "-m", "app.workers.liveness"]
    assert _env(worker)["WORKER_METRICS_PORT"] in probe[3]
    assert _env(worker)["WORKER_METRICS_HOST"] == "0.0.0.0"


def test_migrations_run_as_a_job(objects: dict[str, dict[str, Any]]) -> None:
    job = _container(objects["Job/cj-fulfillment-migrate"])
    assert job["command"] == ["alembic", "upgrade", "head"]
