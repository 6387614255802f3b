"""tools/readme_tables.py: the generated blocks of data/README.md are current and rewritable."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import readme_tables  # noqa: E402

from course_utils.reference import read_manifest  # noqa: E402


def test_every_generated_block_of_data_readme_is_current():
    assert readme_tables.stale() == [], "run: python tools/readme_tables.py"


def test_reference_table_lists_every_run_with_its_score():
    manifest = read_manifest()
    text = readme_tables.reference_table(manifest)
    for name, entry in manifest["runs"].items():
        if entry["config"].get("task") == "classify":  # the encoder: one sentence above
            assert f"run `{name}`" in text and f"top-1 {entry['val']['top1']:.3f}" in text
            continue
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {entry['val']['miou']:.3f} |" in row


def test_calibration_table_lists_every_calibration_run_and_each_doublings_gain():
    from course_utils.reference.manifest import calibration_file

    manifest, calibration = read_manifest(), read_manifest(calibration_file())
    text = readme_tables.calibration_table()
    for name, entry in calibration["runs"].items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {entry['config']['epochs']} |" in row
        assert f"| {entry['val']['miou']:.3f} | {entry['val']['boundary_iou']:.3f} |" in row
    x2 = manifest["runs"]["fcn8s-x2"]["val"]["miou"]
    x4 = calibration["runs"]["calib-fcn8s-x4"]["val"]["miou"]
    assert f"64 -> 128 epochs {x4 - x2:+.3f}" in text


def test_baseline_table_is_there_and_below_the_bar():
    text = readme_tables.README.read_text()
    begin, end = readme_tables.BASELINES
    block = text.split(begin, 1)[1].split(end, 1)[0]
    rows = re.findall(r"\| (per-pixel [^|]+) \| ([0-9.]+) \|", block)
    assert len(rows) == 2 and all(float(m) <= 0.10 for _, m in rows)


def test_rewrite_replaces_only_the_blocks(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    shutil.copy(readme_tables.README, readme)
    text = readme.read_text()
    for begin, end in (readme_tables.STATS, readme_tables.REFERENCE):
        text = text.split(begin)[0] + f"{begin}\nold\n{end}" + text.split(end, 1)[1]
    readme.write_text(text)
    assert len(readme_tables.stale(readme)) == 2
    monkeypatch.setattr(readme_tables, "README", readme)
    assert readme_tables.main([]) == 0
    assert readme_tables.stale(readme) == []
    assert readme.read_text() == (REPO / "data" / "README.md").read_text()


def test_check_names_the_stale_block(tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    begin, end = readme_tables.STATS
    readme.write_text(f"{begin}\nold\n{end}\n")
    monkeypatch.setattr(readme_tables, "README", readme)
    assert readme_tables.main(["--check"]) == 1
    assert "STATS" in capsys.readouterr().err


def test_a_missing_marker_is_an_error_naming_the_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="README.md"):
        readme_tables.rewrite_block(readme, readme_tables.STATS, "x")
