"""Property-based fuzzing of every operation of the gateway's OpenAPI document, as each role, against the whole
running system: no answer is a 5xx, and every answer has a status and a body the document promises.

Bounded for `make test` (`HEADWATER_FUZZ_EXAMPLES`, 3 valid and 3 invalid requests per operation, each sent as
every role: about a minute); `make fuzz` runs the same with 100. The generation is derandomized, so a failure
comes back on the next run. It runs after the end-to-end tests (tests/fuzz comes after tests/e2e): it writes
whatever it generates, including `POST /log_cleanup`, and nothing after it depends on the data. The document has
no links, so there is no stateful phase.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "3"))
ROLES = ("superuser", "editor", "limited_to_source", "read_only", "billing")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

# Which statuses each role got, over the whole run: a role that only ever got 401 was not really authenticated.
STATUSES: dict[str, Counter[int]] = {role: Counter() for role in ROLES}


@pytest.fixture(scope="module")
def tokens(system: Stack) -> dict[str, str]:
    return make_tokens(system.gateway_url, system.bootstrap_token)


def make_tokens(gateway_url: str, bootstrap_token: str) -> dict[str, str]:
    """An API token for each role: the bootstrap superuser's, and one of a new user of each other role (made
    through the API, as an operator would)."""
    found = {"superuser": bootstrap_token}
    admin = {"authorization": f"Bearer {bootstrap_token}"}
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
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


def fuzz(gateway_url: str, tokens: dict[str, str]) -> list[str]:
    """Every operation of the gateway's OpenAPI document, as served, with `EXAMPLES` valid and `EXAMPLES`
    invalid generated requests, each sent as every role; answers what broke a check (operation, role, why)."""
    config = schemathesis.Config.from_dict(
        # The credential is ours (each role's token): no generated Authorization header replaces it.
        {"generation": {"with-security-parameters": False}}
    )
    schema = schemathesis.openapi.from_url(f"{gateway_url}/schema/openapi.json", config=config)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # pyright: ignore[reportAttributeAccessIssue]  # an Err is a broken document
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with contextlib.suppress(Unsatisfiable):  # an operation without inputs has no invalid request
                fuzz_operation(operation, mode, tokens, failures)
    return failures


def fuzz_operation(operation: Any, mode: GenerationMode, tokens: dict[str, str], failures: list[str]) -> None:
    """`EXAMPLES` requests of `mode` for `operation`, each sent as every role; what failed goes to `failures`."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),  # pyright: ignore[reportArgumentType]
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as is
    )
    def run(case: Any) -> None:
        for role in ROLES:
            headers = {"authorization": f"Bearer {tokens[role]}"}
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
            except FailureGroup as exc:  # every check that failed
                failures.append(f"{operation.label} as {role} ({mode}): {exc}")
                continue
            STATUSES[role][response.status_code] += 1

    run()


def test_every_operation_as_every_role(system: Stack, tokens: dict[str, str]) -> None:
    failures = fuzz(system.gateway_url, tokens)
    assert not failures, "\n\n".join(failures[:20])
    for role, statuses in STATUSES.items():  # each role was let in, not refused for want of a credential
        assert set(statuses) - {401}, f"{role} got only 401: {statuses}"
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        for role, token in tokens.items():  # and nothing the fuzzer sent revoked a role's token
            me = client.get("/users/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200, (role, me.text)
