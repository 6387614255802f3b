"""Unpacking the VOC tar safely: tarfile's ``data`` filter, all or nothing, never over a folder.

The tar is unpacked into a temporary folder inside the destination whose ``VOC2012`` is renamed
into place in one step, so an interrupted run never leaves a half ``VOCdevkit`` that looks whole.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from .. import voc
from .fetch import DownloadError, check_space


def extract(tar: Path, dest: Path) -> Path:
    """Unpack ``tar`` so that ``<dest>/VOCdevkit/VOC2012`` appears complete, or not at all;
    anything else in ``<dest>/VOCdevkit`` (other years, the learner's files) is left alone."""
    final = dest / "VOCdevkit" / "VOC2012"
    check_space(dest, tar.stat().st_size, f"unpacking {tar.name}")
    tmp = Path(tempfile.mkdtemp(prefix=".VOCdevkit-unpacking-", dir=dest))
    try:
        _unpack(tar, tmp)
        try:
            src = voc.find_voc_root(tmp / "VOCdevkit" / "VOC2012")
        except voc.VOCDataError:
            raise DownloadError(f"{tar}: does not hold VOCdevkit/VOC2012 with JPEGImages/, "
                                "SegmentationClass/ and ImageSets/Segmentation/") from None
        final.parent.mkdir(exist_ok=True)
        try:
            os.rename(src, final)  # one step: VOC2012 appears complete or not at all
        except OSError as exc:
            raise DownloadError(f"{final}: cannot move the unpacked folder there ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _unpack(tar: Path, into: Path) -> None:
    """Extract every member of ``tar`` into ``into``; an unsafe member or a cut tar raises.
    tarfile takes a header cut in half for the end of the archive and stops without an error,
    so the end-of-archive marker, 1024 zero bytes, must follow the last member read."""
    try:
        with tarfile.open(tar) as archive:
            archive.extractall(into, filter=_refuse_absolute)
            archive.fileobj.seek(archive.offset)
            if archive.fileobj.read(1024) != bytes(1024):
                raise tarfile.ReadError(f"it is cut short: byte {archive.offset} starts no "
                                        "member and no end-of-archive marker")
    except tarfile.FilterError as exc:
        raise DownloadError(f"{tar}: refused to unpack, unsafe member ({exc}); nothing was "
                            "put in place") from None
    except (tarfile.TarError, OSError) as exc:
        raise DownloadError(f"{tar}: cannot unpack ({exc}); nothing was put in place") from None


def _refuse_absolute(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter (members outside ``dest``, links out of it, device files), also
    refusing absolute names, whose ``/`` it would strip."""
    if member.name.startswith("/"):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, dest)
