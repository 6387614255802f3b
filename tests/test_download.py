"""Behaviour of ``course_utils.data.download``, all offline.

A tiny VOC-layout tar built here is served by a loopback ``http.server`` in a thread, with or
without Range support and with scripted faults (cut, stalled, Ctrl-C mid-transfer); the tests
look only at what a learner sees: the files on disk, the requests made, the messages.
"""

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
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils.data import download, voc
from course_utils.data.download import DownloadError, download_voc
from course_utils.data.download import fetch as fetch_module
from course_utils.data.download import voc2012 as cli

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


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    """The bytes of a valid tiny VOC tar (a few kB)."""
    root = tmp_path_factory.mktemp("voc-src")
    make_voc_tree(root)
    return tar_bytes(root)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> bytes:
    """A valid VOC tar of 3 MiB: big enough to be saved in several pieces while it arrives."""
    root = tmp_path_factory.mktemp("voc-big")
    make_voc_tree(root)
    pad = bytes(range(256)) * (3 * 4096)
    return tar_bytes(root, [(_member("VOCdevkit/VOC2012/padding.bin"), pad)])


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --------------------------------------------------------------------------- loopback server
@dataclass
class Route:
    data: bytes
    ignore_range: bool = False
    cut: int | None = None  # close the connection once byte ``cut`` of the file is sent
    cuts_left: int = 10**9  # how many responses are cut
    stall_at: int | None = None  # after this byte, send nothing more (until the test ends)
    sent: list = field(default_factory=list)  # bytes of body sent per response


class Server:
    """A loopback HTTP file server recording every request as (path, Range header)."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.released = threading.Event()  # set at the end: stalled handlers return
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
        self.released.set()
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
        self.close_connection = True
        stop = len(data)
        if route.cut is not None and route.cuts_left > 0:
            route.cuts_left -= 1
            stop = max(route.cut, start)
        if route.stall_at is not None:
            stop = max(route.stall_at, start)
        try:
            self.wfile.write(data[start:stop])
            self.wfile.flush()
            if route.stall_at is not None:
                owner.released.wait(10)
        except OSError:  # the client went away
            pass
        route.sent.append(stop - start)


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.stop()


def fetch(dest, urls, data, **kw):
    """download_voc for a test tar, quiet and with short timeouts."""
    kw = {"filename": NAME, "expected_sha1": sha1(data), "size": len(data), "progress": False,
          "connect_timeout": 2, "read_timeout": 2, **kw}
    return download_voc(dest, urls, **kw)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{NAME}"


def leftovers(dest: Path) -> list[str]:
    """Names in ``dest`` other than the verified tar: partial files, temporary folders."""
    return sorted(p.name for p in dest.iterdir() if p.name != NAME)


def assert_voc(root: Path) -> None:
    assert voc.find_voc_root(root) == root
    assert voc.read_split(root, "trainval") == list(IDS)


# --------------------------------------------------------------------------- downloading
def test_download_unpacks_a_readable_voc_and_keeps_the_verified_tar(tmp_path, server, good):
    dest = tmp_path / "data"
    root = fetch(dest, [server.add("/a.tar", good)], good, progress=True)
    assert root == dest / "VOCdevkit" / "VOC2012"
    assert_voc(root)
    image, mask = voc.read_example(root, IDS[1])
    assert image.shape == (3, 8, 10) and int(mask[3, 4]) == 2 and int(mask[1, 0]) == voc.VOID
    assert (dest / NAME).read_bytes() == good
    assert leftovers(dest) == ["VOCdevkit"]  # no .part, no temporary folder
    assert server.requests == [("/a.tar", None)]


def test_second_call_is_idempotent_and_needs_no_network(tmp_path, server, good):
    url = server.add("/a.tar", good)
    root = fetch(tmp_path, url, good)  # one mirror may be given as a string
    assert fetch(tmp_path, [url], good) == root
    # VOCdevkit gone but the verified tar kept: unpacked again, still without a request
    shutil.rmtree(tmp_path / "VOCdevkit")
    assert fetch(tmp_path, [url], good) == root
    assert_voc(root)
    assert len(server.requests) == 1


def test_default_dest_is_the_course_data_folder(tmp_path, monkeypatch, server, good):
    monkeypatch.setattr(voc, "DATA_DIR", tmp_path / "default")
    root = fetch(None, [server.add("/a.tar", good)], good)
    assert root == tmp_path / "default" / "VOCdevkit" / "VOC2012"


def saved_part(dest: Path, data: bytes) -> bytes:
    """The partial download in ``dest``: some bytes, and the start of ``data``."""
    saved = (dest / (NAME + ".part")).read_bytes()
    assert 0 < len(saved) < len(data) and data.startswith(saved)
    return saved


def test_interrupted_transfer_keeps_the_part_and_the_next_call_resumes(tmp_path, server, big):
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="resumes it"):
        fetch(dest, [server.add("/flaky.tar", big, cut=2_500_000)], big, retries=0)
    saved = saved_part(dest, big)
    assert leftovers(dest) == [NAME + ".part"]  # no tar under its final name, nothing unpacked

    root = fetch(dest, [server.add("/ok.tar", big)], big)
    assert server.requests[-1] == ("/ok.tar", f"bytes={len(saved)}-")
    assert server.routes["/ok.tar"].sent == [len(big) - len(saved)]  # only the missing bytes
    assert (dest / NAME).read_bytes() == big and leftovers(dest) == ["VOCdevkit"]
    assert_voc(root)


def test_one_call_resumes_a_mirror_that_keeps_delivering(tmp_path, server, big):
    url = server.add("/flaky.tar", big, cut=2_500_000, cuts_left=1)
    assert_voc(fetch(tmp_path, [url], big))
    (first, no_range), (second, rng) = server.requests
    assert first == second == "/flaky.tar" and no_range is None
    assert 0 < int(re.fullmatch(r"bytes=(\d+)-", rng)[1]) <= 2_500_000


def test_a_mirror_cut_again_and_again_is_given_up(tmp_path, server, big):
    url = server.add("/flaky.tar", big, cut=2_500_000)  # every response stops there
    with pytest.raises(DownloadError, match="IncompleteRead"):
        fetch(tmp_path, [url], big, retries=5)
    assert len(server.requests) == 2  # the resume brought nothing new: no more tries
    saved_part(tmp_path, big)


def test_server_ignoring_range_restarts_the_part_cleanly(tmp_path, server, good):
    part = tmp_path / (NAME + ".part")
    part.write_bytes(b"x" * 4000)  # stale bytes that must not survive
    root = fetch(tmp_path, [server.add("/norange.tar", good, ignore_range=True)], good)
    assert server.requests == [("/norange.tar", "bytes=4000-")]
    assert (tmp_path / NAME).read_bytes() == good and not part.exists()
    assert_voc(root)


def test_part_longer_than_the_file_is_fetched_anew(tmp_path, server, good):
    (tmp_path / (NAME + ".part")).write_bytes(b"x" * (len(good) + 10))
    fetch(tmp_path, [server.add("/a.tar", good)], good, size=None)  # size unknown: ask
    assert server.requests == [("/a.tar", f"bytes={len(good) + 10}-"), ("/a.tar", None)]
    assert (tmp_path / NAME).read_bytes() == good


def test_complete_part_is_verified_without_network(tmp_path, good):
    (tmp_path / (NAME + ".part")).write_bytes(good)
    assert_voc(fetch(tmp_path, [closed_port_url()], good))
    assert leftovers(tmp_path) == ["VOCdevkit"]


FAULTS = {  # a broken first mirror, and what the message says about it
    "missing": (lambda srv, good: srv.url("/missing.tar"), "HTTP 404"),
    "refused": (lambda srv, good: closed_port_url(), "Connection refused"),
    "corrupt": (lambda srv, good: srv.add("/bad.tar", bytes(len(good))), "SHA-1"),
    "wrong size": (lambda srv, good: srv.add("/short.tar", good[:-512]), "offers"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_mirror_then_one_that_works(tmp_path, server, good, fault):
    bad = FAULTS[fault][0](server, good)
    root = fetch(tmp_path, [bad, server.add("/ok.tar", good)], good)
    assert_voc(root)
    assert (tmp_path / NAME).read_bytes() == good
    assert server.requests[-1] == ("/ok.tar", None)  # bad bytes were deleted, not resumed


def test_all_mirrors_failing_say_why_each_failed_and_how_to_place_voc(tmp_path, server, good):
    urls = [FAULTS[fault][0](server, good) for fault in FAULTS]
    dest = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        fetch(dest, urls, good)
    msg = str(err.value)
    for url, (_, why) in zip(urls, FAULTS.values(), strict=True):
        assert re.search(f"{re.escape(url)}: .*{why}", msg), (url, why)
    assert str(dest / NAME) in msg and "by hand" in msg
    assert "VOC_ROOT" in msg and "find_voc_root" in msg
    assert list(dest.iterdir()) == []  # no tar, no part, nothing unpacked


def test_corrupt_part_is_deleted_then_fetched_again(tmp_path, server, good):
    (tmp_path / (NAME + ".part")).write_bytes(b"x" * 4000)  # resumable, but wrong bytes
    url = server.add("/a.tar", good)
    fetch(tmp_path, [url, url], good)
    assert server.requests == [("/a.tar", "bytes=4000-"), ("/a.tar", None)]
    assert (tmp_path / NAME).read_bytes() == good


# --------------------------------------------------------------------------- never hanging
def test_refused_connections_fail_fast(tmp_path, good):
    start = time.monotonic()
    with pytest.raises(DownloadError, match="Connection refused"):
        fetch(tmp_path, [closed_port_url(), closed_port_url()], good, connect_timeout=10,
              read_timeout=60)
    assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


def test_a_host_that_never_accepts_times_out_quickly(tmp_path, good):
    with socket.socket() as s, socket.socket() as filler:
        s.bind(("127.0.0.1", 0))
        s.listen(0)  # one queued connection fills it: further SYNs get no answer
        filler.connect(s.getsockname())
        url = f"http://127.0.0.1:{s.getsockname()[1]}/{NAME}"
        start = time.monotonic()
        with pytest.raises(DownloadError, match="no connection within 0.5 s"):
            fetch(tmp_path, [url], good, connect_timeout=0.5)
        assert time.monotonic() - start < 4


def test_a_server_that_never_answers_times_out_quickly(tmp_path, good):
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/{NAME}"
        guard = threading.Timer(8, s.close)  # resets the connection if the client hangs
        guard.start()
        start = time.monotonic()
        try:
            with pytest.raises(DownloadError, match="no data for 0.5 s"):
                fetch(tmp_path, [url], good, read_timeout=0.5)
        finally:
            guard.cancel()
        assert time.monotonic() - start < 5


def test_a_transfer_that_stalls_times_out_and_keeps_what_arrived(tmp_path, server, big):
    url = server.add("/stall.tar", big, stall_at=len(big) - 100_000)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="no data for 0.5 s"):
        fetch(tmp_path, [url], big, read_timeout=0.5)
    assert time.monotonic() - start < 6
    saved = saved_part(tmp_path, big)
    assert server.requests[-1] == ("/stall.tar", f"bytes={len(saved)}-")  # resumed once


def test_not_enough_disk_space_fails_before_downloading(tmp_path, server, good, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: type("U", (), {"free": 10})())
    with pytest.raises(DownloadError, match=f"{re.escape(str(tmp_path))}: .* GB free"):
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert server.requests == []


# --------------------------------------------------------------------------- the user's files
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
    (tmp_path / NAME).write_bytes(good)  # even with a verified tar at hand
    with pytest.raises(DownloadError, match=f"{re.escape(str(root))} exists .* left untouched"):
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert server.requests == [] and (root / "JPEGImages" / "mine.jpg").read_bytes() == b"mine"
    assert sorted(p.name for p in root.iterdir()) == ["JPEGImages"]


def test_other_years_in_vocdevkit_are_kept(tmp_path, server, good):
    other = tmp_path / "VOCdevkit" / "VOC2007" / "notes.txt"
    other.parent.mkdir(parents=True)
    other.write_text("2007")
    assert_voc(fetch(tmp_path, [server.add("/a.tar", good)], good))
    assert other.read_text() == "2007"


def test_corrupt_tar_placed_by_hand_is_a_sha1_error_and_is_kept(tmp_path, server, good):
    corrupt = good[:100] + b"!" + good[101:]  # right size, one byte changed
    (tmp_path / NAME).write_bytes(corrupt)
    with pytest.raises(DownloadError) as err:
        fetch(tmp_path, [server.add("/a.tar", good)], good)
    assert str(tmp_path / NAME) in str(err.value)
    assert f"SHA-1 {sha1(corrupt)}, expected {sha1(good)}" in str(err.value)
    assert (tmp_path / NAME).read_bytes() == corrupt and server.requests == []


def test_a_destination_that_is_a_file_is_named_in_the_error(tmp_path, good):
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(DownloadError, match=re.escape(str(tmp_path / "data"))):
        fetch(tmp_path / "data", [], good)
    assert (tmp_path / "data").read_text() == "not a folder"


# --------------------------------------------------------------------------- safe extraction
def test_ctrl_c_while_unpacking_leaves_no_half_vocdevkit(tmp_path, good, monkeypatch):
    (tmp_path / NAME).write_bytes(good)
    written = []
    makefile = tarfile.TarFile.makefile

    def interrupted(self, tarinfo, targetpath):  # Ctrl-C after a few files were written
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(targetpath)
        return makefile(self, tarinfo, targetpath)

    monkeypatch.setattr(tarfile.TarFile, "makefile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, [], good)
    assert len(written) == 3
    assert leftovers(tmp_path) == []  # neither VOCdevkit nor the temporary folder
    monkeypatch.undo()
    assert_voc(fetch(tmp_path, [], good))


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
def test_unsafe_tar_members_are_refused_and_nothing_is_written(tmp_path, kind):
    """The unsafe member comes after a valid VOC tree, so unpacking has started when it is met."""
    outside = tmp_path / "outside"
    dest = tmp_path / "data"
    dest.mkdir()
    make_voc_tree(tmp_path / "src")
    data = tar_bytes(tmp_path / "src", MALICIOUS[kind](outside))
    (dest / NAME).write_bytes(data)
    with pytest.raises(DownloadError, match=f"{re.escape(str(dest / NAME))}: .*unsafe member"):
        fetch(dest, [], data)
    assert not outside.exists()
    assert leftovers(dest) == []  # no VOCdevkit, no temporary folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "src"]


def test_tar_without_voc_layout_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(_member("README"), io.BytesIO(b""))
    (tmp_path / NAME).write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="does not hold VOCdevkit/VOC2012"):
        fetch(tmp_path, [], buf.getvalue())
    assert leftovers(tmp_path) == []


def test_garbage_is_a_clear_error_naming_the_file(tmp_path):
    data = b"\x00garbage" * 100
    (tmp_path / NAME).write_bytes(data)
    with pytest.raises(DownloadError, match=f"{re.escape(str(tmp_path / NAME))}: cannot unpack"):
        fetch(tmp_path, [], data)
    assert leftovers(tmp_path) == []


def test_tar_cut_inside_a_member_header_is_refused(tmp_path, good):
    """tarfile alone would unpack the members before the cut and report success."""
    with tarfile.open(fileobj=io.BytesIO(good)) as archive:
        last = archive.getmembers()[-1].offset
    cut = good[:last + 100]
    (tmp_path / NAME).write_bytes(cut)
    with pytest.raises(DownloadError, match="cut short"):
        fetch(tmp_path, [], cut)  # its SHA-1 matches: only the unpacking can tell
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- command line
def test_cli_success_and_failure(tmp_path, capsys):
    make_voc_tree(tmp_path / "have")
    assert cli.main(["--dest", str(tmp_path / "have"), "--no-progress"]) == 0
    assert "ready" in capsys.readouterr().out
    url = closed_port_url()
    assert cli.main(["--dest", str(tmp_path / "none"), "--url", url, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and url in err and "by hand" in err


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("args, code", [(["--help"], 0), (["--url", "CLOSED"], 1)])
def test_python_dash_m_runs_the_cli(tmp_path, monkeypatch, capsys, args, code):
    """``python -m course_utils.data.download`` passes main()'s status to the shell."""
    url = closed_port_url()
    args = [url if a == "CLOSED" else a for a in args]
    monkeypatch.setattr(sys, "argv", ["x", "--dest", str(tmp_path), "--no-progress", *args])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("course_utils.data.download", run_name="__main__")
    assert exc.value.code == code
    out, err = capsys.readouterr()
    assert ("python -m course_utils.data.download" in out) if code == 0 else (url in err)


def test_ctrl_c_prints_one_line_and_the_same_command_resumes(tmp_path, server, big,
                                                             monkeypatch, capsys):
    part = tmp_path / (NAME + ".part")

    class CtrlCOnWrite:  # the part file: Ctrl-C (in the main thread) once a chunk is saved
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

        def write(self, chunk):
            self.file.write(chunk)
            self.file.flush()
            raise KeyboardInterrupt

    def open_part(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        return CtrlCOnWrite(f) if Path(path) == part and mode in ("wb", "ab") else f

    # A signal sent from another thread races the transfer (and one that lands in a finalizer
    # is swallowed by Python): raise where Ctrl-C would, in the main thread's download loop.
    monkeypatch.setattr(fetch_module, "open", open_part, raising=False)
    monkeypatch.setattr(cli, "download_voc", partial(
        download_voc, filename=NAME, expected_sha1=sha1(big), size=len(big),
        connect_timeout=2, read_timeout=2))
    args = ["--dest", str(tmp_path), "--no-progress", "--url"]
    url = server.add("/big.tar", big)
    try:
        assert cli.main([*args, url]) == 130
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main() as a traceback")
    monkeypatch.delattr(fetch_module, "open")
    assert capsys.readouterr().err.splitlines() == [
        "interrupted; run the same command again to resume"]
    saved = saved_part(tmp_path, big)

    assert cli.main([*args, server.add("/ok.tar", big)]) == 0
    assert server.requests[-1] == ("/ok.tar", f"bytes={len(saved)}-")
    assert_voc(tmp_path / "VOCdevkit" / "VOC2012")


def test_the_face_lists_what_the_notebooks_use():
    assert download.FILENAME == "VOCtrainval_11-May-2012.tar" and download.SIZE > 10**9
    assert re.fullmatch(r"[0-9a-f]{40}", download.SHA1)
    assert all(url.endswith(download.FILENAME) for url in download.MIRRORS)
    assert {"download_voc", "DownloadError"} <= set(download.__all__)
