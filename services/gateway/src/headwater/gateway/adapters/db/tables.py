"""Tables of the `gateway` schema.

Secrets are never stored as given: passwords as argon2 hashes, session ids and API tokens as SHA-256 digests
(they are 256-bit random values, so a fast hash is enough and lets a request be authenticated by one indexed
lookup). Login and sign-up attempts are kept to rate-limit them across gateway replicas; the audit log records every
write (who, what, when, with what outcome) and never a request body.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from headwater.common.db import columns, schema_metadata
from headwater.gateway import SCHEMA

metadata = schema_metadata(SCHEMA)

ROLES = "('superuser', 'editor', 'limited_to_source', 'read_only', 'billing')"

user = Table(
    "user",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("username", String(150), nullable=False),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("first_name", String(150), nullable=False, server_default=""),
    Column("last_name", String(150), nullable=False, server_default=""),
    Column("user_type", String(20), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("is_verified", Boolean, nullable=False, server_default=text("false")),
    Column("data_source_ids", ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")),
    Column("created_by_user_id", UUID(as_uuid=True), nullable=True),
    columns.created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"user_type IN {ROLES}", name="user_type_known"),
    Index("user_username_key", func.lower(text("username")), unique=True),
    Index("user_email_key", func.lower(text("email")), unique=True),
)

session = Table(
    "session",
    metadata,
    Column("id_hash", LargeBinary, primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    columns.created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("session_user_idx", "user_id"),
    Index("session_expires_idx", "expires_at"),
)

api_token = Table(
    "api_token",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    columns.created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("api_token_user_idx", "user_id"),
)

project = Table(
    "project",
    metadata,
    Column("id", String(200), primary_key=True),
    columns.created_at(),
)

project_member = Table(
    "project_member",
    metadata,
    Column("project_id", String(200), ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    columns.created_at("added_at"),
    Index("project_member_user_idx", "user_id"),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    columns.identity_key(),
    Column("username", String(320), nullable=False),  # as typed, lower-cased: unknown names are limited too
    Column("address", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    columns.created_at("at"),
    Index("login_attempt_username_idx", "username", "at"),
    Index("login_attempt_address_idx", "address", "at"),
)

signup_attempt = Table(
    "signup_attempt",
    metadata,
    columns.identity_key(),
    Column("address", String(64), nullable=False),
    columns.created_at("at"),
    Index("signup_attempt_address_idx", "address", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    columns.identity_key(),
    columns.created_at("at"),
    Column("subject", String(64), nullable=False),  # user id, or "anonymous" for a refused request
    Column("username", String(150), nullable=False),
    Column("via", String(20), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(2000), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("address", String(64), nullable=False),
    Column("trace_id", String(32), nullable=True),
    Index("audit_log_at_idx", "at"),
    Index("audit_log_subject_idx", "subject", "at"),
)
