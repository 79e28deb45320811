"""The shape of orders' payments code, read from the source with `ast` (nothing is imported or run):
one module talks to Stripe, and orders' modules import each other one way only, function-level imports included."""
import ast
import graphlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "migrations", "node_modules", "__pycache__"}
GATEWAY = "orders/payments/gateway.py"

# Top to bottom: a module may import modules of its own layer or below, never above.
LAYERS = [
    {"orders.tasks", "orders.payments.webhooks", "orders.payments.reconcile"},
    {"orders.payments.outcomes"},
    {"orders.services"},
    {"orders.payments.refunds", "orders.payments.intents", "orders.payments.tasks", "orders.payments.holds",
     "orders.payments.cards"},
    {"orders.payments.gateway"},
]


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if not any(part in SKIPPED_DIRS or part.startswith(".") for part in p.relative_to(REPO).parts[:-1]))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> set[str]:
    """Every absolute module name a file imports, anywhere in it (functions, classes, TYPE_CHECKING blocks),
    with `from package import name` giving both package and package.name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            names.add(node.args[0].value)
    return names


def orders_import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in python_files(REPO / "orders")}
    return {name: {m for m in imported_names(path) if m in modules and m != name} for name, path in modules.items()}


def test_only_the_gateway_imports_stripe():
    importers = {str(p.relative_to(REPO)) for p in python_files(REPO)
                 if any(n == "stripe" or n.startswith("stripe.") for n in imported_names(p))}
    assert importers == {GATEWAY}


def test_orders_modules_import_each_other_without_a_cycle():
    graph = orders_import_graph()
    assert "orders.services" in graph and "orders.payments.gateway" in graph  # the graph was really read
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_payments_imports_point_down_the_layers():
    graph = orders_import_graph()
    layer_of = {module: i for i, layer in enumerate(LAYERS) for module in layer}
    assert set(layer_of) <= set(graph), set(layer_of) - set(graph)
    upward = sorted(f"{module} -> {target}" for module in layer_of for target in graph[module]
                    if layer_of.get(target, len(LAYERS)) < layer_of[module])
    assert upward == []
    assert {t for t in graph["orders.payments.gateway"] if t != "orders"} == set()  # core only, no orders code


def test_the_payments_package_init_imports_nothing():
    tree = ast.parse((REPO / "orders/payments/__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
