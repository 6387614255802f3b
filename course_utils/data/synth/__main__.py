"""``python -m course_utils.data.synth``: see :mod:`course_utils.data.synth.mini_set`."""

from .mini_set import main

raise SystemExit(main())
