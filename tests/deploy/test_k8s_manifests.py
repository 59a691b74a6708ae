"""deploy/k8s (runtime mode 3), validated offline: no cluster, no network.

The base and every overlay are rendered with `kubectl kustomize`; every rendered resource is validated
against the Kubernetes JSON schemas that the `kubernetes-validate` package ships (strict: unknown fields
fail), then checked for the conventions of deploy/k8s/README.md. Without kubectl, rendering is skipped (with
the reason) and the resource files each kustomization lists are validated and checked one by one instead.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import msgspec
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from headwater.common.messaging.topics import all_topics
from headwater.devstack.stack import SERVICES, ServiceSpec, StackConfig
from headwater.gateway.settings import Settings as GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZATIONS = [BASE, *OVERLAYS]
# A schema set kubernetes-validate ships (kubernetes-json-schema/v1.33.0-local-strict), checked below.
K8S_VERSION = "1.33.0"
KUBECTL = shutil.which("kubectl")
NO_KUBECTL = "kubectl not found: cannot render with kustomize; the raw files are validated one by one instead"

HTTP_PORTS = {
    "execution-tracking": 8081,
    "quality-alerting": 8082,
    "scheduler": 8083,
    "ingestion": 8084,
    "gateway": 8080,
}
# The internal HTTP APIs the gateway forwards to, and the services with a `worker` process.
INTERNAL_APIS = [s for s in SERVICES if "serve" in s.roles and s.name != "gateway"]
WORKERS = [s for s in SERVICES if "worker" in s.roles]
# Ranges a webhook call must never reach: cluster and private networks, CGNAT, link-local (cloud metadata).
NON_PUBLIC_IPV4 = {"10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"}
SECRET_NAME = re.compile(
    r"PASSWORD|SECRET|TOKEN|CREDENTIAL|DATABASE_URL|DSN|API_KEY|SIGNING_KEY", re.IGNORECASE
)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/@\s:]+:[^@\s/]+@", re.IGNORECASE)
PHASE = "headwater.dev/phase"
# The gateway's identity settings and where they come from (names shared with docker-compose.yml).
GATEWAY_DB = {"name": "headwater-gateway-db", "key": "database-url"}
GATEWAY_SIGNING_KEY = {"name": "headwater-gateway-signing-key", "key": "signing-key"}
INTERNAL_SIGNING_KEY = {"name": "headwater-internal-signing-key", "key": "signing-key"}
# The bootstrap superuser, read by `python -m headwater.gateway bootstrap`: env → (key of the Secret, required).
GATEWAY_ADMIN_SECRET = "headwater-gateway-admin"
GATEWAY_ADMIN = {
    "HEADWATER_ADMIN_USERNAME": ("username", False),
    "HEADWATER_ADMIN_EMAIL": ("email", False),
    # Required: without it bootstrap prints a generated password into the pod's log.
    "HEADWATER_ADMIN_PASSWORD": ("password", True),
    "HEADWATER_BOOTSTRAP_TOKEN": ("bootstrap-token", False),
}


# -- loading ------------------------------------------------------------------------------------------------------


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def raw_resource_files(kustomization_dir: Path) -> list[Path]:
    """The resource files a kustomization lists, following directories into their own kustomizations."""
    kustomization = yaml.safe_load((kustomization_dir / "kustomization.yaml").read_text())
    files: list[Path] = []
    for entry in kustomization.get("resources", []):
        path = (kustomization_dir / entry).resolve()
        files.extend(raw_resource_files(path) if path.is_dir() else [path])
    return files


@functools.cache
def render(kustomization_dir: Path) -> tuple[dict[str, Any], ...]:
    """Rendered by `kubectl kustomize` when kubectl exists, else the raw resource files (no transformations)."""
    if KUBECTL:
        result = subprocess.run(
            [KUBECTL, "kustomize", str(kustomization_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"kubectl kustomize {kustomization_dir} failed:\n{result.stderr}"
        return tuple(_docs(result.stdout))
    return tuple(d for f in raw_resource_files(kustomization_dir) for d in _docs(f.read_text()))


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def workloads(docs: tuple[dict[str, Any], ...]) -> Iterator[dict[str, Any]]:
    yield from (d for d in docs if d["kind"] in ("Deployment", "Job"))


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def all_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    """Init containers (in order) and then the containers of the pod template."""
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def headwater_service(image: str) -> str | None:
    """`headwater/gateway:tag` → `gateway`; None for any other image."""
    repo = image.rsplit("@", 1)[0]
    repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    return repo.split("/", 1)[1] if repo.startswith("headwater/") else None


def labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are used: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def kustomization_ids() -> list[str]:
    return [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS]


@pytest.fixture(params=KUSTOMIZATIONS, ids=kustomization_ids())
def docs(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return render(request.param)


# -- rendering and schema validation --------------------------------------------------------------------------


def test_the_kubernetes_version_is_shipped_offline() -> None:
    assert K8S_VERSION in all_versions(), f"kubernetes-validate ships {all_versions()}"


def test_strict_validation_rejects_unknown_fields() -> None:
    """Guards the guard: a misspelt field must fail, or every validation below proves nothing."""
    deployment = by_name(render(BASE), "Deployment", "gateway")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = broken["spec"]["template"]["spec"][
        "containers"
    ][0].pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=kustomization_ids())
def test_kubectl_kustomize_renders(kustomization: Path) -> None:
    if not KUBECTL:
        pytest.skip(NO_KUBECTL)
    assert render(kustomization), f"{kustomization} renders nothing"


def test_every_rendered_resource_validates(docs: tuple[dict[str, Any], ...]) -> None:
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{where} does not validate against Kubernetes {K8S_VERSION}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(f"{where}: {exc.message}")


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=kustomization_ids())
def test_raw_files_validate_one_by_one(kustomization: Path) -> None:
    """What CI falls back to without kubectl; run always, so that the fallback itself is known to work."""
    files = raw_resource_files(kustomization)
    assert files
    for path in files:
        for doc in _docs(path.read_text()):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


# -- workloads --------------------------------------------------------------------------------------------------


def test_every_deployment_has_startup_readiness_and_liveness_probes(docs: tuple[dict[str, Any], ...]) -> None:
    assert of_kind(docs, "Deployment")
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        for container in containers(deployment):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{name}/{container['name']}: no {probe}"


def test_every_workload_has_resources_and_a_restricted_security_context(
    docs: tuple[dict[str, Any], ...],
) -> None:
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{name}: runAsNonRoot"
        assert isinstance(pod["securityContext"].get("runAsUser"), int), f"{name}: a numeric runAsUser"
        assert pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, f"{name}: no API token needed"
        for container in all_containers(workload):
            where = f"{name}/{container['name']}"
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    f"{where}: {bound} of cpu and memory"
                )
            ctx = container.get("securityContext", {})
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where


def test_every_http_deployment_has_a_service(docs: tuple[dict[str, Any], ...]) -> None:
    services = of_kind(docs, "Service")
    for deployment in of_kind(docs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        ports = [p for c in containers(deployment) for p in c.get("ports", []) if p.get("name") == "http"]
        if not ports:
            continue
        matching = [s for s in services if labels_match({"matchLabels": s["spec"]["selector"]}, labels)]
        name = deployment["metadata"]["name"]
        assert matching, f"HTTP Deployment {name} has no Service"
        for service in matching:
            for sp in service["spec"]["ports"]:
                assert any(sp["targetPort"] in (p.get("name"), p["containerPort"]) for p in ports), (
                    f"Service {service['metadata']['name']} targets {sp['targetPort']}, not a port of {name}"
                )
        for container in containers(deployment):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert "httpGet" in container[probe], f"{name}: HTTP processes are probed over HTTP"
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name


def test_each_service_process_and_migration_exists(docs: tuple[dict[str, Any], ...]) -> None:
    """Per ServiceSpec: a Deployment per process role, and a migration Job if it owns a schema."""
    for spec in SERVICES:
        image = f"headwater/{spec.name}"
        for role in spec.roles:
            name = spec.name if role == "serve" else f"{spec.name}-{role}"
            (container,) = containers(by_name(docs, "Deployment", name))
            assert headwater_service(container["image"]) == spec.name, f"{name} runs {container['image']}"
            assert container.get("args") == [role], f"{name} must run `{role}`"
            assert "command" not in container, f"{name}: the image's ENTRYPOINT runs the module"
        migrations = [
            j
            for j in of_kind(docs, "Job")
            if any(
                headwater_service(c["image"]) == spec.name and c.get("args") == ["migrate"]
                for c in all_containers(j)
            )
        ]
        if spec.schema is None:
            assert not migrations, f"{spec.name} owns no schema but has a migration Job"
            continue
        assert [j["metadata"]["name"] for j in migrations] == [f"{spec.name}-migrate"], image
        job = migrations[0]
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
        # Nothing waits on the Job synchronously: no init containers in the Deployments.
        for deployment in of_kind(docs, "Deployment"):
            assert not deployment["spec"]["template"]["spec"].get("initContainers")


def test_processes_get_the_shared_config_and_their_own_settings(docs: tuple[dict[str, Any], ...]) -> None:
    config = by_name(docs, "ConfigMap", "headwater-config")["data"]
    for key in (
        "KAFKA_BOOTSTRAP_SERVERS",
        "TOPIC_PREFIX",
        "LOG_LEVEL",
        "LOG_JSON",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "ENVIRONMENT",
    ):
        assert f"HEADWATER_{key}" in config, key
    for workload in workloads(docs):
        for container in all_containers(workload):
            service = headwater_service(container["image"])
            refs = [e.get("configMapRef", {}).get("name") for e in container.get("envFrom", [])]
            assert "headwater-config" in refs, f"{workload['metadata']['name']}: envFrom headwater-config"
            if service is None or container.get("args") != ["serve"]:
                continue
            prefix = "HEADWATER_" + service.upper().replace("-", "_") + "_"
            env = env_of(container)
            assert env[prefix + "HTTP_HOST"]["value"] == "0.0.0.0"
            assert int(env[prefix + "HTTP_PORT"]["value"]) == HTTP_PORTS[service]
            assert [p["containerPort"] for p in container["ports"]] == [HTTP_PORTS[service]]


@pytest.mark.parametrize("spec", INTERNAL_APIS, ids=lambda s: s.name)
def test_gateway_reaches_each_internal_api_through_its_service(
    docs: tuple[dict[str, Any], ...], spec: ServiceSpec
) -> None:
    gateway = env_of(containers(by_name(docs, "Deployment", "gateway"))[0])
    key = "HEADWATER_GATEWAY_" + spec.name.upper().replace("-", "_") + "_URL"
    assert key in gateway, f"gateway: {key} missing (it would call 127.0.0.1 inside its own pod)"
    service = by_name(docs, "Service", spec.name)
    (port,) = service["spec"]["ports"]
    assert port["port"] == HTTP_PORTS[spec.name]
    assert gateway[key]["value"] == f"http://{spec.name}:{port['port']}"
    api = by_name(docs, "Deployment", spec.name)
    assert labels_match(
        {"matchLabels": service["spec"]["selector"]}, api["spec"]["template"]["metadata"]["labels"]
    )


def test_database_urls_come_from_the_services_secret(docs: tuple[dict[str, Any], ...]) -> None:
    for workload in workloads(docs):
        for container in all_containers(workload):
            service = headwater_service(container["image"])
            spec = next((s for s in SERVICES if s.name == service), None)
            key = "HEADWATER_" + (service or "").upper().replace("-", "_") + "_DATABASE_URL"
            env = env_of(container)
            if spec is None or spec.schema is None:
                assert not any(k.endswith("DATABASE_URL") for k in env), workload["metadata"]["name"]
                continue
            ref = env[key]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"headwater-{spec.name}-db", "key": "database-url"}, ref


# -- the gateway's identity: its schema, the bootstrap superuser, the signing key, CORS ---------------------------


def test_gateway_job_migrates_then_bootstraps(docs: tuple[dict[str, Any], ...]) -> None:
    """One Job: `migrate` is the init container, so `bootstrap` starts only once the schema is at head."""
    job = by_name(docs, "Job", "gateway-migrate")
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration", "README's `kubectl wait`"
    pod = job["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    (bootstrap,) = pod["containers"]
    assert (headwater_service(migrate["image"]), migrate.get("args")) == ("gateway", ["migrate"])
    assert (headwater_service(bootstrap["image"]), bootstrap.get("args")) == ("gateway", ["bootstrap"])
    assert migrate["image"] == bootstrap["image"], "both steps run the same build"
    for step in (migrate, bootstrap):
        assert "command" not in step, "the image's ENTRYPOINT runs the module"
    assert migrate["resources"] == bootstrap["resources"], "overlays size both steps alike"
    for container in (migrate, bootstrap):
        env = env_of(container)
        assert env["HEADWATER_GATEWAY_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == GATEWAY_DB


def test_only_the_bootstrap_step_reads_the_admin_secret(docs: tuple[dict[str, Any], ...]) -> None:
    bootstraps = 0
    for workload in workloads(docs):
        for container in all_containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            env = env_of(container)
            refs = [
                e["valueFrom"]["secretKeyRef"]
                for e in env.values()
                if "secretKeyRef" in e.get("valueFrom", {})
            ]
            if (headwater_service(container["image"]), container.get("args")) != ("gateway", ["bootstrap"]):
                assert not set(GATEWAY_ADMIN) & set(env), (
                    f"{where}: the admin's settings are bootstrap's only"
                )
                assert not [r for r in refs if r["name"] == GATEWAY_ADMIN_SECRET], where
                continue
            bootstraps += 1
            for var, (key, required) in GATEWAY_ADMIN.items():
                ref = env[var]["valueFrom"]["secretKeyRef"]
                assert (ref["name"], ref["key"]) == (GATEWAY_ADMIN_SECRET, key), f"{where}: {var}"
                assert ref.get("optional", False) is not required, f"{where}: {var} optional={not required}"
    assert bootstraps == 1


def test_signing_key_reaches_the_commands_requiring_it_and_no_other(docs: tuple[dict[str, Any], ...]) -> None:
    """`serve` and `bootstrap` refuse to start without it; `migrate` and every other service do without."""
    commands = []
    for workload in workloads(docs):
        for container in all_containers(workload):
            env = env_of(container)
            holds = [k for k in env if k.endswith("SIGNING_KEY") and k != "HEADWATER_INTERNAL_SIGNING_KEY"]
            if not holds:
                continue
            assert headwater_service(container["image"]) == "gateway", workload["metadata"]["name"]
            assert holds == ["HEADWATER_GATEWAY_SIGNING_KEY"]
            assert env["HEADWATER_GATEWAY_SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == GATEWAY_SIGNING_KEY
            commands.append(container["args"])
    assert sorted(commands) == [["bootstrap"], ["serve"]]


def test_the_internal_key_reaches_every_serving_pod_and_no_other(docs: tuple[dict[str, Any], ...]) -> None:
    """The gateway signs principals with it, the internal APIs verify them with it (and refuse to serve
    without it); migrations, bootstrap and workers call no internal API."""
    holders = []
    for workload in workloads(docs):
        for container in all_containers(workload):
            entry = env_of(container).get("HEADWATER_INTERNAL_SIGNING_KEY")
            if entry is None:
                continue
            assert entry["valueFrom"]["secretKeyRef"] == INTERNAL_SIGNING_KEY, workload["metadata"]["name"]
            holders.append((headwater_service(container["image"]), container.get("args")))
    assert sorted(holders, key=str) == sorted(
        ((s.name, ["serve"]) for s in SERVICES if "serve" in s.roles), key=str
    )


def test_gateway_env_names_are_settings_the_gateway_reads(docs: tuple[dict[str, Any], ...]) -> None:
    """HEADWATER_GATEWAY_<FIELD>, else HEADWATER_<FIELD> (headwater.common.settings): a typo is never read."""
    fields = {f.name.upper() for f in msgspec.structs.fields(GatewaySettings)}
    for workload in workloads(docs):
        for container in all_containers(workload):
            if headwater_service(container["image"]) != "gateway":
                continue
            for name in env_of(container):
                field = name.removeprefix("HEADWATER_GATEWAY_").removeprefix("HEADWATER_")
                assert field in fields, f"{workload['metadata']['name']}: the gateway reads no {name}"


def _cors_origins(docs: tuple[dict[str, Any], ...]) -> list[str]:
    (container,) = containers(by_name(docs, "Deployment", "gateway"))
    return env_of(container)["HEADWATER_GATEWAY_CORS_ALLOW_ORIGINS"]["value"].split(",")


def test_gateway_cors_allow_list_names_origins(docs: tuple[dict[str, Any], ...]) -> None:
    origins = _cors_origins(docs)
    assert origins, "an allow-list, set explicitly"
    for origin in origins:
        url = urlsplit(origin)
        assert url.scheme in ("http", "https"), origin
        assert url.hostname, origin
        assert origin == f"{url.scheme}://{url.netloc}", (
            f"an origin has no path, query or trailing slash: {origin}"
        )
        assert "*" not in origin, "browsers send no credentials to a wildcard origin"


def test_base_allows_https_origins_only() -> None:
    assert all(urlsplit(o).scheme == "https" for o in _cors_origins(render(BASE)))


@pytest.mark.parametrize("spec", WORKERS, ids=lambda s: s.name)
def test_worker_probe_is_the_compose_healthcheck(docs: tuple[dict[str, Any], ...], spec: ServiceSpec) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    expected = compose["services"][f"{spec.name}-worker"]["healthcheck"]["test"][1:]
    assert f"b'{spec.module}'" in expected[-1], f"{spec.name}-worker: the check must name its own module"
    (container,) = containers(by_name(docs, "Deployment", f"{spec.name}-worker"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"] == expected, probe


@pytest.mark.parametrize("spec", WORKERS, ids=lambda s: s.name)
def test_worker_exposes_its_metrics_port(docs: tuple[dict[str, Any], ...], spec: ServiceSpec) -> None:
    """The port `make up` gives the worker's Prometheus endpoint, bound to all interfaces in the pod."""
    expected = getattr(StackConfig(state_dir=Path(".")), spec.name.replace("-", "_") + "_metrics_port")
    (container,) = containers(by_name(docs, "Deployment", f"{spec.name}-worker"))
    prefix = "HEADWATER_" + spec.name.upper().replace("-", "_") + "_"
    env = env_of(container)
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("metrics", expected)]
    assert env[prefix + "WORKER_METRICS_PORT"]["value"] == str(expected)
    assert env[prefix + "WORKER_METRICS_HOST"]["value"] == "0.0.0.0"


# -- no secrets in the manifests --------------------------------------------------------------------------------


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def test_no_plain_secret_values(docs: tuple[dict[str, Any], ...]) -> None:
    assert not of_kind(docs, "Secret"), "Secrets are created out of band, never shipped in the manifests"
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for text in _strings(doc):
            assert not URL_WITH_PASSWORD.search(text), f"{where}: a URL with a password"
        if doc["kind"] == "ConfigMap":
            for key in doc.get("data", {}):
                assert not SECRET_NAME.search(key), f"{where}: {key} belongs in a Secret"
    for workload in workloads(docs):
        for container in all_containers(workload):
            for name, entry in env_of(container).items():
                if SECRET_NAME.search(name):
                    assert "value" not in entry, f"{workload['metadata']['name']}: {name} has a plain value"
                    assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name} must come from a Secret"


def test_example_secrets_match_what_the_base_references() -> None:
    """A database Secret per schema-owning service, the gateway's; together exactly the keys the base reads."""
    examples = sorted((K8S / "examples").glob("secret-*-db.yaml"))
    assert [p.name for p in examples] == sorted(f"secret-{s.name}-db.yaml" for s in SERVICES if s.schema)
    for path in examples:
        (secret,) = _docs(path.read_text())
        spec = next(s for s in SERVICES if path.name == f"secret-{s.name}-db.yaml")
        assert secret["metadata"]["name"] == f"headwater-{spec.name}-db", path.name
        url = urlsplit(secret["stringData"]["database-url"])
        assert (url.scheme, url.username, url.path) == ("postgresql", spec.schema, "/headwater"), path.name
    provided: set[tuple[str, str]] = set()
    for path in sorted((K8S / "examples").glob("secret-*.yaml")):
        (secret,) = _docs(path.read_text())
        kubernetes_validate.validate(secret, K8S_VERSION, strict=True)
        provided |= {(secret["metadata"]["name"], key) for key in secret["stringData"]}
    referenced = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for w in workloads(render(BASE))
        for c in all_containers(w)
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert referenced == provided
    for example in (K8S / "examples").glob("*.yaml"):
        assert _docs(example.read_text()), f"{example.name} parses to nothing"
    for kustomization in KUSTOMIZATIONS:
        assert not any("examples" in p.parts for p in raw_resource_files(kustomization)), (
            "examples are not deployed"
        )


def test_cloudnativepg_example_provisions_every_schema_owning_service() -> None:
    docs = _docs((K8S / "examples" / "cloudnativepg-cluster.yaml").read_text())
    (cluster,) = [d for d in docs if d["kind"] == "Cluster"]
    sql = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    managed = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    for spec in SERVICES:
        if spec.schema is None:
            continue
        role = spec.schema
        assert f"CREATE ROLE {role} NOLOGIN" in sql, role
        assert f"CREATE SCHEMA {role} AUTHORIZATION {role}" in sql, role
        assert f"REVOKE ALL ON SCHEMA {role} FROM PUBLIC" in sql, role
        assert managed[role]["login"] is True, role
        secret = secrets[managed[role]["passwordSecret"]["name"]]
        assert secret["stringData"]["username"] == role


# -- autoscaling, disruption budgets, network policies ---------------------------------------------------------


def test_gateway_has_an_autoscaler_and_a_disruption_budget() -> None:
    docs = render(BASE)
    gateway = by_name(docs, "Deployment", "gateway")
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    hpa = by_name(docs, "HorizontalPodAutoscaler", "gateway")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert "replicas" not in gateway["spec"], "replicas are the autoscaler's"
    pdbs = [p for p in of_kind(docs, "PodDisruptionBudget") if labels_match(p["spec"]["selector"], labels)]
    assert len(pdbs) == 1, "one PodDisruptionBudget for the gateway"
    for hpa_doc in of_kind(docs, "HorizontalPodAutoscaler"):
        by_name(docs, "Deployment", hpa_doc["spec"]["scaleTargetRef"]["name"])


def test_autoscalers_own_their_replicas() -> None:
    docs = render(BASE)
    targets = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in of_kind(docs, "HorizontalPodAutoscaler")
    }
    # quality-alerting's and ingestion's APIs scale with request load like the gateway; execution-tracking's and
    # ingestion's workers with what they consume.
    assert set(targets) == {
        "gateway",
        "execution-tracking-worker",
        "quality-alerting",
        "ingestion",
        "ingestion-worker",
    }
    for name, hpa in targets.items():
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"], name
        assert "replicas" not in by_name(docs, "Deployment", name)["spec"], f"{name}: replicas are the HPA's"


def test_every_deployment_of_several_replicas_has_one_disruption_budget() -> None:
    docs = render(BASE)
    autoscaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")}
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs if labels_match(p["spec"]["selector"], labels)]
        assert len(matching) <= 1, f"{name}: several PodDisruptionBudgets"
        if name in autoscaled or deployment["spec"].get("replicas", 1) >= 2:
            assert matching, f"{name} runs several replicas but has no PodDisruptionBudget"
        for pdb in matching:
            # maxUnavailable, never minAvailable: a single-replica overlay must still be drainable.
            assert pdb["spec"].get("maxUnavailable") == 1, name
            assert "minAvailable" not in pdb["spec"], name


def test_scheduler_worker_runs_two_replicas_through_disruptions() -> None:
    """Row leases make concurrent schedule loops safe; two keep triggers firing through a drain or a rollout."""
    docs = render(BASE)
    worker = by_name(docs, "Deployment", "scheduler-worker")
    assert worker["spec"]["replicas"] == 2
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert not [h for h in of_kind(docs, "HorizontalPodAutoscaler") if "scheduler" in h["metadata"]["name"]]
    labels = worker["spec"]["template"]["metadata"]["labels"]
    (pdb,) = [p for p in of_kind(docs, "PodDisruptionBudget") if labels_match(p["spec"]["selector"], labels)]
    assert pdb["metadata"]["name"] == "scheduler-worker"


def test_only_the_gateway_is_reachable_from_outside(docs: tuple[dict[str, Any], ...]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    gateway_labels = by_name(docs, "Deployment", "gateway")["spec"]["template"]["metadata"]["labels"]
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels.get("app.kubernetes.io/part-of") == "headwater" or not KUBECTL, f"{name}: part-of label"
        selecting = [
            p
            for p in policies
            if "Ingress" in p["spec"].get("policyTypes", [])
            and labels_match(p["spec"]["podSelector"], labels)
        ]
        if KUBECTL:
            assert selecting, f"{name}: no NetworkPolicy isolates it"
        rules = [r for p in selecting for r in p["spec"].get("ingress", [])]
        if name == "gateway":
            assert any(not r.get("from") for r in rules), "the gateway accepts traffic from anywhere"
            continue
        for rule in rules:
            peers = rule.get("from")
            assert peers, f"{name} is open to every source"
            for peer in peers:
                assert set(peer) == {"podSelector"}, f"{name}: only pods of this namespace may reach it"
                assert labels_match(peer["podSelector"], gateway_labels), (
                    f"{name}: reachable from non-gateway pods"
                )
                assert peer["podSelector"]["matchLabels"], f"{name}: reachable from every pod"
        if workload["kind"] == "Job" or not any(c.get("ports") for c in containers(workload)):
            assert not rules, f"{name} listens on nothing and must accept nothing"


def _egress_rules(docs: tuple[dict[str, Any], ...], labels: dict[str, str]) -> list[dict[str, Any]] | None:
    """The egress rules that apply to pods with `labels`; None when no policy restricts their egress."""
    selecting = [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if "Egress" in p["spec"].get("policyTypes", []) and labels_match(p["spec"]["podSelector"], labels)
    ]
    return [r for p in selecting for r in p["spec"].get("egress", [])] if selecting else None


def _ports(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]}


def test_quality_alerting_egress_allows_its_dependencies_and_public_https_only(
    docs: tuple[dict[str, Any], ...],
) -> None:
    """The only service calling user-given addresses (webhook URLs) is pinned; the others are not restricted."""
    kafka_port = int(
        by_name(docs, "ConfigMap", "headwater-config")["data"]["HEADWATER_KAFKA_BOOTSTRAP_SERVERS"].rsplit(
            ":", 1
        )[1]
    )
    postgres_port = urlsplit(
        _docs((K8S / "examples" / "secret-quality-alerting-db.yaml").read_text())[0]["stringData"][
            "database-url"
        ]
    ).port
    seen = set()
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        rules = _egress_rules(docs, labels)
        if labels.get("app.kubernetes.io/name") != "quality-alerting":
            assert rules is None, f"{name}: egress restricted, but the README documents it as open"
            continue
        assert rules is not None, f"{name}: quality-alerting's egress must be restricted"
        seen.add(labels["app.kubernetes.io/component"])
        for rule in rules:
            assert rule.get("ports"), f"{name}: an egress rule open on every port"
        anywhere = set().union(*(_ports(r) for r in rules if not r.get("to")))
        assert {("UDP", 53), ("TCP", 53), ("TCP", postgres_port)} <= anywhere, f"{name}: DNS and Postgres"
        if workload["kind"] == "Deployment":
            # The API and the worker read consumer-group offsets (queue monitoring); the worker also consumes.
            assert ("TCP", kafka_port) in anywhere, f"{name}: Kafka"
        assert ("TCP", 443) not in anywhere, f"{name}: HTTPS must not reach private addresses"
        https = [r for r in rules if ("TCP", 443) in _ports(r)]
        if labels["app.kubernetes.io/component"] != "worker":
            assert not https, f"{name}: only the worker delivers notifications"
            continue
        assert https, f"{name}: notifications need HTTPS to the internet"
        for rule in https:
            assert _ports(rule) == {("TCP", 443)}
            for peer in rule["to"]:
                assert set(peer) == {"ipBlock"}, f"{name}: HTTPS to external addresses only"
                block = peer["ipBlock"]
                if block["cidr"] == "0.0.0.0/0":
                    assert set(block.get("except", [])) >= NON_PUBLIC_IPV4, (
                        f"{name}: private ranges reachable"
                    )
                else:
                    assert block["cidr"] == "::/0", block
                    assert {"fc00::/7", "fe80::/10"} <= set(block.get("except", [])), block
            assert {p["ipBlock"]["cidr"] for p in rule["to"]} == {"0.0.0.0/0", "::/0"}
    assert seen == {"api", "worker", "migration"}, seen


def test_postgres_is_reachable_from_every_pod_with_a_database_url(docs: tuple[dict[str, Any], ...]) -> None:
    """No policy keeps a schema-owning service (the gateway included) from its database, on either side."""
    postgres_port = urlsplit(
        _docs((K8S / "examples" / "secret-gateway-db.yaml").read_text())[0]["stringData"]["database-url"]
    ).port
    holders = set()
    for workload in workloads(docs):
        if not [k for c in all_containers(workload) for k in env_of(c) if k.endswith("_DATABASE_URL")]:
            continue
        labels = workload["spec"]["template"]["metadata"]["labels"]
        holders.add(labels["app.kubernetes.io/name"])
        rules = _egress_rules(docs, labels)
        if rules is not None:
            assert any(not r.get("ports") or ("TCP", postgres_port) in _ports(r) for r in rules), (
                f"{workload['metadata']['name']}: Postgres not reachable"
            )
    assert holders == {s.name for s in SERVICES if s.schema}
    # The pods of the CloudNativePG Cluster `headwater-postgres` (examples/cloudnativepg-cluster.yaml).
    postgres = {"cnpg.io/cluster": "headwater-postgres", "cnpg.io/instanceRole": "primary", "role": "primary"}
    for policy in of_kind(docs, "NetworkPolicy"):
        assert not labels_match(policy["spec"]["podSelector"], postgres), policy["metadata"]["name"]


# -- topics, ordering, overlays ---------------------------------------------------------------------------------


def test_topic_list_equals_all_topics(docs: tuple[dict[str, Any], ...]) -> None:
    topics = by_name(docs, "ConfigMap", "headwater-kafka-topics")["data"]
    assert topics["topics"].split() == all_topics()
    (container,) = containers(by_name(docs, "Job", "kafka-topics"))
    refs = {
        e["valueFrom"]["configMapKeyRef"]["key"]
        for e in container["env"]
        if "configMapKeyRef" in e.get("valueFrom", {})
    }
    assert {"topics", "partitions"} <= refs
    assert "--if-not-exists" in " ".join(container["args"])


def test_pre_deploy_phase_holds_the_jobs_and_what_they_need(docs: tuple[dict[str, Any], ...]) -> None:
    """`kubectl apply -l headwater.dev/phase=pre-deploy` (README's apply order) must be self-sufficient."""
    phase = {(d["kind"], d["metadata"]["name"]) for d in docs if d["metadata"].get("labels", {}).get(PHASE)}
    for job in of_kind(docs, "Job"):
        name = job["metadata"]["name"]
        assert ("Job", name) in phase, f"Job {name} lacks {PHASE}"
        pod = job["spec"]["template"]["spec"]
        assert ("ServiceAccount", pod["serviceAccountName"]) in phase
        for container in all_containers(job):
            for ref in container.get("envFrom", []):
                assert ("ConfigMap", ref["configMapRef"]["name"]) in phase, ref
            for entry in container.get("env", []):
                if "configMapKeyRef" in entry.get("valueFrom", {}):
                    assert ("ConfigMap", entry["valueFrom"]["configMapKeyRef"]["name"]) in phase, entry
    for namespace in of_kind(docs, "Namespace"):
        assert ("Namespace", namespace["metadata"]["name"]) in phase
    assert not [k for k, _ in phase if k not in ("Job", "ConfigMap", "ServiceAccount", "Namespace")]


def test_base_is_namespace_agnostic() -> None:
    for doc in render(BASE):
        assert "namespace" not in doc["metadata"], f"{doc['kind']}/{doc['metadata']['name']} pins a namespace"
    assert not of_kind(render(BASE), "Namespace")


def test_local_overlay_runs_one_of_everything_from_local_images() -> None:
    if not KUBECTL:
        pytest.skip(NO_KUBECTL)
    docs = render(K8S / "overlays" / "local")
    assert not of_kind(docs, "HorizontalPodAutoscaler")
    for deployment in of_kind(docs, "Deployment"):
        assert deployment["spec"]["replicas"] == 1, deployment["metadata"]["name"]
    for workload in workloads(docs):
        for container in all_containers(workload):
            if headwater_service(container["image"]):
                assert container["image"].endswith(":latest"), container["image"]
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"headwater"}
    base = {(d["kind"], d["metadata"]["name"]): d for d in render(BASE)}
    for deployment in of_kind(docs, "Deployment"):
        small = containers(deployment)[0]["resources"]["requests"]
        big = containers(base[("Deployment", deployment["metadata"]["name"])])[0]["resources"]["requests"]
        assert small != big, f"{deployment['metadata']['name']}: the local overlay keeps the base's requests"
    # Every Headwater container of a Job is resized too, the gateway's init container (migrate) included.
    for job in of_kind(docs, "Job"):
        base_containers = {c["name"]: c for c in all_containers(base[("Job", job["metadata"]["name"])])}
        for container in all_containers(job):
            if headwater_service(container["image"]):
                big = base_containers[container["name"]]["resources"]["requests"]
                assert container["resources"]["requests"] != big, (
                    f"{job['metadata']['name']}/{container['name']}"
                )
