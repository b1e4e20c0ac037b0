"""The house rules the code keeps: boundaries, one way to call Telegram, small modules, no import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("sessions_app", "teleconnect"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _runtime_imports(path: Path) -> set[str]:
    """Modules this one imports, at the top or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_size_limit(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: make it a package"


def test_there_is_no_import_cycle():
    graph = {
        name: {imported for imported in _runtime_imports(path) if imported in MODULES and imported != name}
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                # A package importing its own submodules while they import siblings is not a cycle of ours.
                if not all(step.startswith(cycle[0] + ".") or step == cycle[0] for step in cycle):
                    raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


@pytest.mark.parametrize(
    ("library", "home"),
    [
        ("telethon", "sessions_app.telegram"),
        ("python_socks", "sessions_app.telegram"),
        ("boto3", "sessions_app.storage"),
        ("botocore", "sessions_app.storage"),
    ],
)
def test_only_one_package_imports_each_outside_library(library, home):
    offenders = [
        name
        for name, path in MODULES.items()
        if not (name == home or name.startswith(home + "."))
        and any(i == library or i.startswith(library + ".") for i in _all_imports(path))
    ]
    assert offenders == []


def test_only_the_operation_entry_holds_the_lease_and_writes_failure_audits():
    allowed = {"sessions_app.services.lease", "sessions_app.services.operations"}
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if name not in allowed:
            assert "telegram_lease(" not in text, f"{name} opens a lease: go through telegram_operation"
            assert not re.search(r'outcome="(flood_wait|dead)"', text), f"{name} writes telegram_operation's audit rows"


def test_no_telethon_private_attribute_is_used_outside_the_fake():
    private = re.compile(
        r"\b(client|self\._client|holder|other|connector|dashboard)\._[a-z]\w*\(|_switch_dc|\._sender\b"
    )
    offenders = [
        name
        for name, path in MODULES.items()
        if name.startswith("sessions_app") and ".fake" not in name and private.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
