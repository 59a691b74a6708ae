"""Projects decide who uses an OLake path `/api/v1/project/{project_id}/...`; every write is audited; the
`gateway` schema migrates down and up and its role reaches nothing else."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import SchemaAndRoleTests
from headwater.gateway import SCHEMA
from headwater.gateway.bootstrap import identity_for

from ..conftest import Gateway, gateway_settings

pytestmark = pytest.mark.integration


async def test_membership_decides_who_enters_a_project(gw: Gateway) -> None:
    editor = gw.as_role("editor")
    # every user is in the default project "123", which the OLake UI hard-codes
    members = await gw.client.get("/api/v1/project/123/members", headers=editor)
    assert members.status_code == 200
    assert members.json()["success"] is True
    # a member sees usernames and roles; ids and emails (the superuser's among them) only a superuser sees
    assert "editor" in {m["user_type"] for m in members.json()["data"]}
    assert all(set(m) == {"username", "user_type"} for m in members.json()["data"])
    everything = await gw.client.get("/api/v1/project/123/members", headers=gw.as_role("superuser"))
    assert gw.users["editor"] in {m["id"] for m in everything.json()["data"]}
    assert all(set(m) == {"id", "username", "email", "user_type"} for m in everything.json()["data"])

    project = f"team-{uuid.uuid4().hex[:6]}"  # any string is a project id
    refused = await gw.client.get(f"/api/v1/project/{project}/members", headers=editor)
    assert refused.status_code == 403
    assert refused.json() == {
        "success": False,
        "message": f"Insufficient permissions: not a member of project {project}",
    }

    # only a superuser manages memberships; it enters every project
    add = f"/api/v1/project/{project}/members/{gw.users['editor']}"
    assert (await gw.client.put(add, headers=editor)).status_code == 403
    added = await gw.client.put(add, headers=gw.as_role("superuser"))
    assert added.status_code == 200, added.text
    assert (await gw.client.get(f"/api/v1/project/{project}/members", headers=editor)).status_code == 200
    assert (await gw.client.delete(add, headers=gw.as_role("superuser"))).status_code == 200
    assert (await gw.client.get(f"/api/v1/project/{project}/members", headers=editor)).status_code == 403
    gone = await gw.client.delete(add, headers=gw.as_role("superuser"))
    assert gone.status_code == 404
    assert gone.json()["success"] is False
    unknown_user = await gw.client.put(
        f"/api/v1/project/{project}/members/{uuid.uuid4()}", headers=gw.as_role("superuser")
    )
    assert unknown_user.status_code == 404


async def test_a_project_id_postgres_cannot_store_is_a_404(gw: Gateway) -> None:
    for role in ("editor", "superuser"):
        for project in ("a%00b", "x" * 400):
            r = await gw.client.get(f"/api/v1/project/{project}/members", headers=gw.as_role(role))
            assert r.status_code == 404, r.text
            assert r.json() == {"success": False, "message": "Resource not found: no such project"}


async def test_every_write_is_audited_with_who_what_and_outcome(gw: Gateway) -> None:
    editor = gw.as_role("editor")
    ok = await gw.client.post(
        "/pipeline?secret_in_query=1", json={"name": "audited", "pipeline_type_name": "t"}, headers=editor
    )
    assert ok.status_code == 200  # the fake upstream's answer
    refused = await gw.client.post("/pipeline", json={}, headers=gw.as_role("read_only"))
    assert refused.status_code == 403
    anonymous = await gw.client.post("/log_cleanup", json={"retention_days": 90})
    assert anonymous.status_code == 401
    await gw.client.get("/pipeline", headers=editor)  # reads are not audited

    entries = (
        await gw.client.get("/api/v1/audit", params={"limit": 20}, headers=gw.as_role("superuser"))
    ).json()
    latest = [(e["subject"], e["method"], e["path"], e["status"], e["via"]) for e in entries[:3]]
    assert latest == [
        ("anonymous", "POST", "/log_cleanup", 401, "none"),
        (gw.users["read_only"], "POST", "/pipeline", 403, "api_token"),
        (gw.users["editor"], "POST", "/pipeline", 200, "api_token"),
    ]
    assert all("secret_in_query" not in e["path"] for e in entries)  # the query string is never kept
    mine = (
        await gw.client.get(
            "/api/v1/audit", params={"subject": gw.users["editor"]}, headers=gw.as_role("superuser")
        )
    ).json()
    assert {e["subject"] for e in mine} == {gw.users["editor"]}
    assert (await gw.client.get("/api/v1/audit", headers=editor)).status_code == 403


async def test_a_path_postgres_cannot_store_does_not_stop_the_audit(gw: Gateway) -> None:
    nul = await gw.client.delete("/api/v1/tokens/%00")  # anonymous, a NUL byte in the path
    assert nul.status_code == 401
    later = await gw.client.post("/log_cleanup", json={"retention_days": 90})
    assert later.status_code == 401
    entries = (
        await gw.client.get("/api/v1/audit", params={"limit": 2}, headers=gw.as_role("superuser"))
    ).json()
    assert [(e["method"], e["path"]) for e in entries] == [
        ("POST", "/log_cleanup"),
        ("DELETE", "/api/v1/tokens/\\x00"),
    ]


async def test_the_principal_is_passed_on_to_the_services(gw: Gateway) -> None:
    upstream = gw.container.execution_tracking
    await gw.client.get("/pipeline", headers=gw.as_role("limited_to_source"))
    call = upstream.calls[-1]  # type: ignore[attr-defined]
    assert (call.principal.subject, call.principal.role) == (
        gw.users["limited_to_source"],
        "limited_to_source",
    )
    assert call.principal.data_sources == (7,)
    await gw.client.get("/pipeline", headers=gw.as_role("editor"))
    assert upstream.calls[-1].principal.data_sources is None  # type: ignore[attr-defined]


class TestSchemaAndRole(SchemaAndRoleTests):
    package = "headwater.gateway"
    head = "0002"


async def test_housekeeping_prunes_expired_sessions_and_old_login_attempts(stack: Stack, gw: Gateway) -> None:
    conn = await asyncpg.connect(stack.service_dsn(SCHEMA))
    name = f"pruned-{uuid.uuid4().hex[:6]}"
    try:
        await conn.execute(
            "INSERT INTO gateway.login_attempt (username, address, succeeded, at) VALUES "
            "($1, 'a', false, now() - interval '31 days'), ($1, 'a', false, now() - interval '29 days')",
            name,
        )
        await conn.execute(
            "INSERT INTO gateway.session (id_hash, user_id, expires_at) VALUES "
            "($1, $3, now() - interval '1 second'), ($2, $3, now() + interval '1 day')",
            b"expired-" + name.encode(),
            b"live-" + name.encode(),
            uuid.UUID(gw.users["editor"]),
        )
        identity, engine = identity_for(gateway_settings(stack))
        try:
            pruned = await identity.housekeeping.prune()
        finally:
            await engine.dispose()
        assert pruned.sessions >= 1
        assert pruned.attempts >= 1
        left = await conn.fetch(
            "SELECT at > now() - interval '30 days' AS recent FROM gateway.login_attempt WHERE username = $1",
            name,
        )
        assert [r["recent"] for r in left] == [True]
        kept = await conn.fetch(
            "SELECT id_hash FROM gateway.session WHERE id_hash = ANY($1::bytea[])",
            [b"expired-" + name.encode(), b"live-" + name.encode()],
        )
        assert [bytes(r["id_hash"]) for r in kept] == [b"live-" + name.encode()]
    finally:
        await conn.close()
