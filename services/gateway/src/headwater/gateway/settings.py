"""Gateway settings, read from `HEADWATER_GATEWAY_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from typing import Final

from headwater.common.settings import LOCAL_PORTS, CommonSettings, local_url
from headwater.gateway import SERVICE
from headwater.gateway.identity.addresses import parse_networks

# Signing keys that are public (docker-compose.yml's development default, the placeholder of the Kubernetes
# example Secret): anyone could forge tokens with them.
KNOWN_SIGNING_KEYS: Final = frozenset(
    {"development-only-insecure-signing-key-do-not-use", "REPLACE-ME-WITH-AT-LEAST-32-RANDOM-CHARACTERS"}
)


class Settings(CommonSettings, frozen=True, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = LOCAL_PORTS[SERVICE].http
    http_workers: int = 1
    execution_tracking_url: str = local_url("execution-tracking")
    quality_alerting_url: str = local_url("quality-alerting")
    scheduler_url: str = local_url("scheduler")
    ingestion_url: str = local_url("ingestion")
    upstream_timeout_seconds: float = 30.0
    upstream_connections: int = 100
    # A service that is down costs a request this long to find out; after `upstream_breaker_failures` such
    # failures in a row its breaker opens and its routes answer 503 at once for `upstream_breaker_open_seconds`
    # (then one request probes it). The gateway's readiness does not depend on the services.
    upstream_connect_timeout_seconds: float = 1.0
    upstream_breaker_failures: int = 5
    upstream_breaker_open_seconds: float = 5.0
    # The largest answer of a service the gateway relays (it buffers answers whole): larger ones are a 502.
    upstream_max_body_bytes: int = 64 * 1024 * 1024
    # Request bodies: Litestar's cap (10 MB) holds on every route but the file uploads (POST /stored-items/upload,
    # PUT /stored-items/{id}/upload), which stream to ingestion and take files up to `upload_max_bytes` (413
    # past it); an upload whose client sends nothing for `upload_idle_timeout_seconds` is abandoned (408).
    upload_max_bytes: int = 10 * 1024**3
    upload_idle_timeout_seconds: float = 60.0

    # Identity (schema `gateway`, its own role).
    database_url: str = "postgresql://gateway@127.0.0.1:5432/headwater"
    db_pool_size: int = 5
    signing_key: str = ""  # HS256 key of the JWT access tokens; required, ≥ 32 characters
    access_token_minutes: int = 30
    # The longest an API token may live, in days, and the lifetime of one created without `expires_in_days`;
    # 0: no cap (a token lives until revoked unless it was given a lifetime).
    api_token_max_days: int = 0
    session_days: int = 30
    # Authenticated principals are cached this long, so a revoked token or a changed role takes effect within it.
    principal_cache_seconds: float = 5.0
    # Who may sign up through `POST /signup`: `approval` (the default) creates the account inactive until a
    # superuser activates it (PATCH /users is_active), `open` lets the new user in at once, `closed` refuses.
    signup: str = "approval"
    signup_role: str = "read_only"  # the role of users who sign up themselves (a superuser can raise it)
    default_project: str = "123"  # every new user joins it: the OLake UI hard-codes project "123"
    cors_allow_origins: str = "http://localhost:8000"  # comma-separated; "" turns CORS off
    # Failed logins allowed within the window, per username from one client address and per client address,
    # before 429. Failures of a username from elsewhere never lock it: they slow its logins down instead, by up
    # to `login_max_delay_seconds`, so nobody can keep a user (say `admin`) locked out.
    login_window_seconds: int = 900
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_max_delay_seconds: float = 5.0
    # Sign-ups (POST /signup) allowed per client address within the login window; accounts that signed up and
    # were never activated are deleted after `signup_pending_days`.
    signups_per_address: int = 5
    signup_pending_days: int = 14
    # Comma-separated addresses or CIDR ranges of the reverse proxies (ingress, load balancer) in front of the
    # gateway: their X-Forwarded-For names the client. Empty: the connection's peer is the client.
    trusted_proxies: str = ""
    # Housekeeping (every replica, hourly): expired sessions and login attempts older than this are deleted.
    login_attempts_retention_days: int = 30
    housekeeping_interval_seconds: float = 3600.0

    # The bootstrap superuser `python -m headwater.gateway bootstrap` (run by `make up`) makes sure exists.
    admin_username: str = "admin"
    admin_email: str = "admin@headwater.local"
    admin_password: str = ""  # empty: a generated password is printed once when the user is created
    bootstrap_token: str = ""  # an API token of that superuser, created with exactly this value if absent

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]


def problems(settings: Settings) -> str | None:
    """Why these settings cannot run the gateway, if they cannot."""
    if len(settings.signing_key) < 32:
        return "HEADWATER_GATEWAY_SIGNING_KEY must be set to at least 32 characters (it signs access tokens)"
    if settings.signing_key in KNOWN_SIGNING_KEYS and settings.environment != "local":
        return (
            f"HEADWATER_GATEWAY_SIGNING_KEY is a published development key and HEADWATER_ENVIRONMENT is "
            f"{settings.environment!r}: set a secret key (e.g. `openssl rand -base64 48`), or set "
            "HEADWATER_ENVIRONMENT=local for a trial on this machine only"
        )
    if settings.signup not in ("approval", "open", "closed"):
        return "HEADWATER_GATEWAY_SIGNUP must be approval, open or closed"
    if settings.signup_role not in ("editor", "read_only", "billing"):
        return "HEADWATER_GATEWAY_SIGNUP_ROLE must be editor, read_only or billing"
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        return f"HEADWATER_GATEWAY_TRUSTED_PROXIES: {exc}"
    if settings.upload_max_bytes < 1 or settings.upload_idle_timeout_seconds <= 0:
        return "HEADWATER_GATEWAY_UPLOAD_MAX_BYTES and HEADWATER_GATEWAY_UPLOAD_IDLE_TIMEOUT_SECONDS must be positive"
    if settings.api_token_max_days < 0:
        return "HEADWATER_GATEWAY_API_TOKEN_MAX_DAYS must be 0 (no cap) or a number of days"
    if settings.bootstrap_token and len(settings.bootstrap_token) < 20:
        return "HEADWATER_BOOTSTRAP_TOKEN must be at least 20 characters"
    return None
