"""Every ``python -m course_utils...`` command the docs and the Makefile name starts cleanly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = ("Makefile", "README.md", "CONTRIBUTING.md", "data/README.md")
COMMAND = re.compile(r"-m (course_utils[\w.]*)( (?:nav|student|publish))?")


def documented_commands() -> list[tuple[str, ...]]:
    found = set()
    for doc in DOCS:
        for module, sub in COMMAND.findall((REPO / doc).read_text()):
            found.add((module, *sub.split()))
    return sorted(found)


def test_the_docs_name_every_wing_command():
    modules = {c[0] for c in documented_commands()}
    assert {"course_utils.training", "course_utils.reference", "course_utils.data.synth",
            "course_utils.data.download", "course_utils.classroom"} <= modules


@pytest.mark.parametrize("command", documented_commands(), ids=" ".join)
def test_documented_command_shows_its_help_without_warnings(command):
    result = subprocess.run([sys.executable, "-W", "error", "-m", *command, "--help"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and result.stderr == ""


def test_classroom_lists_its_commands_when_none_is_given():
    result = subprocess.run([sys.executable, "-m", "course_utils.classroom"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert all(f"classroom {c}" in result.stderr for c in ("nav", "student", "publish"))


def test_reference_interrupted_says_in_one_line_how_to_resume(monkeypatch, capsys):
    import importlib

    cli = importlib.import_module("course_utils.reference.__main__")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train_all", interrupted)
    assert cli.main(["--only", "fcn8s"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted; run the same command to resume\n"
