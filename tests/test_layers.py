"""The import rule of docs/architecture.md: the pure core knows nothing of HTTP, SQL, the command
line or the simulated clinic, and the early-warning methods build on the core alone.

Read from the source with ``ast`` (every ``import``, also inside functions), so a lazy import
inside a function cannot slip past the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "attunement"

#: The pure core, in the order each may build on the ones before.
CORE = {
    "errors",
    "datafiles",
    "instruments",
    "tables",
    "change",
    "profile",
    "evidence",
    "tailoring",
    "prediction",
    "forecast",
    "alerts",
    "charts",
    "fhir",
}
#: Early-warning methods beside the core's own (the published baselines).
METHODS = {"baselines"}
#: The web's libraries: a store module importing one of them is doing a page's work.
WEB_LIBRARIES = {"fastapi", "starlette", "uvicorn", "jinja2"}
#: Libraries of the shells: a core module importing one of them is doing a shell's work.
SHELL_LIBRARIES = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "typer",
    "rich",
    "uvicorn",
    "jinja2",
    "psycopg",
}
ALLOWED = {**{p: CORE for p in CORE}, **{p: CORE | METHODS for p in METHODS}}


def _layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Every module name ``path`` imports, absolute."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(layers: set[str]) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if _layer_of(p) in layers)


@pytest.mark.parametrize("path", _modules(CORE | METHODS), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_and_methods_import_only_what_their_layer_allows(path):
    layer = _layer_of(path)
    wrong = []
    for name in _imports(path):
        top, _, rest = name.partition(".")
        if top == "attunement":
            inner = rest.partition(".")[0]
            if inner and inner not in ALLOWED[layer]:
                wrong.append(name)
        elif top in SHELL_LIBRARIES:
            wrong.append(name)
    assert not wrong, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"


def test_every_package_has_a_layer():
    """A new package must be placed in a layer here (and in docs/architecture.md)."""
    shells = {"store", "web", "cli", "simulation", "oracle", "evaluation", "demo"}
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= CORE | METHODS | shells, sorted(
        (packages | modules) - CORE - METHODS - shells
    )


@pytest.mark.parametrize("path", _modules({"store"}), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_store_knows_nothing_of_the_web_or_the_command_line(path):
    """Persistence lives in the store, and the pages and commands call it, never the reverse."""
    wrong = sorted(
        name
        for name in _imports(path)
        if name.startswith(("attunement.web", "attunement.cli")) or name.split(".")[0] in WEB_LIBRARIES
    )
    assert not wrong, f"{path.relative_to(PACKAGE)} imports {wrong}"
