"""Each app keeps its private names to itself.

import-linter (`make lint`) checks which app may import which; this checks what is imported: a name
with a leading underscore belongs to its module's app, and another app asks that app for a public
function instead. Function-level imports count too, since they are the usual way around a rule.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in {"tests", "bench"})


def _source_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield app, path


def _private_uses(app: str, tree: ast.AST) -> list[str]:
    """`from other_app... import _name` and `module._name` where `module` came from another app."""
    found, foreign_modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            owner = node.module.split(".")[0]
            if owner in APPS and owner != app:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"from {node.module} import {alias.name}")
                    foreign_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                owner = alias.name.split(".")[0]
                if owner in APPS and owner != app:
                    foreign_modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in foreign_modules):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_app_uses_another_apps_private_names():
    offences = []
    for app, path in _source_files():
        for use in _private_uses(app, ast.parse(path.read_text(), filename=str(path))):
            offences.append(f"{path.relative_to(ROOT)}: {use}")
    assert offences == []


@pytest.mark.parametrize("code", [
    "from orders.services import _save_with_new_number",
    "from orders import services\nservices._save_with_new_number()",
    "def f():\n    from orders import services as s\n    s._lock(None)",
])
def test_the_check_catches_a_private_name(code):
    assert _private_uses("presales", ast.parse(code))


def test_an_apps_own_private_names_are_its_business():
    assert not _private_uses("orders", ast.parse("from orders.services import _lock"))
