"""DESIGN §3: ``kit/`` knows no domain. It imports neither ``backend.models`` nor any domain
package; what a kit piece needs of a domain is handed to it (see ``kit.idempotency``)."""

import ast
from pathlib import Path

import backend

BACKEND = Path(backend.__file__).parent
KIT = BACKEND / "kit"
# Every package of backend/ but kit itself is models/ or a domain; the top-level modules
# (config, db, errors) are the application's frame, which kit may use.
FORBIDDEN = {
    f"backend.{path.name}"
    for path in BACKEND.iterdir()
    if path.is_dir() and (path / "__init__.py").exists() and path.name != "kit"
}


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # walk: imports inside functions count too
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_forbidden_set_holds_models_and_the_domains() -> None:
    assert {"backend.models", "backend.auth", "backend.visits"} <= FORBIDDEN
    assert "backend.kit" not in FORBIDDEN


def test_no_kit_module_imports_models_or_a_domain() -> None:
    offenders = {
        f"{path.relative_to(BACKEND.parent)}: {name}"
        for path in sorted(KIT.rglob("*.py"))
        for name in _imported(ast.parse(path.read_text(), str(path)))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert offenders == set()
