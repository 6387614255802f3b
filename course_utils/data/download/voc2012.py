"""Fetch and unpack real PASCAL VOC 2012 (the 2 GB trainval tar) into the course's ``data/``.

``python -m course_utils.data.download [--dest DIR] [--no-progress] [--url URL ...]`` or
:func:`download_voc`. An existing ``VOCdevkit/VOC2012`` is returned without network and never
overwritten; a verified tar already there is unpacked without downloading; else the mirrors are
tried in turn (:mod:`.fetch`) and the verified tar unpacked safely (:mod:`.extract`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import voc
from .extract import extract
from .fetch import DownloadError, check_file, fetch

FILENAME = "VOCtrainval_11-May-2012.tar"
SIZE = 1_999_639_040
SHA1 = "4e443f8a2eca6b1dac8a6c57641b67dd40621a49"
MIRRORS = (
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
    "http://d2l-data.s3-accelerate.amazonaws.com/VOCtrainval_11-May-2012.tar",
)
CONNECT_TIMEOUT = 10.0  # seconds to open a connection: offline fails fast
READ_TIMEOUT = 60.0  # seconds without a byte before a stalled transfer is abandoned
RETRIES = 3  # extra resumes of one mirror, made only while it keeps delivering bytes


def download_voc(dest: str | os.PathLike | None = None, urls: Sequence[str] | str | None = None,
                 *, filename: str = FILENAME, expected_sha1: str = SHA1, size: int | None = SIZE,
                 progress: bool = True, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, retries: int = RETRIES) -> Path:
    """Make sure ``<dest>/VOCdevkit/VOC2012`` holds VOC 2012 and return that folder.

    ``dest`` defaults to the course's ``data/``, ``urls`` to :data:`MIRRORS`. A tar in ``dest``
    that fails its SHA-1 check is left as is: the learner may have put it there by hand.
    """
    dest = Path(dest if dest is not None else voc.DATA_DIR).expanduser()
    final = dest / "VOCdevkit" / "VOC2012"
    if final.exists():
        try:
            return voc.find_voc_root(final)
        except voc.VOCDataError as exc:
            raise DownloadError(f"{final} exists but is not a complete VOC 2012 folder ({exc}). "
                                "It was left untouched; move it away or fix it, then run again."
                                ) from None
    tar = dest / filename
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{dest}: cannot create the folder ({exc})") from None
    if tar.exists():
        if problem := check_file(tar, expected_sha1, size):
            raise DownloadError(f"{tar}: already exists but has {problem}. It was left as is; "
                                "delete it or move it away and run again.")
    else:
        part = dest / (filename + ".part")
        urls = MIRRORS if urls is None else urls
        urls = [urls] if isinstance(urls, str) else list(urls)
        failures = fetch(urls, part, tar, expected_sha1, size, (connect_timeout, read_timeout),
                         retries, progress)
        if not tar.exists():
            raise DownloadError(_how_to(dest, filename, expected_sha1, failures, part))
    return extract(tar, dest)


def _how_to(dest: Path, filename: str, sha1: str, failures: list[str], part: Path) -> str:
    """The message when no mirror worked: why each failed, and how to place VOC by hand."""
    tried = "\n".join(f"  - {f}" for f in failures) or "  (no mirror given)"
    kept = (f"\nThe partial download {part} ({part.stat().st_size:,} bytes) was kept; running "
            "again resumes it." if part.exists() else "")
    return (f"could not download {filename} into {dest}. Mirrors tried:\n{tried}{kept}\n"
            "To place VOC 2012 by hand, either\n"
            f"  * download {filename} on a machine with internet (from a URL above; SHA-1 "
            f"{sha1}), copy it to {dest / filename} and run `python -m course_utils.data.download "
            f"--dest {dest}` again: it checks and unpacks the file without network; or\n"
            f"  * use a VOCdevkit you already have: set {voc.ENV_VAR}=/path/to/VOCdevkit/VOC2012 "
            "or pass that path to course_utils.data.find_voc_root(path).")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.data.download``: 0 when VOC 2012 is in place, 1 on failure."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.data.download",
                                     description="Download and unpack PASCAL VOC 2012 trainval.")
    parser.add_argument("--dest", type=Path, default=None,
                        help="folder for the tar and VOCdevkit/ (default: the course's data/)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--url", action="append", default=None,
                        help="a mirror to try instead of the defaults (repeatable)")
    args = parser.parse_args(argv)
    try:
        root = download_voc(args.dest, args.url, progress=not args.no_progress)
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"VOC 2012 is ready in {root}")
    return 0
