from __future__ import annotations

import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from headwater.devstack.stack import Stack
from test_fuzz import fuzz_operation, make_tokens

pytestmark = pytest.mark.e2e


def test_olake_operations(system: Stack) -> None:
    tokens = make_tokens(system.gateway_url, system.bootstrap_token)
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(f"{system.gateway_url}/schema/openapi.json", config=config)
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        operation: Any = result.ok()
        if not (operation.path.startswith("/api/v1/project/") or operation.path == "/telemetry-id"):
            continue
        count += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with contextlib.suppress(Unsatisfiable):
                fuzz_operation(operation, mode, tokens, failures)
    print("operations", count)
    assert not failures, "\n\n".join(failures[:20])
