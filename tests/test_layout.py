"""The architecture's rules, checked: import direction between packages, and a docstring per module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("listener", "nlp", "storage", "jobs", "web", "service")
# What each package may import from the project (settings is importable by all).
ALLOWED = {
    "listener": {"listener", "service.settings"},
    "nlp": {"nlp", "service.settings"},
    "storage": {"storage", "listener", "nlp", "service.settings"},
    "jobs": {"jobs", "listener", "nlp", "storage", "service.settings"},
    "web": {"web", "jobs", "listener", "storage", "nlp", "service.settings"},
    "service": set(PACKAGES),
}


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "versions" not in p.parts)


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in PACKAGES}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_architecture(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = ALLOWED[package]
    bad = sorted(name for name in imported(tree) if not any(name == a or name.startswith(a + ".") for a in allowed))
    assert not bad, f"{path.relative_to(ROOT)} ({package}) must not import {bad}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_says_what_it_holds(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if path.name == "__init__.py" and path.parent.name in ("versions",):
        return
    docstring = ast.get_docstring(tree)
    assert docstring, f"{path.relative_to(ROOT)} needs a module docstring"
    assert len(docstring) > 20, f"{path.relative_to(ROOT)}: say what the module holds and why"


def test_settings_imports_nothing_of_ours() -> None:
    tree = ast.parse((ROOT / "service" / "settings.py").read_text(encoding="utf-8"))
    assert imported(tree) == set()
