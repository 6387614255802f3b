"""tools/gpu_check.py, the prepared GPU check: its probe, its summary, its time limits, and the
data/README.md block written from what it records. (No GPU is needed: the notebooks it runs are
tiny stand-ins, executed in a real kernel.)"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import gpu_check  # noqa: E402
import readme_tables  # noqa: E402

HISTORY = [{"epoch": 1, "loss": 1.0, "pixel_acc": 0.5, "miou": 0.30, "seconds": 2.0},
           {"epoch": 2, "loss": 0.5, "pixel_acc": 0.7, "miou": 0.45, "seconds": 3.0},
           {"epoch": 3, "loss": 0.4, "pixel_acc": 0.7, "miou": 0.40, "seconds": 5.0}]
# what a notebook's live run leaves defined, as the probe reads it
LIVE_RUN = f"""
history = {HISTORY!r}
train_loader = type("L", (), {{"dataset": list(range(40))}})()
val_loader = type("L", (), {{"dataset": list(range(7))}})()
cfg = {{"crop": 96, "batch_size": 4, "epochs": 3}}
"""


def notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path = tmp_path / "nb" / "99-stand-in.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def test_probe_output_reads_back_into_a_hand_worked_summary():
    scope: dict = {}
    exec(LIVE_RUN, scope)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(gpu_check.PROBE, scope)
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="other output\n" + printed.getvalue())])
    probe = gpu_check.read_probe(SimpleNamespace(cells=[cell]))
    s = gpu_check.summarise(probe)
    assert (s["epochs"], s["val_miou"], s["best_val_miou"]) == (3, 0.40, 0.45)
    assert s["images_per_s"] == pytest.approx(3 * 40 / 10.0)  # 3 epochs of 40 in 10 s
    assert (s["train_images"], s["val_images"], s["settings"]["crop"]) == (40, 7, 96)
    if not torch.cuda.is_available():
        assert s["peak_memory_gib"] is None and s["device"] == "cpu"


def test_read_probe_says_what_is_missing():
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="no probe here\n")])
    with pytest.raises(ValueError, match="history, train_loader"):
        gpu_check.read_probe(SimpleNamespace(cells=[cell]))


def test_check_notebook_runs_it_with_the_probe_and_stores_it_without(tmp_path):
    path = notebook(tmp_path, LIVE_RUN, "print('done')")
    out = tmp_path / "out"
    out.mkdir()
    result = gpu_check.check_notebook(path, out, timeout=120)
    assert "error" not in result, result
    assert result["val_miou"] == 0.40 and result["images_per_s"] == pytest.approx(12.0)
    stored = nbformat.read(out / path.name, as_version=4)
    assert len(stored.cells) == 2 and stored.cells[1].outputs[0]["text"] == "done\n"


def test_live_run_only_stops_after_the_first_training_call(tmp_path):
    path = notebook(tmp_path, LIVE_RUN, "history = training.fit(net)", "later = 1", "fit(again)")
    nb = nbformat.read(path, as_version=4)
    assert gpu_check.live_run_only(nb) == 2 and [c.source for c in nb.cells][-1].endswith("(net)")
    without = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="no live run"):
        gpu_check.live_run_only(without)


def test_check_notebook_keeps_the_error_and_stops_at_its_deadline(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    path = notebook(tmp_path, "import time\ntime.sleep(60)")
    start = time.perf_counter()
    result = gpu_check.check_notebook(path, out, timeout=4)
    assert "Timeout" in result["error"] and time.perf_counter() - start < 40
    assert (out / path.name).exists()  # what ran is kept
    (tmp_path / "nb2").mkdir()
    failing = tmp_path / "nb2" / path.name
    failing.write_text(path.read_text().replace("time.sleep(60)", "1 / 0"))
    assert "ZeroDivisionError" in gpu_check.check_notebook(failing, out, timeout=60)["error"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_refuses_unless_told_it_is_a_dry_run(tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path)]) == 2
    assert "--allow-cpu" in capsys.readouterr().err
    assert not (tmp_path / "gpu.json").exists()


def test_gpu_block_of_data_readme_shows_what_was_recorded():
    assert "No GPU run is recorded yet" in readme_tables.gpu_table(None)
    run = {**gpu_check.summarise({"history": HISTORY, "train_images": 1000, "val_images": 200,
                                  "peak_memory_gib": 3.31, "device": "H100",
                                  "settings": {"crop": 256, "batch_size": 16}}),
           "wall_seconds": 151.2, "cells": "17 of 49"}
    report = {"machine": {"date": "2026-12-07", "gpu": "NVIDIA H100", "cpus": 16,
                          "torch": "2.11.0"}, "profile": "full",
              "notebooks": {"04-fcn": run, "05-unet": {"error": "CellTimeoutError: x\nlast"}},
              "benchmarks": {"bench_train.py": {"returncode": 0, "tail": ["Verdict: PASS"]}}}
    text = readme_tables.gpu_table(report)
    row = next(line for line in text.splitlines() if line.startswith("| 04-fcn |"))
    assert "| 0.400 | 0.450 | 300 | 3.3 | 151 |" in row  # 3 x 1000 images in 10 s
    assert row.startswith("| 04-fcn | 17 of 49 | 256 | 16 | 3 | 1,000 |")
    assert "| 05-unet | did not finish: last |" in text and "Verdict: PASS" in text
    assert "NVIDIA H100" in text and "`full`" in text


def test_recorded_gpu_results_are_the_ones_the_readme_shows():
    recorded = readme_tables.GPU_RESULTS
    report = json.loads(recorded.read_text()) if recorded.exists() else None
    assert readme_tables.gpu_table(report) in readme_tables.README.read_text()
