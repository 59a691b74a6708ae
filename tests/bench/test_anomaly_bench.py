"""The anomaly-flag bench on a small scale against the session's system: every probe is flagged, every hop of
its path is seen, the background stream is absorbed, and the result renders and serialises."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from bench.anomaly import HISTORY_RUNS, measure_anomaly
from bench.report import render_anomaly, write_json
from bench.settings import BenchSettings
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


async def test_every_probe_is_flagged_while_runs_stream_in(system: Stack, tmp_path: Path) -> None:
    settings = BenchSettings(
        gateway_url=system.gateway_url,
        token=system.bootstrap_token,
        kafka_bootstrap=system.kafka_bootstrap,
        anomaly_pipelines=2,
        anomaly_background_pipelines=2,
        anomaly_rate=20,
        anomaly_duration=2,
        anomaly_warmup=0.5,
        anomaly_probe_interval=0.25,
        anomaly_probe_timeout=120,  # a smoke test of the bench: latency is what the bench reports, not asserted
        anomaly_trace=True,
    )
    result = await measure_anomaly(settings)

    assert (result.probe_pipelines, result.background_pipelines, result.history_runs) == (2, 2, HISTORY_RUNS)
    assert result.probes >= 4
    assert (result.flagged, result.timeouts, result.errors) == (result.probes, 0, {})
    assert result.delay.count == result.probes
    assert result.delay.min_ms > 0
    assert result.broker_records_before > 0  # the setup's runs are on the busy topics already
    assert result.traced
    for stage in ("execution.ended", "anomaly.detected"):
        assert result.stages[stage].count == result.probes, stage
    stream = result.stream
    assert stream.runs_acknowledged > 0
    assert stream.runs_failed == 0
    assert set(stream.lag_at_stop) == {"execution-tracking", "quality-alerting"}
    assert stream.drain_seconds is not None  # both services absorbed every background run

    report = render_anomaly(result)
    assert f"probes {result.probes}: {result.probes} flagged, 0 timeouts" in report
    path = write_json(
        started_at=datetime.now(UTC),
        settings=settings,
        machine={},
        http=None,
        ingress=None,
        anomaly=result,
        directory=tmp_path,
    )
    written = msgspec.json.decode(path.read_bytes())["anomaly"]
    assert written["flagged"] == result.probes
    assert written["stream"]["runs_acknowledged"] == stream.runs_acknowledged
