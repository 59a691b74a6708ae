"""The `quality_alerting` schema: migrations down and up match the tables in code; its role owns only it."""

from __future__ import annotations

import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import check_migrations_round_trip, check_role_confined_to_its_schema
from headwater.quality_alerting import SCHEMA

pytestmark = pytest.mark.integration


async def test_migrations_down_and_up_on_a_fresh_database(stack: Stack) -> None:
    await check_migrations_round_trip(stack, "headwater.quality_alerting", head="0002")


async def test_the_service_role_can_touch_only_its_own_schema(stack: Stack) -> None:
    await check_role_confined_to_its_schema(stack, SCHEMA)
