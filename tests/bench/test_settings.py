"""The bench's token: read from $HEADWATER_BOOTSTRAP_TOKEN or --token, required before any measurement that calls
the gateway, and kept out of reprs and result files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from bench.__main__ import parse_args
from bench.report import write_json
from bench.settings import TOKEN_ENV

TOKEN = "hw_bench_settings_test_token_0123456789"


def test_the_token_comes_from_the_environment_or_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = parse_args([])
    assert settings.token == TOKEN
    assert settings.gateway_headers() == {"authorization": f"Bearer {TOKEN}"}
    assert parse_args(["--token", "hw_given_on_the_command_line"]).token == "hw_given_on_the_command_line"


@pytest.mark.parametrize("only", ["all", "http", "lineage", "anomaly"])
def test_without_a_token_a_gateway_measurement_stops_at_start_saying_how_to_get_one(
    only: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        parse_args(["--only", only])
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert f"{TOKEN_ENV}=" in message
    assert "make up" in message
    assert "--token" in message


@pytest.mark.parametrize("only", ["ingress", "checks"])
def test_measurements_that_bypass_the_gateway_need_no_token(
    only: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    settings = parse_args(["--only", only])
    assert settings.token == ""
    assert not settings.calls_gateway


def test_the_token_is_neither_in_the_help_nor_the_repr_nor_the_results(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = capsys.readouterr().out
    assert "--token" in help_text
    assert TOKEN not in help_text
    settings = parse_args([])
    assert TOKEN not in repr(settings)
    path = write_json(
        started_at=datetime.now(UTC),
        settings=settings,
        machine={},
        http=None,
        ingress=None,
        directory=tmp_path,
    )
    assert TOKEN not in path.read_text()
    written = msgspec.json.decode(path.read_bytes())["settings"]
    assert "token" not in written
    assert written["gateway_url"] == settings.gateway_url
