"""Property-based fuzzing of every operation of the gateway's OpenAPI document, as each role, against the whole
running system: no answer is a 5xx, and every answer has a status and a body the document promises.

Bounded for `make test` (a few examples per operation and role); `make fuzz` runs the same with a much larger
budget and schemathesis' coverage phase. `HEADWATER_FUZZ_EXAMPLES` (examples per operation and role, 3 by
default) and `HEADWATER_FUZZ_PHASES` (`examples,fuzzing` by default) set them; the generation is derandomized,
so a failure is reproduced by running the test again. It runs after the end-to-end tests (tests/fuzz comes after
tests/e2e): it writes whatever it generates, including `POST /log_cleanup`, and nothing after it depends on the
data.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "3"))
PHASES = os.environ.get("HEADWATER_FUZZ_PHASES", "examples,fuzzing").split(",")
ROLES = ("superuser", "editor", "limited_to_source", "read_only", "billing")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

# Which statuses each role got, over the whole run: a role that only ever got 401 was not really authenticated.
STATUSES: dict[str, Counter[int]] = {role: Counter() for role in ROLES}


@pytest.fixture(scope="module")
def tokens(system: Stack) -> dict[str, str]:
    """An API token for each role: the bootstrap superuser's, and one of a new user of each other role (made
    through the API, as an operator would)."""
    found = {"superuser": system.bootstrap_token}
    admin = {"authorization": f"Bearer {system.bootstrap_token}"}
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        for role in ROLES[1:]:
            email, password = f"fuzz-{role}-{uuid.uuid4().hex[:8]}@example.com", uuid.uuid4().hex
            created = client.post(
                "/users",
                headers=admin,
                json={
                    "email": email,
                    "raw_password": password,
                    "raw_password2": password,
                    "first_name": "Fuzz",
                    "last_name": role,
                    "is_active": True,
                    "is_verified": True,
                    "user_type": role,
                    "data_source_model_ids": [1, 2] if role == "limited_to_source" else [],
                },
            )
            assert created.status_code == 200, created.text
            access = client.post("/token", data={"username": email, "password": password})
            assert access.status_code == 200, access.text
            token = client.post(
                "/api/v1/tokens",
                headers={"authorization": f"Bearer {access.json()['access_token']}"},
                json={"name": f"fuzz {role}"},
            )
            assert token.status_code == 201, token.text
            found[role] = token.json()["token"]
    return found


@pytest.fixture(scope="module")
def gateway_schema(system: Stack) -> Any:
    """The gateway's own OpenAPI document, as served, with the run's budget."""
    config = schemathesis.Config.from_dict(
        {
            "phases": {phase: {"enabled": phase in PHASES} for phase in ("examples", "coverage", "fuzzing")},
            # The credential is ours (each role's token): no generated Authorization header replaces it.
            "generation": {"max-examples": EXAMPLES, "with-security-parameters": False, "deterministic": True},
        }
    )
    return schemathesis.openapi.from_url(f"{system.gateway_url}/schema/openapi.json", config=config)


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return request.param


schema = schemathesis.pytest.from_fixture("gateway_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_every_operation_as_every_role(case: Any, role: str, tokens: dict[str, str]) -> None:
    response = case.call_and_validate(headers={"authorization": f"Bearer {tokens[role]}"}, checks=CHECKS)
    STATUSES[role][response.status_code] += 1


@pytest.fixture(scope="module", autouse=True)
def every_role_was_let_in(tokens: dict[str, str], system: Stack) -> Iterator[None]:
    """After the run: each role's requests were not all refused for want of a credential, and its token still
    works (nothing the fuzzer sent revoked it)."""
    yield
    for role, statuses in STATUSES.items():
        if statuses:
            assert set(statuses) - {401}, f"{role} got only 401: {statuses}"
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        for role, token in tokens.items():
            me = client.get("/users/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200, (role, me.text)
