"""Classroom delivery: navigation, Colab, student copies, site and slides, exercise checks.

Each has a command line: ``python -m course_utils.classroom.nav`` (navigation lines and the course
table), ``.student`` (copies without solutions), ``.publish site|slides``; :mod:`.checks` holds
one module of exercise self-checks per notebook
(``from course_utils.classroom.checks import nb08``).
"""

from . import checks, colab
from .nav import notebook_paths, refresh, rewrite_block, title_and_summary
from .publish import build
from .student import make_student_copies

__all__ = [
    "notebook_paths", "refresh", "rewrite_block", "title_and_summary", "make_student_copies",
    "build", "checks", "colab",
]
