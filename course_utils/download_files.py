"""Files for the VOC download: checking size and SHA-1, the partial download, disk space.

Shared by :mod:`course_utils.download_fetch` (which writes the ``.part`` file) and
:mod:`course_utils.download` (which decides what to do with a file already there).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """Real VOC could not be fetched, verified or unpacked; the message says why and what to do."""


def length(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def file_sha1(path: Path) -> str:
    """SHA-1 hex digest of a file, read in chunks (the VOC tar is 2 GB)."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, sha1: str, size: int | None) -> str | None:
    """``None`` if ``path`` has the expected size and SHA-1, else what is wrong with it."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"{actual} bytes, expected {size}"
    digest = file_sha1(path)
    if digest != sha1.lower():
        return f"SHA-1 {digest}, expected {sha1}"
    return None


def use_complete_part(part: Path, tar: Path, sha1: str, size: int | None) -> bool:
    """A ``.part`` already as long as the file: rename it if it verifies, else delete it."""
    if size is None or length(part) < size:
        return False
    if check_file(part, sha1, size) is None:
        os.replace(part, tar)
        return True
    part.unlink()  # full length but wrong bytes: useless for resuming
    return False


def mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{folder}: cannot create the folder ({exc})") from None


def check_space(folder: Path, needed: int, what: str) -> None:
    """Fail before starting, rather than half-way, when the disk is too full."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DownloadError(f"{folder}: {what} needs {needed / 1e9:.2f} GB free, only "
                            f"{free / 1e9:.2f} GB available")
