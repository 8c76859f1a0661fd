"""The Kubernetes manifests in deploy/kubernetes: schema-valid offline and as promised.

Schema validation uses `kubernetes-validate` (a dev dependency that bundles the
JSON schemas of each Kubernetes release, so it needs no cluster and no network)
against the version the README names. The other tests read the YAML and check the
properties the README and the Dockerfile rely on: probe paths, a non-root user
matching the image's UID, a read-only root filesystem, two replicas, and a grace
period long enough for the preStop delay plus the service's own shutdown.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from liveserver import ROOT

yaml = pytest.importorskip("yaml")

KUBERNETES_VERSION = "1.30"
MANIFESTS = ROOT / "deploy" / "kubernetes"
IMAGE_UID = 10001


def _load_all(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def _kustomization() -> dict[str, Any]:
    return _load_all(MANIFESTS / "kustomization.yaml")[0]


def _resources() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name in _kustomization()["resources"]:
        out.extend((name, doc) for doc in _load_all(MANIFESTS / name))
    return out


def _one(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in _resources() if doc["kind"] == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def _container() -> dict[str, Any]:
    containers = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_kustomization_lists_every_manifest() -> None:
    listed = set(_kustomization()["resources"])
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    kinds = sorted(doc["kind"] for _, doc in _resources())
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]


@pytest.mark.parametrize("name", ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"])
def test_manifest_validates_offline_against_kubernetes_schema(name: str) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    docs = _load_all(MANIFESTS / name)
    assert docs, f"{name} is empty"
    for doc in docs:
        # strict: unknown fields (typos such as `readinessprobe`) are errors too;
        # a missing schema (wrong apiVersion for this release) raises as well.
        validated = kv.validate(doc, KUBERNETES_VERSION, strict=True)
        assert validated == KUBERNETES_VERSION


def test_deployment_replicas_and_probes() -> None:
    deployment = _one("Deployment")
    assert deployment["spec"]["replicas"] == 2
    container = _container()
    port = container["ports"][0]
    assert port["containerPort"] == 8000
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in (port["name"], 8000)


def test_pod_runs_non_root_with_read_only_root_filesystem() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    container = _container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    ctx = container["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert ctx.get("runAsUser", IMAGE_UID) == IMAGE_UID
    # the only writable path is an emptyDir at /tmp
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_image_and_manifests_agree_on_uid_and_port() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(rf"ARG APP_UID={IMAGE_UID}\b", dockerfile)
    assert re.search(r"^EXPOSE 8000\b", dockerfile, re.MULTILINE)


def test_grace_period_covers_prestop_and_shutdown() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    container = _container()
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    shutdown = float(_env(container)["FORECAST_SHUTDOWN_SECONDS"])
    grace = pod["terminationGracePeriodSeconds"]
    assert pre_stop > 0
    assert grace >= pre_stop + shutdown, (grace, pre_stop, shutdown)


def test_resources_requests_and_memory_limit() -> None:
    resources = _container()["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]

    def mib(quantity: str) -> float:
        units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
        for suffix, factor in units.items():
            if quantity.endswith(suffix):
                return float(quantity[: -len(suffix)]) * factor
        return float(quantity) / (1 << 20)

    assert mib(resources["requests"]["memory"]) <= mib(resources["limits"]["memory"])


def test_api_keys_secret_is_optional() -> None:
    # The keys come from an optional Secret: without it the pods still start (open).
    # FORECAST_API_KEYS_FILE must not point into an optional mount: the service
    # refuses to start when that file is missing.
    env = {e["name"]: e for e in _container()["env"]}
    ref = env["FORECAST_API_KEYS"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True
    assert ref["name"] and ref["key"]
    assert "FORECAST_API_KEYS_FILE" not in env


def test_service_hpa_and_pdb_target_the_deployment() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = _one("Service")
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] in ("http", 8000)
    hpa = _one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    pdb = _one("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
