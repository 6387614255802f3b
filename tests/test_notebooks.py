"""Notebook hygiene: executed in order, no errors, no machine paths, skeleton, current navigation.

nbval (run by `make test`) checks that the stored outputs are reproduced; these tests check
that what is stored is fit to be compared and to be read.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import pytest

from course_utils.classroom import colab, nav

NOTEBOOKS = nav.notebook_paths()
MACHINE_PATH = re.compile(r"(?<![\w.])/(root|home|Users|work|tmp|private|var/folders)/")
# The mini set's textures compress poorly: a grid of 16 panels at 100 dpi is ~400 kB. The
# limits keep the repository small (and a figure saved at 300 dpi by mistake is caught).
MAX_PNG_BYTES = 450_000
MAX_NOTEBOOK_BYTES = 2_500_000


def load(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def course_cells(nb):
    """The code cells after the Colab set-up cell (which comes first and does nothing here)."""
    cells = code_cells(nb)
    return cells[1:] if cells and colab.CELL_TAG in cells[0].metadata.get("tags", []) else cells


def test_the_course_has_its_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0].startswith("00-") and names[1].startswith("01-")
    assert len({n[:2] for n in names}) == len(names), "two notebooks share a number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_executed_in_order_without_errors(path):
    nb = load(path)
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "re-run top to bottom (make notebooks)"
    for cell in code_cells(nb):
        for out in cell.outputs:
            assert out.output_type != "error", f"stored error: {out.get('ename')}"
            assert out.get("name") != "stderr" or "nbval-ignore-output" in cell.metadata.get(
                "tags", []), f"stderr output (a warning?) in a compared cell: {out.get('text')!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_svg_or_oversized_figures(path):
    nb = load(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, "figures too large: lower their size or dpi"
    for cell in code_cells(nb):
        for out in cell.outputs:
            data = out.get("data", {})
            text = json.dumps({k: v for k, v in out.items() if k != "data"}) + json.dumps(
                {k: v for k, v in data.items() if not k.startswith("image/")})
            assert not MACHINE_PATH.search(text), f"machine path in output: {text[:300]}"
            assert "image/svg+xml" not in data, "SVG output: compared by nbval, use PNG"
            if "image/png" in data:
                assert len(base64.b64decode(data["image/png"])) < MAX_PNG_BYTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_skeleton(path):
    nb = load(path)
    first = nb.cells[0].source
    number = path.name[:2]
    assert first.startswith(f"# {number} · "), "title line '# NN · Title'"
    assert nav.title_and_summary(nb)[1], "line 2: a one-sentence summary in italics"
    for part in ("**What you will learn**", "**Prerequisites**"):
        assert part in first, f"first cell lacks {part}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## Summary", "## Exercises", "## Further reading"):
        assert heading in markdown
    assert "nbval-ignore-output" in course_cells(nb)[0].metadata.get("tags", []), "set-up cell"
    assert "runtime.setup(" in course_cells(nb)[0].source
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 3, "at least 3 exercises with worked solutions tagged 'solution'"
    checks = [c for c in code_cells(nb) if re.search(rf"\bnb{number}\.\w+\(", c.source)
              and "solution" not in c.metadata.get("tags", [])]
    assert len(checks) >= 3, f"at least 3 self-check calls (classroom.checks.nb{number})"
    setup = course_cells(nb)[0]
    for cell in code_cells(nb):
        if "nbval-ignore-output" in cell.metadata.get("tags", []) and cell is not setup:
            # or a cell whose output depends on the machine's torch weights cache
            assert re.search(r"\b(fit|train|time|perf_counter|segmentation_model)", cell.source), (
                "ignore outputs only for set-up, timing, training and weights-cache cells:\n"
                + cell.source)


def test_navigation_and_course_table_are_current():
    assert nav.refresh(check=True) == [], "run: python -m course_utils.classroom nav"


def test_nav_rewrites_in_place_and_is_idempotent(tmp_path):
    for i, title in enumerate(["Start", "Data", "Tasks"]):
        nb = nbformat.v4.new_notebook()
        body = f"# {i:02d} · {title}\n*About {title}.*"
        if i == 0:
            body += f"\n{nav.TABLE[0]}\n{nav.TABLE[1]}"
        nb.cells = [nbformat.v4.new_markdown_cell(body)]
        nbformat.write(nb, tmp_path / f"{i:02d}-{title.lower()}.ipynb")
    assert len(nav.refresh(tmp_path)) == 3
    assert nav.refresh(tmp_path) == []
    middle = load(tmp_path / "01-data.ipynb").cells[-1].source
    assert "[← 00 · Start](00-start.ipynb)" in middle and "[02 · Tasks →](02-tasks.ipynb)" in middle
    table = load(tmp_path / "00-start.ipynb").cells[0].source
    assert "| 02 | [Tasks](02-tasks.ipynb) | About Tasks. |" in table
    (tmp_path / "02-tasks.ipynb").unlink()
    assert nav.refresh(tmp_path, check=True)  # removing a notebook makes the others stale


PROVENANCE = re.compile(r"no GPU (was|is) (available|lent)|could not be (run|measured) here|"
                        r"on this machine|in this environment|where the course was built|"
                        r"took \d+(-\d+)? ?s on", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_learner_text_has_no_notes_about_how_the_course_was_built(path):
    for cell in load(path).cells:
        if cell.cell_type == "markdown":
            found = PROVENANCE.search(cell.source)
            assert not found, f"developer provenance in learner text: {found.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_badge_and_first_cell(path):
    nb = load(path)
    assert colab.badge(path.name) in nb.cells[0].source
    first = code_cells(nb)[0]
    assert first.source == colab.SETUP_CELL and colab.CELL_TAG in first.metadata["tags"]
    assert first.source.splitlines()[0].startswith("#@title Colab set-up:")
    assert first.metadata["jupyter"]["source_hidden"] and first.metadata["cellView"] == "form"
    assert not first.get("outputs"), "off Colab the set-up cell prints nothing"


def test_01_layout_cell_copes_with_a_voc_copy_without_object_masks(tmp_path, monkeypatch,
                                                                     capsys):
    from voc_fixtures import make_voc

    from course_utils import runtime
    from course_utils.data import voc

    root = make_voc(tmp_path)  # JPEGImages, SegmentationClass, ImageSets; no object masks here
    (root / "SegmentationObject").rmdir()
    nb = load(nav.NOTEBOOKS / "01-voc-data.ipynb")
    cell = next(c for c in code_cells(nb) if 'for sub in ("JPEGImages"' in c.source)
    monkeypatch.setattr(voc, "find_voc_root", lambda *a: root)
    exec(cell.source, {"voc": voc, "runtime": runtime})
    out = capsys.readouterr().out
    assert "SegmentationObject/" in out and "not in this copy" in out
