"""Packages depend one way: apps.core <- apps.providers <- apps.teams <- apps.routing <- apps.agents <- apps.portal <- gatewaysite."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("apps.core", "apps.providers", "apps.teams", "apps.routing", "apps.agents", "apps.portal", "gatewaysite")


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the package `module` belongs to, or None outside them."""
    for index, package in enumerate(LAYERS):
        if module == package or module.startswith(package + "."):
            return index
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, *, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in the tree: in functions, TYPE_CHECKING, try blocks."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            if layer_of(target) is None:  # `from apps import routing` names the package through the alias
                found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def named_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, string) of every string constant that is a dotted module name of a layer (`"apps.routing.urls"` in
    an `include()` or a list of URL confs): a dependency no import statement shows."""
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and DOTTED.fullmatch(node.value) and layer_of(node.value) is not None]


DOTTED = re.compile(r"[a-z_]+(\.[a-z_0-9]+)+")
SITE = LAYERS.index("gatewaysite")  # naming the site's settings, URL conf or ASGI app by string is Django's way


def layer_violations() -> list[str]:
    violations: list[str] = []
    for top in ("apps", "gatewaysite"):
        for path in sorted((ROOT / top).rglob("*.py")):
            module = module_name(path)
            own = layer_of(module)
            if own is None:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for line, target in imported_modules(tree, module=module, is_package=path.name == "__init__.py"):
                other = layer_of(target)
                if other is not None and other > own:
                    violations.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({LAYERS[other]} is above {LAYERS[own]})")
            for line, target in named_modules(tree):
                other = layer_of(target)
                if other is not None and own < other < SITE:
                    violations.append(f"{path.relative_to(ROOT)}:{line} names {target!r} ({LAYERS[other]} is above {LAYERS[own]})")
    return sorted(set(violations))


def test_no_package_imports_one_above_it() -> None:
    violations = layer_violations()
    assert violations == [], "imports of a higher package:\n" + "\n".join(violations)


def test_imports_inside_functions_and_type_checking_are_seen() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from apps.routing.snapshot import RoutingTable\n"
        "def f():\n    import apps.teams.auth\n    from ..routing import sdk\n    from apps import agents\n"
    )
    found = {target for _, target in imported_modules(ast.parse(source), module="apps.core.health", is_package=False)}
    assert {"apps.routing.snapshot", "apps.teams.auth", "apps.routing", "apps.agents"} <= found


def test_dotted_module_names_in_strings_are_seen() -> None:
    source = 'URLCONFS = ["apps.teams.urls", "apps.routing.urls"]\nROOT = "gatewaysite.urls"\nWORDS = "apps, routing"\n'
    assert sorted(target for _, target in named_modules(ast.parse(source))) == [
        "apps.routing.urls", "apps.teams.urls", "gatewaysite.urls"]
