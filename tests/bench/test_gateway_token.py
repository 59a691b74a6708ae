"""Against the session's system: every gateway client the bench opens sends the token, and a token the gateway
does not know stops a measurement's set-up with a message that says so, not a traceback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bench.anomaly import AnomalyUnavailable, measure_anomaly
from bench.http_load import create_pipelines, measure_http
from bench.lineage import LineageUnavailable, measure_lineage
from bench.settings import BenchSettings
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

UNKNOWN_TOKEN = "hw_" + "x" * 40


async def test_the_bench_is_let_in_with_the_bootstrap_token(system: Stack) -> None:
    settings = BenchSettings(
        gateway_url=system.gateway_url, kafka_bootstrap=system.kafka_bootstrap, token=system.bootstrap_token
    )
    assert len(set(await create_pipelines(settings, 2))) == 2


@pytest.mark.parametrize(
    ("measure", "refusal"),
    [
        (measure_http, SystemExit),
        (measure_lineage, LineageUnavailable),
        (measure_anomaly, AnomalyUnavailable),
    ],
)
async def test_an_unknown_token_stops_the_set_up_with_a_clear_message(
    system: Stack, measure: Callable[[BenchSettings], Awaitable[object]], refusal: type[BaseException]
) -> None:
    settings = BenchSettings(
        gateway_url=system.gateway_url,
        kafka_bootstrap=system.kafka_bootstrap,
        token=UNKNOWN_TOKEN,
        lineage_domains=1,
        anomaly_pipelines=1,
        anomaly_background_pipelines=1,
    )
    with pytest.raises(refusal) as refused:
        await measure(settings)
    assert str(refused.value) == settings.rejected_token()
    assert "HTTP 401" in str(refused.value)
    assert "HEADWATER_BOOTSTRAP_TOKEN" in str(refused.value)
