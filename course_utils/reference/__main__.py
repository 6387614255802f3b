"""``python -m course_utils.reference``: train, list or verify the reference models.

    python -m course_utils.reference            # train the runs not yet in the manifest
    python -m course_utils.reference --only fcn8s-seed0   # train (again) these runs
    python -m course_utils.reference --verify   # re-evaluate the shipped files (make test)
    python -m course_utils.reference --rescore deeplab-os16-seed0   # its other strides again
    python -m course_utils.reference --list
    python -m course_utils.reference --calibrate   # the calibration runs not yet recorded
"""

import argparse
import json
import sys

from course_utils.runtime import relpath
from course_utils.training.recipes import CALIBRATION, RUNS

from .manifest import (
    COMMAND,
    VERIFY_TOLERANCE,
    ReferenceModelError,
    calibration_file,
    manifest_file,
    verify,
)
from .runs import rescore, train_all


def main(argv=None) -> int:
    """Command line: train (default), ``--verify`` or ``--list``."""
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="train (or verify) these runs, even if already recorded")
    p.add_argument("--verify", action="store_true",
                   help="re-evaluate the shipped models and check the manifest's scores")
    p.add_argument("--list", action="store_true", help="list the runs and their configs")
    p.add_argument("--rescore", nargs="+", metavar="NAME",
                   help="score these recorded runs again at their other output strides, from "
                        "their checkpoints (after a change to at_output_stride)")
    p.add_argument("--calibrate", action="store_true",
                   help="train the calibration runs (how far the recipe is from converged) "
                        "into their own manifest, calibration.json, instead")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel single-thread processes on a CPU (default: 2 or fewer)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the best available)")
    args = p.parse_args(argv)
    runs, path = (CALIBRATION, calibration_file()) if args.calibrate else (RUNS, manifest_file())
    if args.list:
        for name, cfg in runs.items():
            print(f"{name:<22} {json.dumps(cfg)}")
        return 0
    if args.rescore:
        try:
            for name, entry in rescore(args.rescore).items():
                print(name, {k: round(v["miou"], 4) for k, v in entry.items()
                             if k.startswith("val")}, "(mIoU)")
        except ReferenceModelError as err:
            print("FAILED:", err, file=sys.stderr)
            return 1
        return 0
    if args.verify:
        try:
            problems = verify(args.only)
        except ReferenceModelError as err:
            problems = [str(err)]
        for line in problems:
            print("FAILED:", line, file=sys.stderr)
        if not problems:
            print(f"reference models verified: files match {relpath(manifest_file())}, scores "
                  f"reproduced within {VERIFY_TOLERANCE}")
        return 1 if problems else 0
    try:
        manifest = train_all(args.only, args.workers, args.device, manifest_path=path,
                             runs=runs)
    except KeyboardInterrupt:
        print("interrupted; run the same command to resume", file=sys.stderr)
        return 130
    print(f"wrote {relpath(path)} ({len(manifest['runs'])} runs, "
          f"{manifest['wall_seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
