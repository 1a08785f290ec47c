"""The Helm chart: `helm lint`, rendered with the value sets operators use, every manifest valid against the
Kubernetes API schemas (offline), and the wiring between them right."""
from __future__ import annotations

import json
import subprocess
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT
from tests.deploy.test_image import tool

CHART = ROOT / "deploy" / "helm" / "tollgate"
KUBERNETES = "1.31"
MASTER_KEY = "sk-" + "k" * 40
REQUIRED = {"secrets.masterKey": MASTER_KEY, "secrets.databaseUrl": "postgres://u:p@db:5432/tollgate",
            "secrets.redisUrl": "redis://redis:6379/0"}
EVERYTHING_ON = {**REQUIRED, "ingress.enabled": "true", "ingress.className": "nginx", "autoscaling.enabled": "true",
                 "serviceMonitor.enabled": "true"}
EXISTING_SECRET = {"secrets.existingSecret": "tollgate-keys", "existingConfigMap": "tollgate-config"}
# The ServiceMonitor is a custom resource: its schema is the CRD's openAPIV3Schema, bundled (see its $comment).
SERVICE_MONITOR_SCHEMA = ROOT / "tests" / "deploy" / "schemas" / "servicemonitor-v1.json"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("helm"), *args], capture_output=True, text=True, timeout=60)


def render(values: dict[str, str]) -> list[dict[str, Any]]:
    sets = [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]
    result = helm("template", "gw", str(CHART), "--namespace", "llm", *sets)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [doc for doc in by_kind(docs, kind) if doc["metadata"]["name"] == name]
    return doc


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container(deployment)["env"]}


def test_helm_lint_passes() -> None:
    sets = [arg for name, value in EVERYTHING_ON.items() for arg in ("--set", f"{name}={value}")]
    result = helm("lint", "--strict", str(CHART), *sets)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", [REQUIRED, EVERYTHING_ON, {**EVERYTHING_ON, **EXISTING_SECRET}],
                         ids=["defaults", "everything-on", "existing-secret"])
def test_every_manifest_is_valid_kubernetes(values: dict[str, str]) -> None:
    docs = render(values)
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":
            validate_custom_resource(doc)
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    assert {"Deployment", "Service", "Job"} <= {doc["kind"] for doc in docs}


@cache
def service_monitor_schema() -> dict[str, Any]:
    """The CRD's schema made strict as the API server's strict field validation is: an object that lists its
    properties and does not preserve unknown fields takes no others (a typo'd field would be pruned silently)."""
    def strict(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: strict(value) for key, value in node.items()}
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
        elif isinstance(node, list):
            node = [strict(item) for item in node]
        return node
    schema = strict(json.loads(SERVICE_MONITOR_SCHEMA.read_text()))
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta: checked by the Kubernetes schemas' rules
    return schema


def validate_custom_resource(doc: dict[str, Any]) -> None:
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    jsonschema.validate(doc, service_monitor_schema())


def test_the_service_monitor_check_is_a_real_gate() -> None:
    monitor = named(render(EVERYTHING_ON), "ServiceMonitor", "gw-tollgate")
    validate_custom_resource(monitor)
    for broken in ({"endpoints": [{"port": "http", "interval": 30}]},   # a duration must be a string
                   {"endpoints": [{"port": "http", "paht": "/metrics"}]}):  # an unknown field
        with pytest.raises(jsonschema.ValidationError):
            validate_custom_resource({**monitor, "spec": {**monitor["spec"], **broken}})


def test_the_schema_check_is_a_real_gate() -> None:
    deployment = named(render(REQUIRED), "Deployment", "gw-tollgate-web")
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_web_runs_three_probed_replicas_spread_and_protected() -> None:
    docs = render(EVERYTHING_ON | {"autoscaling.enabled": "false"})
    web = named(docs, "Deployment", "gw-tollgate-web")
    assert web["spec"]["replicas"] == 3
    spec = web["spec"]["template"]["spec"]
    main = container(web)
    assert main["args"] == ["web"]
    assert main["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert main["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    pause = int(main["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pause > 0 and spec["terminationGracePeriodSeconds"] > pause + 30, "the pause and the 30 s drain both fit"
    assert main["resources"]["requests"]["cpu"] and main["resources"]["limits"]["memory"]
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert env_of(web)["TOLLGATE_RUN_CELERY"] == "0", "web pods leave Celery to the worker Deployment"
    pods = web["spec"]["template"]["metadata"]["labels"]
    assert spec["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"].items() <= pods.items()
    pdb = named(docs, "PodDisruptionBudget", "gw-tollgate-web")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pods.items()
    service = named(docs, "Service", "gw-tollgate")
    assert service["spec"]["selector"].items() <= pods.items()
    assert service["spec"]["ports"][0]["targetPort"] == main["ports"][0]["name"] == "http"
    worker_pods = named(docs, "Deployment", "gw-tollgate-worker")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= worker_pods.items(), "the Service reaches web pods only"


def test_worker_and_a_single_beat() -> None:
    docs = render(REQUIRED)
    assert container(named(docs, "Deployment", "gw-tollgate-worker"))["args"] == ["worker"]
    beat = named(docs, "Deployment", "gw-tollgate-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert container(beat)["args"] == ["beat"]


def test_migration_job_runs_before_install_and_upgrade_and_fails_loudly() -> None:
    docs = render(REQUIRED)
    job = named(docs, "Job", "gw-tollgate-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert container(job)["args"] == ["migrate"] and env_of(job)["TOLLGATE_DB_WAIT_SECONDS"] == "60"
    # What it reads exists before it runs: hook copies of the Secret and ConfigMap, created at a lower weight.
    secret_ref = env_of(job)["DATABASE_URL"]["secretKeyRef"]["name"]
    hook_secret = named(docs, "Secret", secret_ref)
    hook_config = named(docs, "ConfigMap", job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"])
    for hooked in (hook_secret, hook_config):
        annotations = hooked["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(annotations["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])


def test_config_yaml_comes_from_a_configmap_and_keys_from_the_secret() -> None:
    docs = render(REQUIRED | {"config": "model_list: []\n"})
    web = named(docs, "Deployment", "gw-tollgate-web")
    config = named(docs, "ConfigMap", "gw-tollgate")
    assert yaml.safe_load(config["data"]["config.yaml"]) == {"model_list": []}
    assert web["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "gw-tollgate"
    secret = named(docs, "Secret", "gw-tollgate")
    assert secret["stringData"]["TOLLGATE_MASTER_KEY"] == MASTER_KEY
    assert len(secret["stringData"]["SECRET_KEY"]) >= 32, "one Django secret for every replica"
    for name in ("TOLLGATE_MASTER_KEY", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        assert env_of(web)[name]["secretKeyRef"] == {"name": "gw-tollgate", "key": name}


def test_an_existing_secret_and_configmap_are_used_and_nothing_is_rendered_for_them() -> None:
    docs = render({**EXISTING_SECRET, "extraEnv[0].name": "OPENAI_API_KEY",
                   "extraEnv[0].valueFrom.secretKeyRef.name": "provider-keys",
                   "extraEnv[0].valueFrom.secretKeyRef.key": "openai"})
    assert by_kind(docs, "Secret") == [] and by_kind(docs, "ConfigMap") == []
    for deployment in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        env = env_of(deployment)
        assert env["TOLLGATE_MASTER_KEY"]["secretKeyRef"]["name"] == "tollgate-keys"
        assert env["OPENAI_API_KEY"] == {"secretKeyRef": {"name": "provider-keys", "key": "openai"}}
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        assert volumes[0]["configMap"]["name"] == "tollgate-config"


def test_ingress_autoscaler_and_service_monitor() -> None:
    docs = render(EVERYTHING_ON)
    web = named(docs, "Deployment", "gw-tollgate-web")
    assert "replicas" not in web["spec"], "the autoscaler owns the replica count"
    hpa = named(docs, "HorizontalPodAutoscaler", "gw-tollgate-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gw-tollgate-web"}
    assert hpa["spec"]["minReplicas"] == 3
    ingress = named(docs, "Ingress", "gw-tollgate")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "gw-tollgate", "port": {"name": "http"}}
    monitor = named(docs, "ServiceMonitor", "gw-tollgate")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = named(docs, "Service", "gw-tollgate")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"] == {"name": "gw-tollgate", "key": "TOLLGATE_MASTER_KEY"}


@pytest.mark.parametrize("values, message", [
    ({}, "set secrets.masterKey"),
    ({**REQUIRED, "secrets.masterKey": "sk-1234"}, "at least 32 characters"),
    ({**REQUIRED, "secrets.redisUrl": ""}, "set secrets.redisUrl"),
    ({**REQUIRED, "secrets.redisUrl": "redis+cluster://redis-0:6379"}, "set secrets.celeryBrokerUrl"),
])
def test_rendering_refuses_a_missing_or_weak_secret(values: dict[str, str], message: str) -> None:
    sets = [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]
    result = helm("template", "gw", str(CHART), *sets)
    assert result.returncode != 0 and message in result.stderr


def test_a_redis_cluster_gets_celery_its_own_broker_from_the_secret() -> None:
    docs = render(REQUIRED | {"secrets.redisUrl": "redis+cluster://redis-0:6379",
                              "secrets.celeryBrokerUrl": "redis://broker:6379/0"})
    assert named(docs, "Secret", "gw-tollgate")["stringData"]["TOLLGATE_CELERY_BROKER_URL"] == "redis://broker:6379/0"
    for deployment in by_kind(docs, "Deployment"):
        assert env_of(deployment)["TOLLGATE_CELERY_BROKER_URL"]["secretKeyRef"] == {
            "name": "gw-tollgate", "key": "TOLLGATE_CELERY_BROKER_URL", "optional": True}
    assert "TOLLGATE_CELERY_BROKER_URL" not in named(render(REQUIRED), "Secret", "gw-tollgate")["stringData"]
