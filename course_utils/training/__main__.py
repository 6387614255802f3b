"""``python -m course_utils.training``: see :mod:`course_utils.training.cli`."""

from .cli import main

raise SystemExit(main())
