"""File I/O: decode (:mod:`.read`), colour management (:mod:`.icc`), encode (:mod:`.write`).

Reading (:func:`read_image`)
    Any still image Pillow reads, EXIF/TIFF orientation applied once, the embedded ICC profile
    converted to sRGB, alpha and 16-bit depth kept; see :mod:`seamline.io.read`.

Writing (:func:`write_image`)
    By extension, always with an embedded sRGB ICC profile, atomically
    (:mod:`seamline.core.atomic`). Alpha is written back as given.

Array conversion (:func:`as_image`, :func:`as_mask`, :func:`to_uint8`, :func:`to_uint16`) lives
in :mod:`seamline.core.arrays` and is re-exported here for callers above the core.
"""

from __future__ import annotations

from seamline.core.arrays import as_image, as_mask, to_uint8, to_uint16
from seamline.io.read import (DEFAULT_MAX_PIXELS, ImageFile, image_extensions, load_image,
                              load_mask, read_image)
from seamline.io.write import (SUPPORTED_EXTENSIONS, check_output_path, file_sha256,
                               save_image, write_image)

__all__ = ["DEFAULT_MAX_PIXELS", "SUPPORTED_EXTENSIONS", "ImageFile", "read_image", "load_image",
           "load_mask", "image_extensions", "write_image", "save_image", "as_image", "as_mask", "to_uint8",
           "to_uint16", "check_output_path", "file_sha256"]
