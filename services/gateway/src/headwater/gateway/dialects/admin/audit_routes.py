"""The audit log, for superusers: the latest writes, optionally of one user."""

from __future__ import annotations

from datetime import datetime

from litestar import get
from litestar.params import FromQuery
from msgspec import Struct

from headwater.common.errors import Invalid
from headwater.gateway.dialects.deps import Audit, Identities


class AuditEntry(Struct, kw_only=True):
    id: int
    at: datetime
    subject: str
    username: str
    via: str
    method: str
    path: str
    status: int
    address: str
    trace_id: str | None


@get(
    "/api/v1/audit", opt={"permission": "manage_users"}, tags=["Audit"], summary="Latest writes, newest first"
)
async def audit_log(
    identity: Identities,
    audit: Audit,
    limit: FromQuery[int] = 100,
    subject: FromQuery[str | None] = None,
) -> list[AuditEntry]:
    if not 1 <= limit <= 1000:
        raise Invalid("`limit` must be between 1 and 1000")
    await audit.flush()  # this process's latest writes are listed too
    rows = await identity.store.audit_entries(limit=limit, subject=subject)
    return [AuditEntry(**dict(r)) for r in rows]


ROUTES = [audit_log]
