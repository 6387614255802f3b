"""Classroom delivery: navigation, Colab, student copies, site and slides, exercise checks
(one module per notebook: ``checks.nb08``); ``python -m course_utils.classroom`` lists commands."""

from . import checks, colab, nav, publish, student
from .nav import rewrite_block

__all__ = ["checks", "colab", "nav", "publish", "student", "rewrite_block"]
