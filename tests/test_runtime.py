"""runtime and requirements: seeds, device order, profile switch, fast-profile threads,
relative paths, the package check notebook 00 runs first."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from course_utils import requirements, runtime


def test_set_seed_makes_torch_numpy_and_python_repeat():
    import random

    import numpy as np

    runtime.set_seed(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    runtime.set_seed(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.device().type == "cpu"


def test_profile_defaults_by_device_and_env_overrides(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setattr(runtime, "device", lambda: torch.device("cpu"))
    assert runtime.profile() == "fast"
    monkeypatch.setattr(runtime, "device", lambda: torch.device("cuda"))
    assert runtime.profile() == "full"
    assert runtime.choose(fast=1, full=2) == 2
    monkeypatch.setenv("COURSE_PROFILE", "FAST")
    assert runtime.profile() == "fast" and runtime.choose(fast=1, full=2) == 1
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="COURSE_PROFILE='turbo'"):
        runtime.profile()


def test_setup_in_fast_profile_fixes_threads_and_uses_cpu(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        dev = runtime.setup(seed=1)
        assert dev.type == "cpu"
        assert torch.get_num_threads() == runtime.FAST_THREADS
        out = capsys.readouterr().out
        assert "profile      fast" in out
        assert f"torch        {torch.__version__.split('+')[0]}" in out
    finally:
        torch.set_num_threads(before)


def test_relpath_is_relative_inside_the_repo_only(tmp_path):
    assert runtime.relpath(runtime.REPO_ROOT / "data" / "x") == "data/x"
    assert runtime.relpath(tmp_path) == str(tmp_path.resolve())


def test_checkpoint_path_follows_the_env_folder_profile_and_data(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    monkeypatch.delenv(runtime.CHECKPOINT_ENV, raising=False)
    assert runtime.checkpoint_path("04-fcn8s", "mini") == (
        runtime.REPO_ROOT / "checkpoints" / "04-fcn8s-fast-mini.pt")
    monkeypatch.setenv(runtime.CHECKPOINT_ENV, str(tmp_path))
    monkeypatch.setenv("COURSE_PROFILE", "full")
    assert runtime.checkpoint_path("x") == tmp_path / "x-full.pt"


def test_missing_packages_are_named_with_their_install_command(monkeypatch, capsys):
    import importlib

    real_import = importlib.import_module

    def without(name, *args, **kwargs):
        if name.split(".")[0] in ("d2l", "torchmetrics"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without)
    missing = requirements.missing_packages()
    assert missing["d2l"] == "pip install --no-deps d2l==1.0.3"
    assert "torchmetrics" in missing and "torch" not in missing
    with pytest.raises(ModuleNotFoundError, match=r"torchmetrics>=1.4.*--no-deps d2l==1.0.3"):
        requirements.check()
    assert "d2l           MISSING: install with  pip install --no-deps" in capsys.readouterr().out
    with pytest.raises(ModuleNotFoundError, match=r"d2l is not installed.*--no-deps d2l==1.0.3"):
        runtime.require("d2l.torch")
    assert runtime.require("numpy").__name__ == "numpy"


def test_the_requirements_check_imports_only_the_standard_library():
    """Notebook 00 runs it before anything else: it must work with every package missing."""
    code = ("import sys; import course_utils.requirements; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'numpy', "
            "'matplotlib', 'PIL', 'scipy', 'tqdm', 'requests', 'torchvision'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=runtime.REPO_ROOT).stdout
    assert out.strip() == "[]"


def test_every_dependency_in_pyproject_is_checked():
    """A package pyproject.toml installs for the notebooks is one requirements.check names."""
    import tomllib

    deps = tomllib.loads((runtime.REPO_ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]
    names = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower() for d in deps}
    import_names = {"pillow": "PIL"}
    names -= {"jupyterlab"}  # what the notebooks run in, never imported by them
    checked = {n.lower() for n in requirements.PACKAGES}
    assert {import_names.get(n, n).lower() for n in names} <= checked
