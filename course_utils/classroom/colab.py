"""Running the course on Google Colab: an "Open in Colab" badge and a first cell in every notebook.

The cell clones the course and installs it with ``--no-deps``: a plain ``pip install`` would
replace Colab's PyTorch with the version the course pins. It is collapsed to its title line, in
JupyterLab (``jupyter.source_hidden``) and on Colab (a ``#@title`` form), since it does nothing
outside Colab."""

import nbformat

REPOSITORY = "segmentation-course/semantic-segmentation"  # GitHub owner/name of the course
BRANCH = "main"
BADGE = ("<!-- COLAB -->", "<!-- /COLAB -->")
CELL_MARK = "#@title Colab set-up"  # Colab shows the title and hides the code (a form)
OLD_MARK = "# COLAB-SETUP"  # the mark before the title: such cells are found and rewritten
CELL_TAG = "colab-setup"
EXTRA = ("torchmetrics>=1.4",)  # what the course needs and Colab does not ship

SETUP_CELL = f'''{CELL_MARK}: installs the course on Google Colab; does nothing elsewhere
# On Colab only: fetch the course (code and bundled data) and install it without touching
# Colab's PyTorch.
import os, subprocess, sys
if "google.colab" in sys.modules:
    repo = os.environ.get("COURSE_REPO", "https://github.com/{REPOSITORY}.git")
    home = os.environ.get("COURSE_HOME", "/content/course")
    if not os.path.isdir(home):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "{BRANCH}", repo, home],
                       check=True)
        pip = [sys.executable, "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["--no-deps", "-e", home, "d2l==1.0.3"], check=True)
        subprocess.run(pip + {list(EXTRA)!r}, check=True)
    sys.path.insert(0, home)
    os.chdir(os.path.join(home, "notebooks"))'''


def badge(notebook_name: str) -> str:
    """The markdown "Open in Colab" badge of one notebook."""
    url = (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/"
           f"{notebook_name}")
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def ensure(nb, notebook_name: str) -> None:
    """Add or update ``nb``'s badge (end of the first cell) and set-up cell (first code cell)."""
    first = nb.cells[0]
    block = f"{BADGE[0]}\n{badge(notebook_name)}\n{BADGE[1]}"
    if BADGE[0] in first.source:
        head, rest = first.source.split(BADGE[0], 1)
        first.source = head + block + rest.split(BADGE[1], 1)[1]
    else:
        first.source = first.source.rstrip("\n") + "\n\n" + block
    cell = next((c for c in nb.cells if c.cell_type == "code"
                 and (c.source.startswith((CELL_MARK, OLD_MARK))
                      or CELL_TAG in c.metadata.get("tags", []))), None)
    if cell is None:
        cell = nbformat.v4.new_code_cell()
        # before the first code cell; right after the title cell in a notebook without code
        nb.cells.insert(next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1), cell)
    cell.source = SETUP_CELL
    cell.metadata["tags"] = [CELL_TAG]
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True  # collapsed in JupyterLab
    cell.metadata["cellView"] = "form"  # Colab: the title, code hidden
