"""environment.yml (conda) and pyproject.toml (pip) must name the same packages and versions."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
CONDA_TO_PIP = {"pytorch": "torch"}  # conda-forge names that differ from PyPI's
NOT_PACKAGES = {"python", "pip"}


def norm(name: str) -> str:
    return name.lower().replace("_", "-")


def pip_requirements() -> dict[str, SpecifierSet]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {norm(Requirement(r).name): Requirement(r).specifier for r in reqs}


def conda_requirements() -> dict[str, SpecifierSet]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge" and "defaults" not in env["channels"]
    out = {}
    for dep in env["dependencies"]:
        assert isinstance(dep, str), "no pip section: d2l is a separate --no-deps step"
        name, op, version = dep.partition(">=") if ">=" in dep else dep.partition("=")
        if norm(name) in NOT_PACKAGES:
            continue
        spec = SpecifierSet(f">={version}" if op == ">=" else f"=={version}" if op else "")
        out[CONDA_TO_PIP.get(norm(name), norm(name))] = spec
    return out


def test_same_package_names():
    assert sorted(conda_requirements()) == sorted(pip_requirements())


def test_same_versions():
    conda = conda_requirements()
    for name, spec in pip_requirements().items():
        assert conda[name] == spec, f"{name}: pyproject {spec} vs environment.yml {conda[name]}"


def test_pinned_versions_the_course_was_checked_with():
    reqs = pip_requirements()
    assert reqs["torch"] == SpecifierSet("==2.14.1")
    assert reqs["torchvision"] == SpecifierSet("==0.29.1")
    assert "d2l" not in reqs  # installed on its own with --no-deps (Makefile, README)
    makefile = (REPO / "Makefile").read_text()
    assert "--no-deps d2l==1.0.3" in makefile
    assert "pip install --no-deps d2l==1.0.3" in (REPO / "README.md").read_text()
