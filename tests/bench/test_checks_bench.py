"""The checks bench on a small scale against the session's Postgres: its data builds, and each measured run finds
and alerts exactly the violations made new before it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.checks import DSN_ENV, measure_checks, remove_bench_rows, render_checks
from bench.settings import BenchSettings
from headwater.common.db import create_engine
from headwater.devstack.stack import Stack
from headwater.quality_alerting import SCHEMA

pytestmark = pytest.mark.integration

PIPELINES = 60


@pytest.fixture
async def quality_alerting_dsn(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    dsn = stack.service_dsn(SCHEMA)
    monkeypatch.setenv(DSN_ENV, dsn)
    yield dsn
    engine = create_engine(dsn, schema=SCHEMA)
    try:
        async with engine.begin() as conn:
            await remove_bench_rows(conn, PIPELINES)
    finally:
        await engine.dispose()


async def test_each_measured_run_finds_the_violations_made_new_before_it(quality_alerting_dsn: str) -> None:
    result = await measure_checks(
        BenchSettings(checks_pipelines=PIPELINES, checks_runs=3, checks_new_per_run=2)
    )
    assert (result.pipelines, result.executions, result.executions_in_lookback) == (60, 300, 60)
    for runs in (result.freshness, result.timeliness):
        assert runs.latency.count == 3
        assert runs.found == [2, 2, 2], runs.check
        assert runs.alerts_raised == [2, 2, 2], runs.check
    report = render_checks(result)
    assert "60 pipelines" in report
    assert "freshness" in report
    assert "timeliness" in report
