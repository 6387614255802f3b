"""Write every notebook's navigation line, notebook 00's course table and the Colab cells."""

import argparse
import re
from pathlib import Path

import nbformat

from course_utils.runtime import REPO_ROOT

from . import colab

NOTEBOOKS = REPO_ROOT / "notebooks"
NAV = ("<!-- NAV -->", "<!-- /NAV -->")
TABLE = ("<!-- COURSE-TABLE -->", "<!-- /COURSE-TABLE -->")
NAME = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")


def notebook_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    """The course notebooks, in order."""
    return sorted(p for p in folder.glob("*.ipynb") if NAME.match(p.name))


def title_and_summary(nb) -> tuple[str, str]:
    """``("NN · Title", "summary")`` from the first cell of a notebook."""
    lines = [s.strip() for s in nb.cells[0].source.splitlines() if s.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError("the first cell must start with '# NN · Title'")
    summary = lines[1].strip("*_ ") if len(lines) > 1 and lines[1][:1] in "*_" else ""
    return lines[0][2:].strip(), summary


def nav_line(paths: list[Path], titles: dict[Path, str], i: int) -> str:
    """previous · index · next, as markdown links."""
    parts = []
    if i > 0:
        parts.append(f"[← {titles[paths[i - 1]]}]({paths[i - 1].name})")
    parts.append(f"[Index]({paths[0].name})")
    if i + 1 < len(paths):
        parts.append(f"[{titles[paths[i + 1]]} →]({paths[i + 1].name})")
    return " · ".join(parts)


def course_table(paths: list[Path], nbs: dict) -> str:
    """The markdown table of notebook 00: number, linked title and summary of each notebook."""
    rows = ["| # | notebook | what it teaches |", "|---|---|---|"]
    for p in paths:
        title, summary = title_and_summary(nbs[p])
        num, _, name = title.partition(" · ")
        rows.append(f"| {num} | [{name}]({p.name}) | {summary} |")
    return "\n".join(rows)


def _replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def rewrite_block(path, markers: tuple[str, str], body: str) -> None:
    """Replace the block between the ``markers`` lines of the file ``path`` by ``body``."""
    path = Path(path)
    text = path.read_text()
    if markers[0] not in text or markers[1] not in text:
        raise ValueError(f"{path}: no {markers[0]} ... {markers[1]} block to update")
    path.write_text(_replace_between(text, markers, body))


def _set_nav(nb, line: str) -> None:
    """Replace the nav cell's body, or append a nav cell at the end if there is none."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and NAV[0] in cell.source:
            cell.source = _replace_between(cell.source, NAV, line)
            return
    nb.cells.append(nbformat.v4.new_markdown_cell(f"{NAV[0]}\n{line}\n{NAV[1]}"))


def refresh(folder: Path = NOTEBOOKS, check: bool = False) -> list[Path]:
    """Bring every notebook's nav line (and 00's course table) up to date; return the notebooks
    that were (or, with ``check``, would be) changed."""
    paths = notebook_paths(folder)
    nbs = {p: nbformat.read(p, as_version=4) for p in paths}
    titles = {p: title_and_summary(nbs[p])[0] for p in paths}
    stale = []
    for i, p in enumerate(paths):
        nb = nbs[p]
        before = nbformat.writes(nb)
        _set_nav(nb, nav_line(paths, titles, i))
        colab.ensure(nb, p.name)
        if i == 0:
            for cell in nb.cells:
                if cell.cell_type == "markdown" and TABLE[0] in cell.source:
                    cell.source = _replace_between(cell.source, TABLE, course_table(paths, nbs))
        if nbformat.writes(nb) != before:
            stale.append(p)
            if not check:
                nbformat.write(nb, p)
    return stale


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.classroom nav",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale notebooks, change none")
    args = ap.parse_args(argv)
    stale = refresh(check=args.check)
    verb = "stale" if args.check else "updated"
    for p in stale:
        print(f"{verb}: {p.name}")
    return 1 if (args.check and stale) else 0

