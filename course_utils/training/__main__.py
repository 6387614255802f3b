"""``python -m course_utils.training``: see :mod:`course_utils.training.cli`."""

import sys

from .cli import main

sys.exit(main())
