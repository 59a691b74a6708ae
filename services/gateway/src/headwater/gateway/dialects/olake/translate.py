"""OLake's words ↔ ingestion's sync contract: connector types, configs (JSON-encoded strings in OLake, objects
of our connectors' own fields in ingestion), frequencies (`"<N>-<unit>"` ↔ cron), the streams catalog
(`streams_config` ↔ stream selections), run statuses and run times. Pure functions: every bad value raises
`Refused` (a 400 in the OLake envelope) with a sentence naming what to fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, cast
from urllib.parse import urlsplit

import msgspec

from headwater.common.errors import UseCaseError

MASK: Final = "********"  # ingestion's mask of a stored secret; sent back, it keeps the stored value


class Refused(UseCaseError):
    """A request OLake's words cannot be translated from (answered 400 `{success: false, message}`)."""

    status = 400


class Unsupported(UseCaseError):
    """A well-formed request for something this server cannot do (answered 422 in the envelope)."""

    status = 422


# --- connector types ---------------------------------------------------------------------------------------
SOURCE_TYPES: Final = ("mongodb", "postgres", "mysql", "oracle")
# OLake's destination type (and the UI's labels) → ingestion's kind; `postgres` is ours, not listed by the UI.
DESTINATION_KINDS: Final = {
    "s3": "parquet",
    "amazon s3": "parquet",
    "iceberg": "iceberg",
    "apache iceberg": "iceberg",
    "postgres": "postgres",
}
DESTINATION_TYPES: Final = {"parquet": "s3", "iceberg": "iceberg", "postgres": "postgres"}
ICEBERG_CATALOGS: Final = ("glue", "rest", "jdbc", "hive")


def source_kind(olake_type: str) -> str:
    kind = olake_type.strip().lower()
    if kind not in SOURCE_TYPES:
        raise Refused(f"Unsupported source type {olake_type!r}: use one of {', '.join(SOURCE_TYPES)}")
    return kind


def destination_kind(olake_type: str) -> str:
    kind = DESTINATION_KINDS.get(olake_type.strip().lower())
    if kind is None:
        raise Refused(f"Unsupported destination type {olake_type!r}: use s3, iceberg or postgres")
    return kind


def destination_type(kind: str) -> str:
    return DESTINATION_TYPES.get(kind, kind)


# --- configs -----------------------------------------------------------------------------------------------
def parse_config(text: str | Mapping[str, Any], what: str = "config") -> dict[str, Any]:
    """The object in a JSON-encoded `config` string (an object is taken as it is, as 004 shows it)."""
    if isinstance(text, Mapping):
        return dict(text)
    if not text.strip():
        raise Refused(f"{what} is empty: send the configuration as a JSON-encoded object")
    try:
        value: Any = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise Refused(f"{what} is not valid JSON: {exc}") from None
    parsed = as_dict(value)
    if parsed is None:
        raise Refused(f"{what} must be a JSON object, not {type(value).__name__}")
    return parsed


def encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _pick(config: Mapping[str, Any], pairs: Mapping[str, str]) -> dict[str, Any]:
    """`config`'s OLake keys renamed to ours (`pairs`: OLake → ours), absent and empty ones left out."""
    return {ours: config[olake] for olake, ours in pairs.items() if config.get(olake) not in (None, "")}


_POSTGRES = {
    "host": "host",
    "port": "port",
    "database": "database",
    "username": "username",
    "password": "password",
}
_MYSQL = {"port": "port", "database": "database", "username": "username", "password": "password"}
_MONGO = {
    "hosts": "hosts",
    "database": "database",
    "authdb": "auth_source",
    "username": "username",
    "password": "password",
    "replica-set": "replica_set",
    "srv": "srv",
}
_ORACLE = {
    "host": "host",
    "port": "port",
    "service_name": "service_name",
    "username": "username",
    "password": "password",
}


def _object(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    parsed = as_dict(value)
    if parsed is None:
        raise Refused(f"config.{key} must be an object")
    return parsed


def source_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """An OLake source config (the form of `specs.source_spec`) as our connector's config."""
    if kind == "postgres":
        ours = _pick(config, _POSTGRES)
        if mode := _object(config, "ssl").get("mode"):
            ours["ssl_mode"] = mode
        return ours
    if kind == "mysql":
        ours = _pick(config, _MYSQL)
        hosts: Any = config.get("hosts", config.get("host"))
        if (several := as_list(hosts)) is not None:
            hosts = several[0] if several else None
        if hosts:
            host = str(hosts)
            if ":" in host and "port" not in ours:
                host, _, port = host.rpartition(":")
                ours["port"] = int(port) if port.isdigit() else port
            ours["host"] = host
        if "tls_skip_verify" in config:
            ours["tls_mode"] = "required" if config["tls_skip_verify"] else "disabled"
        return ours
    if kind == "mongodb":
        ours = _pick(config, _MONGO)
        if isinstance(ours.get("hosts"), str):
            ours["hosts"] = [h.strip() for h in str(ours["hosts"]).split(",") if h.strip()]
        return ours
    return _pick(config, _ORACLE)


def source_config_olake(kind: str, ours: Mapping[str, Any]) -> dict[str, Any]:
    """Our connector's (masked) source config in OLake's keys, for the edit form."""
    if kind == "postgres":
        olake = {k: ours[v] for k, v in _POSTGRES.items() if v in ours}
        if "ssl_mode" in ours:
            olake["ssl"] = {"mode": ours["ssl_mode"]}
        return olake
    if kind == "mysql":
        olake = {k: ours[v] for k, v in _MYSQL.items() if v in ours}
        if "host" in ours:
            olake["hosts"] = ours["host"]
        if "tls_mode" in ours:
            olake["tls_skip_verify"] = ours["tls_mode"] == "required"
        return olake
    pairs = _MONGO if kind == "mongodb" else _ORACLE
    return {k: ours[v] for k, v in pairs.items() if v in ours}


_PARQUET = {
    "s3_bucket": "bucket",
    "s3_region": "region",
    "s3_access_key": "access_key_id",
    "s3_secret_key": "secret_access_key",
    "s3_path": "prefix",
    "s3_endpoint": "endpoint",
    "local_path": "path",
}
_ICEBERG = {
    "aws_region": "region",
    "aws_access_key": "access_key_id",
    "aws_secret_key": "secret_access_key",
    "s3_endpoint": "endpoint",
    "iceberg_db": "namespace",
}


def _jdbc_postgres(url: str) -> dict[str, Any]:
    """`jdbc:postgresql://host:port/database` as the Postgres SQL catalog's host, port and database."""
    if not url.startswith("jdbc:postgresql://"):
        raise Unsupported(
            "jdbc_url must be a Postgres JDBC URL (jdbc:postgresql://host:port/database): "
            "the Iceberg catalog here is a SQL catalog in Postgres"
        )
    parts = urlsplit(url.removeprefix("jdbc:"))
    try:
        port = parts.port or 5432
    except ValueError:
        raise Refused("jdbc_url has an invalid port") from None
    database = parts.path.strip("/")
    if not parts.hostname or not database:
        raise Refused("jdbc_url must name a host and a database: jdbc:postgresql://host:port/database")
    return {"catalog_host": parts.hostname, "catalog_port": port, "catalog_database": database}


def _warehouse(path: str) -> dict[str, Any]:
    """`s3://bucket/prefix`, `file:///folder` or `/folder` as our warehouse store."""
    if path.startswith("s3://") or path.startswith("s3a://"):
        parts = urlsplit(path)
        return {"store": "s3", "bucket": parts.netloc, "prefix": parts.path.strip("/")}
    local = path.removeprefix("file://")
    if not local.startswith("/"):
        raise Refused("iceberg_s3_path must be s3://bucket/prefix or an absolute folder (file:///folder)")
    return {"store": "local", "path": local}


def destination_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """An OLake writer config (`{"type": "PARQUET"|"ICEBERG", "writer": {...}}`) as our connector's config; a
    `postgres` destination's config is ours already."""
    if kind == "postgres":
        return dict(config)
    writer = _object(config, "writer")
    if kind == "parquet":
        ours = _pick(writer, _PARQUET)
        ours["store"] = "local" if "path" in ours and "bucket" not in ours else "s3"
        if str(ours.get("endpoint", "")).startswith("http://"):
            ours["allow_http"] = True
        return ours
    catalog = str(writer.get("catalog_type") or config.get("catalog") or "jdbc").lower()
    if catalog != "jdbc":
        raise Unsupported(
            f"Iceberg catalog {catalog!r} is not served here: use the JDBC catalog with a Postgres JDBC URL "
            "(a SQL catalog in Postgres)"
        )
    ours = _pick(writer, _ICEBERG)
    ours |= _jdbc_postgres(str(writer.get("jdbc_url", "")))
    ours |= _pick(writer, {"jdbc_username": "catalog_username", "jdbc_password": "catalog_password"})
    return ours | _warehouse(str(writer.get("iceberg_s3_path", "")))


def destination_config_olake(kind: str, ours: Mapping[str, Any]) -> dict[str, Any]:
    """Our connector's (masked) destination config as OLake's writer config."""
    if kind == "postgres":
        return dict(ours)
    if kind == "parquet":
        writer = {k: ours[v] for k, v in _PARQUET.items() if ours.get(v) is not None}
        return {"type": "PARQUET", "writer": writer}
    writer: dict[str, Any] = {"catalog_type": "jdbc"}
    writer |= {k: ours[v] for k, v in _ICEBERG.items() if ours.get(v) is not None}
    if "catalog_host" in ours:
        writer["jdbc_url"] = (
            f"jdbc:postgresql://{ours['catalog_host']}:{ours.get('catalog_port', 5432)}/"
            f"{ours.get('catalog_database', '')}"
        )
    writer |= {
        k: ours[v]
        for k, v in {"jdbc_username": "catalog_username", "jdbc_password": "catalog_password"}.items()
        if v in ours
    }
    if ours.get("store") == "s3":
        writer["iceberg_s3_path"] = f"s3://{ours.get('bucket', '')}/{ours.get('prefix', '')}".rstrip("/")
    elif ours.get("path"):
        writer["iceberg_s3_path"] = f"file://{ours['path']}"
    return {"type": "ICEBERG", "writer": writer, "catalog": "jdbc"}


# --- frequency ---------------------------------------------------------------------------------------------
_UNITS: Final = {
    "minutes": "*/{n} * * * *",
    "hours": "0 */{n} * * *",
    "days": "0 0 */{n} * *",
    "weeks": "0 0 * * */{n}",
    "months": "0 0 1 */{n} *",
    "years": "0 0 1 1 */{n}",
}
_LIMITS: Final = {"minutes": 59, "hours": 23, "days": 31, "weeks": 7, "months": 12, "years": 1}
_FREQUENCY = re.compile(r"^(\d{1,4})-([a-z]+)$")


def frequency_to_cron(frequency: str) -> str:
    """OLake's `"<N>-<unit>"` (unit: minutes, hours, days, weeks, months, years) as a cron (UTC)."""
    match = _FREQUENCY.match(frequency.strip().lower())
    if match is None or match.group(2) not in _UNITS:
        raise Refused(
            f"frequency {frequency!r} is not <N>-<unit> with unit one of {', '.join(_UNITS)} (e.g. 1-hours)"
        )
    n, unit = int(match.group(1)), match.group(2)
    if not 1 <= n <= _LIMITS[unit]:
        raise Refused(f"frequency {frequency!r}: every 1 to {_LIMITS[unit]} {unit}")
    if n == 1:
        return _UNITS[unit].replace("*/{n}", "*")
    return _UNITS[unit].format(n=n)


def cron_to_frequency(cron: str | None) -> str:
    """The `"<N>-<unit>"` of a cron `frequency_to_cron` makes ("" for none or any other cron)."""
    if not cron:
        return ""
    for unit, pattern in _UNITS.items():
        if cron == pattern.replace("*/{n}", "*"):
            return f"1-{unit}"
        regex = "^" + re.escape(pattern).replace(r"\{n\}", r"(\d+)") + "$"
        if (match := re.match(regex, cron)) is not None:
            return f"{match.group(1)}-{unit}"
    return ""


# --- run statuses and times --------------------------------------------------------------------------------
RUN_STATUSES: Final = {
    "queued": "Scheduled",
    "running": "Running",
    "succeeded": "Completed",
    "failed": "Failed",
    "canceled": "Cancelled",
    "skipped": "Skipped",
}


def run_status(status: str | None) -> str:
    """Our run status as the Temporal-style word the OLake UI colours ("" when never run)."""
    if not status:
        return ""
    return RUN_STATUSES.get(status, status.capitalize())


def runtime(seconds: int | float | None, started: datetime, now: datetime) -> str:
    """A duration as Go prints it (`1h2m3s`, `41s`); a running task's time since it started."""
    total = int(seconds if seconds is not None else max(0.0, (now - started).total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return f"{text}{secs}s"


def rfc3339(at: datetime | str | None) -> str | None:
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.isoformat().replace("+00:00", "Z")


# --- streams ------------------------------------------------------------------------------------------------
_TYPES: Final = {"integer": "integer", "number": "number", "boolean": "boolean", "string": "string"}
_FORMATS: Final = {"date-time": "timestamp_micro", "date": "timestamp"}
_SYNC_MODES: Final = {"full_refresh": "full_refresh", "incremental": "incremental", "cdc": "cdc"}


def _olake_type(column: Mapping[str, Any]) -> list[str]:
    kind = str(column.get("type", "string"))
    name = _FORMATS.get(
        str(column.get("format") or ""), _TYPES.get(kind, "object" if kind == "object" else kind)
    )
    return [name, "null"] if column.get("nullable", True) else [name]


def catalog(discovered: list[dict[str, Any]], previous: str | None = None) -> dict[str, Any]:
    """Discovered streams as OLake's catalog `{selected_streams, streams}`: every stream selected, unless a
    previous `streams_config` chose (then its selection and sync modes are kept for the streams that remain)."""
    old = _parse_catalog(previous) if previous else None
    old_modes: dict[tuple[str, str], dict[str, Any]] = {}
    if old is not None:
        for item in old["streams"]:
            stream = item["stream"]
            old_modes[(stream.get("namespace") or "default", stream["name"])] = stream
    streams: list[dict[str, Any]] = []
    selected: dict[str, list[dict[str, Any]]] = {}
    for s in discovered:
        namespace = s.get("namespace") or ""
        group = namespace or "default"
        modes = [_SYNC_MODES.get(m, m) for m in s.get("sync_modes", ["full_refresh"])]
        stream: dict[str, Any] = {
            "name": s["name"],
            "namespace": namespace,
            "type_schema": {
                "properties": {c["name"]: {"type": _olake_type(c)} for c in s.get("columns", [])}
            },
            "supported_sync_modes": modes,
            "source_defined_primary_key": list(s.get("primary_key", [])),
            "available_cursor_fields": list(s.get("cursor_candidates", [])),
            "sync_mode": "full_refresh",
        }
        before = old_modes.get((group, s["name"]))
        if before is not None:
            if before.get("sync_mode") in modes or before.get("sync_mode") == "strict_cdc":
                stream["sync_mode"] = before["sync_mode"]
            if before.get("cursor_field"):
                stream["cursor_field"] = before["cursor_field"]
        streams.append({"stream": stream})
        chosen = selected.setdefault(group, [])
        if old is None:
            chosen.append({"partition_regex": "", "stream_name": s["name"], "normalization": False})
        else:
            chosen += [e for e in old["selected_streams"].get(group, []) if e.get("stream_name") == s["name"]]
    return {"selected_streams": selected, "streams": streams}


def as_dict(value: Any) -> dict[str, Any] | None:
    """`value` when it is a JSON object (typed for the checker), else None."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any] | None:
    return cast("list[Any]", value) if isinstance(value, list) else None


def _parse_catalog(text: str) -> dict[str, Any]:
    """A `streams_config` in any of the forms the UI reads back (§6.4): the catalog, a list of stream names
    (namespace `default`) or the `selected_streams` map alone; "[]" or "" is an empty catalog."""
    if not text.strip():
        return {"selected_streams": {}, "streams": []}
    try:
        value: Any = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise Refused(f"streams_config is not valid JSON: {exc}") from None
    names = as_list(value)
    if names is not None:
        if not all(isinstance(n, str) for n in names):
            raise Refused("streams_config as a list must list stream names")
        return {"selected_streams": {"default": [{"stream_name": n} for n in names]}, "streams": []}
    root = as_dict(value)
    if root is None:
        raise Refused("streams_config must be a JSON object {selected_streams, streams}")
    if "streams" not in root:
        root = {"selected_streams": root, "streams": list[Any]()}
    selected = as_dict(root.get("selected_streams") or {})
    streams = as_list(root.get("streams") or [])
    if selected is None or streams is None:
        raise Refused("streams_config: selected_streams must be an object and streams an array")
    checked: list[dict[str, Any]] = []
    for item in streams:
        stream = as_dict((as_dict(item) or {}).get("stream"))
        if stream is None or not isinstance(stream.get("name"), str):
            raise Refused("streams_config: each of streams must be {stream: {name, namespace, sync_mode}}")
        checked.append({"stream": stream})
    groups: dict[str, list[dict[str, Any]]] = {}
    for group, entries in selected.items():
        listed = as_list(entries)
        if listed is not None:
            kept = [as_dict(e) for e in listed]
            groups[group] = [e for e in kept if e is not None and isinstance(e.get("stream_name"), str)]
    return {"selected_streams": groups, "streams": checked}


def selections(streams_config: str) -> list[dict[str, Any]]:
    """The stream selections (ingestion's `StreamSelection`s) of a `streams_config`: each selected stream with
    the sync mode, cursor and key the catalog gives it (`strict_cdc` is our `cdc`)."""
    parsed = _parse_catalog(streams_config)
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for item in parsed["streams"]:
        stream = item["stream"]
        by_key[(str(stream.get("namespace") or "default"), stream["name"])] = stream
    chosen: list[dict[str, Any]] = []
    for group, entries in parsed["selected_streams"].items():
        for entry in entries:
            name = str(entry["stream_name"])
            stream = by_key.get((group, name), {})
            mode = str(stream.get("sync_mode") or "full_refresh")
            mode = "cdc" if mode == "strict_cdc" else mode
            if mode not in _SYNC_MODES:
                raise Refused(
                    f"stream {group}.{name}: sync_mode {mode!r} is not full_refresh, incremental or cdc"
                )
            selection: dict[str, Any] = {
                "name": name,
                "namespace": stream.get("namespace") or (None if group == "default" else group),
                "sync_mode": mode,
                "primary_key": [str(k) for k in as_list(stream.get("source_defined_primary_key")) or []],
            }
            cursor: Any = stream.get("cursor_field")
            if (several := as_list(cursor)) is not None:
                cursor = several[0] if several else None
            if mode == "incremental":
                candidates = as_list(stream.get("available_cursor_fields")) or []
                cursor = cursor or (candidates[0] if candidates else None)
            if cursor:
                selection["cursor_field"] = str(cursor)
            chosen.append(selection)
    return chosen


def streams_config_of(streams: list[dict[str, Any]]) -> str:
    """A `streams_config` for a job made elsewhere (not through OLake): its selections as a catalog."""
    selected: dict[str, list[dict[str, Any]]] = {}
    items: list[dict[str, Any]] = []
    for s in streams:
        namespace = s.get("namespace") or ""
        selected.setdefault(namespace or "default", []).append(
            {"partition_regex": "", "stream_name": s["name"], "normalization": False}
        )
        stream = {
            "name": s["name"],
            "namespace": namespace,
            "sync_mode": s.get("sync_mode", "full_refresh"),
            "source_defined_primary_key": s.get("primary_key", []),
        }
        if s.get("cursor_field"):
            stream["cursor_field"] = s["cursor_field"]
        items.append({"stream": stream})
    return encode({"selected_streams": selected, "streams": items})
