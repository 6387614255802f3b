"""The packages the course needs, checked with Python's standard library alone.

Notebook 00 runs :func:`check` before it imports anything else, so a missing package is named
with the command that installs it, instead of surfacing as a bare ``ModuleNotFoundError`` from
the first ``import torch``. This module must import nothing outside the standard library.
"""

from __future__ import annotations

import importlib

# import name -> the command that installs it (d2l pins ancient numpy/matplotlib: --no-deps)
PACKAGES = {
    "torch": "pip install torch==2.14.1 torchvision==0.29.1",
    "torchvision": "pip install torch==2.14.1 torchvision==0.29.1",
    "numpy": "pip install 'numpy>=2.0'",
    "matplotlib": "pip install 'matplotlib>=3.8'",
    "PIL": "pip install 'pillow>=10.0'",
    "scipy": "pip install 'scipy>=1.11'",
    "tqdm": "pip install 'tqdm>=4.66'",
    "requests": "pip install 'requests>=2.31'",
    "ipywidgets": "pip install 'ipywidgets>=8.1'",
    "torchmetrics": "pip install 'torchmetrics>=1.4'",
    "pandas": "pip install 'pandas>=2.1'",  # d2l.torch imports it
    "nbformat": "pip install 'nbformat>=5.10'",  # course_utils.classroom reads notebooks
    "d2l": "pip install --no-deps d2l==1.0.3",
    "course_utils": "pip install --no-deps -e .   (in the course folder)",
}


def missing_packages() -> dict[str, str]:
    """The packages of :data:`PACKAGES` that do not import here, with their install commands
    (importing, not just finding, so a broken install counts as missing too)."""
    missing = {}
    for name, command in PACKAGES.items():
        try:
            importlib.import_module(name)
        except ImportError:
            missing[name] = command
    return missing


def check() -> None:
    """Print one line per package; raise ``ModuleNotFoundError`` naming every missing one and
    the command that installs it."""
    missing = missing_packages()
    for name in PACKAGES:
        print(f"{name:<13} " + (f"MISSING: install with  {missing[name]}" if name in missing
                                else "imports"))
    if missing:
        raise ModuleNotFoundError("install the missing packages first (or run `make install`): "
                                  + "; ".join(missing.values()), name=next(iter(missing)))
