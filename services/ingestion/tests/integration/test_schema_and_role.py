"""The `ingestion` schema: migrations down and up match the tables in code; its role owns only it."""

from __future__ import annotations

import pytest

from headwater.devstack.testing import SchemaAndRoleTests

pytestmark = pytest.mark.integration


class TestSchemaAndRole(SchemaAndRoleTests):
    package = "headwater.ingestion"
    head = "0006"
