"""``python -m course_utils.data.download``: see :mod:`course_utils.data.download.voc2012`."""

import sys

from .voc2012 import main

sys.exit(main())
