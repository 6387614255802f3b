"""Every ``python -m course_utils...`` command the docs and the Makefile name starts cleanly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.classroom.__main__ import COMMANDS

REPO = Path(__file__).resolve().parents[1]
DOCS = ("Makefile", "README.md", "CONTRIBUTING.md", "data/README.md")
COMMAND = re.compile(rf"-m (course_utils[\w.]*)( (?:{'|'.join(COMMANDS)}))?")


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


def test_reference_calibrate_trains_and_lists_the_calibration_runs_into_their_file(
        monkeypatch, capsys):
    import importlib

    from course_utils.reference.manifest import calibration_file, manifest_file
    from course_utils.training.recipes import CALIBRATION, RUNS

    cli = importlib.import_module("course_utils.reference.__main__")
    calls = []

    def record(names, workers, device, manifest_path, runs):
        calls.append((names, manifest_path, runs))
        return {"runs": runs, "wall_seconds": 0.0}

    monkeypatch.setattr(cli, "train_all", record)
    assert cli.main(["--calibrate"]) == 0 and cli.main([]) == 0
    assert calls == [(None, calibration_file(), CALIBRATION), (None, manifest_file(), RUNS)]
    assert capsys.readouterr().out.startswith("wrote reference/calibration.json")
    assert cli.main(["--calibrate", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(CALIBRATION)


def test_an_interrupted_reference_command_stops_its_workers_at_once():
    """Ctrl-C in the main process (here raised where it lands, while recording the first run)
    stops the other workers instead of letting them train every queued run first."""
    import multiprocessing as mp
    import time

    from voc_fixtures import sleepy_job

    from course_utils.reference import runs

    def record(name, entry):
        raise KeyboardInterrupt

    jobs = [("quick", {"seconds": 0.2})] + [(f"slow{i}", {"seconds": 60}) for i in range(3)]
    start = time.perf_counter()
    with mp.Manager() as manager, pytest.raises(KeyboardInterrupt):
        runs._in_processes(sleepy_job, jobs, 2, manager.Queue(), _Bar(), record)
    assert time.perf_counter() - start < 30
    time.sleep(0.5)
    assert not [p for p in mp.active_children() if p.name.startswith("SpawnProcess")]


class _Bar:
    def set_postfix_str(self, text):
        pass

    def update(self):
        pass
