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
import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from . import voc

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
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """Real VOC could not be fetched, verified or unpacked; the message says why and what to do."""


class _MirrorFailed(Exception):
    """One attempt on one mirror failed; ``retry`` is True when trying it again may help."""

    def __init__(self, reason: str, retry: bool = False):
        super().__init__(reason)
        self.retry = retry


class _UnsafeMember(tarfile.FilterError):
    """A tar member our extraction refuses (absolute or ``..`` name)."""

    def __init__(self, tarinfo: tarfile.TarInfo, why: str):
        self.tarinfo = tarinfo
        super().__init__(f"{tarinfo.name!r} {why}")


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
        return _existing(final)
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
    _mkdir(dest)
    tar = dest / filename
    if tar.exists():
        problem = _check_file(tar, expected_sha1, size)
        if problem:
            raise DownloadError(f"{tar}: already exists but has {problem}. It was left as is; "
                                "delete it or move it away and run again.")
        return tar
    part = tar.with_name(tar.name + PART_SUFFIX)
    if _use_complete_part(part, tar, expected_sha1, size):
        return tar
    if size is not None:  # the rest of the download, then about as much again to unpack
        _check_space(dest, 2 * size - _length(part), f"downloading and unpacking {filename}")
    failures = _try_mirrors(urls, part, tar, expected_sha1, size, progress,
                            (connect_timeout, read_timeout, retries))
    if tar.exists():
        return tar
    raise DownloadError(_how_to(dest, filename, expected_sha1, failures, part))


def extract(tar: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a VOC tar so that ``<dest>/VOCdevkit/VOC2012`` appears complete, or not at all.

    The tar is unpacked into a temporary folder inside ``dest`` and its ``VOC2012`` folder is
    then renamed into place; anything else in ``<dest>/VOCdevkit`` is left alone.
    """
    tar, dest = Path(tar), Path(dest)
    final = dest / "VOCdevkit" / "VOC2012"
    if final.exists():
        return _existing(final)
    _mkdir(dest)
    _check_space(dest, tar.stat().st_size, f"unpacking {tar.name}")
    tmp = Path(tempfile.mkdtemp(prefix=".VOCdevkit-unpacking-", dir=dest))
    try:
        _unpack(tar, tmp)
        src = tmp / "VOCdevkit" / "VOC2012"
        try:
            voc.find_voc_root(src)
        except voc.VOCDataError:
            raise DownloadError(f"{tar}: does not hold VOCdevkit/VOC2012 with JPEGImages/, "
                                "SegmentationClass/ and ImageSets/Segmentation/") from None
        _mkdir(final.parent)
        try:
            os.rename(src, final)  # one step: VOC2012 appears complete or not at all
        except OSError as exc:
            raise DownloadError(f"{final}: cannot move the unpacked folder there ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return voc.find_voc_root(final)


# --------------------------------------------------------------------------- downloading
def _try_mirrors(urls, part, tar, sha1, size, progress, limits) -> list[str]:
    """Try each mirror in turn until ``tar`` exists; return why each one tried failed."""
    connect_timeout, read_timeout, retries = limits
    opener = _opener(read_timeout)
    failures = []
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=tar.name,
              disable=not progress) as bar:
        for url in urls:
            try:
                _fetch(opener, url, part, size, bar, connect_timeout, retries)
            except _MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
                continue
            problem = _check_file(part, sha1, size)
            if problem is None:
                os.replace(part, tar)
                return failures
            part.unlink()
            failures.append(f"{url}: the downloaded file has {problem}; it was deleted")
    return failures


def _fetch(opener, url, part, size, bar, timeout, retries) -> None:
    """Download ``url`` into ``part``, resuming up to ``retries`` times while bytes arrive."""
    for attempt in range(retries + 1):
        try:
            return _attempt(opener, url, part, size, bar, timeout)
        except _MirrorFailed as exc:
            if not exc.retry or attempt == retries:
                raise


def _attempt(opener, url, part, size, bar, timeout) -> None:
    """One GET of ``url`` into ``part``, asking only for the bytes ``part`` lacks."""
    offset = _length(part)
    headers = {"User-Agent": "course_utils.download"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return _range_refused(exc, part, offset)
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _MirrorFailed(_reason(exc)) from None
    with resp:
        start, total = _start_and_total(resp, offset)
        if size is not None and total is not None and total != size:
            raise _MirrorFailed(f"the server offers {total} bytes, expected {size}")
        _stream(resp, part, start, total, bar)


def _range_refused(exc: urllib.error.HTTPError, part: Path, offset: int) -> None:
    """HTTP 416 to a resume: fine if ``part`` already has the whole file, else start over."""
    m = re.fullmatch(r"bytes \*/(\d+)", (exc.headers.get("Content-Range") or "").strip())
    if m and int(m[1]) == offset:
        return
    part.unlink()
    raise _MirrorFailed("the server refused to resume the partial file; it was deleted",
                        retry=True)


def _start_and_total(resp, offset: int) -> tuple[int, int | None]:
    """Where the response body starts in the file, and the file's full length if known.

    A 200 answer to a Range request means the server ignored it: start again from byte 0.
    """
    if resp.status == 206:
        content_range = (resp.headers.get("Content-Range") or "").strip()
        m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", content_range)
        if not m or int(m[1]) > offset:
            raise _MirrorFailed(f"bad Content-Range {content_range!r} for a request from "
                                f"byte {offset}")
        return int(m[1]), None if m[2] == "*" else int(m[2])
    if resp.status != 200:
        raise _MirrorFailed(f"unexpected HTTP status {resp.status}")
    length = resp.headers.get("Content-Length") or ""
    return 0, int(length) if length.isdigit() else None


def _stream(resp, part: Path, start: int, total: int | None, bar) -> None:
    """Write the body into ``part`` from byte ``start`` on; a short body is a failure."""
    received = 0
    bar.n = start
    bar.refresh()
    with open(part, "r+b" if part.exists() else "wb") as f:
        f.seek(start)
        f.truncate()
        try:
            while chunk := resp.read(CHUNK):
                f.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            raise _MirrorFailed(f"transfer broke after byte {start + received} "
                                f"({_reason(exc)})", retry=received > 0) from None
    if total is not None and start + received < total:
        raise _MirrorFailed(f"connection closed after {start + received} of {total} bytes",
                            retry=received > 0)


def _opener(read_timeout: float) -> urllib.request.OpenerDirector:
    """A urllib opener whose sockets switch from the connect timeout to ``read_timeout``."""

    def timed(base):
        class Connection(base):
            def connect(self):
                super().connect()  # under the timeout given to opener.open
                self.sock.settimeout(read_timeout)
        return Connection

    http_conn = timed(http.client.HTTPConnection)
    https_conn = timed(http.client.HTTPSConnection)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_conn, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_conn, req, context=self._context)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


def _reason(exc: BaseException) -> str:
    """A short human reason for a network error (the cause inside a URLError)."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- files
def _length(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _sha1(path: Path) -> str:
    """SHA-1 hex digest of a file, read in chunks (the VOC tar is 2 GB)."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_file(path: Path, sha1: str, size: int | None) -> str | None:
    """``None`` if ``path`` has the expected size and SHA-1, else what is wrong with it."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"{actual} bytes, expected {size}"
    digest = _sha1(path)
    if digest != sha1.lower():
        return f"SHA-1 {digest}, expected {sha1}"
    return None


def _use_complete_part(part: Path, tar: Path, sha1: str, size: int | None) -> bool:
    """A ``.part`` already as long as the file: rename it if it verifies, else delete it."""
    if size is None or _length(part) < size:
        return False
    if _check_file(part, sha1, size) is None:
        os.replace(part, tar)
        return True
    part.unlink()  # full length but wrong bytes: useless for resuming
    return False


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{folder}: cannot create the folder ({exc})") from None


def _check_space(folder: Path, needed: int, what: str) -> None:
    """Fail before starting, rather than half-way, when the disk is too full."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DownloadError(f"{folder}: {what} needs {needed / 1e9:.2f} GB free, only "
                            f"{free / 1e9:.2f} GB available")


def _existing(final: Path) -> Path:
    """An existing ``VOCdevkit/VOC2012``: returned if valid, never touched if not."""
    try:
        return voc.find_voc_root(final)
    except voc.VOCDataError as exc:
        raise DownloadError(f"{final} exists but is not a complete VOC 2012 folder ({exc}). "
                            "It was left untouched; move it away or fix it, then run again."
                            ) from None


def _safe_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter, refusing (not rewriting) absolute and ``..`` names."""
    if member.name.startswith("/"):
        raise _UnsafeMember(member, "has an absolute path")
    if ".." in PurePosixPath(member.name).parts:
        raise _UnsafeMember(member, "contains '..'")
    return tarfile.data_filter(member, dest)


def _unpack(tar: Path, tmp: Path) -> None:
    """Extract every member of ``tar`` into ``tmp`` through :func:`_safe_filter`."""
    try:
        with tarfile.open(tar) as archive:
            archive.errorlevel = 1  # a refused member raises instead of being skipped
            archive.extractall(tmp, filter=_safe_filter)
    except tarfile.FilterError as exc:
        raise DownloadError(f"{tar}: refused to unpack, unsafe member ({exc}); nothing was "
                            "put in place") from None
    except (tarfile.TarError, OSError) as exc:
        raise DownloadError(f"{tar}: cannot unpack ({exc})") from None


def _how_to(dest: Path, filename: str, sha1: str, failures: list[str], part: Path) -> str:
    """The message when no mirror worked: why each failed, and how to place VOC by hand."""
    tried = "\n".join(f"  - {f}" for f in failures) or "  (no mirror given)"
    kept = (f"\nThe partial download {part} ({_length(part)} bytes) was kept; running again "
            "resumes it." if part.exists() else "")
    return (
        f"could not download {filename} into {dest}. Mirrors tried:\n{tried}{kept}\n"
        "To place VOC 2012 by hand, either\n"
        f"  * download {filename} on a machine with internet (from a URL above; SHA-1 {sha1}),"
        f" copy it to {dest / filename} and run `python -m course_utils.download --dest "
        f"{dest}` again: it checks and unpacks the file without network; or\n"
        f"  * use a VOCdevkit you already have: set {voc.ENV_VAR}=/path/to/VOCdevkit/VOC2012 "
        "or pass that path to course_utils.voc.find_voc_root(path).")


# --------------------------------------------------------------------------- command line
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
