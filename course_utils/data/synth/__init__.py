"""The generator of the bundled VOC-format mini set (``python -m course_utils.data.synth``).

:mod:`.shapes` draws class silhouettes and textures, :mod:`.scene` lays out and renders one
image with its class and object masks, :mod:`.mini_set` writes the folder, checks it against
a regeneration and computes the statistics ``data/README.md`` shows.
"""

from .mini_set import N_TRAIN, N_VAL, check, generate, stats, stats_markdown
from .scene import SEED, make_example

__all__ = ["check", "generate", "N_TRAIN", "N_VAL", "stats", "stats_markdown", "make_example",
           "SEED"]
