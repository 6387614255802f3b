"""``python -m course_utils.classroom COMMAND``: the commands that prepare the course for class.

    python -m course_utils.classroom nav [--check]        # navigation lines and course table
    python -m course_utils.classroom student [--out DIR]  # student copies (make student)
    python -m course_utils.classroom publish site|slides  # static site or slides
"""

import sys

from . import nav, publish, student

COMMANDS = {"nav": nav.main, "student": student.main, "publish": publish.main}


def main(argv=None) -> int:
    """Run ``COMMAND`` with the rest of ``argv``; list the commands if it is missing or unknown."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
