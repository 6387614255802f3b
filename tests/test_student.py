"""Student copies: solutions replaced by placeholders, and every copy runs top to bottom with
each self-check saying "Not yet" (never a traceback, never the expected value)."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.classroom import nav, student

NOTEBOOKS = nav.notebook_paths()
CHECK = re.compile(r"\bnb\d\d\.check_\w+\(")


def test_placeholder_defines_what_the_check_uses():
    solution = "c = 3\nanswer = (E[c, c] / E[c].sum()).item()\n"
    assert student.placeholder(solution, "nb08.check_iou(answer, 'cat')") == (
        "answer = None  # your answer here")
    solution = "def helper(m):\n    return m\n\n\ndef miou(matrix, eps=0.0):\n    return 1\n"
    stub = student.placeholder(solution, "nb08.check_miou_function(miou)")
    assert stub.startswith("def miou(matrix, eps=0.0):") and "return None" in stub
    assert "helper" not in stub
    assert student.placeholder("x = 1", "print('no names')") == "answer = None  # your answer here"
    assert student.placeholder("a, (b, c) = 1, (2, 3)", "check(c, a)") == (
        "a = None  # your answer here\n\n\nc = None  # your answer here")


def test_student_notebook_keeps_an_exercise_cells_own_placeholder():
    code = nbformat.v4.new_code_cell
    exercise, solution = code("answer = None  # your answer here"), code("answer = 42")
    solution.metadata["tags"] = [student.SOLUTION_TAG]
    nb = nbformat.v4.new_notebook(cells=[exercise, solution, code("check(answer)")])
    assert [c.source for c in student.student_notebook(nb).cells] == [
        exercise.source, "check(answer)"]
    nb.cells[0] = code("print('the exercise')")
    stub = student.student_notebook(nb).cells[1]
    assert stub.source == "answer = None  # your answer here"
    assert stub.metadata["tags"] == [student.PLACEHOLDER_TAG]


def test_student_copy_has_no_solutions_and_no_outputs(tmp_path):
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    written = student.make_student_copies(tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    assert {p: p.read_bytes() for p in NOTEBOOKS} == before, "instructor notebooks untouched"
    for path in written:
        nb = nbformat.read(path, as_version=4)
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert student.SOLUTION_TAG not in tags, path.name
        original = nbformat.read(nav.NOTEBOOKS / path.name, as_version=4)
        n_solutions = sum(student.SOLUTION_TAG in c.metadata.get("tags", [])
                          for c in original.cells)
        checks = [c for c in nb.cells if c.cell_type == "code" and CHECK.search(c.source)]
        assert len(checks) >= n_solutions >= 3, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        solutions = "\n".join(c.source for c in original.cells
                              if student.SOLUTION_TAG in c.metadata.get("tags", []))
        assert solutions not in "\n".join(c.source for c in nb.cells)


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.student_copies
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_student_copy_runs_and_every_check_says_not_yet(name, tmp_path, monkeypatch):
    """Every student copy, top to bottom. ``make test`` runs this after strict nbval and lets
    it reuse that run's checkpoints (``$COURSE_CHECKPOINT_DIR``), so live runs train once."""
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    if not os.environ.get("COURSE_CHECKPOINT_DIR"):
        monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    (path,) = student.make_student_copies(tmp_path, [nav.NOTEBOOKS / name])
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(nav.NOTEBOOKS)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    checks = [c for c in nb.cells if c.cell_type == "code" and CHECK.search(c.source)]
    assert checks
    for cell in checks:
        out = _text(cell)
        assert out.startswith("Not yet: ") and "Correct" not in out, (cell.source, out)
