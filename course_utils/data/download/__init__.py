"""Real PASCAL VOC 2012: download (requests: mirrors, Range resume, SHA-1) and safe extraction.

``python -m course_utils.data.download`` or :func:`download_voc`; see :mod:`.voc2012`.
"""

from .fetch import DownloadError
from .voc2012 import FILENAME, MIRRORS, SHA1, SIZE, download_voc

__all__ = ["download_voc", "FILENAME", "MIRRORS", "SHA1", "SIZE", "DownloadError"]
