"""The shape every service keeps, read from the import statements of the source (no process started):
no service imports another, dependencies point inward (entrypoints → service_layer → domain), use cases see no
SQL, and every workspace member declares the third-party packages it imports."""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())
MEMBERS = [*sorted(p for p in (ROOT / "libs").iterdir() if (p / "pyproject.toml").is_file()), *SERVICES]
PACKAGES = {s.name: f"headwater.{s.name.replace('-', '_')}" for s in SERVICES}

# What the inner layers of a service may not import, by layer folder.
FORBIDDEN_IN_LAYER = {
    "service_layer": (
        "sqlalchemy",
        "asyncpg",
        "litestar",
        "faststream",
        "aiokafka",
        ".adapters",
        ".entrypoints",
    ),
    "domain": (
        "sqlalchemy",
        "asyncpg",
        "litestar",
        "faststream",
        "aiokafka",
        "aiohttp",
        ".adapters",
        ".entrypoints",
        ".service_layer",
    ),
}


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in `path`, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = (
        path.relative_to(path.parents[len(path.parts) - path.parts.index("headwater") - 1])
        .with_suffix("")
        .parts
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(parts[: len(parts) - node.level])
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            else:
                yield node.lineno, node.module or ""


def sources(member: Path) -> list[Path]:
    return sorted((member / "src").rglob("*.py"))


def test_no_service_imports_another_and_libraries_import_no_service() -> None:
    offences = []
    for member in MEMBERS:
        own = PACKAGES.get(member.name)
        for path in sources(member):
            for line, module in imports(path):
                for package in PACKAGES.values():
                    if package != own and (module == package or module.startswith(package + ".")):
                        offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offences == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_inner_layers_import_no_framework_and_no_outer_layer(service: Path) -> None:
    package = PACKAGES[service.name]
    offences = []
    for layer, forbidden in FORBIDDEN_IN_LAYER.items():
        folder = service / "src" / Path(*package.split(".")) / layer
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            for line, module in imports(path):
                for name in forbidden:
                    target = package + name if name.startswith(".") else name
                    if module == target or module.startswith(target + "."):
                        offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offences == []


@cache
def _distributions_of(module: str) -> set[str]:
    return {canonicalize_name(d) for d in packages_distributions().get(module, [])}


def _declared(member: Path) -> set[str]:
    project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    optional = [r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    return {canonicalize_name(Requirement(r).name) for r in [*project.get("dependencies", []), *optional]}


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: m.name)
def test_every_member_declares_what_it_imports(member: Path) -> None:
    """So that CI can install and test one service alone: an import satisfied only because another member
    happens to depend on the package is a missing dependency."""
    declared = _declared(member)
    missing = set()
    for path in sources(member):
        for _, module in imports(path):
            top = module.split(".")[0]
            if not top or top == "headwater" or top in sys.stdlib_module_names or top == "__future__":
                continue
            dists = _distributions_of(top)
            if dists and not dists & declared:
                missing.add(f"{top} ({', '.join(sorted(dists))})")
    assert sorted(missing) == [], f"{member.name}/pyproject.toml does not declare them"
