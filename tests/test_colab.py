"""The Colab first cell, on a simulated Colab: the detection patched, a local clone of this
repository standing in for GitHub, pip commands recorded (not run) so nothing is installed here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types

import pytest

from course_utils.classroom import colab
from course_utils.runtime import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def run_cell(monkeypatch, tmp_path, remote, on_colab=True):
    """Execute the setup cell as a notebook kernel would; return the commands it ran."""
    commands = []
    real_run = subprocess.run

    def run(cmd, **kw):
        commands.append(list(cmd))
        if cmd[0] == "git":
            return real_run(cmd, **kw)
        return subprocess.CompletedProcess(cmd, 0)  # pip: recorded, not run

    monkeypatch.setattr(subprocess, "run", run)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("COURSE_REPO", str(remote))
    monkeypatch.setenv("COURSE_HOME", str(tmp_path / "content" / "course"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(colab.SETUP_CELL, "<colab cell>", "exec"), {})
    return commands


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """A bare clone of this repository's committed state, as GitHub would serve it."""
    bare = tmp_path_factory.mktemp("github") / "course.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(REPO_ROOT), str(bare)], check=True)
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--abbrev-ref", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()
    if head != colab.BRANCH:  # the cell clones BRANCH: make it exist in the stand-in
        subprocess.run(["git", "-C", str(bare), "branch", "-f", colab.BRANCH, head], check=True)
    return bare


def test_on_colab_the_cell_clones_code_and_data_and_keeps_colabs_torch(monkeypatch, tmp_path,
                                                                       remote):
    commands = run_cell(monkeypatch, tmp_path, remote)
    home = tmp_path / "content" / "course"
    assert (home / "course_utils" / "data" / "voc.py").is_file()
    assert (home / "data" / "voc-mini" / "VOC2012" / "ImageSets" / "Segmentation").is_dir()
    assert os.getcwd() == str(home / "notebooks") and sys.path[0] == str(home)
    pips = [c for c in commands if c[:3] == [sys.executable, "-m", "pip"]]
    course = next(c for c in pips if str(home) in c)
    assert "--no-deps" in course and "d2l==1.0.3" in course
    assert not any(arg.startswith(("torch==", "torch>", "torchvision")) or arg == "torch"
                   for c in pips for arg in c), "Colab's own torch must stay"
    assert any("torchmetrics>=1.4" in c for c in pips)
    again = run_cell(monkeypatch, tmp_path, remote)  # a second run: nothing fetched again
    assert again == []


def test_elsewhere_the_cell_does_nothing(monkeypatch, tmp_path, remote):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert run_cell(monkeypatch, tmp_path, remote, on_colab=False) == []
    assert os.getcwd() == str(tmp_path) and not (tmp_path / "content").exists()


def test_ensure_rewrites_an_older_set_up_cell_in_place_collapsed():
    import nbformat

    old = nbformat.v4.new_code_cell("# COLAB-SETUP: the cell as it was\nimport os")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Title"), old,
                                         nbformat.v4.new_code_cell("x = 1")])
    colab.ensure(nb, "00-start-here.ipynb")
    setup = [c for c in nb.cells if c.cell_type == "code" and "Colab" in c.source]
    assert len(setup) == 1 and setup[0].source == colab.SETUP_CELL
    assert setup[0].metadata["jupyter"] == {"source_hidden": True}
    assert setup[0].metadata["cellView"] == "form" and nb.cells[2].source == "x = 1"
