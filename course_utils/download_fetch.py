"""Fetching the VOC tar over HTTP: mirrors in turn, timeouts, resuming with Range requests.

Each mirror gets a short connect timeout and a read timeout, so an offline machine fails within
seconds and a stalled transfer never hangs. Bytes go to a ``.part`` file that a later attempt
resumes; a server that ignores Range restarts it cleanly.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .download_files import CHUNK, check_file, length


class MirrorFailed(Exception):
    """One attempt on one mirror failed; ``retry`` is True when trying it again may help."""

    def __init__(self, reason: str, retry: bool = False):
        super().__init__(reason)
        self.retry = retry


def try_mirrors(urls, part, tar, sha1, size, progress, limits) -> list[str]:
    """Try each mirror in turn until ``tar`` exists; return why each one tried failed."""
    connect_timeout, read_timeout, retries = limits
    opener = _opener(read_timeout)
    failures = []
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=tar.name,
              disable=not progress) as bar:
        for url in urls:
            try:
                _fetch(opener, url, part, size, bar, connect_timeout, retries)
            except MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
                continue
            problem = check_file(part, sha1, size)
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
        except MirrorFailed as exc:
            if not exc.retry or attempt == retries:
                raise


def _attempt(opener, url, part, size, bar, timeout) -> None:
    """One GET of ``url`` into ``part``, asking only for the bytes ``part`` lacks."""
    offset = length(part)
    headers = {"User-Agent": "course_utils.download"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return _range_refused(exc, part, offset)
        raise MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise MirrorFailed(reason(exc)) from None
    with resp:
        start, total = _start_and_total(resp, offset)
        if size is not None and total is not None and total != size:
            raise MirrorFailed(f"the server offers {total} bytes, expected {size}")
        _stream(resp, part, start, total, bar)


def _range_refused(exc: urllib.error.HTTPError, part: Path, offset: int) -> None:
    """HTTP 416 to a resume: fine if ``part`` already has the whole file, else start over."""
    m = re.fullmatch(r"bytes \*/(\d+)", (exc.headers.get("Content-Range") or "").strip())
    if m and int(m[1]) == offset:
        return
    part.unlink()
    raise MirrorFailed("the server refused to resume the partial file; it was deleted",
                        retry=True)


def _start_and_total(resp, offset: int) -> tuple[int, int | None]:
    """Where the response body starts in the file, and the file's full length if known.

    A 200 answer to a Range request means the server ignored it: start again from byte 0.
    """
    if resp.status == 206:
        content_range = (resp.headers.get("Content-Range") or "").strip()
        m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", content_range)
        if not m or int(m[1]) > offset:
            raise MirrorFailed(f"bad Content-Range {content_range!r} for a request from "
                                f"byte {offset}")
        return int(m[1]), None if m[2] == "*" else int(m[2])
    if resp.status != 200:
        raise MirrorFailed(f"unexpected HTTP status {resp.status}")
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
            raise MirrorFailed(f"transfer broke after byte {start + received} "
                                f"({reason(exc)})", retry=received > 0) from None
    if total is not None and start + received < total:
        raise MirrorFailed(f"connection closed after {start + received} of {total} bytes",
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


def reason(exc: BaseException) -> str:
    """A short human reason for a network error (the cause inside a URLError)."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
