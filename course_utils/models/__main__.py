"""``python -m course_utils.models``: download torchvision's pretrained segmentation weights.

On a machine with internet, once: afterwards notebook 09 finds them in the torch cache offline.
"""

import argparse
import sys

from .pretrained import SEGMENTATION, WeightsUnavailable, cache_path, fetch_state_dict


def main(argv=None) -> int:
    """Download torchvision's pretrained segmentation weights into the torch cache."""
    argparse.ArgumentParser(prog="python -m course_utils.models",
                            description=main.__doc__).parse_args(argv)
    failed = 0
    for name, (_, weights) in SEGMENTATION.items():
        try:
            fetch_state_dict(weights.url, timeout=30.0)
            print(f"{name}: in {cache_path(weights.url)}")
        except WeightsUnavailable as e:
            print(f"{name}: {e}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
