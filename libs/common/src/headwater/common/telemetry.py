"""OpenTelemetry set up once per process, and trace context carried through HTTP and Kafka headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

_configured: TracerProvider | None = None


def configure_telemetry(
    service: str, *, otlp_endpoint: str = "", environment: str = "local", sample_ratio: float = 1.0
) -> TracerProvider:
    """Install the global tracer provider once; export over OTLP/HTTP when an endpoint is configured."""
    global _configured
    if _configured is not None:
        return _configured
    # Without an exporter no span is recorded, but trace context is still created and passed on, so logs
    # carry trace ids and a trace can be followed as soon as an exporter is configured.
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)) if otlp_endpoint else ALWAYS_OFF,
        resource=Resource.create(
            {"service.name": f"headwater-{service}", "deployment.environment": environment}
        ),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def inject_headers(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """The W3C trace context of the current span as headers (for HTTP calls, outbox rows and Kafka)."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str] | Iterable[tuple[str, bytes | str]]) -> Context:
    """The trace context carried by HTTP or Kafka headers."""
    if isinstance(headers, Mapping):
        # The HTTP/outbox form (header pairs never come as a Mapping); isinstance cannot narrow the union that far.
        carrier = dict(cast("Mapping[str, str]", headers))
    else:
        carrier = {k: v.decode() if isinstance(v, bytes) else v for k, v in headers}
    return propagate.extract(carrier)
