"""Reference models: trained by one command, shipped with the course, verified by ``make test``.

A minute of CPU training cannot give a model worth analysing: the notebooks analyse the models
:mod:`.runs` trains from the recorded recipes, which :mod:`.manifest` loads and verifies.
"""

from . import compare, published
from .encoder import encoder_weights, init_encoder, start_from_pretrained
from .manifest import (
    COMMAND,
    VERIFY_TOLERANCE,
    ReferenceModelError,
    compare_scores,
    load,
    load_counts,
    manifest_file,
    read_manifest,
    verify,
)
from .runs import train_all

__all__ = [
    "COMMAND", "compare_scores", "init_encoder", "load", "manifest_file", "read_manifest",
    "ReferenceModelError", "verify", "VERIFY_TOLERANCE", "train_all", "encoder_weights",
    "start_from_pretrained", "compare", "load_counts", "published",
]
