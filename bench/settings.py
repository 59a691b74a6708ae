"""What one bench run targets and how hard it pushes; read from the command line and the environment."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import aiohttp

GATEWAY_URL_ENV = "HEADWATER_GATEWAY_URL"
KAFKA_BOOTSTRAP_ENV = "HEADWATER_KAFKA_BOOTSTRAP_SERVERS"
TOPIC_PREFIX_ENV = "HEADWATER_TOPIC_PREFIX"
TOKEN_ENV = "HEADWATER_BOOTSTRAP_TOKEN"  # `make up` gives the bootstrap superuser an API token of this value

MISSING_TOKEN = (
    f"no API token for the gateway: start the system with `{TOKEN_ENV}=<at least 20 characters> make up` "
    f"and run the bench with the same ${TOKEN_ENV} in its environment (or pass --token)"
)


def _run_tag() -> str:
    """A short tag unique to this bench run: it prefixes every pipeline name and run id the bench creates."""
    return f"bench-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"


@dataclass(frozen=True, kw_only=True)
class BenchSettings:
    gateway_url: str = "http://127.0.0.1:8080"
    kafka_bootstrap: str = "127.0.0.1:19092"  # the port `make up` gives its broker
    topic_prefix: str = ""
    # The API token sent as `Authorization: Bearer`; kept out of the repr and of the results file.
    token: str = field(default="", repr=False)

    run_http: bool = True
    run_ingress: bool = True
    run_lineage: bool = True
    run_checks: bool = True
    run_anomaly: bool = True

    concurrency: tuple[int, ...] = (1, 8, 32)
    duration: float = 20.0  # measured seconds per concurrency level
    warmup: float = 3.0  # unmeasured seconds before each level's measurement
    delay_at: int | None = 32  # the level during which the end→event delay is measured; None: not measured
    request_timeout: float = 30.0

    reports: int = 50_000  # ingress reports to produce (half run.started, half run.ended)
    ingress_pipelines: int = 32  # pipelines the ingress runs are spread over (keys, hence partitions)

    lineage_domains: int = 125  # independent layered DAGs in the lineage graph
    lineage_jobs_per_step: int = 4  # jobs between two adjacent layers of a domain; 4 is the fewest that cover
    lineage_requests: int = 200  # measured requests per lineage query case
    lineage_warmup_requests: int = 20  # unmeasured requests before each case
    lineage_hub_requests: int = 20  # measured requests of the hub's (large) downstream query
    lineage_depth: int = 20

    checks_pipelines: int = 100_000  # pipelines the freshness and timeliness checks run over
    checks_runs: int = 20  # measured runs of each check (after one unmeasured)
    checks_new_per_run: int = 100  # pipelines gone stale / executions gone late before each run

    anomaly_pipelines: int = 50  # probe pipelines: a rule and a history each, probed in turn
    anomaly_background_pipelines: int = 500  # pipelines the background stream runs on (a rule each)
    anomaly_rate: float = 500.0  # background runs per second produced to ingress.runs
    anomaly_duration: float = 60.0  # seconds during which probes start
    anomaly_warmup: float = 5.0  # seconds of background stream before the first probe
    anomaly_probe_interval: float = 0.2  # seconds between two probes' starts
    anomaly_poll_interval: float = 0.02  # seconds between a probe's polls of its execution
    anomaly_probe_timeout: float = 10.0  # a probe not flagged by then counts as a timeout
    anomaly_trace: bool = False  # follow execution.ended too, for the per-hop split (loads the broker)

    event_timeout: float = 60.0  # give up waiting for events after this long without a new one

    run_tag: str = field(default_factory=_run_tag)

    @property
    def calls_gateway(self) -> bool:
        """Whether a selected measurement talks to the gateway (ingress and checks do not)."""
        return self.run_http or self.run_lineage or self.run_anomaly

    def gateway_headers(self) -> dict[str, str]:
        """Headers every request to the gateway carries: each route but /health/* and the logins wants a token."""
        return {"authorization": f"Bearer {self.token}"}

    def gateway_session(self, connections: int) -> aiohttp.ClientSession:
        """A client session to the gateway: `connections` keep-alive connections, the token on every request."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=60, ttl_dns_cache=None),
            timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            headers=self.gateway_headers(),
            skip_auto_headers=("User-Agent",),
        )

    def rejected_token(self) -> str:
        """What to say when the gateway answers 401: the token is not one it knows, so nothing can be measured."""
        return (
            f"the gateway at {self.gateway_url} rejected the API token (HTTP 401): pass the ${TOKEN_ENV} "
            "the system was started with (`make up`), or --token"
        )
