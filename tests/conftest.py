"""Every unit test keeps checkpoints and cached predictions in a fresh folder of its own,
never in the repository's ``checkpoints/``, unless ``make test`` chose one for the run."""

from __future__ import annotations

import os

import pytest

from course_utils import runtime


@pytest.fixture(autouse=True)
def _own_checkpoint_dir(tmp_path, monkeypatch):
    if not os.environ.get(runtime.CHECKPOINT_ENV):
        monkeypatch.setenv(runtime.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))

