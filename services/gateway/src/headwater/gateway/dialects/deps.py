"""What the dialects' route handlers are given: the types of the app's dependencies (the parameter's name picks
the dependency) and the providers of the bound `Forward` to each service."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import Forward
from headwater.gateway.identity.audit import AuditWriter
from headwater.gateway.identity.service import Identity
from headwater.gateway.settings import Settings
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]

# `principal`: who the guard let in.
Caller = NamedDependency[SkipValidation[Principal]]
# `settings`: the gateway's settings; `identity`: the identity use cases; `audit`: the audit log's writer.
GatewaySettings = NamedDependency[SkipValidation[Settings]]
Identities = NamedDependency[SkipValidation[Identity]]
Audit = NamedDependency[SkipValidation[AuditWriter]]
# `execution_tracking`, `quality_alerting`, `scheduler`, `ingestion`: the services themselves, for a handler that does more
# than forward one request.
Service = NamedDependency[SkipValidation[Upstream]]
# `to_execution_tracking`, `to_quality_alerting`, `to_scheduler`, `to_ingestion`: this request, forwarded on call (a route that
# only forwards is a row of `forward.Forwarding`, which names the dependency itself).
ToExecutionTracking = NamedDependency[SkipValidation[Forward]]
ToQualityAlerting = NamedDependency[SkipValidation[Forward]]
ToIngestion = NamedDependency[SkipValidation[Forward]]


def to_execution_tracking(request: AnyRequest, principal: Caller, execution_tracking: Service) -> Forward:
    return Forward(execution_tracking, request, principal)


def to_quality_alerting(request: AnyRequest, principal: Caller, quality_alerting: Service) -> Forward:
    return Forward(quality_alerting, request, principal)


def to_scheduler(request: AnyRequest, principal: Caller, scheduler: Service) -> Forward:
    return Forward(scheduler, request, principal)


def to_ingestion(request: AnyRequest, principal: Caller, ingestion: Service) -> Forward:
    return Forward(ingestion, request, principal)
