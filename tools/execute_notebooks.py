"""Re-execute notebooks in place, top to bottom, in the CPU fast profile (``make notebooks``).

The stored outputs are what nbval compares against in CI, so they must come from the same
set-up CI uses: a fresh kernel per notebook, ``COURSE_PROFILE=fast``, the notebook's folder
as working directory, and a fresh checkpoint folder (every live run trains). Timing metadata
and widget state are not stored (they change every run).

    python tools/execute_notebooks.py                     # every notebook
    python tools/execute_notebooks.py notebooks/04-fcn.ipynb
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def run(nb, folder: Path, timeout: float = 900, until: float | None = None,
        env: dict | None = None) -> float:
    """Execute the notebook ``nb`` (in memory) in a fresh kernel, working directory ``folder``,
    each cell within ``timeout`` seconds and, with ``until`` (a ``time.perf_counter()`` value),
    the whole notebook by then; ``env``: the kernel's environment (default: this process's).
    Timing and widget state are dropped; returns the seconds."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)

    def limit(_cell) -> float:
        return timeout if until is None else max(1.0, min(timeout, until - time.perf_counter()))

    client = NotebookClient(nb, timeout_func=limit, kernel_name="python3", record_timing=False,
                            store_widget_state=False, resources={"metadata": {"path": str(folder)}})
    start = time.perf_counter()
    try:
        client.execute(**({} if env is None else {"env": env}))
    finally:
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nb.metadata.pop("widgets", None)
    return time.perf_counter() - start


def execute(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    seconds = run(nb, path.parent, timeout)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    os.environ["COURSE_PROFILE"] = "fast"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    with tempfile.TemporaryDirectory() as fresh:  # train from scratch, as CI does
        os.environ["COURSE_CHECKPOINT_DIR"] = fresh
        for p in paths:
            print(f"{p.name}: executing ...", flush=True)
            print(f"{p.name}: done in {execute(p.resolve()):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
