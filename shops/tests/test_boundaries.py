"""Arrows point one way: demand builds on shops, so nothing in shops imports demand (shops sends signals)."""
import ast
from pathlib import Path

import shops

SHOPS = Path(shops.__file__).resolve().parent
FORBIDDEN = "demand"


def imported_modules(source: str, package: list[str]) -> set[str]:
    """Every module (and imported name) the source imports, at any depth, functions included, relative
    imports resolved against `package`; also `import_module("...")` and `__import__("...")` of a literal."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" if module else alias.name for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            found.add(node.args[0].value)
    return found


def _package_of(path: Path) -> list[str]:
    parts = ["shops", *path.relative_to(SHOPS).with_suffix("").parts]
    return parts[:-1]  # a module's package; for __init__.py, the package itself


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == FORBIDDEN or m.startswith(FORBIDDEN + "."))


def test_the_checker_sees_imports_inside_functions_relative_and_dynamic():
    source = """
import json

def count():
    from demand.services import record_search_miss
    from ..views import page
    return importlib.import_module("demand.selectors")
"""
    found = imported_modules(source, ["shops", "search"])
    assert _forbidden(found) == ["demand.selectors", "demand.services", "demand.services.record_search_miss"]
    assert {"json", "shops.views", "shops.views.page"} <= found


def test_shops_never_imports_demand():
    offenders = {}
    for path in sorted(SHOPS.rglob("*.py")):
        modules = _forbidden(imported_modules(path.read_text(encoding="utf-8"), _package_of(path)))
        if modules:
            offenders[str(path.relative_to(SHOPS.parent))] = modules
    assert offenders == {}
