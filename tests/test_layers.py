"""The package's layout: wings in layers (import-linter), faces, no private name across wings."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "course_utils"
LINT = Path(sys.executable).with_name("lint-imports")
WINGS = ("data", "models", "losses", "metrics", "training", "reference", "classroom")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "course_utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layer_contracts_hold():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("data/voc.py", "from course_utils.training import fit", "layers"),  # data reaches up
    ("metrics/boundary.py", "from course_utils.losses import softplus", "layers"),  # siblings
    ("reference/manifest.py", "from . import runs", "cycles"),  # a circle inside a wing
])
def test_breaking_a_layer_fails_the_contract(tmp_path, module, line, contract):
    root = _copy(tmp_path)
    path = root / "course_utils" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def _imports(path: Path):
    """(module imported from, names) of every ``from ... import`` in ``path``, resolved."""
    rel = path.relative_to(REPO).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            yield module, [a.name for a in node.names]


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "course_utils" else None


def test_no_private_name_crosses_a_wing():
    crossing = []
    for path in PACKAGE.rglob("*.py"):
        own = _wing(".".join(path.relative_to(REPO).with_suffix("").parts))
        for module, names in _imports(path):
            if _wing(module) not in (None, own):
                crossing += [f"{path.relative_to(REPO)}: {module}.{n}" for n in names
                             if n.startswith("_")]
    assert not crossing


def test_other_wings_import_through_the_faces():
    """Another wing is reached through its face, or a submodule its face lists in ``__all__``."""
    import importlib

    deep = []
    for path in PACKAGE.rglob("*.py"):
        own = _wing(".".join(path.relative_to(REPO).with_suffix("").parts))
        for module, _ in _imports(path):
            wing = _wing(module)
            if wing in WINGS and wing != own and module.count(".") > 1:
                public = importlib.import_module(f"course_utils.{wing}").__all__
                if module.split(".")[2] not in public:
                    deep.append(f"{path.relative_to(REPO)} imports {module}")
    assert deep == []


def test_only_faces_re_export():
    """A module that is not a face defines what it exports: no ``# noqa: F401`` re-exports."""
    facades = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
               if p.name != "__init__.py" and "F401" in p.read_text()]
    assert facades == []


@pytest.mark.parametrize("wing", WINGS)
def test_every_wing_has_a_face_that_says_what_it_is_for(wing):
    import importlib

    face = importlib.import_module(f"course_utils.{wing}")
    assert face.__doc__ and len(face.__doc__.split()) > 10
    assert face.__all__ and all(hasattr(face, name) for name in face.__all__)


def test_no_module_is_named_with_its_folders_prefix_or_too_long():
    bad = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
           if p.stem.startswith(p.parent.name + "_")
           or len(p.read_text().splitlines()) >= 300]
    assert bad == []
