"""The Kubernetes recipe (deploy/k8s/) against Kubernetes' own schemas, offline: kubernetes-validate ships
them in its wheel. Strict mode refuses unknown fields, so a misspelt key fails here, not at `kubectl apply`.
Then what the recipe promises: two replicas, probes on /_stcore/health, requests sized from the bench,
cookie affinity and websocket timeouts on the Ingress, placeholders only in the Secret."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from admin_core.settings import PLACEHOLDER

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30"


def documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def by_kind(kind: str) -> dict:
    (document,) = [doc for _, doc in documents() if doc["kind"] == kind]
    return document


@pytest.mark.parametrize(
    ("name", "document"),
    documents(),
    ids=lambda value: getattr(value, "get", None) and value["kind"] or value,
)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(name, document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_misspelt_field():
    deployment = by_kind("Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_recipe_has_each_part():
    assert {doc["kind"] for _, doc in documents()} >= {
        "Deployment", "Service", "Ingress", "Secret", "PodDisruptionBudget", "ConfigMap"
    }  # fmt: skip


def test_two_replicas_probed_on_streamlits_health_with_requests_from_the_bench():
    spec = by_kind("Deployment")["spec"]
    assert spec["replicas"] == 2
    (container,) = spec["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health", probe
    requests = container["resources"]["requests"]
    assert requests["memory"] == "320Mi"  # above the ~233 MiB `make bench` measured for 20 sessions
    assert by_kind("PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_the_ingress_pins_a_browser_by_cookie_and_keeps_websockets_open():
    annotations = by_kind("Ingress")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "affinity"] == "cookie"
    assert int(annotations[prefix + "proxy-read-timeout"]) > 30  # Streamlit pings every 30 s
    assert by_kind("ConfigMap")["data"]["Content-Security-Policy"].startswith("frame-ancestors")


def test_the_secret_holds_placeholders_only():
    values = by_kind("Secret")["stringData"]
    assert {
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "STREAMLIT_SERVER_COOKIE_SECRET",
    } <= set(values)
    for name in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "STREAMLIT_SERVER_COOKIE_SECRET"):
        first = values[name].split(".")[0]
        assert PLACEHOLDER.fullmatch(first) or PLACEHOLDER.fullmatch(values[name]), (name, values[name])
