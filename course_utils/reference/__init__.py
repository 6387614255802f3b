"""Reference models: trained by one command, shipped with the course, verified by ``make test``.

A minute of CPU training cannot give a model worth analysing, so the notebooks analyse models
trained from the recorded recipes by ``python -m course_utils.reference`` (:mod:`.runs`);
:mod:`.manifest` loads them (checking their SHA-256) and re-evaluates them (``--verify``).
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
