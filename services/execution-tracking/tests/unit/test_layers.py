"""Dependencies point inward: the domain and the use cases import no database library and nothing of the
adapters or entrypoints (they reach Postgres only through the ports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import headwater.execution_tracking as package

ROOT = Path(package.__file__).parent
FORBIDDEN = (
    "sqlalchemy",
    "asyncpg",
    "headwater.execution_tracking.adapters",
    "headwater.execution_tracking.entrypoints",
)


def imported(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", ["domain", "service_layer"])
def test_inner_layers_import_no_database_and_no_outer_layer(layer: str) -> None:
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules
    offending = {
        f"{module.relative_to(ROOT)}: {name}"
        for module in modules
        for name in imported(module)
        if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)
    }
    assert offending == set()
