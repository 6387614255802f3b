"""``python -m course_utils.data.synth``: see :mod:`course_utils.data.synth.mini_set`."""

import sys

from .mini_set import main

sys.exit(main())
