"""Classroom delivery: navigation, Colab, student copies, site and slides, exercise checks.

Command lines: ``python -m course_utils.classroom nav|student|publish`` (see ``__main__``);
:mod:`.checks` holds one module of self-checks per notebook (``checks.nb08``).
"""

from . import checks, colab
from .nav import notebook_paths, refresh, rewrite_block, title_and_summary
from .publish import build
from .student import make_student_copies

__all__ = [
    "notebook_paths", "refresh", "rewrite_block", "title_and_summary", "make_student_copies",
    "build", "checks", "colab",
]
