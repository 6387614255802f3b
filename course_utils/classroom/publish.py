"""A static course site and lecture slides from the executed notebooks, usable offline.

    python -m course_utils.classroom.publish site    # build/site/: a page per notebook (make site)
    python -m course_utils.classroom.publish slides  # build/slides/: reveal.js (make slides)

Both come from the stored notebooks (no cell is run) through nbconvert, and everything a page
loads is copied next to it: MathJax (from the ``nbclassic`` package), require.js and jQuery
(likewise), reveal.js (from ``sphinx-revealjs``); so formulas are typeset and pages work with no
network. On the way, links between notebooks point at the built pages, the Colab badge and
set-up cell are left out, and the stored progress bars of training cells (widgets with no
state, which a static page can only show frozen at 0 %) are dropped. Slides: every ``##``
section starts a slide, every further text cell a sub-slide under it, and code with its
output follows the text it belongs to.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from importlib import resources
from pathlib import Path

import nbformat

from course_utils.runtime import REPO_ROOT, relpath

from . import colab
from .nav import notebook_paths, title_and_summary

BUILD = REPO_ROOT / "build"
STATIC = "_static"
WIDGET = "application/vnd.jupyter.widget-view+json"
PROGRESS = re.compile(r"\d+%\|")  # a tqdm bar printed as text
NOTEBOOK_LINK = re.compile(r"\]\((\d\d-[a-z0-9-]+)\.ipynb(#[^)]*)?\)")
MATHJAX = f"{STATIC}/MathJax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def _assets() -> dict[str, Path]:
    """Where the installed packages keep the scripts the pages load."""
    classic = Path(str(resources.files("nbclassic"))) / "static" / "components"
    reveal = Path(str(resources.files("sphinx_revealjs"))) / "_static" / "revealjs"
    return {"MathJax": classic / "MathJax", "require.js": classic / "requirejs" / "require.js",
            "jquery.min.js": classic / "jquery" / "jquery.min.js", "reveal.js": reveal}


def _copy_assets(out: Path, names) -> None:
    for name in names:
        src, dst = _assets()[name], out / STATIC / name
        if dst.exists():
            continue
        if not src.exists():
            raise FileNotFoundError(f"{src}: missing; install the course's publishing tools "
                                    "with `make install` (pip install -e '.[dev]')")
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


def _is_progress(output) -> bool:
    """A stored progress bar: a widget view, or tqdm's text on stderr."""
    if WIDGET in output.get("data", {}):
        return True
    return output.get("name") == "stderr" and bool(PROGRESS.search(output.get("text", "")))


def prepare(nb, slides: bool = False):
    """A copy of ``nb`` ready for a static page: see the module docstring."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if colab.CELL_TAG not in c.metadata.get("tags", [])]
    first_section = True
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(re.escape(colab.BADGE[0]) + r".*?" + re.escape(colab.BADGE[1]),
                                 "", cell.source, flags=re.S)
            cell.source = NOTEBOOK_LINK.sub(lambda m: f"]({m[1]}.html{m[2] or ''})",
                                            cell.source)
        else:
            cell.outputs = [o for o in cell.outputs if not _is_progress(o)]
        if slides:
            heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith(
                ("# ", "## "))
            kind = "slide" if heading or first_section else (
                "subslide" if cell.cell_type == "markdown" else "-")
            cell.metadata["slideshow"] = {"slide_type": kind}
            first_section = False
    return nb


def _exporter(slides: bool):
    from nbconvert import HTMLExporter, SlidesExporter

    if slides:
        exporter = SlidesExporter()
        exporter.reveal_url_prefix = f"{STATIC}/reveal.js"
        exporter.reveal_scroll = True
    else:
        exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = MATHJAX
    exporter.require_js_url = f"{STATIC}/require.js"
    exporter.jquery_url = f"{STATIC}/jquery.min.js"
    exporter.mermaid_js_url = exporter.mermaid_layout_elk_js_url = ""  # no diagrams: no loads
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    return exporter


def _index(paths, out: Path, suffix: str) -> None:
    """``index.html``: the course table, linking the built pages."""
    rows = []
    for p in paths:
        title, summary = title_and_summary(nbformat.read(p, as_version=4))
        rows.append(f'<li><a href="{p.stem}{suffix}">{title}</a> <span>{summary}</span></li>')
    (out / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Semantic segmentation, from "
        "pixels to mIoU</title></head><body><h1>Semantic segmentation, from pixels to mIoU"
        f"</h1><ol>{''.join(rows)}</ol></body></html>\n")


def build(kind: str = "site", out: Path | None = None, notebooks=None) -> list[Path]:
    """Build the site (``kind="site"``) or the slides into ``out``; return the pages."""
    if kind not in ("site", "slides"):
        raise ValueError(f"kind={kind!r}: expected 'site' or 'slides'")
    slides = kind == "slides"
    out = Path(out or BUILD / kind)
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out, ["MathJax", "require.js", "jquery.min.js"] + (["reveal.js"] * slides))
    exporter = _exporter(slides)
    paths = list(notebooks or notebook_paths())
    pages = []
    for path in paths:
        body, _ = exporter.from_notebook_node(prepare(nbformat.read(path, as_version=4), slides))
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
    _index(paths, out, ".html")
    return pages


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course_utils.classroom.publish",
                                description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=("site", "slides"))
    p.add_argument("--out", type=Path, default=None, help="output folder (default build/KIND)")
    args = p.parse_args(argv)
    pages = build(args.kind, args.out)
    print(f"wrote {len(pages)} pages and index.html to {relpath(pages[0].parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
