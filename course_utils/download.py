"""Fetch and unpack real PASCAL VOC 2012 (the 2 GB trainval tar) into ``data/``.

    python -m course_utils.download [--dest DIR] [--no-progress] [--url URL ...]

or :func:`download_voc` from Python. What it guarantees:

* **Idempotent.** A valid ``<dest>/VOCdevkit/VOC2012`` is returned at once, without network;
  a verified tar already in ``<dest>`` is unpacked without downloading.
* **Mirrors, fast failure.** The official host, then d2l's copy, each with a short connect
  timeout and a read timeout, so an offline machine fails within seconds and a stalled
  transfer never hangs.
* **Resumable, verified.** Bytes go to ``<name>.part``; a later attempt resumes it with an HTTP
  Range request (a server that ignores Range restarts it cleanly). The file gets its final name
  only once its SHA-1 matches; a mismatch deletes the part and moves on to the next mirror.
* **Safe extraction.** tarfile's ``data`` filter (no links escaping the target, no device
  files), plus a refusal of absolute and ``..`` member names (which that filter would rewrite
  silently). Unpacking happens in a temporary folder inside ``<dest>`` that is renamed into
  place in one step, so an interrupted run never leaves a half ``VOCdevkit`` that looks
  complete. An existing ``VOCdevkit/VOC2012`` is never overwritten.

Every failure raises :class:`DownloadError`, naming the file or URL and the problem; when no
mirror works, its message lists why each failed and how to place VOC by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import voc
from .download_extract import existing, extract
from .download_fetch import try_mirrors
from .download_files import DownloadError, check_file, check_space, length, mkdir, use_complete_part

__all__ = ["DownloadError", "download_tar", "download_voc", "extract", "main"]

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
PART_SUFFIX = ".part"


# --------------------------------------------------------------------------- public API
def download_voc(dest: str | os.PathLike | None = None, urls: Sequence[str] | None = None, *,
                 filename: str = FILENAME, expected_sha1: str = SHA1, size: int | None = SIZE,
                 progress: bool = True, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, retries: int = RETRIES) -> Path:
    """Make sure ``<dest>/VOCdevkit/VOC2012`` holds VOC 2012 and return that folder.

    ``dest`` defaults to ``voc.DATA_DIR`` and ``urls`` to :data:`MIRRORS`, tried in order.
    ``filename``, ``expected_sha1`` and ``size`` (``None``: unknown) describe the tar; tests
    pass a small one. ``progress=False`` silences the progress bar.
    """
    dest = Path(dest if dest is not None else voc.DATA_DIR).expanduser()
    final = dest / "VOCdevkit" / "VOC2012"
    if final.exists():
        return existing(final)
    urls = [urls] if isinstance(urls, str) else list(MIRRORS if urls is None else urls)
    tar = download_tar(dest, urls, filename=filename, expected_sha1=expected_sha1, size=size,
                       progress=progress, connect_timeout=connect_timeout,
                       read_timeout=read_timeout, retries=retries)
    return extract(tar, dest)


def download_tar(dest: str | os.PathLike, urls: Sequence[str] = MIRRORS, *,
                 filename: str = FILENAME, expected_sha1: str = SHA1, size: int | None = SIZE,
                 progress: bool = True,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
                 retries: int = RETRIES) -> Path:
    """``<dest>/<filename>`` with the expected SHA-1, downloaded from the first mirror that works.

    A verified file already there is returned without network; one that fails the check is
    left untouched and reported, since the learner may have put it there by hand.
    """
    dest = Path(dest)
    mkdir(dest)
    tar = dest / filename
    if tar.exists():
        problem = check_file(tar, expected_sha1, size)
        if problem:
            raise DownloadError(f"{tar}: already exists but has {problem}. It was left as is; "
                                "delete it or move it away and run again.")
        return tar
    part = tar.with_name(tar.name + PART_SUFFIX)
    if use_complete_part(part, tar, expected_sha1, size):
        return tar
    if size is not None:  # the rest of the download, then about as much again to unpack
        check_space(dest, 2 * size - length(part), f"downloading and unpacking {filename}")
    failures = try_mirrors(urls, part, tar, expected_sha1, size, progress,
                            (connect_timeout, read_timeout, retries))
    if tar.exists():
        return tar
    raise DownloadError(_how_to(dest, filename, expected_sha1, failures, part))


def _how_to(dest: Path, filename: str, sha1: str, failures: list[str], part: Path) -> str:
    """The message when no mirror worked: why each failed, and how to place VOC by hand."""
    tried = "\n".join(f"  - {f}" for f in failures) or "  (no mirror given)"
    kept = (f"\nThe partial download {part} ({length(part)} bytes) was kept; running again "
            "resumes it." if part.exists() else "")
    return (
        f"could not download {filename} into {dest}. Mirrors tried:\n{tried}{kept}\n"
        "To place VOC 2012 by hand, either\n"
        f"  * download {filename} on a machine with internet (from a URL above; SHA-1 {sha1}),"
        f" copy it to {dest / filename} and run `python -m course_utils.download --dest "
        f"{dest}` again: it checks and unpacks the file without network; or\n"
        f"  * use a VOCdevkit you already have: set {voc.ENV_VAR}=/path/to/VOCdevkit/VOC2012 "
        "or pass that path to course_utils.voc.find_voc_root(path).")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.download``: 0 when VOC 2012 is in place, 1 on failure."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.download",
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


if __name__ == "__main__":
    sys.exit(main())
