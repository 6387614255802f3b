"""``python -m course_utils.data.download``: see :mod:`course_utils.data.download.voc2012`."""

from .voc2012 import main

if __name__ == "__main__":
    raise SystemExit(main())
