"""An internal API never starts without the key it checks callers' signatures with."""

from __future__ import annotations

import pytest

from headwater.common.settings import SettingsError
from headwater.execution_tracking.__main__ import main
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.http.app import create_app
from headwater.execution_tracking.settings import Settings


def test_serve_refuses_to_start_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HEADWATER_INTERNAL_SIGNING_KEY", raising=False)
    monkeypatch.delenv("HEADWATER_EXECUTION_TRACKING_INTERNAL_SIGNING_KEY", raising=False)
    assert main(["serve"]) == 2
    assert "HEADWATER_INTERNAL_SIGNING_KEY must be set" in capsys.readouterr().err


def test_the_app_is_not_built_without_the_key() -> None:
    with pytest.raises(SettingsError, match="HEADWATER_INTERNAL_SIGNING_KEY"):
        create_app(bootstrap(Settings(log_json=False)))
