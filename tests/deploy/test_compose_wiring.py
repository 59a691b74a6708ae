"""docker-compose.yml and the Dockerfiles (runtime mode 2), checked without a Docker engine.

The services expected are derived from `headwater.devstack.stack.SERVICES`, the list the embedded mode runs:
every process role of every service needs its Compose service, every service owning a Postgres schema
needs its one-shot migration, and the gateway its one-shot bootstrap of the first superuser.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
import yaml

from headwater.common.messaging.topics import all_topics
from headwater.common.settings import KNOWN_INTERNAL_SIGNING_KEYS, internal_signing_problem, load_settings
from headwater.devstack.stack import SERVICES, ServiceSpec, StackConfig
from headwater.gateway.settings import KNOWN_SIGNING_KEYS
from headwater.gateway.settings import Settings as GatewaySettings
from headwater.gateway.settings import problems as gateway_problems

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
POSTGRES_INIT_DIR = ROOT / "deploy" / "compose" / "postgres-init"
ONE_SHOT_RESTART = {"no", "on-failure"}
HTTP_PORTS = {
    "execution-tracking": 8081,
    "quality-alerting": 8082,
    "scheduler": 8083,
    "ingestion": 8084,
    "gateway": 8080,
}
# The internal HTTP APIs the gateway forwards to: every service with an HTTP process but the gateway itself.
INTERNAL_APIS = [s for s in SERVICES if "serve" in s.roles and s.name != "gateway"]
GATEWAY = next(s for s in SERVICES if s.name == "gateway")
# One-shot commands: each schema's migration, and the gateway's bootstrap superuser after its migration.
ONE_SHOT_COMMANDS = {"migrate", "bootstrap"}
# Read by `python -m headwater.gateway bootstrap`, passed through from the shell or `.env` when set.
GATEWAY_ADMIN = (
    "HEADWATER_ADMIN_USERNAME",
    "HEADWATER_ADMIN_EMAIL",
    "HEADWATER_ADMIN_PASSWORD",
    "HEADWATER_BOOTSTRAP_TOKEN",
)


# -- helpers ----------------------------------------------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _substitute(match: re.Match[str]) -> str:
    if match.group(0) == "$$":
        return "$"
    return match.group("arg") if match.group("op") in (":-", "-") else ""


def env_prefix(spec: ServiceSpec) -> str:
    """`quality-alerting` → `HEADWATER_QUALITY_ALERTING_`."""
    return "HEADWATER_" + spec.name.upper().replace("-", "_") + "_"


def interpolate(value: Any) -> Any:
    """Compose's `${VAR}` / `${VAR:-default}` with an empty environment (defaults only), `$$` → `$`."""
    if isinstance(value, str):
        return _VAR.sub(_substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


def load_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as f:
        return yaml.safe_load(f)


def compose_services() -> dict[str, dict[str, Any]]:
    return interpolate(load_compose()["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """{dependency: condition}; the short (list) form has no condition and is refused by the tests."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "")
    return {name: (spec or {}).get("condition", "") for name, spec in deps.items()}


def is_one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")).split(":")[0] in ONE_SHOT_RESTART


def expected_processes() -> dict[str, tuple[ServiceSpec, str]]:
    """Compose service name → (service spec, command) for every Headwater process."""
    out: dict[str, tuple[ServiceSpec, str]] = {}
    for spec in SERVICES:
        if spec.schema is not None:
            out[f"{spec.name}-migrate"] = (spec, "migrate")
        for role in spec.roles:
            out[spec.name if role == "serve" else f"{spec.name}-{role}"] = (spec, role)
    out["gateway-bootstrap"] = (GATEWAY, "bootstrap")
    return out


DOCKERFILE = ROOT / "Dockerfile"
_BUILD_ARG = re.compile(r"\$\{(SERVICE|PORT)\}")


def dockerfile_instructions(
    path: Path, build_args: dict[str, str] | None = None
) -> list[list[tuple[str, str]]]:
    """The instructions of each stage, continuation lines joined and comments dropped; the build arguments
    (SERVICE, PORT) substituted as `docker build --build-arg` would."""
    given = build_args or {}
    logical: list[str] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(_BUILD_ARG.sub(lambda m: given.get(m.group(1), m.group(0)), buf + line))
        buf = ""
    stages: list[list[tuple[str, str]]] = []
    preamble: list[tuple[str, str]] = []
    for line in logical:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append([])
        (stages[-1] if stages else preamble).append((instr, args.strip()))
    return stages


def build_args(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service["build"].get("args") or {}).items()}


def launcher_argv(args: dict[str, str]) -> list[str]:
    """What the image's `headwater-service` launcher runs, read from the line of the Dockerfile that writes it."""
    (line,) = [
        a
        for stage in dockerfile_instructions(DOCKERFILE, args)
        for i, a in stage
        if "headwater-service" in a and i == "RUN"
    ]
    template = re.search(
        r"printf '#!/bin/sh\\nexec (.*?) \"\$@\"\\n' \"\$\(echo \"(\S+)\" \| tr - _\)\"", line
    )
    assert template, f"the launcher is not written as expected: {line}"
    return template.group(1).replace("%s", template.group(2).replace("-", "_")).split()


def effective_argv(service: dict[str, Any], dockerfile: Path) -> list[str]:
    args = build_args(service)
    final = dockerfile_instructions(dockerfile, args)[-1]
    entrypoint = [json.loads(a) for i, a in final if i == "ENTRYPOINT"]
    cmd = [json.loads(a) for i, a in final if i == "CMD"]
    assert entrypoint, f"{dockerfile}: the final stage has no exec-form ENTRYPOINT"
    if entrypoint[-1] == ["headwater-service"]:
        entrypoint[-1] = launcher_argv(args)
    command = service.get("command", cmd[-1] if cmd else [])
    if isinstance(command, str):
        command = command.split()
    return [*entrypoint[-1], *command]


# -- the services and their images ------------------------------------------------------------------------------


def test_every_headwater_process_has_a_service_with_build_image_and_environment() -> None:
    services = compose_services()
    for name, (spec, _) in expected_processes().items():
        assert name in services, f"docker-compose.yml has no service {name!r}"
        svc = services[name]
        build = svc.get("build")
        assert isinstance(build, dict), f"{name}: `build` must give context and dockerfile"
        assert build.get("context") == ".", f"{name}: the build context is the repository root"
        assert build.get("dockerfile") == "Dockerfile", (
            f"{name}: every image is built from the one Dockerfile"
        )
        assert build_args(svc) == {"SERVICE": spec.name, "PORT": str(HTTP_PORTS[spec.name])}, name
        assert svc.get("image") == f"headwater/{spec.name}:latest", name
        assert environment(svc), f"{name}: no environment"


def test_no_unexpected_headwater_images() -> None:
    expected = expected_processes()
    for name, svc in compose_services().items():
        if "build" in svc or str(svc.get("image", "")).startswith("headwater/"):
            assert name in expected, f"{name}: a Headwater image that no ServiceSpec runs"


@pytest.mark.parametrize("name", sorted(expected_processes()))
def test_command_runs_the_right_module(name: str) -> None:
    spec, role = expected_processes()[name]
    svc = compose_services()[name]
    argv = effective_argv(svc, ROOT / svc["build"]["dockerfile"])
    assert argv == ["python", "-m", spec.module, role], f"{name} would run {argv}"


def test_serving_processes_listen_on_all_interfaces_at_their_port() -> None:
    services = compose_services()
    for name, (spec, role) in expected_processes().items():
        if role != "serve":
            continue
        prefix = env_prefix(spec)
        env = environment(services[name])
        assert env.get(prefix + "HTTP_HOST") == "0.0.0.0", f"{name} must bind 0.0.0.0 in a container"
        assert env.get(prefix + "HTTP_PORT") == str(HTTP_PORTS[spec.name]), name
        test = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{HTTP_PORTS[spec.name]}/health/ready" in test, (
            f"{name}: healthcheck must ask readiness"
        )


def test_headwater_services_share_the_common_settings() -> None:
    services = compose_services()
    kafka_env = environment(services["kafka"])
    internal = {a.split("://", 1)[1] for a in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    for name in expected_processes():
        env = environment(services[name])
        for key in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "TOPIC_PREFIX",
            "LOG_LEVEL",
            "LOG_JSON",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "ENVIRONMENT",
        ):
            assert f"HEADWATER_{key}" in env, f"{name}: HEADWATER_{key} missing"
        assert env["HEADWATER_KAFKA_BOOTSTRAP_SERVERS"] in internal, (
            f"{name}: not an advertised Kafka listener"
        )


def test_http_ports_are_the_ports_the_embedded_stack_uses() -> None:
    """One port per service everywhere: `make up` (StackConfig), Compose, the images and Kubernetes."""
    assert set(HTTP_PORTS) == {s.name for s in SERVICES if "serve" in s.roles}
    defaults = StackConfig(state_dir=Path("."))
    for name, port in HTTP_PORTS.items():
        assert getattr(defaults, name.replace("-", "_") + "_port") == port, name


@pytest.mark.parametrize("spec", INTERNAL_APIS, ids=lambda s: s.name)
def test_gateway_reaches_each_internal_api_by_its_service_name(spec: ServiceSpec) -> None:
    field = spec.name.replace("-", "_") + "_url"
    assert field in {f.name for f in msgspec.structs.fields(GatewaySettings)}, f"the gateway reads no {field}"
    env = environment(compose_services()["gateway"])
    key = "HEADWATER_GATEWAY_" + field.upper()
    assert key in env, f"gateway: {key} missing (it would call 127.0.0.1 inside its own container)"
    url = urlsplit(env[key])
    assert (url.scheme, url.hostname, url.port) == ("http", spec.name, HTTP_PORTS[spec.name]), env[key]


# -- lifecycle: one-shots, health checks and start-up order ------------------------------------------------------


def test_long_running_services_have_a_healthcheck_and_one_shots_do_not_restart() -> None:
    services = compose_services()
    one_shots = {n for n, (_, role) in expected_processes().items() if role in ONE_SHOT_COMMANDS}
    one_shots |= {"kafka-topics"}
    for name, svc in services.items():
        if name in one_shots:
            assert is_one_shot(svc), f"{name} is one-shot: restart must be 'no' or 'on-failure'"
            continue
        assert not is_one_shot(svc), f"{name} is long-running: give it a restart policy"
        test = (svc.get("healthcheck") or {}).get("test")
        assert test, f"{name}: long-running service without healthcheck"
        assert test != ["NONE"], f"{name}: healthcheck disabled"


def test_every_dependency_has_the_condition_its_kind_needs() -> None:
    services = compose_services()
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            wanted = "service_completed_successfully" if is_one_shot(services[dep]) else "service_healthy"
            assert condition == wanted, f"{name} → {dep}: condition {condition!r}, expected {wanted!r}"


def test_start_up_order() -> None:
    services = compose_services()
    assert depends_on(services["kafka-topics"]).get("kafka") == "service_healthy"
    for name, (spec, role) in expected_processes().items():
        deps = depends_on(services[name])
        if role == "migrate":
            assert deps.get("postgres") == "service_healthy", f"{name} must wait for a healthy Postgres"
            continue
        if spec.schema is not None:
            assert deps.get(f"{spec.name}-migrate") == "service_completed_successfully", (
                f"{name} must wait for its migrations"
            )
        # Kafka is used by the services with a worker (their APIs write the outbox the worker relays).
        if "worker" in spec.roles:
            assert deps.get("kafka-topics") == "service_completed_successfully", (
                f"{name} must wait for the topics"
            )
    # The bootstrap superuser is created in the migrated schema, before the gateway serves a login.
    assert depends_on(services["gateway"]).get("gateway-bootstrap") == "service_completed_successfully"
    # The gateway's readiness asks every internal API: it starts once they are healthy.
    for spec in INTERNAL_APIS:
        assert depends_on(services["gateway"]).get(spec.name) == "service_healthy", spec.name


def test_gateway_publishes_8080() -> None:
    ports = compose_services()["gateway"].get("ports") or []
    published = set()
    for port in ports:
        if isinstance(port, dict):
            published.add((str(port.get("published")), str(port.get("target"))))
        else:
            parts = str(port).split(":")
            published.add((parts[-2], parts[-1]))
    assert ("8080", "8080") in published, f"gateway ports: {ports}"


def test_gateway_is_published_on_loopback_by_default() -> None:
    """A trial `docker compose up` runs with a published signing key: nobody else on the network may reach it."""
    (port,) = compose_services()["gateway"]["ports"]
    assert str(port).startswith("127.0.0.1:"), port


def test_only_the_gateway_is_published_among_headwater_services() -> None:
    services = compose_services()
    for name in expected_processes():
        if name != "gateway":
            assert not services[name].get("ports"), f"{name} must not be published"


# -- Postgres: one role per service, owning only its schema ------------------------------------------------------


def test_every_database_url_uses_the_services_own_role() -> None:
    services = compose_services()
    found = 0
    for name, svc in services.items():
        for key, value in environment(svc).items():
            if not key.endswith("DATABASE_URL"):
                continue
            found += 1
            assert name in expected_processes(), f"{name} has {key}"
            spec, _ = expected_processes()[name]
            assert spec.schema is not None, f"{name} owns no schema but has {key}"
            assert key == "HEADWATER_" + spec.name.upper().replace("-", "_") + "_DATABASE_URL", key
            url = urlsplit(value)
            assert url.scheme == "postgresql", value
            assert url.username == spec.schema, f"{name}: connects as {url.username}, not as {spec.schema}"
            assert url.password, f"{name}: no password in {key}"
            assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/headwater"), value
    assert found == sum(1 for n, (s, _) in expected_processes().items() if s.schema is not None)


def test_postgres_init_creates_each_role_and_schema_with_the_services_password() -> None:
    raw = load_compose()["services"]
    services = compose_services()
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:17")
    assert environment(postgres)["POSTGRES_DB"] == "headwater"
    mounts = [str(v) for v in postgres.get("volumes", [])]
    assert any(m.startswith("./deploy/compose/postgres-init:/docker-entrypoint-initdb.d") for m in mounts), (
        mounts
    )
    sql = "\n".join(p.read_text() for p in sorted(POSTGRES_INIT_DIR.glob("*.sql")))
    assert "REVOKE ALL ON SCHEMA public FROM PUBLIC" in sql
    assert "REVOKE CREATE, TEMPORARY ON DATABASE headwater FROM PUBLIC" in sql
    for spec in SERVICES:
        if spec.schema is None:
            continue
        var = "HEADWATER_" + spec.name.upper().replace("-", "_") + "_DB_PASSWORD"
        assert f"CREATE ROLE {spec.schema} LOGIN PASSWORD" in sql
        assert re.search(rf"CREATE SCHEMA (IF NOT EXISTS )?{spec.schema} AUTHORIZATION {spec.schema};", sql)
        assert f"REVOKE ALL ON SCHEMA {spec.schema} FROM PUBLIC" in sql
        assert f"ALTER ROLE {spec.schema} SET search_path = {spec.schema}" in sql
        assert re.search(rf"\\getenv \w+ {var}\b", sql), f"the init script must read {var}"
        # The same (interpolated) password on both sides, taken from the same variable.
        assert var in str(raw["postgres"]["environment"][var])
        url = urlsplit(
            environment(services[f"{spec.name}-migrate"])[
                "HEADWATER_" + spec.name.upper().replace("-", "_") + "_DATABASE_URL"
            ]
        )
        assert url.password == environment(postgres)[var]


# -- the gateway's identity settings ------------------------------------------------------------------------------


def gateway_settings(name: str) -> GatewaySettings:
    """The gateway's settings as the Compose service `name` loads them (defaults only, as `docker compose up`)."""
    return load_settings(GatewaySettings, "gateway", environment(compose_services()[name]))


def test_gateway_commands_share_one_database_and_the_signing_key_goes_where_required() -> None:
    """One schema for migrate, bootstrap and serve; the key for the two that refuse to start without it."""
    names = sorted(n for n, (spec, _) in expected_processes().items() if spec is GATEWAY)
    assert names == ["gateway", "gateway-bootstrap", "gateway-migrate"]
    assert len({gateway_settings(n).database_url for n in names}) == 1, "one database"
    keys = {gateway_settings(n).signing_key for n in ("gateway", "gateway-bootstrap")}
    assert len(keys) == 1, "one key for both"
    assert len(keys.pop()) >= 32, "HEADWATER_GATEWAY_SIGNING_KEY: at least 32 characters"
    for name, svc in compose_services().items():
        if name not in ("gateway", "gateway-bootstrap"):
            assert "HEADWATER_GATEWAY_SIGNING_KEY" not in environment(svc), f"{name} holds the key"


def test_every_serving_process_and_nothing_else_holds_the_internal_key() -> None:
    """The gateway signs with it, every internal API verifies with it (and refuses to serve without it): one
    key for all of them, a development-only default from the shell, refused outside `local`."""
    raw = load_compose()["x-internal-signing-key"]["HEADWATER_INTERNAL_SIGNING_KEY"]
    match = re.fullmatch(r"\$\{HEADWATER_INTERNAL_SIGNING_KEY:-(?P<default>[^}]+)\}", raw)
    assert match, f"set from the shell or .env, with a default: {raw}"
    assert match["default"] in KNOWN_INTERNAL_SIGNING_KEYS, "keep the list of published keys in step"
    serving = {name for name, (_, command) in expected_processes().items() if command == "serve"}
    assert serving == {"gateway", *(s.name for s in INTERNAL_APIS)}
    holders = {
        name: environment(svc)["HEADWATER_INTERNAL_SIGNING_KEY"]
        for name, svc in compose_services().items()
        if "HEADWATER_INTERNAL_SIGNING_KEY" in environment(svc)
    }
    assert set(holders) == serving
    (key,) = set(holders.values())
    settings = gateway_settings("gateway")
    assert settings.internal_signing_key == key
    assert internal_signing_problem(settings) is None
    production = msgspec.structs.replace(settings, environment="production")
    assert "published development key" in (internal_signing_problem(production) or "")


def test_signing_key_is_taken_from_the_shell_with_a_development_only_default() -> None:
    raw = load_compose()["x-gateway-signing-key"]["HEADWATER_GATEWAY_SIGNING_KEY"]
    match = re.fullmatch(r"\$\{HEADWATER_GATEWAY_SIGNING_KEY:-(?P<default>[^}]+)\}", raw)
    assert match, f"set from the shell or .env, with a default: {raw}"
    assert "development-only" in match["default"], "the default must say it is not for real use"
    assert "development-only" in interpolate(raw)


def test_the_published_key_runs_only_in_the_local_environment() -> None:
    """The default key is public, so the gateway refuses it unless the environment says `local` (the default)."""
    settings = gateway_settings("gateway")
    assert settings.signing_key in KNOWN_SIGNING_KEYS, "keep the gateway's list of published keys in step"
    assert settings.environment == "local"
    assert gateway_problems(settings) is None
    production = msgspec.structs.replace(settings, environment="production")
    assert "published development key" in (gateway_problems(production) or "")


def test_the_example_kubernetes_secret_placeholder_is_refused() -> None:
    example = yaml.safe_load((ROOT / "deploy/k8s/examples/secret-gateway-signing-key.yaml").read_text())
    assert example["stringData"]["signing-key"] in KNOWN_SIGNING_KEYS
    example = yaml.safe_load((ROOT / "deploy/k8s/examples/secret-internal-signing-key.yaml").read_text())
    assert example["stringData"]["signing-key"] in KNOWN_INTERNAL_SIGNING_KEYS


def test_bootstrap_passes_the_admin_settings_through_and_nobody_else_gets_them() -> None:
    """Without a value, Compose takes each from the shell or `.env`, and leaves it unset when it is not."""
    raw = load_compose()["services"]
    for name, svc in raw.items():
        env = svc.get("environment") or {}
        if name != "gateway-bootstrap":
            assert not set(GATEWAY_ADMIN) & set(env), f"{name}: the admin's settings are bootstrap's only"
            continue
        for var in GATEWAY_ADMIN:
            assert var in env, f"gateway-bootstrap: {var} not passed through"
            assert env[var] is None, f"gateway-bootstrap: {var} must be passed through, not given a value"
    # The names are the ones the gateway reads (HEADWATER_<FIELD> after HEADWATER_GATEWAY_<FIELD>).
    value = "a-value-of-at-least-20-characters"
    for var in GATEWAY_ADMIN:
        settings = load_settings(GatewaySettings, "gateway", {var: value})
        assert value in msgspec.structs.asdict(settings).values(), f"the gateway reads no {var}"


def test_gateway_allows_cors_from_origins_only() -> None:
    raw = load_compose()["services"]["gateway"]["environment"]["HEADWATER_GATEWAY_CORS_ALLOW_ORIGINS"]
    assert raw.startswith("${HEADWATER_GATEWAY_CORS_ALLOW_ORIGINS:-"), "overridable from the shell or .env"
    origins = gateway_settings("gateway").cors_origins
    assert origins
    for origin in origins:
        url = urlsplit(origin)
        assert url.scheme in ("http", "https"), origin
        assert url.hostname, origin
        assert origin == f"{url.scheme}://{url.netloc}", f"an origin has no path or trailing slash: {origin}"
        assert "*" not in origin, "browsers send no credentials to a wildcard origin"


# -- Kafka --------------------------------------------------------------------------------------------------------


def test_kafka_runs_single_node_kraft() -> None:
    services = compose_services()
    kafka = services["kafka"]
    assert str(kafka["image"]).startswith("apache/kafka:")
    env = environment(kafka)
    assert env["CLUSTER_ID"], "KRaft needs a cluster id"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert len(voters) == 1, "a single-node quorum"
    assert voters[0].startswith(f"{node_id}@")
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {item.split("://")[0]: item.split("://")[1] for item in env["KAFKA_LISTENERS"].split(",")}
    advertised = {
        item.split("://")[0]: item.split("://")[1] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    }
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(listeners) <= set(protocols), "every listener needs a security protocol"
    assert controller in listeners
    assert controller not in advertised
    assert voters[0].split("@")[1].endswith(":" + listeners[controller].rsplit(":", 1)[1])
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert set(advertised) <= set(listeners)
    assert any(addr.startswith("kafka:") for addr in advertised.values()), "no listener for other containers"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key


def test_topic_list_equals_all_topics() -> None:
    svc = compose_services()["kafka-topics"]
    env = environment(svc)
    assert env["TOPICS"].split() == all_topics()
    assert env["PARTITIONS"] == "12"
    assert "--if-not-exists" in " ".join(svc["command"])
    assert "kafka-topics.sh" in " ".join(svc["command"])


# -- Dockerfiles --------------------------------------------------------------------------------------------------


def workspace_members() -> list[Path]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: list[Path] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members.extend(p for p in sorted(ROOT.glob(pattern)) if (p / "pyproject.toml").is_file())
    return members


@pytest.mark.parametrize("spec", [s for s in SERVICES], ids=lambda s: s.name)
def test_dockerfile_installs_only_its_package_as_non_root(spec: ServiceSpec) -> None:
    dockerfile = DOCKERFILE
    stages = dockerfile_instructions(dockerfile, {"SERVICE": spec.name})
    assert len(stages) >= 2, "multi-stage: a builder and a runtime stage"
    for stage in stages:
        assert re.match(r"(\$\{PYTHON_IMAGE\}|python:3\.11-slim)", stage[0][1]), stage[0]
    text = dockerfile.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert re.search(r"pip install .*uv", text), "uv comes from PyPI through pip"
    runs = " ".join(a for i, a in stages[0] if i == "RUN")
    assert f'uv sync --frozen --no-dev --package "headwater-{spec.name}" --no-editable' in runs
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in text
    final = stages[-1]
    users = [a for i, a in final if i == "USER"]
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"numeric USER, so that runAsNonRoot can verify it: {uid}"
    assert uid != "0", "non-root USER"
    copies = " ".join(a for i, a in stages[0] if i == "COPY")
    for member in workspace_members():
        rel = member.relative_to(ROOT).as_posix()
        assert f"{rel}/pyproject.toml" in copies, f"uv needs every workspace member: {rel}/pyproject.toml"


@pytest.mark.parametrize("spec", [s for s in SERVICES if s.schema], ids=lambda s: s.name)
def test_migrations_ship_in_the_image(spec: ServiceSpec) -> None:
    """`migrate` runs Alembic from the installed wheel: nothing may drop the migrations on the way there."""
    package = ROOT / "services" / spec.name
    wheel = tomllib.loads((package / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"][
        "wheel"
    ]
    assert wheel == {"packages": ["src/headwater"]}, "the whole namespace package, nothing excluded"
    migrations = f"services/{spec.name}/src/{spec.module.replace('.', '/')}/adapters/db/migrations"
    for name in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert not dockerignored(f"{migrations}/{name}"), f"{migrations}/{name} is excluded by .dockerignore"
    stages = dockerfile_instructions(DOCKERFILE, {"SERVICE": spec.name})
    copies = [a for stage in stages for i, a in stage if i == "COPY"]
    assert f"services/{spec.name}/ services/{spec.name}/" in copies, "the package is copied whole"


def _dockerignore_regexes() -> list[re.Pattern[str]]:
    """.dockerignore patterns as regexes, with Docker's semantics: `**` spans directories, `*` does not."""
    regexes = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip().strip("/")
        if not pattern or pattern.startswith("#"):
            continue
        assert not pattern.startswith("!"), "exceptions are not used (and not modelled here)"
        out = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?|\[[^]]*\])", pattern):
            if part == "**/":
                out += "(?:.*/)?"
            elif part == "**":
                out += ".*"
            elif part == "*":
                out += "[^/]*"
            elif part == "?":
                out += "[^/]"
            elif part.startswith("["):
                out += part
            else:
                out += re.escape(part)
        regexes.append(re.compile(out + r"\Z"))
    return regexes


def dockerignored(rel: str) -> bool:
    """Whether `rel` (or a directory above it) is excluded from the build context."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(r.match(p) for r in _dockerignore_regexes() for p in prefixes)


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    for ignored in (
        ".git/HEAD",
        ".venv/bin/python",
        ".headwater/postgres/PG_VERSION",
        "bench/results/run.json",
        "libs/common/src/headwater/common/__pycache__/ids.cpython-311.pyc",
        "services/gateway/tests/x.py",
        "libs/common/.venv/pyvenv.cfg",
    ):
        assert dockerignored(ignored), f"{ignored} would be sent to the Docker daemon"


@pytest.mark.parametrize("spec", list(SERVICES), ids=lambda s: s.name)
def test_dockerignore_keeps_what_the_dockerfile_copies(spec: ServiceSpec) -> None:
    stages = dockerfile_instructions(DOCKERFILE, {"SERVICE": spec.name})
    sources = [
        src
        for stage in stages
        for instr, args in stage
        if instr == "COPY" and "--from" not in args
        for src in args.split()[:-1]
        if not src.startswith("--")
    ]
    assert sources
    for src in sources:
        path = ROOT / src
        assert path.exists(), f"COPY {src}: not in the repository"
        # What the build needs of a COPY: the lock, the metadata and the package sources.
        files = (
            [path]
            if path.is_file()
            else [
                f
                for f in path.rglob("*")
                if f.is_file()
                and "__pycache__" not in f.parts
                and (f.name == "pyproject.toml" or "src" in f.parts)
            ]
        )
        assert files, src
        for f in files:
            rel = f.relative_to(ROOT).as_posix()
            assert not dockerignored(rel), f"COPY {src}: {rel} is excluded by .dockerignore"


# -- the worker's health check, run for real against a process -------------------------------------------------


def _probe(code: str, pid: int) -> int:
    return subprocess.run(
        [sys.executable, "-c", code.replace("/proc/1/", f"/proc/{pid}/")], check=False
    ).returncode


WORKERS = [s for s in SERVICES if "worker" in s.roles]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("spec", WORKERS, ids=lambda s: s.name)
def test_worker_healthcheck_tells_a_running_worker_from_a_stopped_one(spec: ServiceSpec) -> None:
    test = compose_services()[f"{spec.name}-worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    sleeper = "import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", sleeper, "-m", spec.module, "worker"])
    other = subprocess.Popen([sys.executable, "-c", sleeper, "-m", spec.module, "serve"])
    # Another service's worker must not pass either: each check names its own module.
    stranger_module = next(s.module for s in WORKERS if s is not spec)
    stranger = subprocess.Popen([sys.executable, "-c", sleeper, "-m", stranger_module, "worker"])
    try:
        deadline = time.monotonic() + 5
        while _probe(code, worker.pid) != 0:  # until the child has exec'd its command line
            assert time.monotonic() < deadline, "a running worker does not pass"
            time.sleep(0.05)
        assert _probe(code, other.pid) == 1
        assert _probe(code, stranger.pid) == 1
        worker.send_signal(19)  # SIGSTOP
        deadline = time.monotonic() + 5
        while _probe(code, worker.pid) != 1:
            assert time.monotonic() < deadline, "a stopped worker still passes"
            time.sleep(0.05)
        worker.send_signal(18)  # SIGCONT
    finally:
        for proc in (worker, other, stranger):
            proc.kill()
            proc.wait()
