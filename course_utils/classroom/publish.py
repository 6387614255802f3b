"""A static course site and lecture slides from the stored notebooks, usable offline.

nbconvert renders the notebooks (no cell is run); the scripts the pages load are copied next to
them, so pages need no network."""

import argparse
import html
import re
import shutil
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
IMAGE = re.compile(r'<img\b[^>]*?src="data:image/(?:png|jpeg);base64,')  # up to the data
ALT = re.compile(r'\salt="[^"]*"')
NO_ALT = "Figure made by the code cell above (no description yet)"
NOTEBOOK_LINK = re.compile(r"\]\((\d\d-[a-z0-9-]+)\.ipynb(#[^)]*)?\)")


def _copy_assets(out: Path, slides: bool) -> None:
    """Copy the scripts the pages load, from the installed packages, into ``out/_static``."""
    classic = Path(str(resources.files("nbclassic"))) / "static" / "components"
    assets = {"MathJax": classic / "MathJax", "require.js": classic / "requirejs" / "require.js",
              "jquery.min.js": classic / "jquery" / "jquery.min.js"}
    if slides:
        assets["reveal.js"] = Path(str(resources.files("sphinx_revealjs"))) / "_static/revealjs"
    for name, src in assets.items():
        dst = out / STATIC / name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


def _is_progress(output) -> bool:
    """A stored progress bar: a widget (frozen at 0 % on a static page) or tqdm's stderr text."""
    return WIDGET in output.get("data", {}) or (
        output.get("name") == "stderr" and bool(PROGRESS.search(output.get("text", ""))))


def alt_texts(nb) -> list[str]:
    """The alt text of every figure (PNG or JPEG output) in ``nb``, in page order: the output's
    ``alt`` metadata, else its cell's ``alt`` metadata (a string, or one per figure of the
    cell), else :data:`NO_ALT`."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell_alt = cell.metadata.get("alt")
        figures = [o for o in cell.get("outputs", [])
                   if {"image/png", "image/jpeg"} & set(o.get("data", {}))]
        for k, output in enumerate(figures):
            own = next((output.get("metadata", {}).get(m, {}).get("alt")
                        for m in ("image/png", "image/jpeg")
                        if output.get("metadata", {}).get(m, {}).get("alt")), None)
            shared = cell_alt[k] if isinstance(cell_alt, list) and k < len(cell_alt) else (
                cell_alt if isinstance(cell_alt, str) else None)
            texts.append((own or shared or NO_ALT).strip() or NO_ALT)
    return texts


def add_alt_texts(body: str, texts: list[str]) -> str:
    """Give the page's ``<img>`` of each figure, in order, its alt text in place of
    nbconvert's placeholder; raise if the page's figures and ``texts`` do not pair up."""
    found = IMAGE.findall(body)
    if len(found) != len(texts):
        raise ValueError(f"{len(found)} figures on the page, {len(texts)} alt texts")
    parts = iter(texts)
    return IMAGE.sub(lambda m: f'<img alt="{html.escape(next(parts), quote=True)}"'
                               + ALT.sub("", m[0][len("<img"):]), body)


def prepare(nb, slides: bool = False):
    """A copy of ``nb`` for a static page: no Colab badge or set-up cell, no progress bars, links
    to the built pages; for slides, each ``#``/``##`` heading starts a slide, other text cells a
    sub-slide, and code follows the text it belongs to."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if colab.CELL_TAG not in c.metadata.get("tags", [])]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = re.sub(re.escape(colab.BADGE[0]) + r".*?" + re.escape(colab.BADGE[1]),
                                 "", cell.source, flags=re.S)
            cell.source = NOTEBOOK_LINK.sub(lambda m: f"]({m[1]}.html{m[2] or ''})",
                                            cell.source)
        else:
            cell.outputs = [o for o in cell.outputs if not _is_progress(o)]
        if slides:
            text = cell.cell_type == "markdown"
            heading = text and cell.source.lstrip().startswith(("# ", "## "))
            kind = "slide" if heading or i == 0 else "subslide" if text else "-"
            cell.metadata["slideshow"] = {"slide_type": kind}
    return nb


def _exporter(slides: bool):
    from nbconvert import HTMLExporter, SlidesExporter

    if slides:
        exporter = SlidesExporter()
        exporter.reveal_url_prefix = f"{STATIC}/reveal.js"
        exporter.reveal_scroll = True
    else:
        exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = f"{STATIC}/MathJax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    exporter.require_js_url = f"{STATIC}/require.js"
    exporter.jquery_url = f"{STATIC}/jquery.min.js"
    exporter.mermaid_js_url = exporter.mermaid_layout_elk_js_url = ""  # no diagrams: no loads
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    return exporter


def _index(paths, out: Path) -> None:
    """``index.html``: the course table, linking the built pages."""
    rows = []
    for p in paths:
        title, summary = title_and_summary(nbformat.read(p, as_version=4))
        rows.append(f'<li><a href="{p.stem}.html">{title}</a> <span>{summary}</span></li>')
    (out / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Semantic segmentation, from "
        "pixels to mIoU</title></head><body><h1>Semantic segmentation, from pixels to mIoU"
        f"</h1><ol>{''.join(rows)}</ol></body></html>\n")


def build(kind: str = "site", out: Path | None = None) -> list[Path]:
    """Build the site (``kind="site"``) or the slides into ``out``; return the pages."""
    if kind not in ("site", "slides"):
        raise ValueError(f"kind={kind!r}: expected 'site' or 'slides'")
    slides = kind == "slides"
    out = Path(out or BUILD / kind)
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out, slides)
    exporter = _exporter(slides)
    paths = notebook_paths()
    pages = []
    for path in paths:
        nb = prepare(nbformat.read(path, as_version=4), slides)
        body, _ = exporter.from_notebook_node(nb)
        body = add_alt_texts(body, alt_texts(nb))
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
    _index(paths, out)
    return pages


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course_utils.classroom publish",
                                 description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=("site", "slides"))
    p.add_argument("--out", type=Path, default=None, help="output folder (default build/KIND)")
    args = p.parse_args(argv)
    pages = build(args.kind, args.out)
    print(f"wrote {len(pages)} pages and index.html to {relpath(pages[0].parent)}")
    return 0

