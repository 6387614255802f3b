"""Downloading one file with requests: mirrors in turn, timeouts, Range resume, SHA-1 check.

Bytes go to a ``.part`` file that a later attempt resumes; the file gets its final name only once
its size and SHA-1 match. Connect and read timeouts bound every wait: offline fails in seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import requests
from tqdm.auto import tqdm

CHUNK = 1 << 18  # a cut connection loses the chunk being filled; the rest is resumable


class DownloadError(RuntimeError):
    """Real VOC could not be fetched, verified or unpacked; the message says why and what to do."""


def check_file(path: Path, sha1: str, size: int | None) -> str | None:
    """``None`` if ``path`` has the expected size and SHA-1, else what is wrong with it."""
    if size is not None and path.stat().st_size != size:
        return f"{path.stat().st_size:,} bytes, expected {size:,}"
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha1").hexdigest()
    return None if digest == sha1.lower() else f"SHA-1 {digest}, expected {sha1}"


def check_space(folder: Path, needed: int, what: str) -> None:
    """Fail before starting, rather than half-way through 2 GB, when the disk is too full."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DownloadError(f"{folder}: {what} needs {needed / 1e9:.2f} GB free, only "
                            f"{free / 1e9:.2f} GB available")


def fetch(urls, part: Path, tar: Path, sha1: str, size: int | None, timeout: tuple,
          retries: int, progress: bool) -> list[str]:
    """Fill ``part`` from the first mirror that works and rename it ``tar``; why others failed.
    A ``part`` already as long as the file is checked first, without network."""
    if size is not None and _length(part) >= size and _promote(part, tar, sha1, size) is None:
        return []
    if size is not None:  # the rest of the download, then about as much again to unpack
        check_space(part.parent, 2 * size - _length(part), f"downloading and unpacking {tar.name}")
    failures = []
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=tar.name,
              disable=not progress) as bar:
        for url in urls:
            try:
                _get_resuming(url, part, size, timeout, retries, bar)
            except (OSError, DownloadError) as exc:  # requests' errors are OSErrors
                failures.append(f"{url}: {_reason(exc, timeout)}")
                continue
            problem = _promote(part, tar, sha1, size)
            if problem is None:
                return failures
            failures.append(f"{url}: the downloaded file has {problem}; it was deleted")
    if _length(part) == 0:
        part.unlink(missing_ok=True)  # nothing to resume
    return failures


def _promote(part: Path, tar: Path, sha1: str, size: int | None) -> str | None:
    """Rename ``part`` to ``tar`` if it verifies; else delete it (useless for resuming), say why."""
    problem = check_file(part, sha1, size)
    if problem is None:
        os.replace(part, tar)
    else:
        part.unlink()
    return problem


def _get_resuming(url, part: Path, size, timeout, retries: int, bar) -> None:
    """GET ``url`` into ``part``, resuming up to ``retries`` times while bytes keep arriving."""
    for attempt in range(retries + 1):
        before = _length(part)
        try:
            return _get(url, part, size, timeout, bar)
        except OSError:
            if attempt == retries or _length(part) <= before:
                raise


def _get(url, part: Path, size, timeout, bar) -> None:
    """One streamed GET of ``url`` into ``part``, asking only for the bytes ``part`` lacks.
    206 appends to ``part``; 200 (Range ignored) restarts it at byte 0; 416 (``part`` longer
    than the file) deletes it and fetches the file anew."""
    offset = _length(part)
    headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={offset}-"} if offset else {})
    with requests.get(url, stream=True, timeout=timeout, headers=headers) as resp:
        if resp.status_code == 416 and offset:
            part.unlink()
            return _get(url, part, size, timeout, bar)
        if resp.status_code not in (200, 206):
            raise DownloadError(f"HTTP {resp.status_code} {resp.reason}")
        start = offset if resp.status_code == 206 else 0
        content_range = resp.headers.get("Content-Range", "")
        if start and not content_range.startswith(f"bytes {start}-"):
            raise DownloadError(f"bad Content-Range {content_range!r} for bytes {start}-")
        length = resp.headers.get("Content-Length", "")
        if size is not None and length.isdigit() and start + int(length) != size:
            raise DownloadError(f"the server offers {start + int(length):,} bytes, "
                                f"expected {size:,}")
        bar.reset(total=size)
        bar.update(start)
        with open(part, "ab" if start else "wb") as f:
            for chunk in resp.iter_content(CHUNK):
                f.write(chunk)
                bar.update(len(chunk))


def _length(path: Path) -> int:
    """Bytes in ``path`` so far; 0 when it does not exist."""
    return path.stat().st_size if path.exists() else 0


def _reason(exc: BaseException, timeout: tuple) -> str:
    """Why a mirror failed, in a few words: which timeout ran out, or the innermost cause
    (requests wraps it in urllib3's long messages; a timeout mid-body is a ConnectionError)."""
    root = exc
    if isinstance(exc, requests.RequestException):
        while root.__cause__ or root.__context__:
            root = root.__cause__ or root.__context__
    if isinstance(root, TimeoutError) and isinstance(exc, requests.ConnectTimeout):
        return f"timed out: no connection within {timeout[0]} s"
    if isinstance(root, TimeoutError):
        return f"timed out: no data for {timeout[1]} s"
    return str(root) or type(root).__name__
