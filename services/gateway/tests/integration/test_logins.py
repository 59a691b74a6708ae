"""Logging in through each dialect on one user store: OLake cookie sessions, the Qluster OAuth2 password flow,
API tokens; and the protections around them: rate-limited logins and sign-ups that never lock a user out,
unambiguous login names, pruned sign-ups, CORS, no secret in the logs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from headwater.devstack.stack import Stack
from headwater.gateway.bootstrap import identity_for
from headwater.gateway.identity import credentials
from headwater.gateway.identity.guard import COOKIE_WRITE_REFUSED
from headwater.gateway.identity.logins import NotAuthenticated, TooManyAttempts
from headwater.gateway.identity.users import NewUser

from ..conftest import PASSWORD, Gateway, gateway_on, gateway_settings

pytestmark = pytest.mark.integration


def fresh() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"username": f"olake-{tag}", "email": f"olake-{tag}@example.com", "password": "a long password"}


async def signed_up(gw: Gateway, user: dict[str, str]) -> dict[str, Any]:
    """Sign `user` up and have a superuser activate the account (sign-up needs approval by default)."""
    r = await gw.client.post("/signup", json=user)
    assert r.status_code == 200, r.text
    listed = (await gw.client.get("/users", params={"limit": 1000}, headers=gw.as_role("superuser"))).json()
    (row,) = [u for u in listed["results"] if u["username"] == user["username"]]
    activated = await gw.client.patch(
        "/users", json={"id": row["id"], "is_active": True}, headers=gw.as_role("superuser")
    )
    assert activated.status_code == 200
    return r.json()


async def test_olake_signup_login_auth_logout(gw: Gateway) -> None:
    user = fresh()
    r = await gw.client.post("/signup", json=user)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "success": True,
        "message": "user created successfully; a superuser must activate the account before it can log in",
        "data": {"email": user["email"], "username": user["username"]},
    }
    again = await gw.client.post("/signup", json=user)
    assert again.status_code == 409
    assert again.json()["success"] is False
    # nobody reads anything without being let in: the account waits for a superuser
    waiting = await gw.client.post(
        "/login", json={"username": user["username"], "password": user["password"]}
    )
    assert (
        waiting.status_code == 400
    )  # as OLake: a 401 would send its UI back to the login page, message lost
    assert waiting.json() == {
        "success": False,
        "message": "this account is not active; a superuser must activate it",
    }
    listed = (await gw.client.get("/users", params={"limit": 1000}, headers=gw.as_role("superuser"))).json()
    (row,) = [u for u in listed["results"] if u["username"] == user["username"]]
    assert (row["is_active"], row["user_type"]) == (False, "read_only")
    await gw.client.patch(
        "/users", json={"id": row["id"], "is_active": True}, headers=gw.as_role("superuser")
    )

    gw.client.cookies.clear()
    bad = await gw.client.post("/login", json={"username": user["username"], "password": "wrong password"})
    assert bad.status_code == 400
    assert bad.json() == {"success": False, "message": "Invalid credentials"}
    assert (await gw.client.get("/auth")).json() == {"success": False, "message": "Authentication required"}

    r = await gw.client.post("/login", json={"username": user["username"], "password": user["password"]})
    assert r.status_code == 200
    assert r.json()["data"] == {"username": user["username"]}
    cookie = r.headers["set-cookie"]
    assert "headwater_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Max-Age=2592000" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    for path in ("/auth", "/auth/check"):
        r = await gw.client.get(path)
        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "user is authenticated",
            "data": {"username": user["username"]},
        }
    # a signed-up user reads (the default role is read_only) and may not write
    assert (await gw.client.get("/pipeline")).status_code == 200
    # a cookie write a cross-site form could send is refused before anything else is looked at
    forged = await gw.client.post(
        "/pipeline",
        content=b'{"name": "n", "pipeline_type_name": "t"}',
        headers={"content-type": "text/plain"},
    )
    assert (forged.status_code, forged.json()) == (403, {"detail": COOKIE_WRITE_REFUSED})
    assert (
        await gw.client.post("/pipeline", json={"name": "n", "pipeline_type_name": "t"})
    ).status_code == 403

    assert (await gw.client.post("/logout")).status_code == 200
    assert (await gw.client.get("/auth")).status_code == 401
    gw.client.cookies.clear()


async def test_the_session_cookie_is_secure_behind_tls(gw: Gateway) -> None:
    user = fresh()
    await signed_up(gw, user)
    r = await gw.client.post(
        "/login",
        json={"username": user["username"], "password": user["password"]},
        headers={"x-forwarded-proto": "https"},
    )
    assert "Secure" in r.headers["set-cookie"]
    gw.client.cookies.clear()


async def test_oauth2_password_flow_and_users_me(gw: Gateway) -> None:
    email = (await gw.client.get("/users/me", headers=gw.as_role("editor"))).json()["email"]
    # login with the email works as well as with the username
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    r = await gw.client.post("/token", data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["redirect_post_submit_to"] == ""
    bearer = {"authorization": f"Bearer {body['access_token']}"}
    me = await gw.client.get("/users/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["id"] == gw.users["editor"]
    assert me.json()["user_type"] == "editor"
    assert me.json()["password"] == "**********"

    wrong = await gw.client.post("/token", data={**form, "password": "nope nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Incorrect username or password"}
    missing = await gw.client.post("/token", data={"username": email})
    assert missing.status_code in (400, 422)


async def test_expired_or_forged_access_tokens_are_refused(gw: Gateway) -> None:
    key = gw.container.settings.signing_key
    user_id = uuid.UUID(gw.users["editor"])
    expired = credentials.issue_access_token(
        user_id, key=key, minutes=5, now=datetime.now(UTC) - timedelta(hours=1)
    )
    forged = credentials.issue_access_token(user_id, key="another key " * 4, minutes=5)
    for token in (expired, forged):
        r = await gw.client.get("/users/me", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 401


async def test_api_tokens_are_shown_once_stored_hashed_and_revocable(gw: Gateway, stack: Stack) -> None:
    editor = gw.as_role("editor")
    r = await gw.client.post(
        "/api/v1/tokens", json={"name": "orders loader", "expires_in_days": 30}, headers=editor
    )
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token.startswith("hw_")
    assert created["prefix"] == token[:10]
    listed = (await gw.client.get("/api/v1/tokens", headers=editor)).json()
    assert created["id"] in {t["id"] for t in listed}
    assert all("token" not in t for t in listed)

    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        stored = await conn.fetchval(
            "SELECT token_hash FROM gateway.api_token WHERE id = $1", uuid.UUID(created["id"])
        )
    finally:
        await conn.close()
    assert stored == credentials.digest(token)
    assert token.encode() not in stored

    mine = {"authorization": f"Bearer {token}"}
    assert (await gw.client.get("/pipeline", headers=mine)).status_code == 200
    # another user cannot revoke it; its owner can
    assert (
        await gw.client.delete(f"/api/v1/tokens/{created['id']}", headers=gw.as_role("read_only"))
    ).status_code == 404
    assert (await gw.client.delete(f"/api/v1/tokens/{created['id']}", headers=editor)).status_code == 204
    assert (await gw.client.get("/pipeline", headers=mine)).status_code == 401
    assert (await gw.client.post("/api/v1/tokens", json={"name": ""}, headers=editor)).status_code == 422


async def test_an_expired_api_token_is_refused(gw: Gateway, stack: Stack) -> None:
    editor = gw.as_role("editor")
    created = (
        await gw.client.post(
            "/api/v1/tokens", json={"name": "short-lived", "expires_in_days": 1}, headers=editor
        )
    ).json()
    mine = {"authorization": f"Bearer {created['token']}"}
    assert (await gw.client.get("/pipeline", headers=mine)).status_code == 200
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:  # a day later
        await conn.execute(
            "UPDATE gateway.api_token SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(created["id"]),
        )
    finally:
        await conn.close()
    assert (await gw.client.get("/pipeline", headers=mine)).status_code == 401
    out_of_range = await gw.client.post(
        "/api/v1/tokens", json={"name": "x", "expires_in_days": 0}, headers=editor
    )
    assert out_of_range.status_code == 422


async def test_user_administration_is_for_superusers(gw: Gateway) -> None:
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    body: dict[str, Any] = {
        "email": email,
        "raw_password": "analyst password",
        "raw_password2": "analyst password",
        "first_name": "Ana",
        "last_name": "Lyst",
        "is_active": True,
        "is_verified": False,
        "user_type": "limited_to_source",
        "data_source_model_ids": [3, 4],
    }
    assert (await gw.client.post("/users", json=body, headers=gw.as_role("editor"))).status_code == 403
    mismatch = await gw.client.post(
        "/users", json={**body, "raw_password2": "other"}, headers=gw.as_role("superuser")
    )
    assert mismatch.status_code == 422
    bad_role = await gw.client.post(
        "/users", json={**body, "user_type": "admin"}, headers=gw.as_role("superuser")
    )
    assert bad_role.status_code == 400 or bad_role.status_code == 422

    r = await gw.client.post("/users", json=body, headers=gw.as_role("superuser"))
    assert r.status_code == 200, r.text
    user = r.json()
    assert user["email"] == email
    assert user["user_type"] == "limited_to_source"
    assert user["data_source_model_ids"] == [3, 4]
    assert user["password"] == "**********"
    assert user["created_by_user_id"] == gw.users["superuser"]
    assert user["created_by_user_email"].startswith("superuser-")
    assert (await gw.client.post("/users", json=body, headers=gw.as_role("superuser"))).status_code == 409

    # the new user logs in; its principal carries its data sources
    login = await gw.client.post("/token", data={"username": email, "password": "analyst password"})
    assert login.status_code == 200

    patched = await gw.client.patch(
        "/users",
        json={"id": user["id"], "user_type": "read_only", "first_name": "Anna"},
        headers=gw.as_role("superuser"),
    )
    assert patched.status_code == 200
    assert (patched.json()["user_type"], patched.json()["first_name"]) == ("read_only", "Anna")
    assert (
        await gw.client.patch(
            "/users", json={"id": user["id"], "first_name": "x"}, headers=gw.as_role("editor")
        )
    ).status_code == 403
    unknown = await gw.client.patch(
        "/users", json={"id": str(uuid.uuid4()), "first_name": "x"}, headers=gw.as_role("superuser")
    )
    assert unknown.status_code == 404

    # reading one user: a superuser anyone, others only themselves
    assert (await gw.client.get(f"/users/{user['id']}", headers=gw.as_role("superuser"))).status_code == 200
    assert (await gw.client.get(f"/users/{user['id']}", headers=gw.as_role("editor"))).status_code == 403
    own = await gw.client.get(f"/users/{gw.users['editor']}", headers=gw.as_role("editor"))
    assert own.status_code == 200
    page = (await gw.client.get("/users", params={"limit": 2}, headers=gw.as_role("superuser"))).json()
    assert len(page["results"]) == 2
    assert page["next"] == {"start": 2, "limit": 2, "reverse": True}
    assert page["previous"] is None


async def test_a_deactivated_user_is_locked_out_at_once(gw: Gateway) -> None:
    email = f"leaver-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "raw_password": "leaver password", "raw_password2": "leaver password", "first_name": "L",
            "last_name": "V", "is_active": True, "is_verified": True, "user_type": "editor"}  # fmt: skip
    user = (await gw.client.post("/users", json=body, headers=gw.as_role("superuser"))).json()
    access = (await gw.client.post("/token", data={"username": email, "password": "leaver password"})).json()
    bearer = {"authorization": f"Bearer {access['access_token']}"}
    assert (await gw.client.get("/pipeline", headers=bearer)).status_code == 200
    await gw.client.patch(
        "/users", json={"id": user["id"], "is_active": False}, headers=gw.as_role("superuser")
    )
    assert (await gw.client.get("/pipeline", headers=bearer)).status_code == 401
    assert (
        await gw.client.post("/token", data={"username": email, "password": "leaver password"})
    ).status_code == 401


async def test_a_password_change_revokes_the_users_api_tokens(gw: Gateway) -> None:
    """Whoever resets a password may be shutting out someone who learnt the old one: tokens go with it."""
    email = f"rotated-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "raw_password": "first password", "raw_password2": "first password", "first_name": "R",
            "last_name": "T", "is_active": True, "is_verified": True, "user_type": "editor"}  # fmt: skip
    user = (await gw.client.post("/users", json=body, headers=gw.as_role("superuser"))).json()
    access = (await gw.client.post("/token", data={"username": email, "password": "first password"})).json()
    bearer = {"authorization": f"Bearer {access['access_token']}"}
    token = (await gw.client.post("/api/v1/tokens", json={"name": "loader"}, headers=bearer)).json()["token"]
    api = {"authorization": f"Bearer {token}"}
    assert (await gw.client.get("/pipeline", headers=api)).status_code == 200

    renamed = await gw.client.patch(
        "/users", json={"id": user["id"], "first_name": "Ro"}, headers=gw.as_role("superuser")
    )
    assert renamed.status_code == 200
    assert (await gw.client.get("/pipeline", headers=api)).status_code == 200  # other changes keep tokens

    changed = await gw.client.patch(
        "/users",
        json={"id": user["id"], "raw_password": "second password", "raw_password2": "second password"},
        headers=gw.as_role("superuser"),
    )
    assert changed.status_code == 200, changed.text
    assert (await gw.client.get("/pipeline", headers=api)).status_code == 401
    assert (await gw.client.get("/api/v1/tokens", headers=gw.as_role("superuser"))).status_code == 200


@pytest.fixture(scope="module")
async def capped(stack: Stack) -> AsyncIterator[Gateway]:
    async for g in gateway_on(stack, api_token_max_days=90):
        yield g


async def test_the_api_token_lifetime_cap_applies_to_new_tokens(capped: Gateway, stack: Stack) -> None:
    editor = capped.as_role("editor")
    too_long = await capped.client.post(
        "/api/v1/tokens", json={"name": "forever", "expires_in_days": 91}, headers=editor
    )
    assert too_long.status_code == 422
    assert "between 1 and 90" in too_long.text
    unbounded = await capped.client.post("/api/v1/tokens", json={"name": "default"}, headers=editor)
    assert unbounded.status_code == 201
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        days = await conn.fetchval(
            "SELECT extract(day FROM expires_at - created_at) FROM gateway.api_token WHERE id = $1",
            uuid.UUID(unbounded.json()["id"]),
        )
    finally:
        await conn.close()
    assert int(days) in (89, 90)


@pytest.fixture(scope="module")
async def strict(stack: Stack) -> AsyncIterator[Gateway]:
    """A gateway that allows 3 failed logins per user and 6 per address, with no failures on record yet (every
    test client calls from the same address)."""
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        await conn.execute("DELETE FROM gateway.login_attempt")
    finally:
        await conn.close()
    async for g in gateway_on(stack, login_failures_per_user=3, login_failures_per_address=6):
        yield g


async def test_logins_are_rate_limited_per_user_and_per_address(strict: Gateway) -> None:
    me = (await strict.client.get("/users/me", headers=strict.as_role("editor"))).json()
    name = me["username"]
    for _ in range(3):
        r = await strict.client.post("/token", data={"username": name, "password": "wrong password"})
        assert r.status_code == 401
    # the fourth attempt is refused even with the right password, and says when to come back
    r = await strict.client.post("/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    olake = await strict.client.post("/login", json={"username": name, "password": PASSWORD})
    assert olake.status_code == 429
    assert olake.json()["success"] is False
    metrics = (await strict.client.get("/metrics", headers=strict.as_role("read_only"))).text
    assert 'headwater_gateway_logins_total{outcome="rate_limited"}' in metrics
    assert 'headwater_gateway_logins_total{outcome="failed"}' in metrics
    # the failures are on the user, as Qluster shows them
    me = (await strict.client.get("/users/me", headers=strict.as_role("editor"))).json()
    assert len(me["last_failed_logins_at"]) == 3

    # another user from the same address: three more failures reach the address limit of six
    other = (await strict.client.get("/users/me", headers=strict.as_role("read_only"))).json()["username"]
    for _ in range(3):
        await strict.client.post("/token", data={"username": other, "password": "wrong password"})
    third = (await strict.client.get("/users/me", headers=strict.as_role("billing"))).json()["username"]
    assert (
        await strict.client.post("/token", data={"username": third, "password": PASSWORD})
    ).status_code == 429


async def test_cors_allow_list_with_credentials_and_preflight(gw: Gateway) -> None:
    preflight = await gw.client.options(
        "/api/v1/project/123/members",
        headers={
            "origin": "http://localhost:8000",
            "access-control-request-method": "GET",
            "access-control-request-headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8000"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]

    refused = await gw.client.options(
        "/pipeline", headers={"origin": "https://evil.example.com", "access-control-request-method": "GET"}
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers

    simple = await gw.client.get(
        "/pipeline", headers={"origin": "https://ui.example.com", **gw.as_role("read_only")}
    )
    assert simple.headers["access-control-allow-origin"] == "https://ui.example.com"
    assert simple.headers["access-control-allow-credentials"] == "true"
    other = await gw.client.get(
        "/pipeline", headers={"origin": "https://evil.example.com", **gw.as_role("read_only")}
    )
    assert "access-control-allow-origin" not in other.headers


async def test_no_secret_reaches_the_logs(gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    user = {**fresh(), "password": "Sup3r-secret-pa55word"}
    await signed_up(gw, user)
    await gw.client.post("/login", json={"username": user["username"], "password": "Wr0ng-secret-pa55word"})
    login = await gw.client.post("/login", json={"username": user["username"], "password": user["password"]})
    session = login.cookies.get("headwater_session") or ""
    token = (await gw.client.post("/api/v1/tokens", json={"name": "t"}, headers=gw.as_role("editor"))).json()[
        "token"
    ]
    await gw.client.get("/pipeline", headers={"authorization": f"Bearer {token}"})
    gw.client.cookies.clear()
    logs = caplog.text + "".join(str(r.msg) for r in caplog.records)
    assert "login_failed" in logs  # the logs were captured
    for secret in (user["password"], "Wr0ng-secret-pa55word", token, session):
        assert secret
        assert secret not in logs


@pytest.fixture(scope="module")
async def open_signup(stack: Stack) -> AsyncIterator[Gateway]:
    async for g in gateway_on(stack, signup="open", signup_role="editor"):
        yield g


@pytest.fixture(scope="module")
async def closed_signup(stack: Stack) -> AsyncIterator[Gateway]:
    async for g in gateway_on(stack, signup="closed"):
        yield g


async def test_open_signup_lets_the_user_in_at_once_with_the_configured_role(open_signup: Gateway) -> None:
    user = fresh()
    assert (await open_signup.client.post("/signup", json=user)).json()[
        "message"
    ] == "user created successfully"
    token = await open_signup.client.post(
        "/token", data={"username": user["email"], "password": user["password"]}
    )
    me = await open_signup.client.get(
        "/users/me", headers={"authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["user_type"] == "editor"


async def test_closed_signup_refuses(closed_signup: Gateway) -> None:
    r = await closed_signup.client.post("/signup", json=fresh())
    assert r.status_code == 403
    assert r.json() == {
        "success": False,
        "message": "sign-up is closed; ask an administrator for an account",
    }


async def test_failures_from_elsewhere_slow_a_user_down_but_never_lock_them_out(stack: Stack) -> None:
    """Anyone can guess at `admin`'s password; that must not keep `admin` out (it only slows the name down)."""
    identity, engine = identity_for(
        gateway_settings(stack, login_failures_per_user=3, login_max_delay_seconds=0.2)
    )
    try:
        name = f"target-{uuid.uuid4().hex[:8]}"
        await identity.users.create(
            NewUser(username=name, email=f"{name}@example.com", password=PASSWORD, user_type="editor")
        )
        attacker, owner = f"198.51.100.{uuid.uuid4().int % 200}", "203.0.113.7"
        for _ in range(3):
            with pytest.raises(NotAuthenticated):
                await identity.logins.check_password(name, "a wrong guess", attacker)
        with pytest.raises(TooManyAttempts):  # the guesser's own address is locked out of this name
            await identity.logins.check_password(name, PASSWORD, attacker)
        user = await identity.logins.check_password(name, PASSWORD, owner)  # the owner is not
        assert user["username"] == name
    finally:
        await engine.dispose()


async def test_a_username_cannot_shadow_another_users_email(gw: Gateway) -> None:
    victim = fresh()
    await signed_up(gw, victim)
    squatter = {**fresh(), "username": victim["email"].upper()}
    refused = await gw.client.post("/signup", json=squatter)
    assert refused.status_code == 409, refused.text
    mirror = {**fresh(), "email": victim["username"] + "@example.org", "username": victim["email"]}
    assert (await gw.client.post("/signup", json=mirror)).status_code == 409


@pytest.fixture(scope="module")
async def signup_limited(stack: Stack) -> AsyncIterator[Gateway]:
    async for g in gateway_on(stack, signup="open", signups_per_address=2):
        yield g


async def test_signups_are_limited_per_address(signup_limited: Gateway, stack: Stack) -> None:
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        await conn.execute("DELETE FROM gateway.signup_attempt")
    finally:
        await conn.close()
    for _ in range(2):
        assert (await signup_limited.client.post("/signup", json=fresh())).status_code == 200
    third = await signup_limited.client.post("/signup", json=fresh())
    assert third.status_code == 429
    assert third.json() == {
        "success": False,
        "message": "too many sign-ups from this address; try again later",
    }


async def test_sign_ups_nobody_activated_are_pruned(gw: Gateway, stack: Stack) -> None:
    pending, activated = fresh(), fresh()
    for user in (pending, activated):  # sign-up needs approval here: both wait, inactive
        assert (await gw.client.post("/signup", json=user)).status_code == 200
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        await conn.execute(
            "UPDATE gateway.user SET created_at = now() - interval '30 days', updated_at = now() - interval "
            "'30 days' WHERE username = ANY($1::text[])",
            [pending["username"], activated["username"]],
        )
        await conn.execute(  # a superuser activated this one and deactivated it again: it stays
            "UPDATE gateway.user SET updated_at = now() WHERE username = $1", activated["username"]
        )
        identity, engine = identity_for(gateway_settings(stack))
        try:
            pruned = await identity.housekeeping.prune()
        finally:
            await engine.dispose()
        assert pruned.pending_signups >= 1
        left = await conn.fetch(
            "SELECT username FROM gateway.user WHERE username = ANY($1::text[])",
            [pending["username"], activated["username"]],
        )
        assert [r["username"] for r in left] == [activated["username"]]
    finally:
        await conn.close()


async def test_a_used_api_token_is_marked_at_most_once_a_minute(gw: Gateway, stack: Stack) -> None:
    created = (
        await gw.client.post("/api/v1/tokens", json={"name": "busy"}, headers=gw.as_role("editor"))
    ).json()
    mine = {"authorization": f"Bearer {created['token']}"}
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:
        used = "SELECT last_used_at FROM gateway.api_token WHERE id = $1"
        assert await conn.fetchval(used, uuid.UUID(created["id"])) is None
        assert (await gw.client.get("/pipeline", headers=mine)).status_code == 200
        first = await conn.fetchval(used, uuid.UUID(created["id"]))
        assert first is not None
        assert (await gw.client.get("/pipeline", headers=mine)).status_code == 200
        assert await conn.fetchval(used, uuid.UUID(created["id"])) == first
    finally:
        await conn.close()


async def test_nul_bytes_and_overlong_strings_in_the_forms_are_refused_with_a_4xx(gw: Gateway) -> None:
    long = "x" * 5000
    answers = [
        await gw.client.post("/login", json={"username": "admin\u0000", "password": "p"}),
        await gw.client.post("/login", json={"username": "admin", "password": long * 10}),
        await gw.client.post("/signup", json={**fresh(), "username": long}),
        await gw.client.post("/signup", json={**fresh(), "email": "a\u0000@example.com"}),
        await gw.client.post("/token", data={"username": "admin\x00", "password": "p"}),
        await gw.client.post("/token", data={"username": long, "password": "p"}),
        await gw.client.post("/api/v1/tokens", json={"name": "t\u0000"}, headers=gw.as_role("editor")),
    ]
    # OLake answers 400, the FastAPI-style dialects 422: each refuses, and says which field
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 422, 422, 422], [a.text for a in answers]
    assert answers[0].json()["success"] is False  # each in its dialect's error shape
    assert "detail" in answers[4].json()
    # STORABLE names only NUL: a lone surrogate never decodes (JSON refuses it, a form gets U+FFFD for bad UTF-8)
    lone = await gw.client.post(
        "/login",
        content=b'{"username": "a\\udcff", "password": "p"}',
        headers={"content-type": "application/json"},
    )
    assert lone.status_code == 400, lone.text
    form = await gw.client.post(
        "/token",
        content=b"username=a%ED%B3%BF&password=p",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 401, form.text
