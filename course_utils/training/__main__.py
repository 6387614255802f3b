"""``python -m course_utils.training``: see :mod:`course_utils.training.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
