"""Student copies of the notebooks: worked solutions out, placeholders in, outputs cleared.

    python -m course_utils.classroom.student            # writes student/NN-*.ipynb (make student)
    python -m course_utils.classroom.student --out DIR

Every exercise in the course has its worked answer in a code cell tagged ``solution`` and is
followed by a self-check cell. A student copy replaces each ``solution`` cell by a placeholder
that defines what the check needs, set to nothing yet: ``answer = None  # your answer here``, or
a stub with the solution's signature for an exercise that asks for a function. "Run all" then
goes through every notebook and each check prints ``Not yet: ...`` until the learner fills in
the placeholder. The instructor notebooks are never changed.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

from course_utils.runtime import REPO_ROOT, relpath

from .nav import notebook_paths

STUDENT_DIR = REPO_ROOT / "student"
SOLUTION_TAG, PLACEHOLDER_TAG = "solution", "placeholder"
ALREADY_THERE = "# your answer here"  # an exercise cell that has its own placeholder line


def _names_used(source: str) -> set[str]:
    """Every identifier that ``source`` (a check cell) uses."""
    try:
        return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", source))


def _assigned(node: ast.stmt) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def placeholder(solution: str, check: str) -> str:
    """The placeholder for a ``solution`` cell: each name the ``check`` cell uses that the
    solution defines, as ``None`` (a variable) or as a stub (a function)."""
    used = _names_used(check)
    lines, seen = [], set()
    for node in ast.parse(solution).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in used:
            lines.append(f"def {node.name}({ast.unparse(node.args)}):\n"
                         "    # your code here\n    return None")
            seen.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for name in _assigned(node):
                if name in used and name not in seen:
                    lines.append(f"{name} = None  # your answer here")
                    seen.add(name)
    return "\n\n\n".join(lines) if lines else f"answer = None  {ALREADY_THERE}"


def _next_code(cells, i):
    return next((c for c in cells[i + 1:] if c.cell_type == "code"), None)


def _previous_code(cells, i):
    return next((c for c in reversed(cells[:i]) if c.cell_type == "code"), None)


def student_notebook(nb):
    """A copy of ``nb`` with every ``solution`` cell replaced by its placeholder (none when
    the exercise's own cell already has one) and all outputs cleared."""
    out = nbformat.from_dict(nb)
    cells = []
    for i, cell in enumerate(out.cells):
        if SOLUTION_TAG not in cell.metadata.get("tags", []):
            cells.append(cell)
            continue
        before = _previous_code(out.cells, i)
        if before is not None and ALREADY_THERE in before.source:
            continue  # the exercise cell above defines the placeholder itself
        check = _next_code(out.cells, i)
        stub = nbformat.v4.new_code_cell(placeholder(cell.source, check.source if check else ""))
        stub.metadata["tags"] = [PLACEHOLDER_TAG]
        cells.append(stub)
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    out.cells = cells
    out.metadata.pop("widgets", None)
    return out


def make_student_copies(out=STUDENT_DIR, notebooks=None) -> list[Path]:
    """Write the student copy of every course notebook (or of ``notebooks``) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or notebook_paths():
        target = out / Path(path).name
        nbformat.write(student_notebook(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course_utils.classroom.student",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=STUDENT_DIR, help="folder for the copies")
    args = p.parse_args(argv)
    written = make_student_copies(args.out)
    print(f"wrote {len(written)} student notebooks to {relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
