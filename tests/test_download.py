"""Tests for course_utils.download, all offline: a tiny VOC-layout tar built here is served by
a loopback HTTP server (with Range support and scripted faults) running in a thread."""

from __future__ import annotations

import hashlib
import io
import re
import runpy
import shutil
import socket
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import download, download_extract, voc
from course_utils.download import DownloadError

NAME = "voc-tiny.tar"
IDS = ("2007_000001", "2007_000002")


# --------------------------------------------------------------------------- the tiny tar
def make_voc_tree(root: Path) -> Path:
    """A two-image VOC 2012 folder at ``root/VOCdevkit/VOC2012``; returns that folder."""
    base = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (base / sub).mkdir(parents=True)
    for k, image_id in enumerate(IDS):
        Image.fromarray(np.full((8, 10, 3), 40 * k, np.uint8)).save(
            base / "JPEGImages" / f"{image_id}.jpg")
        mask = np.zeros((8, 10), np.uint8)
        mask[2:6, 3:7], mask[1, :] = k + 1, voc.VOID
        voc.save_mask(mask, base / "SegmentationClass" / f"{image_id}.png")
    for split, ids in (("train", IDS[:1]), ("val", IDS[1:]), ("trainval", IDS)):
        (base / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return base


def tar_bytes(tree: Path, extra=()) -> bytes:
    """Tar of ``tree/VOCdevkit`` followed by ``extra`` (TarInfo, data-or-None) members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(tree / "VOCdevkit", arcname="VOCdevkit")
        for info, data in extra:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    """The bytes of a valid tiny VOC tar."""
    root = tmp_path_factory.mktemp("voc-src")
    make_voc_tree(root)
    return tar_bytes(root)


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --------------------------------------------------------------------------- loopback server
@dataclass
class Route:
    data: bytes
    ignore_range: bool = False
    cut: int | None = None  # close the connection once byte ``cut`` of the file is sent
    cuts_left: int = 10**9  # how many responses are cut
    sent: list = field(default_factory=list)  # bytes of body sent per response


class Server:
    """A loopback HTTP file server recording every request as (path, Range header)."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, path: str, data: bytes, **kw) -> str:
        self.routes[path] = Route(data, **kw)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for long

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        owner = self.server.owner
        rng = self.headers.get("Range")
        owner.requests.append((self.path, rng))
        route = owner.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        data, start = route.data, 0
        if rng and not route.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        stop = len(data)
        if route.cut is not None and route.cuts_left > 0:
            route.cuts_left -= 1
            stop = max(route.cut, start)
        self.wfile.write(data[start:stop])
        route.sent.append(stop - start)
        self.close_connection = True


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.stop()


def fetch(dest, urls, data, **kw):
    """download_voc for the tiny tar, quiet and with short timeouts."""
    kw = {"filename": NAME, "expected_sha1": sha1(data), "size": len(data), "progress": False,
          "connect_timeout": 2, "read_timeout": 2, **kw}
    return download.download_voc(dest, urls, **kw)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{NAME}"


def leftovers(dest: Path) -> list[str]:
    """Names in ``dest`` other than the verified tar: partial files, temporary folders."""
    return sorted(p.name for p in dest.iterdir() if p.name != NAME)


# --------------------------------------------------------------------------- downloading
def test_happy_path_extracts_a_readable_voc(tmp_path, server, good):
    url = server.add("/a.tar", good)
    dest = tmp_path / "data"
    root = fetch(dest, [url], good, progress=True)
    assert root == dest / "VOCdevkit" / "VOC2012"
    assert voc.find_voc_root(root) == root
    assert voc.read_split(root, "trainval") == list(IDS)
    image, mask = voc.read_example(root, IDS[1])
    assert image.shape == (3, 8, 10) and int(mask[3, 4]) == 2 and int(mask[1, 0]) == voc.VOID
    assert (dest / NAME).read_bytes() == good
    assert leftovers(dest) == ["VOCdevkit"]  # no .part, no temporary folder


def test_second_call_needs_no_network_and_a_kept_tar_is_reused(tmp_path, server, good):
    url = server.add("/a.tar", good)
    dest = tmp_path / "data"
    root = fetch(dest, [url], good)
    assert len(server.requests) == 1
    assert fetch(dest, [url], good) == root
    assert len(server.requests) == 1
    # VOCdevkit gone but the verified tar kept: unpacked again, still without a request
    shutil.rmtree(dest / "VOCdevkit")
    assert fetch(dest, [url], good) == root and voc.find_voc_root(root) == root
    assert len(server.requests) == 1


def test_default_dest_is_voc_data_dir(tmp_path, monkeypatch, server, good):
    monkeypatch.setattr(voc, "DATA_DIR", tmp_path / "default")
    root = fetch(None, [server.add("/a.tar", good)], good)
    assert root == tmp_path / "default" / "VOCdevkit" / "VOC2012"


def test_bad_checksum_falls_back_to_the_next_mirror(tmp_path, server, good):
    bad = server.add("/bad.tar", bytes(len(good)))  # right size, wrong bytes
    ok = server.add("/ok.tar", good)
    dest = tmp_path / "data"
    root = fetch(dest, [bad, ok], good)
    assert [p for p, _ in server.requests] == ["/bad.tar", "/ok.tar"]
    assert server.requests[1][1] is None  # the bad bytes were deleted, not resumed
    assert voc.find_voc_root(root) == root and (dest / NAME).read_bytes() == good


def test_all_mirrors_bad_leaves_no_tar_and_nothing_extracted(tmp_path, server, good):
    urls = [server.add("/bad.tar", bytes(len(good))),
            server.add("/short.tar", good[:-512]),  # wrong size: refused before writing
            server.url("/missing.tar")]
    dest = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        fetch(dest, urls, good)
    msg = str(err.value)
    for url in urls:
        assert url in msg
    assert "SHA-1" in msg and "offers" in msg and "HTTP 404" in msg
    assert list(dest.iterdir()) == []


def test_interrupted_transfer_keeps_part_and_next_call_resumes(tmp_path, server, good):
    cut = 5000
    flaky = server.add("/flaky.tar", good, cut=cut)
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="resumes it"):
        fetch(dest, [flaky], good, retries=0)
    part = dest / (NAME + ".part")
    assert part.read_bytes() == good[:cut]
    assert not (dest / NAME).exists() and not (dest / "VOCdevkit").exists()

    ok = server.add("/ok.tar", good)
    root = fetch(dest, [ok], good)
    assert server.requests[-1] == ("/ok.tar", f"bytes={cut}-")
    assert server.routes["/ok.tar"].sent == [len(good) - cut]  # only the missing bytes
    assert (dest / NAME).read_bytes() == good and not part.exists()
    assert voc.find_voc_root(root) == root


def test_one_call_resumes_a_mirror_that_keeps_delivering(tmp_path, server, good):
    url = server.add("/flaky.tar", good, cut=3000, cuts_left=1)
    fetch(tmp_path, [url], good)
    assert server.requests == [("/flaky.tar", None), ("/flaky.tar", "bytes=3000-")]


def test_mirror_cut_again_and_again_gives_up(tmp_path, server, good):
    url = server.add("/flaky.tar", good, cut=3000)  # every response stops at byte 3000
    with pytest.raises(DownloadError, match="closed after 3000"):
        fetch(tmp_path, [url], good)
    assert len(server.requests) == 2  # the resume brought nothing new: no more tries


def test_server_ignoring_range_restarts_cleanly(tmp_path, server, good):
    part = tmp_path / (NAME + ".part")
    part.write_bytes(b"x" * 4000)  # stale bytes that must not survive
    url = server.add("/norange.tar", good, ignore_range=True)
    root = fetch(tmp_path, [url], good)
    assert server.requests == [("/norange.tar", "bytes=4000-")]
    assert (tmp_path / NAME).read_bytes() == good and not part.exists()
    assert voc.find_voc_root(root) == root


def test_resumed_part_failing_checksum_is_deleted_then_next_mirror(tmp_path, server, good):
    part = tmp_path / (NAME + ".part")
    part.write_bytes(b"x" * 4000)
    url = server.add("/a.tar", good)
    fetch(tmp_path, [url, url], good)
    assert server.requests == [("/a.tar", "bytes=4000-"), ("/a.tar", None)]
    assert (tmp_path / NAME).read_bytes() == good


def test_complete_part_is_verified_without_network(tmp_path, good):
    (tmp_path / (NAME + ".part")).write_bytes(good)
    root = fetch(tmp_path, [], good)
    assert voc.find_voc_root(root) == root and leftovers(tmp_path) == ["VOCdevkit"]


def test_range_refused_restarts(tmp_path, server, good):
    (tmp_path / (NAME + ".part")).write_bytes(b"x" * (len(good) + 10))  # longer than the file
    fetch(tmp_path, [server.add("/a.tar", good)], good, size=None)
    assert server.requests == [("/a.tar", f"bytes={len(good) + 10}-"), ("/a.tar", None)]
    assert (tmp_path / NAME).read_bytes() == good


# --------------------------------------------------------------------------- offline
def test_unreachable_mirror_fails_fast_with_how_to(tmp_path, good):
    urls = [closed_port_url(), closed_port_url()]
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        fetch(tmp_path, urls, good, connect_timeout=10, read_timeout=60)
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert all(u in msg for u in urls) and "refused" in msg
    assert str(tmp_path / NAME) in msg and "by hand" in msg
    assert "VOC_ROOT" in msg and "find_voc_root" in msg
    assert list(tmp_path.iterdir()) == []


def test_stalled_server_times_out(tmp_path, good):
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/{NAME}"
        guard = threading.Timer(8, s.close)  # resets the connection if the client hangs
        guard.start()
        start = time.monotonic()
        try:
            with pytest.raises(DownloadError, match="timed out"):
                fetch(tmp_path, [url], good, read_timeout=0.5)
        finally:
            guard.cancel()
        assert time.monotonic() - start < 5


def test_not_enough_disk_space_fails_before_downloading(tmp_path, server, good, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: type("U", (), {"free": 10})())
    with pytest.raises(DownloadError, match="GB free"):
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert server.requests == []


# --------------------------------------------------------------------------- what exists already
def test_existing_voc_is_returned_untouched_without_network(tmp_path, server, good):
    root = make_voc_tree(tmp_path)
    marker = root / "JPEGImages" / "mine.txt"
    marker.write_text("keep me")
    assert fetch(tmp_path, [server.add("/a.tar", good)], good) == root
    assert server.requests == [] and marker.read_text() == "keep me"


def test_incomplete_existing_voc_is_never_overwritten(tmp_path, server, good):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "JPEGImages" / "mine.jpg").write_bytes(b"mine")
    with pytest.raises(DownloadError, match="left untouched"):
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert server.requests == [] and (root / "JPEGImages" / "mine.jpg").read_bytes() == b"mine"
    assert sorted(p.name for p in root.iterdir()) == ["JPEGImages"]


def test_other_years_in_vocdevkit_are_kept(tmp_path, server, good):
    other = tmp_path / "VOCdevkit" / "VOC2007" / "notes.txt"
    other.parent.mkdir(parents=True)
    other.write_text("2007")
    root = fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert voc.find_voc_root(root) == root and other.read_text() == "2007"


def test_wrong_tar_already_present_is_reported_and_kept(tmp_path, server, good):
    (tmp_path / NAME).write_bytes(b"not the tar")
    with pytest.raises(DownloadError, match=r"already exists .* left as is"):
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert (tmp_path / NAME).read_bytes() == b"not the tar" and server.requests == []


def test_interrupted_extraction_leaves_no_half_vocdevkit(tmp_path, good, monkeypatch):
    (tmp_path / NAME).write_bytes(good)
    seen = []

    def stop_midway(member, path):  # Ctrl-C after a few members were written
        seen.append(member.name)
        if len(seen) == 6:
            raise KeyboardInterrupt
        return tarfile.data_filter(member, path)

    monkeypatch.setattr(download_extract, "safe_filter", stop_midway)
    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, [], good)
    assert leftovers(tmp_path) == []  # neither VOCdevkit nor the temporary folder
    monkeypatch.undo()
    root = fetch(tmp_path, [], good)
    assert voc.find_voc_root(root) == root


# --------------------------------------------------------------------------- unsafe tars
def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info


MALICIOUS = {
    "absolute": lambda out: [(_member(str(out / "evil.txt")), b"evil")],
    "dotdot": lambda out: [(_member("VOCdevkit/../../outside/evil.txt"), b"evil")],
    "symlink": lambda out: [(_member("VOCdevkit/VOC2012/esc", tarfile.SYMTYPE, str(out)), None),
                            (_member("VOCdevkit/VOC2012/esc/evil.txt"), b"evil")],
    "relative symlink": lambda out: [
        (_member("VOCdevkit/VOC2012/esc", tarfile.SYMTYPE, "../../../outside"), None),
        (_member("VOCdevkit/VOC2012/esc/evil.txt"), b"evil")],
    "hardlink": lambda out: [(_member("VOCdevkit/hard", tarfile.LNKTYPE, "../../x"), None)],
    "device": lambda out: [(_member("VOCdevkit/VOC2012/null", tarfile.CHRTYPE), None)],
}


@pytest.mark.parametrize("kind", list(MALICIOUS))
def test_malicious_tar_is_refused_and_writes_nothing_outside(tmp_path, kind):
    """The unsafe member comes after a valid VOC tree, so unpacking has started when it is met."""
    outside = tmp_path / "outside"
    dest = tmp_path / "data"
    dest.mkdir()
    make_voc_tree(tmp_path / "src")
    data = tar_bytes(tmp_path / "src", MALICIOUS[kind](outside))
    (dest / NAME).write_bytes(data)
    with pytest.raises(DownloadError, match="unsafe member"):
        fetch(dest, [], data)
    assert not outside.exists()
    assert leftovers(dest) == []  # no VOCdevkit, no temporary folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "src"]


def test_tar_without_voc_layout_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(_member("README", tarfile.REGTYPE), io.BytesIO(b""))
    (tmp_path / NAME).write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="does not hold VOCdevkit/VOC2012"):
        fetch(tmp_path, [], buf.getvalue())
    assert leftovers(tmp_path) == []


def test_corrupt_tar_is_a_clear_error(tmp_path):
    data = b"\x00garbage" * 100
    (tmp_path / NAME).write_bytes(data)
    with pytest.raises(DownloadError, match="cannot unpack"):
        fetch(tmp_path, [], data)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- command line
def test_cli_success_and_failure(tmp_path, capsys):
    make_voc_tree(tmp_path / "have")
    assert download.main(["--dest", str(tmp_path / "have"), "--no-progress"]) == 0
    assert "ready" in capsys.readouterr().out
    assert download.main(["--dest", str(tmp_path / "none"), "--url", closed_port_url(),
                          "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "by hand" in err


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_cli_as_module_exits_non_zero_offline(tmp_path, monkeypatch, capsys):
    """``python -m course_utils.download`` runs main() and passes its status to the shell."""
    url = closed_port_url()
    monkeypatch.setattr(sys, "argv", ["download", "--dest", str(tmp_path), "--url", url,
                                      "--no-progress"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("course_utils.download", run_name="__main__")
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert url in err and "by hand" in err


def _header_offsets(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [m.offset for m in archive.getmembers()]


@pytest.mark.parametrize("where", ["inside the last header", "inside a middle header",
                                   "before the end marker"])
def test_tar_cut_inside_a_member_header_is_refused(tmp_path, good, where):
    offsets = _header_offsets(good)
    cut = {"inside the last header": offsets[-1] + 100,
           "inside a middle header": offsets[len(offsets) // 2] + 300,
           "before the end marker": len(good.rstrip(b"\0"))}[where]
    cut = max(cut, 512 * ((cut + 511) // 512)) if where == "before the end marker" else cut
    (tmp_path / "cut.tar").write_bytes(good[:cut])
    with pytest.raises(DownloadError, match="cut short"):
        download.extract(tmp_path / "cut.tar", tmp_path / "out")
    assert not (tmp_path / "out" / "VOCdevkit").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # no temporary folder left
