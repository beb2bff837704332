"""Reading image files: decode, orientation, size limits, then colour management.

* EXIF orientation is applied (the same transforms as :func:`PIL.ImageOps.exif_transpose`).
* An embedded ICC profile is converted to sRGB (:mod:`seamline.io.icc`); ``info["icc"]``
  says what was done.
* Palette, 1-bit, grayscale, CMYK, YCbCr and transparency-key images become RGB plus an
  optional alpha; each step is listed in ``info["conversions"]``.
* 16-bit RGB(A)/LA PNG and TIFF pixels are read with OpenCV / tifffile because Pillow
  reduces them to 8 bits; metadata still comes from Pillow (or tifffile for TIFF).
* The pixel count is checked against ``max_pixels`` before any pixel is decoded.
* Every failure is an :class:`~seamline.errors.InputError` whose one-line message starts
  with the path; no Pillow/OpenCV exception or warning escapes (warnings are recorded in
  ``info["warnings"]``).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import stat
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from seamline.core.arrays import as_mask
from seamline.errors import InputError
from seamline.io.icc import to_srgb

__all__ = ["DEFAULT_MAX_PIXELS", "ImageFile", "read_image", "load_image", "load_mask"]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Largest width*height read by default; ``SEAMLINE_MAX_PIXELS`` or ``max_pixels=`` override."""

_READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "GIF", "BMP")  # JPEG covers MPO (phones)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PIL_GUARD_LOCK = threading.Lock()


@dataclass
class ImageFile:
    """An image read from a file, with what travels beside it.

    Attributes
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` float32 sRGB in [0, 1], EXIF orientation applied.
    alpha : numpy.ndarray or None
        ``(H, W)`` alpha in the file's own integer dtype (uint8 or uint16), untouched.
    bit_depth : int
        Bits per channel in the file: 8 or 16.
    path : pathlib.Path or None
        Where it was read from.
    info : dict
        JSON-serialisable: ``format``, ``mode`` (the file's pixel mode; ``"RGB;16"`` etc. for
        16-bit colour), ``icc`` (``"converted from <description>"``, ``"sRGB (<description>),
        not converted"``, ``"none, assumed sRGB"`` or ``"ignored (<reason>), assumed sRGB"``),
        ``exif_orientation`` (1-8), ``conversions`` (list of str, what was done, in order) and
        ``warnings`` (list of str, what the decoder complained about).
    """

    image: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    path: Path | None
    info: dict = field(default_factory=dict)


@dataclass
class _Raw:
    """Decoded file pixels before colour management: uint8/uint16, oriented.

    ``(H, W)`` for layout L, else ``(H, W, C)`` with C = len(layout).
    """

    pixels: np.ndarray
    layout: str  # "L", "LA", "RGB", "RGBA" or "CMYK": the meaning of the C channels
    icc: bytes | None
    info: dict


def read_image(path, *, max_pixels: int | None = None) -> ImageFile:
    """Read an image file as sRGB float32, with its alpha, bit depth and provenance.

    Parameters
    ----------
    path : str or os.PathLike
        PNG, JPEG, WebP, TIFF, GIF or BMP file.
    max_pixels : int, optional
        Refuse images with more than this many pixels (checked before decoding). Default:
        ``SEAMLINE_MAX_PIXELS`` from the environment, else :data:`DEFAULT_MAX_PIXELS`.

    Returns
    -------
    ImageFile
        ``image`` is ``(H, W, 3)`` float32 sRGB in [0, 1]; see :class:`ImageFile`.

    Raises
    ------
    InputError
        Missing, unreadable, empty, corrupt, too large or unsupported file; the message
        starts with the path.
    """
    path = Path(path)
    raw = _read_raw(path, max_pixels)
    layout, px = raw.layout, raw.pixels
    alpha = None
    if layout in ("LA", "RGBA"):
        alpha = np.ascontiguousarray(px[..., -1])
        px, layout = (px[..., 0], "L") if layout == "LA" else (px[..., :3], "RGB")
    image = to_srgb(px, layout, raw.icc, raw.info)
    return ImageFile(image=image, alpha=alpha, bit_depth=8 * raw.pixels.itemsize, path=path,
                     info=raw.info)


def load_image(path, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` float32 sRGB in [0, 1]; see :func:`read_image`."""
    return read_image(path, max_pixels=max_pixels).image


def load_mask(path, *, shape=None, max_pixels: int | None = None) -> np.ndarray:
    """Read a mask file as ``(H, W)`` float32 in [0, 1], 1 = edit.

    Pixel values are data, not colour: an embedded ICC profile is ignored. EXIF orientation is
    applied, as for images. Channels are reduced as in :func:`as_mask`.

    Parameters
    ----------
    path : str or os.PathLike
        Grayscale, 1-bit, palette, RGB, LA or RGBA file (8 or 16 bit).
    shape : tuple of int, optional
        ``(H, W, ...)`` of the image the mask belongs to; a different size is an error.
    max_pixels : int, optional
        As in :func:`read_image`.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float32 in [0, 1]; soft values are kept.
    """
    path = Path(path)
    raw = _read_raw(path, max_pixels)
    if raw.layout == "CMYK":
        raise InputError(f"{path}: CMYK mask; save the mask as a grayscale PNG")
    return as_mask(raw.pixels, name=str(path), shape=shape)


def _read_raw(path: Path, max_pixels) -> _Raw:
    limit = _resolve_max_pixels(max_pixels)
    _check_input_file(path)
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open ({e.strerror or e})") from None
    with fh, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # PIL's own size guard is replaced by ours (checked before decoding, adjustable).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        raw = _decode(fh, path, limit)
    raw.info["warnings"] = [str(w.message) for w in caught]
    orientation = raw.info["exif_orientation"]
    raw.pixels = np.ascontiguousarray(_orient(raw.pixels, orientation))
    return raw


def _check_input_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot access ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    if st.st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")


def _resolve_max_pixels(max_pixels) -> int:
    if max_pixels is None:
        env = os.environ.get("SEAMLINE_MAX_PIXELS")
        if env is None:
            return DEFAULT_MAX_PIXELS
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value <= 0:
            raise InputError(f"SEAMLINE_MAX_PIXELS: expected a positive integer, got {env!r}")
        return value
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral) \
            or max_pixels <= 0:
        raise InputError(f"max_pixels: expected a positive integer, got {max_pixels!r}")
    return int(max_pixels)


def _check_size(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise InputError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{limit:,} pixels (decompression bomb guard); if the file is trusted, raise the "
            f"limit with --max-pixels or SEAMLINE_MAX_PIXELS")


@contextlib.contextmanager
def _decoder_errors(path: Path):
    """Turn whatever a decoder raises on a malformed file into one InputError.

    Pillow plugins raise OSError, SyntaxError, ValueError, struct.error, EOFError, ... on bad
    data, so only the decoder calls are wrapped, and everything they raise is caught.
    """
    try:
        yield
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable image (cannot identify image file; readable "
                         f"formats: PNG, JPEG, WebP, TIFF, GIF, BMP)") from None
    except Exception as e:  # noqa: BLE001 - see docstring
        kind = type(e).__name__ if type(e).__module__ == "builtins" else \
            f"{type(e).__module__}.{type(e).__name__}"
        reason = str(e).replace(str(path), "").strip() or "no details"
        raise InputError(f"{path}: not a readable image ({kind}: {reason})") from e


def _decode(fh, path: Path, limit: int) -> _Raw:
    magic = fh.read(4)
    fh.seek(0)
    if magic in _TIFF_MAGIC:
        with _decoder_errors(path):
            page = tifffile.TiffFile(fh).pages[0]  # header only, no pixels yet
        if page.bitspersample > 8 and page.samplesperpixel > 1:
            return _decode_deep_tiff(fh, path, page, limit)
        fh.seek(0)
    with _decoder_errors(path):
        im = _pil_open(fh)
    _check_size(path, *im.size, limit)
    info = {"format": im.format, "mode": im.mode, "icc": None, "exif_orientation": 1,
            "conversions": []}
    with _decoder_errors(path):
        if getattr(im, "is_animated", False):
            info["conversions"].append("multi-frame file: first frame only")
        rawmode = im.tile[0].args if im.format == "PNG" and im.tile else None
        # Before OpenCV sees the data: for PNG this decodes it, so Pillow reports corruption.
        info["exif_orientation"] = _exif_orientation(im)
        icc = im.info.get("icc_profile") or None
        if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B"):
            # Pillow reduces these to 8 bits; metadata comes from it, pixels from OpenCV.
            info["mode"] = rawmode[:-1]
            fh.seek(0)
            pixels, layout = _cv2_deep_png(fh.read(), im.size, rawmode[:-4])
        else:
            im.load()
            pixels, layout = _pil_pixels(path, im, info["conversions"])
    return _Raw(pixels=pixels, layout=layout, icc=icc, info=info)


def _pil_open(fh) -> Image.Image:
    try:
        return Image.open(fh, formats=_READ_FORMATS)
    except Image.DecompressionBombError:
        # Pillow refuses > 2 x Image.MAX_IMAGE_PIXELS before telling us the size; reopen with
        # its guard lifted so that our limit, checked right after (still before decoding),
        # decides and names the way to raise it.
        with _PIL_GUARD_LOCK:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                fh.seek(0)
                return Image.open(fh, formats=_READ_FORMATS)
            finally:
                Image.MAX_IMAGE_PIXELS = saved


def _pil_pixels(path: Path, im: Image.Image, conversions: list) -> tuple[np.ndarray, str]:
    """Bring a decoded Pillow image to one of the layouts L, LA, RGB, RGBA, CMYK (uint8/16)."""
    mode = im.mode
    if mode in ("P", "PA"):
        with_alpha = mode == "PA" or im.has_transparency_data
        im = im.convert("RGBA" if with_alpha else "RGB")
        conversions.append("palette -> RGB")
        if with_alpha:
            conversions.append("palette transparency -> alpha")
    elif mode == "1":
        im = im.convert("L")
        conversions.append("1-bit -> grayscale")
    elif mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("LA" if mode == "L" else "RGBA")
        conversions.append("transparency key -> alpha")
    elif mode == "YCbCr":
        im = im.convert("RGB")
        conversions.append("YCbCr -> RGB")
    elif mode == "RGBX":
        im = im.convert("RGB")
        conversions.append("RGBX -> RGB (padding channel dropped)")
    if im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), "L"  # astype: big-endian variants to native
    if im.mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        raise InputError(f"{path}: unsupported pixel mode {mode!r}; convert the file to 8- or "
                         f"16-bit grayscale, RGB or RGBA")
    return np.asarray(im), im.mode


def _cv2_deep_png(data: bytes, size: tuple[int, int], layout: str) -> tuple[np.ndarray, str]:
    px = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    channels = 3 if layout == "RGB" else 4  # OpenCV expands gray+alpha to BGRA
    if px is None or px.dtype != np.uint16 or px.shape != (size[1], size[0], channels):
        raise ValueError("OpenCV could not decode the 16-bit PNG data")
    px = px[..., [2, 1, 0, 3][:channels]]  # BGR(A) -> RGB(A)
    if layout == "LA":
        px = px[..., [0, 3]]
    return px, layout


def _decode_deep_tiff(fh, path: Path, page, limit: int) -> _Raw:
    """16-bit multi-channel TIFF: Pillow reduces or rejects these, so tifffile does it all."""
    _check_size(path, page.imagewidth, page.imagelength, limit)
    photometric = tifffile.PHOTOMETRIC(page.photometric).name
    colour = {"RGB": 3, "MINISBLACK": 1}.get(photometric)
    extra = page.samplesperpixel - (colour or 0)
    if page.bitspersample != 16 or page.sampleformat != 1 or colour is None \
            or extra not in (0, 1):
        raise InputError(
            f"{path}: unsupported TIFF ({page.samplesperpixel} x {page.bitspersample}-bit "
            f"{photometric}, sample format {page.sampleformat}); expected 8/16-bit unsigned "
            f"grayscale, RGB or RGBA")
    layout = ("L", "RGB")[colour == 3] + ("A" if extra else "")
    with _decoder_errors(path):
        try:
            px = page.asarray()
            if page.axes.startswith("S"):  # planar configuration: samples first
                px = np.moveaxis(px, 0, -1)
        except ValueError as e:
            if "imagecodecs" not in str(e):
                raise
            # tifffile needs the optional imagecodecs for LZW etc.; OpenCV's libtiff has them.
            fh.seek(0)
            px = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_UNCHANGED)
            shape = (page.imagelength, page.imagewidth, page.samplesperpixel)
            if px is None or px.dtype != np.uint16 or px.shape != shape or colour != 3:
                raise ValueError(f"{page.compression.name} compression is not supported for "
                                 f"this 16-bit TIFF") from None
            px = px[..., [2, 1, 0, 3][:page.samplesperpixel]]
        icc = page.tags.valueof(34675) or None
        orientation = page.tags.valueof(274, 1)
    info = {"format": "TIFF", "mode": layout + ";16", "icc": None,
            "exif_orientation": orientation if orientation in range(1, 9) else 1,
            "conversions": []}
    return _Raw(pixels=np.asarray(px, np.uint16), layout=layout, icc=bytes(icc) if icc else None,
                info=info)


def _exif_orientation(im: Image.Image) -> int:
    # Image.getexif also looks at XMP, as ImageOps.exif_transpose does.
    value = im.getexif().get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 1-8 to an (H, W, ...) array, as PIL.ImageOps.exif_transpose."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, -1)
    if orientation == 7:
        return np.rot90(a, 2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(a, 1)
    return a

