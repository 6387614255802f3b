"""The generator of the bundled VOC-format mini set (``python -m course_utils.data.synth``):
:mod:`.shapes` draws the classes, :mod:`.scene` one image and its masks, :mod:`.mini_set` the set.
"""

from .mini_set import N_TRAIN, N_VAL, check, generate, stats, stats_markdown
from .scene import SEED, make_example

__all__ = ["check", "generate", "N_TRAIN", "N_VAL", "stats", "stats_markdown", "make_example",
           "SEED"]
