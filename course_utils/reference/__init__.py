"""Reference models: trained by one command, shipped with the course, verified by ``make test``.

A minute of CPU training shows training happen but cannot give a model worth analysing, and its
numbers change with the CPU. So the notebooks analyse models that ship with the course, trained
from the recorded recipes (:data:`course_utils.training.recipes.RUNS`) by
``python -m course_utils.reference`` (:mod:`.runs`). :mod:`.manifest` loads a shipped model after
checking its SHA-256 and re-evaluates it against ``reference/manifest.json`` (``--verify``).
"""

from .manifest import (
    COMMAND,
    VERIFY_TOLERANCE,
    ReferenceModelError,
    compare_scores,
    init_encoder,
    load,
    manifest_file,
    read_manifest,
    verify,
)
from .runs import train_all

__all__ = [
    "COMMAND", "compare_scores", "init_encoder", "load", "manifest_file", "read_manifest",
    "ReferenceModelError", "verify", "VERIFY_TOLERANCE", "train_all",
]
