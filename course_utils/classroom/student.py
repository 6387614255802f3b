"""Student copies of the notebooks: worked solutions out, placeholders in, outputs cleared.

A placeholder defines what the check cell after it uses, so "run all" goes through and every
check says ``Not yet``."""

import argparse
import ast
from pathlib import Path

import nbformat

from course_utils.runtime import REPO_ROOT, relpath

from .nav import notebook_paths

STUDENT_DIR = REPO_ROOT / "student"
SOLUTION_TAG, PLACEHOLDER_TAG = "solution", "placeholder"
ALREADY_THERE = "# your answer here"  # an exercise cell that has its own placeholder line


def placeholder(solution: str, check: str) -> str:
    """The placeholder for a ``solution`` cell: each name the ``check`` cell uses that the
    solution defines, as ``None`` (a variable) or as a stub (a function)."""
    used = {n.id for n in ast.walk(ast.parse(check)) if isinstance(n, ast.Name)}
    lines, seen = [], set()
    for node in ast.parse(solution).body:
        if isinstance(node, ast.FunctionDef) and node.name in used:
            lines.append(f"def {node.name}({ast.unparse(node.args)}):\n"
                         "    # your code here\n    return None")
            seen.add(node.name)
        elif isinstance(node, ast.Assign):
            for name in [n.id for t in node.targets for n in ast.walk(t)
                         if isinstance(n, ast.Name)]:
                if name in used and name not in seen:
                    lines.append(f"{name} = None  {ALREADY_THERE}")
                    seen.add(name)
    return "\n\n\n".join(lines) if lines else f"answer = None  {ALREADY_THERE}"


def student_notebook(nb):
    """A copy of ``nb`` with every ``solution`` cell replaced by its placeholder (none when
    the exercise's own cell already has one) and all outputs cleared."""
    out = nbformat.from_dict(nb)
    code = [c for c in out.cells if c.cell_type == "code"]
    cells = []
    for cell in out.cells:
        if SOLUTION_TAG not in cell.metadata.get("tags", []):
            cells.append(cell)
            continue
        i = next(k for k, c in enumerate(code) if c is cell)
        if i > 0 and ALREADY_THERE in code[i - 1].source:
            continue  # the exercise cell above defines the placeholder itself
        check = code[i + 1].source if i + 1 < len(code) else ""
        stub = nbformat.v4.new_code_cell(placeholder(cell.source, check))
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
    p = argparse.ArgumentParser(prog="python -m course_utils.classroom student",
                                 description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=STUDENT_DIR, help="folder for the copies")
    args = p.parse_args(argv)
    written = make_student_copies(args.out)
    print(f"wrote {len(written)} student notebooks to {relpath(args.out)}")
    return 0

