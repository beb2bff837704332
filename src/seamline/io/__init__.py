"""All format conversion and colour-managed file I/O: the one place that knows about bytes.

Everything else in seamline sees an image as an ``HxWx3 float32`` sRGB array in [0, 1] and a
mask as an ``HxW float32`` array in [0, 1] (1 = edit). This module turns files and arbitrary
arrays into those, and back.

Reading (:func:`read_image`)
    * EXIF orientation is applied (the same transforms as :func:`PIL.ImageOps.exif_transpose`).
    * An embedded ICC profile is converted to sRGB. Matrix/TRC profiles (Adobe RGB, Display P3,
      ProPhoto, gray gamma, ...) are evaluated here in float32, so 16-bit files keep 16-bit
      precision; other profiles (LUT-based RGB, CMYK) go through LittleCMS (Pillow's ImageCms,
      perceptual intent) at 8 bits per channel, and ``info["conversions"]`` says so. A profile
      that describes sRGB is recognised and not applied, so files written by
      :func:`write_image` come back bit-identical.
    * Palette, 1-bit, grayscale, CMYK, YCbCr and transparency-key images become RGB plus an
      optional alpha; each step is listed in ``info["conversions"]``.
    * 16-bit RGB(A)/LA PNG and TIFF pixels are read with OpenCV / tifffile because Pillow
      reduces them to 8 bits; metadata still comes from Pillow (or tifffile for TIFF).
    * The pixel count is checked against ``max_pixels`` before any pixel is decoded.
    * Every failure is an :class:`~seamline.errors.InputError` whose one-line message starts
      with the path; no Pillow/OpenCV exception or warning escapes (warnings are recorded in
      ``info["warnings"]``).

Writing (:func:`write_image`)
    By extension, always with an embedded sRGB ICC profile, atomically (temporary file in the
    same directory, then :func:`os.replace`). Alpha is written back as given.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import numbers
import os
import secrets
import stat
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageCms, UnidentifiedImageError

from seamline.errors import InputError

__all__ = ["DEFAULT_MAX_PIXELS", "SUPPORTED_EXTENSIONS", "ImageFile", "read_image", "load_image",
           "load_mask", "write_image", "save_image", "as_image", "as_mask", "to_uint8",
           "to_uint16", "check_output_path", "file_sha256"]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Largest width*height read by default; ``SEAMLINE_MAX_PIXELS`` or ``max_pixels=`` override."""

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
"""Extensions :func:`write_image` can write (lower case)."""

_DEEP_EXTENSIONS = (".png", ".tif", ".tiff")  # the ones that can hold 16 bits per channel
_READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "GIF", "BMP")  # JPEG covers MPO (phones)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_RANGE_TOLERANCE = 1e-6  # float values this far outside [0, 1] are clipped, not rejected
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


# ----------------------------------------------------------------------------------- reading
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
    image = _to_srgb(px, layout, raw.icc, raw.info)
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


# --------------------------------------------------------------------------- colour management
def _to_srgb(px: np.ndarray, layout: str, icc: bytes | None, info: dict) -> np.ndarray:
    """Colour pixels (L, RGB or CMYK; uint8/uint16) -> (H, W, 3) float32 sRGB in [0, 1]."""
    conversions = info["conversions"]
    profile = _usable_profile(icc, layout, info)
    h, w = px.shape[:2]
    if layout == "CMYK":  # Pillow is 8-bit only here
        cmyk = Image.frombytes("CMYK", (w, h), np.ascontiguousarray(px).tobytes())
        if profile is None:
            rgb = cmyk.convert("RGB")
            conversions.append("CMYK -> RGB (no ICC profile: naive formula)")
        else:
            rgb = _lcms(cmyk, profile[0])
            conversions.append(f"CMYK -> sRGB (ICC {profile[1]!r}, LittleCMS perceptual)")
        return np.asarray(rgb).astype(np.float32) / 255
    x = px.astype(np.float32) / (255 if px.dtype == np.uint8 else 65535)
    if profile is not None:
        cms_profile, desc, shaper = profile
        if shaper is not None:
            x = _shaper_to_srgb(x, shaper)
            conversions.append(f"ICC {desc!r} -> sRGB (matrix/TRC, float32)")
        else:
            src = px if px.dtype == np.uint8 else to_uint8(x)
            mode = "L" if src.ndim == 2 else "RGB"
            src_img = Image.frombytes(mode, (w, h), np.ascontiguousarray(src).tobytes())
            x = np.asarray(_lcms(src_img, cms_profile)).astype(np.float32) / 255
            conversions.append(f"ICC {desc!r} -> sRGB (LittleCMS perceptual, 8-bit precision)")
    if x.ndim == 2:
        x = np.repeat(x[:, :, None], 3, axis=2)
        conversions.append("grayscale -> RGB")
    return np.ascontiguousarray(x)


def _usable_profile(icc: bytes | None, layout: str, info: dict):
    """(LittleCMS profile, description, shaper or None) to convert with, or None for sRGB.

    Sets ``info["icc"]``. A profile that cannot be used is reported and ignored rather than
    making the file unreadable: viewers ignore it too, and ``info`` says so.
    """
    if not icc:
        info["icc"] = "none, assumed sRGB"
        return None
    try:
        cms_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(cms_profile).strip() or "unnamed profile"
    except (ImageCms.PyCMSError, OSError, ValueError) as e:
        return _ignore_profile(info, f"unreadable ICC profile: {e}")
    space = icc[16:20].decode("latin-1").strip()
    expected = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}[layout]
    if space != expected:
        return _ignore_profile(info, f"ICC profile {desc!r} is for {space}, pixels are "
                                     f"{expected}")
    shaper = _parse_shaper(icc)
    if shaper is not None and _is_srgb(shaper):
        info["icc"] = f"sRGB ({desc}), not converted"
        return None
    info["icc"] = f"converted from {desc}"
    return cms_profile, desc, shaper


def _ignore_profile(info: dict, reason: str) -> None:
    info["icc"] = f"ignored ({reason}), assumed sRGB"
    info["warnings"].append(info["icc"])


def _lcms(img: Image.Image, profile) -> Image.Image:
    return ImageCms.profileToProfile(img, profile, _srgb_profile(),
                                     renderingIntent=ImageCms.Intent.PERCEPTUAL,
                                     outputMode="RGB")


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
@functools.lru_cache(maxsize=1)
def _srgb_icc_bytes() -> bytes:
    # littleCMS stamps the profile with its creation time; zero the date (header bytes 24-35)
    # and the profile ID (84-99, an MD5 that would cover it) so the same pixels always give
    # the same file bytes (batch resume and caches compare files)
    icc = bytearray(_srgb_profile().tobytes())
    icc[24:36] = bytes(12)
    icc[84:100] = bytes(16)
    return bytes(icc)


@dataclass(frozen=True)
class _Shaper:
    """A matrix/TRC ICC profile: per-channel curves to linear, then a matrix to XYZ (D50)."""

    curves: tuple[Callable[[np.ndarray], np.ndarray], ...]  # device [0, 1] -> linear
    matrix: np.ndarray | None  # (3, 3) linear RGB -> PCS XYZ; None for a gray profile


def _parse_shaper(icc: bytes) -> _Shaper | None:
    """Read a matrix/TRC (RGB) or TRC (gray) profile; None for anything else (LUT-based...).

    LittleCMS prefers A2B LUTs over the matrix when both exist, so such profiles are left
    to it.
    """
    try:
        if icc[20:24] != b"XYZ ":
            return None
        (count,) = struct.unpack_from(">I", icc, 128)
        tags = {}
        for i in range(min(count, 1000)):
            sig, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
            tags[sig] = icc[offset:offset + size]
        if any(sig in tags for sig in (b"A2B0", b"A2B1", b"A2B2")):
            return None
        if icc[16:20] == b"GRAY":
            curve = _parse_curve(tags.get(b"kTRC", b""))
            return _Shaper(curves=(curve,), matrix=None) if curve else None
        curves = tuple(_parse_curve(tags.get(c + b"TRC", b"")) for c in (b"r", b"g", b"b"))
        columns = [tags.get(c + b"XYZ", b"") for c in (b"r", b"g", b"b")]
        if not all(curves) or any(col[:4] != b"XYZ " for col in columns):
            return None
        matrix = np.array([struct.unpack_from(">3i", col, 8) for col in columns]).T / 65536
        return _Shaper(curves=curves, matrix=matrix)
    except struct.error:
        return None


def _parse_curve(tag: bytes):
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        if n == 0:
            return lambda x: x
        if n == 1:
            gamma = np.float32(struct.unpack_from(">H", tag, 12)[0] / 256)
            return lambda x: np.power(x, gamma)
        table = np.frombuffer(tag, ">u2", count=n, offset=12).astype(np.float32) / 65535
        grid = np.linspace(0, 1, n, dtype=np.float32)
        return lambda x: np.interp(x, grid, table).astype(np.float32)
    if kind == b"para":
        (ftype,) = struct.unpack_from(">H", tag, 8)
        n = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}.get(ftype)
        if n is None:
            return None
        p = [v / 65536 for v in struct.unpack_from(f">{n}i", tag, 12)]
        # Every ICC parametric type is a special case of type 4: (a x + b)^g + e for x >= d,
        # else c x + f.
        if ftype == 0:
            g, a, b, c, d, e, f = p[0], 1, 0, 0, 0, 0, 0
        elif ftype == 1:
            g, a, b = p
            c, d, e, f = 0, -b / a, 0, 0
        elif ftype == 2:
            g, a, b, e = p
            c, d, f = 0, -b / a, e
        elif ftype == 3:
            (g, a, b, c, d), e, f = p, 0, 0
        else:
            g, a, b, c, d, e, f = p
        g, a, b, c, d, e, f = (np.float32(v) for v in (g, a, b, c, d, e, f))
        return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0), g) + e, c * x + f)
    return None


@functools.cache
def _srgb_shaper() -> _Shaper:
    return _parse_shaper(_srgb_icc_bytes())


def _is_srgb(shaper: _Shaper) -> bool:
    """True when the profile describes sRGB closely enough that converting changes nothing."""
    x = np.linspace(0, 1, 256, dtype=np.float32)
    if not all(np.abs(curve(x) - _srgb_decode(x)).max() < 1e-3 for curve in shaper.curves):
        return False
    return shaper.matrix is None or np.abs(shaper.matrix - _srgb_shaper().matrix).max() < 2e-3


def _shaper_to_srgb(x: np.ndarray, shaper: _Shaper) -> np.ndarray:
    """Device values in [0, 1] -> sRGB in [0, 1], relative colorimetric, out of gamut clipped.

    Gray: Y maps to the D50 white scaled by Y, which sRGB shows as R = G = B = Y (linear).
    """
    if shaper.matrix is None:
        lin = shaper.curves[0](x)
    else:
        to_srgb = np.linalg.solve(_srgb_shaper().matrix, shaper.matrix).astype(np.float32)
        lin = np.stack([curve(x[..., i]) for i, curve in enumerate(shaper.curves)], axis=-1)
        lin = lin @ to_srgb.T
    return _srgb_encode(np.clip(lin, 0, 1)).astype(np.float32)


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, np.power((v + 0.055) / 1.055, 2.4))


def _srgb_encode(lin: np.ndarray) -> np.ndarray:
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


# ----------------------------------------------------------------------------------- writing
def write_image(path, image, *, alpha=None, bit_depth: int = 8, quality: int = 95) -> Path:
    """Write an sRGB image (plus optional alpha) atomically, with an embedded sRGB profile.

    Parameters
    ----------
    path : str or os.PathLike
        ``.png`` (8/16-bit), ``.tif``/``.tiff`` (8/16-bit, zlib), ``.jpg``/``.jpeg`` (8-bit,
        4:4:4 chroma), ``.webp`` (8-bit; lossless when ``quality == 100``). Checked with
        :func:`check_output_path`.
    image : array_like
        Anything :func:`as_image` accepts; normally ``(H, W, 3)`` float32 in [0, 1].
    alpha : array_like, optional
        ``(H, W)`` uint8, uint16, bool or float in [0, 1]. Integer alpha of the output bit
        depth is written as is; other integer depths are rescaled (x257 or /257).
    bit_depth : {8, 16}
        Bits per channel in the file.
    quality : int
        1-100, for JPEG and WebP; ignored by PNG and TIFF (lossless).

    Returns
    -------
    pathlib.Path
        The resolved path written.

    Raises
    ------
    InputError
        Bad path, arguments or image; JPEG with alpha; encoding or writing failed. On any
        failure no partial file is left and an existing file is untouched.
    """
    path = check_output_path(path)
    ext = path.suffix.lower()
    image = as_image(image, name="image")
    if bit_depth not in (8, 16):
        raise InputError(f"bit_depth: must be 8 or 16, got {bit_depth!r}")
    if bit_depth == 16 and ext not in _DEEP_EXTENSIONS:
        raise InputError(f"{path}: {ext} stores 8 bits per channel; use .png or .tif for "
                         f"bit_depth=16")
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral) \
            or not 1 <= quality <= 100:
        raise InputError(f"quality: must be an integer from 1 to 100, got {quality!r}")
    pixels = to_uint16(image) if bit_depth == 16 else to_uint8(image)
    if alpha is not None:
        if ext in (".jpg", ".jpeg"):
            raise InputError(f"{path}: JPEG cannot store alpha; write .png (or .webp, .tif) "
                             f"to keep it")
        pixels = np.dstack([pixels, _alpha_at_depth(alpha, image.shape[:2], bit_depth)])
    try:
        data = _encode(ext, pixels, quality)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot encode {ext} ({e})") from e
    try:
        _write_atomic(path, data)
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror or e})") from e
    return path


save_image = write_image


def _alpha_at_depth(alpha, hw: tuple[int, int], bit_depth: int) -> np.ndarray:
    a = np.asarray(alpha)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.shape != hw:
        raise InputError(f"alpha: shape {a.shape} does not match image size "
                         f"{hw[1]}x{hw[0]} (expected ({hw[0]}, {hw[1]}))")
    if a.dtype == np.uint8:
        return a if bit_depth == 8 else a.astype(np.uint16) * 257
    if a.dtype == np.uint16:
        return a if bit_depth == 16 else to_uint8(a)
    a = as_mask(a, name="alpha")
    return to_uint16(a) if bit_depth == 16 else to_uint8(a)


def _encode(ext: str, pixels: np.ndarray, quality: int) -> bytes:
    """(H, W, 3|4) uint8/uint16 -> file bytes with an embedded sRGB profile."""
    icc = _srgb_icc_bytes()
    buf = io.BytesIO()
    if ext in (".tif", ".tiff"):
        tifffile.imwrite(buf, pixels, photometric="rgb", compression="zlib", iccprofile=icc,
                         extrasamples=("unassalpha",) if pixels.shape[2] == 4 else None,
                         metadata=None)
    elif ext == ".png" and pixels.dtype == np.uint16:
        return _encode_png16(pixels, icc)
    else:
        img = Image.fromarray(pixels)
        if ext == ".png":
            img.save(buf, "PNG", icc_profile=icc)
        elif ext in (".jpg", ".jpeg"):
            # 4:4:4: chroma subsampling would smear colour across the edges an edit makes.
            img.save(buf, "JPEG", quality=quality, subsampling=0, icc_profile=icc)
        else:  # .webp; exact: keep the colour under fully transparent pixels
            lossless = quality == 100
            # Lossless WebP reads quality as compression effort: 100 is ~5x slower than the
            # libwebp default (75) for files <0.2% smaller.
            img.save(buf, "WEBP", lossless=lossless, quality=75 if lossless else quality,
                     exact=True, icc_profile=icc)
    return buf.getvalue()


def _encode_png16(pixels: np.ndarray, icc: bytes) -> bytes:
    # Pillow cannot write 16-bit RGB(A) PNG; OpenCV can but writes no profile, so the iCCP
    # chunk goes in by hand, right after IHDR (it must precede PLTE and IDAT).
    ok, encoded = cv2.imencode(".png", pixels[..., [2, 1, 0, 3][:pixels.shape[2]]])
    png = encoded.tobytes() if ok else b""
    if png[12:16] != b"IHDR":
        raise ValueError("OpenCV could not encode the 16-bit PNG")
    body = b"sRGB\x00\x00" + zlib.compress(icc)  # name, separator, method 0 (zlib)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + \
        struct.pack(">I", zlib.crc32(b"iCCP" + body))
    return png[:33] + chunk + png[33:]  # 8-byte signature + 25-byte IHDR chunk


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # 0o666 through os.open: the umask applies, as for any newly created file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_output_path(path, *, inputs=(), name: str = "output") -> Path:
    """Check that an image can be written at ``path`` without overwriting an input.

    Parameters
    ----------
    path : str or os.PathLike
        Where the image will go; extension one of :data:`SUPPORTED_EXTENSIONS`.
    inputs : iterable of str or os.PathLike
        Files that must not be overwritten (compared after resolving links).
    name : str
        What to call the path in messages.

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    InputError
        ``path`` is a directory, its directory is missing or not writable, its extension is
        not supported, or it is one of ``inputs``.
    """
    given = Path(path).expanduser()
    target = given.resolve()
    if target.is_dir():
        raise InputError(f"{name} {given}: is a directory; give a file name such as "
                         f"{given / 'result.png'}")
    ext = given.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise InputError(f"{name} {given}: unsupported extension {ext or '(none)'!r}; use one "
                         f"of {' '.join(SUPPORTED_EXTENSIONS)}")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{name} {given}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{name} {given}: directory {parent} is not writable")
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).expanduser()
        if src.resolve() == target or (target.exists() and src.exists()
                                       and os.path.samefile(src, target)):
            raise InputError(f"{name} {given}: is the input file {src}; choose another output "
                             f"path")
    return target


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes (for manifests)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


# ------------------------------------------------------------------------- array conversion
def as_image(array, *, name: str = "image") -> np.ndarray:
    """Validate and convert an array to an ``(H, W, 3)`` float32 image in [0, 1].

    Parameters
    ----------
    array : array_like
        ``(H, W)``, ``(H, W, 1)`` (gray, replicated to 3 channels) or ``(H, W, 3)``; uint8
        (/255), uint16 (/65535), bool, or any float dtype in [0, 1] (finite; excess up to
        1e-6 is clipped). ``(H, W, 4)`` is refused: alpha never rides inside the image, pass
        ``array[..., :3]`` and give the alpha separately (e.g. ``write_image(alpha=...)``).
    name : str
        What to call the array in messages.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32 in [0, 1], C-contiguous. A valid C-contiguous float32 input is
        returned as is (no copy).
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 4:
        raise InputError(f"{name}: has 4 channels (shape {a.shape}); pass {name}[..., :3] and "
                         f"the alpha channel separately")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3))):
        raise InputError(f"{name}: expected an HxWx3 or HxW array, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{name}: empty image, shape {a.shape}")
    x = _unit_float(a, name)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x)


def as_mask(array, *, name: str = "mask", shape=None) -> np.ndarray:
    """Validate and convert an array to an ``(H, W)`` float32 mask in [0, 1] (1 = edit).

    Parameters
    ----------
    array : array_like
        bool, uint8, uint16 or float in [0, 1]; ``(H, W)`` or ``(H, W, C)``:

        * C = 1: that channel.
        * C = 3: the maximum over channels (a mask painted in any colour on black counts).
        * C = 2 or 4 (gray/colour + alpha): the colour as for C = 1/3 when alpha is
          constant; the alpha when the colour is constant and alpha varies; when both vary,
          colour composited over black (colour x alpha), which is what a painted stroke on a
          transparent layer means.
    name : str
        What to call the array in messages.
    shape : tuple of int, optional
        ``(H, W, ...)`` of the image; a mask of another size is an error.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float32 in [0, 1]; soft values are kept, never thresholded.
    """
    a = np.asarray(array)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 2, 3, 4))):
        raise InputError(f"{name}: expected an HxW mask (or HxWx1/2/3/4), got shape {a.shape}")
    m = _unit_float(a, name)
    if m.ndim == 3:
        m = _mask_from_channels(m)
    if shape is not None and m.shape != tuple(shape[:2]):
        raise InputError(f"{name}: size {m.shape[1]}x{m.shape[0]} does not match image size "
                         f"{shape[1]}x{shape[0]}")
    return np.ascontiguousarray(m)


def _mask_from_channels(m: np.ndarray) -> np.ndarray:
    if m.shape[2] in (1, 3):
        return m.max(axis=2)
    colour, alpha = m[..., :-1].max(axis=2), m[..., -1]
    if (alpha == alpha.flat[0]).all():
        return colour
    if (m[..., :-1] == m[0, 0, :-1]).all():
        return alpha
    return colour * alpha


def _unit_float(a: np.ndarray, name: str) -> np.ndarray:
    """Any supported dtype -> float32 in [0, 1], same shape."""
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"{name}: unsupported dtype {a.dtype}; expected uint8, uint16, bool "
                         f"or float in [0, 1]")
    x = a.astype(np.float32, copy=False)
    lo, hi = (x.min(), x.max()) if x.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError(f"{name}: contains NaN or infinite values")
    if lo < -_RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE:
        raise InputError(f"{name}: values must lie in [0, 1], found min {lo:.6g} max {hi:.6g}")
    return np.clip(x, 0, 1) if lo < 0 or hi > 1 else x


def to_uint8(image) -> np.ndarray:
    """Array in [0, 1] (float, bool, uint8 or uint16; any shape) -> uint8 0..255.

    Floats are clipped to [0, 1] and rounded with :func:`numpy.rint` (half to even), so
    ``to_uint8(k / 255) == k`` exactly. Integer input is rescaled (uint8 is returned as is).
    """
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    x = _unit_float(a, "image") if not np.issubdtype(a.dtype, np.floating) else a
    _check_finite(x)
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


def to_uint16(image) -> np.ndarray:
    """Array in [0, 1] (float, bool, uint8 or uint16; any shape) -> uint16 0..65535.

    As :func:`to_uint8`; ``to_uint16(k / 65535) == k`` and 8-bit values map to ``k * 257``.
    """
    a = np.asarray(image)
    if a.dtype == np.uint16:
        return a
    x = _unit_float(a, "image") if not np.issubdtype(a.dtype, np.floating) else a
    _check_finite(x)
    return np.rint(np.clip(x, 0, 1) * 65535).astype(np.uint16)


def _check_finite(x: np.ndarray) -> None:
    if x.size and not np.isfinite(x.min() + x.max()):
        raise InputError("image: contains NaN or infinite values")
