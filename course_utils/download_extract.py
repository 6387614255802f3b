"""Unpacking the VOC tar safely: all or nothing, never over an existing folder.

tarfile's ``data`` filter (no links escaping the target, no device files), plus a refusal of
absolute and ``..`` member names (which that filter would rewrite silently), plus a check that
the archive really ends (tarfile takes a header cut in half for the end of the archive). The
tar is unpacked in a temporary folder inside the destination, whose ``VOC2012`` is renamed into
place in one step, so an interrupted run never leaves a half ``VOCdevkit`` that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from . import voc
from .download_files import DownloadError, check_space, mkdir

END_OF_ARCHIVE = 1024  # a tar ends with two 512-byte blocks of zeros


class _UnsafeMember(tarfile.FilterError):
    """A tar member our extraction refuses (absolute or ``..`` name)."""

    def __init__(self, tarinfo: tarfile.TarInfo, why: str):
        self.tarinfo = tarinfo
        super().__init__(f"{tarinfo.name!r} {why}")


def extract(tar: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a VOC tar so that ``<dest>/VOCdevkit/VOC2012`` appears complete, or not at all.

    The tar is unpacked into a temporary folder inside ``dest`` and its ``VOC2012`` folder is
    then renamed into place; anything else in ``<dest>/VOCdevkit`` is left alone.
    """
    tar, dest = Path(tar), Path(dest)
    final = dest / "VOCdevkit" / "VOC2012"
    if final.exists():
        return existing(final)
    mkdir(dest)
    check_space(dest, tar.stat().st_size, f"unpacking {tar.name}")
    tmp = Path(tempfile.mkdtemp(prefix=".VOCdevkit-unpacking-", dir=dest))
    try:
        unpack(tar, tmp)
        src = tmp / "VOCdevkit" / "VOC2012"
        try:
            voc.find_voc_root(src)
        except voc.VOCDataError:
            raise DownloadError(f"{tar}: does not hold VOCdevkit/VOC2012 with JPEGImages/, "
                                "SegmentationClass/ and ImageSets/Segmentation/") from None
        mkdir(final.parent)
        try:
            os.rename(src, final)  # one step: VOC2012 appears complete or not at all
        except OSError as exc:
            raise DownloadError(f"{final}: cannot move the unpacked folder there ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return voc.find_voc_root(final)


def existing(final: Path) -> Path:
    """An existing ``VOCdevkit/VOC2012``: returned if valid, never touched if not."""
    try:
        return voc.find_voc_root(final)
    except voc.VOCDataError as exc:
        raise DownloadError(f"{final} exists but is not a complete VOC 2012 folder ({exc}). "
                            "It was left untouched; move it away or fix it, then run again."
                            ) from None


def safe_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter, refusing (not rewriting) absolute and ``..`` names."""
    if member.name.startswith("/"):
        raise _UnsafeMember(member, "has an absolute path")
    if ".." in PurePosixPath(member.name).parts:
        raise _UnsafeMember(member, "contains '..'")
    return tarfile.data_filter(member, dest)


def unpack(tar: Path, tmp: Path) -> None:
    """Extract every member of ``tar`` into ``tmp`` through :func:`safe_filter`."""
    try:
        with tarfile.open(tar) as archive:
            archive.errorlevel = 1  # a refused member raises instead of being skipped
            archive.extractall(tmp, filter=safe_filter)
            _check_end(archive, tar)
    except tarfile.FilterError as exc:
        raise DownloadError(f"{tar}: refused to unpack, unsafe member ({exc}); nothing was "
                            "put in place") from None
    except (tarfile.TarError, OSError) as exc:
        raise DownloadError(f"{tar}: cannot unpack ({exc})") from None


def _check_end(archive: tarfile.TarFile, tar: Path) -> None:
    """Raise unless the members read are followed by the end-of-archive blocks.

    tarfile stops at a header it cannot read in full and reports no error, so a download cut
    inside a member header would unpack half the data set "successfully".
    """
    archive.fileobj.seek(archive.offset)
    tail = archive.fileobj.read(END_OF_ARCHIVE)
    if len(tail) < END_OF_ARCHIVE or tail.count(0) != END_OF_ARCHIVE:
        raise DownloadError(f"{tar}: the archive is cut short (it stops at byte "
                            f"{archive.offset} inside a member header, without the end-of-"
                            "archive marker): a truncated download? Delete it and download "
                            "again; nothing was put in place")
