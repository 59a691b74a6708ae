"""The configuration forms the OLake UI renders (its own renderer: flat JSON Schema with `order`, `format:
password`, nested `object`s, hidden fields through `uiSchema`), in OLake's keys. `translate` maps the
configs they produce to our connectors' configs; a `postgres` destination (ours, not listed by the UI) gets
its connector's own schema with an `order` added."""

from __future__ import annotations

from typing import Any, Final

from headwater.gateway.dialects.olake.translate import (
    ICEBERG_CATALOGS,
    Refused,
    Unsupported,
    as_dict,
    as_list,
)

Field = tuple[str, str, dict[str, Any]]  # key, title, extra JSON Schema


def _text(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def _int(**extra: Any) -> dict[str, Any]:
    return {"type": "integer", **extra}


def _password() -> dict[str, Any]:
    return {"type": "string", "format": "password"}


def _bool(**extra: Any) -> dict[str, Any]:
    return {"type": "boolean", **extra}


def _form(fields: list[Field], required: list[str], **root: Any) -> dict[str, Any]:
    properties = {
        key: {"title": title, **schema, "order": order}
        for order, (key, title, schema) in enumerate(fields, 1)
    }
    return {"type": "object", **root, "properties": properties, "required": required}


_SSL = {
    "type": "object",
    "properties": {
        "mode": {
            "type": "string",
            "title": "SSL mode",
            "enum": ["disable", "prefer", "require", "verify-ca", "verify-full"],
            "default": "prefer",
        }
    },
}

SOURCE_SPECS: Final[dict[str, dict[str, Any]]] = {
    "postgres": _form(
        [
            ("host", "Postgres Host", _text(description="Name or address of the server")),
            ("port", "Postgres Port", _int(default=5432)),
            ("database", "Database Name", _text()),
            ("username", "Username", _text()),
            ("password", "Password", _password()),
            ("ssl", "SSL Configuration", _SSL),
        ],
        ["host", "port", "database", "username", "password"],
    ),
    "mysql": _form(
        [
            ("hosts", "MySQL Host", _text(description="Name or address of the server")),
            ("port", "Port", _int(default=3306)),
            ("database", "Database", _text()),
            ("username", "Username", _text()),
            ("password", "Password", _password()),
            ("tls_skip_verify", "Use TLS (certificate not verified)", _bool(default=False)),
        ],
        ["hosts", "username", "password", "database", "port"],
    ),
    "mongodb": _form(
        [
            (
                "hosts",
                "Hosts",
                {"type": "array", "items": {"type": "string"}, "description": "host:port of each member"},
            ),
            ("database", "Database Name", _text()),
            ("authdb", "Auth DB", _text(default="admin")),
            ("username", "Username", _text()),
            ("password", "Password", _password()),
            ("replica-set", "Replica Set", _text()),
            ("srv", "Use SRV", _bool(default=False)),
        ],
        ["hosts", "username", "password", "database", "authdb"],
    ),
    "oracle": _form(
        [
            ("host", "Host", _text()),
            ("port", "Port", _int(default=1521)),
            ("service_name", "Service Name", _text()),
            ("username", "Username", _text()),
            ("password", "Password", _password()),
        ],
        ["host", "port", "service_name", "username", "password"],
    ),
}


def source_spec(kind: str) -> dict[str, Any]:
    return SOURCE_SPECS[kind]


def _writer(file_type: str, writer: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Writer Settings",
        "type": "object",
        "properties": {
            "type": {"type": "string", "title": "File Type", "enum": [file_type], "default": file_type},
            "writer": writer,
        },
        "required": ["type", "writer"],
    }


_S3 = _form(
    [
        ("s3_bucket", "S3 Bucket", _text()),
        ("s3_region", "S3 Region", _text()),
        ("s3_access_key", "AWS Access Key", _password()),
        ("s3_secret_key", "AWS Secret Key", _password()),
        ("s3_path", "S3 Path", _text(default="", description="Folder inside the bucket")),
        ("s3_endpoint", "S3 Endpoint", _text(description="URL of an S3-compatible server; AWS when empty")),
    ],
    ["s3_bucket", "s3_region"],
)

_S3_KEYS: list[Field] = [
    ("aws_region", "AWS Region", _text()),
    ("aws_access_key", "AWS Access Key", _password()),
    ("aws_secret_key", "AWS Secret Key", _password()),
]
_CATALOG_FIELDS: Final[dict[str, tuple[list[Field], list[str]]]] = {
    "glue": (
        [
            ("iceberg_s3_path", "Iceberg S3 Path (Warehouse)", _text()),
            *_S3_KEYS,
            ("iceberg_db", "Iceberg Database", _text()),
        ],
        ["iceberg_s3_path", "aws_region", "iceberg_db"],
    ),
    "rest": (
        [
            ("rest_catalog_url", "REST Catalog URL", _text()),
            ("iceberg_s3_path", "Iceberg S3 Path (Warehouse)", _text()),
            ("iceberg_db", "Iceberg Database", _text()),
            ("token", "Token", _password()),
            ("s3_endpoint", "S3 Endpoint", _text()),
            *_S3_KEYS,
        ],
        ["rest_catalog_url", "iceberg_s3_path", "iceberg_db"],
    ),
    "jdbc": (
        [
            ("jdbc_url", "JDBC URL", _text(description="jdbc:postgresql://host:port/database")),
            ("jdbc_username", "JDBC Username", _text()),
            ("jdbc_password", "JDBC Password", _password()),
            (
                "iceberg_s3_path",
                "Iceberg S3 Path (Warehouse)",
                _text(description="s3://bucket/prefix, or file:///folder on this server"),
            ),
            ("s3_endpoint", "S3 Endpoint", _text()),
            *_S3_KEYS,
            ("iceberg_db", "Iceberg Database", _text(default="default")),
        ],
        ["jdbc_url", "jdbc_username", "jdbc_password", "iceberg_s3_path", "iceberg_db"],
    ),
    "hive": (
        [
            ("iceberg_s3_path", "Iceberg S3 Path (Warehouse)", _text()),
            ("hive_uri", "Hive URI", _text()),
            *_S3_KEYS,
            ("iceberg_db", "Iceberg Database", _text()),
        ],
        ["iceberg_s3_path", "aws_region", "iceberg_db"],
    ),
}


def _iceberg_writer(catalog: str) -> dict[str, Any]:
    fields, required = _CATALOG_FIELDS[catalog]
    hidden: Field = (
        "catalog_type",
        "Catalog Type",
        {"type": "string", "enum": [catalog], "default": catalog},
    )
    return _form([hidden, *fields], ["catalog_type", *required])


def destination_spec(olake_type: str, catalog: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form and `uiSchema` of an OLake destination type (`s3` or `iceberg`, by the UI's labels too) and,
    for Iceberg, its catalog (`glue`, `rest`, `jdbc`, `hive`; `none` is Glue as in the UI)."""
    kind = olake_type.strip().lower()
    if kind in ("s3", "amazon s3"):
        return _writer("PARQUET", _S3), {"type": {"ui:widget": "hidden"}}
    if kind in ("iceberg", "apache iceberg"):
        chosen = (catalog or "jdbc").strip().lower()
        chosen = "glue" if chosen in ("none", "") else chosen
        if chosen not in ICEBERG_CATALOGS:
            raise Refused(f"Unsupported catalog type {catalog!r}: use one of {', '.join(ICEBERG_CATALOGS)}")
        ui = {"type": {"ui:widget": "hidden"}, "writer": {"catalog_type": {"ui:widget": "hidden"}}}
        return _writer("ICEBERG", _iceberg_writer(chosen)), ui
    raise Unsupported(f"Unsupported destination type {olake_type!r}: use s3 or iceberg (or postgres)")


_STANDARD = {"type", "title", "description", "default", "enum", "format", "items", "properties", "required"}


def form_of(schema: dict[str, Any]) -> dict[str, Any]:
    """One of our connectors' JSON Schemas as the UI's renderer needs it: numbered `order`, one type per field
    (`["string", "null"]` → `string`), the keywords it does not know (`anyOf`, `$ref`, bounds) left out."""
    properties: dict[str, Any] = {}
    for order, (key, field) in enumerate(dict(schema.get("properties", {})).items(), 1):
        kept = {k: v for k, v in dict(field).items() if k in _STANDARD}
        kind = field.get("type")
        if (kinds := as_list(kind)) is not None:
            kept["type"] = next((t for t in kinds if t != "null"), "string")
        elif kind is None:
            options = [as_dict(o) or {} for o in as_list(field.get("anyOf")) or []]
            kept["type"] = next((o["type"] for o in options if o.get("type") not in (None, "null")), "string")
        if field.get("secret") or field.get("x-secret"):
            kept["format"] = "password"
        properties[key] = {**kept, "order": order}
    return {"type": "object", "properties": properties, "required": list(schema.get("required", []))}
