"""Settings come from prefixed environment variables, service-specific first."""

import pytest

from headwater.common.settings import CommonSettings, SettingsError, internal_signing_problem, load_settings


class DemoSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://default"
    http_port: int = 8000
    flag: bool = False


def test_defaults_without_environment() -> None:
    s = load_settings(DemoSettings, "demo", {})
    assert s.http_port == 8000
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"


def test_service_prefix_wins_over_shared_prefix() -> None:
    env = {"HEADWATER_HTTP_PORT": "1", "HEADWATER_DEMO_HTTP_PORT": "2", "HEADWATER_TOPIC_PREFIX": "dev."}
    s = load_settings(DemoSettings, "demo", env)
    assert s.http_port == 2
    assert s.topic_prefix == "dev."


def test_kebab_service_names_map_to_underscores() -> None:
    s = load_settings(DemoSettings, "execution-tracking", {"HEADWATER_EXECUTION_TRACKING_FLAG": "true"})
    assert s.flag is True


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="http_port"):
        load_settings(DemoSettings, "demo", {"HEADWATER_DEMO_HTTP_PORT": "eighty"})


def test_settings_are_frozen() -> None:
    s = load_settings(DemoSettings, "demo", {})
    with pytest.raises(AttributeError):
        s.http_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "environment", "problem"),
    [
        ("", "local", "must be set to at least 32 characters"),
        ("k" * 31, "local", "must be set to at least 32 characters"),
        ("k" * 32, "production", None),
        ("development-only-insecure-internal-key-do-not-use", "local", None),
        ("development-only-insecure-internal-key-do-not-use", "production", "published development key"),
        ("REPLACE-ME-WITH-AT-LEAST-32-RANDOM-CHARACTERS", "staging", "published development key"),
    ],
)
def test_the_internal_signing_key_must_be_long_and_secret(
    key: str, environment: str, problem: str | None
) -> None:
    env = {"HEADWATER_INTERNAL_SIGNING_KEY": key, "HEADWATER_ENVIRONMENT": environment}
    found = internal_signing_problem(load_settings(DemoSettings, "demo", env))
    assert (found is None) if problem is None else (problem in (found or ""))
