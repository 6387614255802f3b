"""``python -m course_utils.data.synth``: see :mod:`course_utils.data.synth.mini_set`."""

from .mini_set import main

if __name__ == "__main__":
    raise SystemExit(main())
