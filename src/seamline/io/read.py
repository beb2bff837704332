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
import functools
import logging
import numbers
import os
import stat
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageCms, UnidentifiedImageError
from PIL.ImageFile import StubImageFile

from seamline.core.arrays import as_mask
from seamline.errors import InputError
from seamline.io.icc import to_srgb

__all__ = ["DEFAULT_MAX_PIXELS", "ImageFile", "read_image", "load_image", "load_mask",
           "image_extensions"]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Largest width*height read by default; ``SEAMLINE_MAX_PIXELS`` or ``max_pixels=`` override."""

# Formats Pillow opens that are refused: not pixels, or decoding them runs another program.
_REFUSED_FORMATS = {
    "EPS": "PostScript is a program, not an image: rendering it runs Ghostscript; export it "
           "to PNG or TIFF first",
    "WMF": "a vector drawing (Windows Metafile); export it to PNG first",
}
# Pillow identifies MPEG (header only) but decodes nothing; an MPO is opened as a JPEG first.
_NOT_DECODED, _OPENED_AS = frozenset({"MPEG"}), {"MPO": "JPEG"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PIL_GUARD_LOCK = threading.Lock()


@dataclass
class ImageFile:
    """An image read from a file, with what travels beside it.

    Attributes
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` float32 sRGB in [0, 1] (``(H, W)``: read_image(grey=True)), oriented.
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
    orientation: int = 1  # still to apply (a decoder may have applied the file's already)


def read_image(path, *, max_pixels: int | None = None, grey: bool = False) -> ImageFile:
    """Read an image file as sRGB float32, with its alpha, bit depth and provenance.

    Parameters
    ----------
    path : str or os.PathLike
        A still image of any format Pillow decodes (see :func:`image_extensions`); the
        content decides, not the name.
    max_pixels : int, optional
        Refuse images with more than this many pixels (checked before decoding). Default:
        ``SEAMLINE_MAX_PIXELS`` from the environment, else :data:`DEFAULT_MAX_PIXELS`.
    grey : bool
        Keep a grey file (grayscale, 1-bit, 16-bit gray) as one ``(H, W)`` channel, not
        replicated to RGB: a third of the memory, for code that takes grey.

    Returns
    -------
    ImageFile
        ``image`` is ``(H, W, 3)`` float32 sRGB in [0, 1] (or grey, above).

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
    image = to_srgb(px, layout, raw.icc, raw.info, grey=grey)
    return ImageFile(image=image, alpha=alpha, bit_depth=8 * raw.pixels.itemsize, path=path,
                     info=raw.info)


@functools.cache
def image_extensions() -> tuple[str, ...]:
    """File extensions of the formats :func:`read_image` reads: the one list of them.

    Every extension Pillow registers for a format it decodes (HEIF too when its plugin is
    installed), less the refused ones (EPS, WMF/EMF) and stubs (BUFR, GRIB, HDF5, MPEG). A
    batch lists folders by it; a file is still read by its content, never by its name.

    Returns
    -------
    tuple of str
        Lower-case extensions with the dot (``".png"``, ``".tga"``, ``".qoi"``...), sorted.
    """
    _register_plugins()
    Image.init()  # registers every bundled plugin (Image.open does this lazily)

    def decodable(fmt: str) -> bool:
        fmt = _OPENED_AS.get(fmt, fmt)
        opener = Image.OPEN.get(fmt, (None,))[0]
        return (opener is not None and fmt not in _REFUSED_FORMATS and fmt not in _NOT_DECODED
                and not (isinstance(opener, type) and issubclass(opener, StubImageFile)))

    return tuple(sorted(ext.lower() for ext, fmt in Image.registered_extensions().items()
                        if decodable(fmt)))


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
    chatter: list[str] = []
    with fh, warnings.catch_warnings(record=True) as caught, _decoder_chatter(chatter):
        warnings.simplefilter("always")
        # PIL's own size guard is replaced by ours (checked before decoding, adjustable).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        raw = _decode(fh, path, limit)
    raw.info["warnings"] = [str(w.message) for w in caught] + chatter
    raw.pixels = np.ascontiguousarray(_orient(raw.pixels, raw.orientation))
    return raw


class _ThreadRecords(logging.Handler):
    """Collects one thread's records of a library logger."""

    def __init__(self, out: list[str]):
        super().__init__(logging.DEBUG)
        self.out, self.thread = out, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.out.append(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def _decoder_chatter(out: list[str]):
    """Decoder messages go to ``info["warnings"]``, not to the user's terminal.

    tifffile logs through :mod:`logging` (with no handler configured Python prints those
    records on stderr); libtiff, inside Pillow, writes to file descriptor 2 directly (one
    corpus file printed 455 lines before our one-line error). The descriptor is borrowed only
    in the main thread: it is process-wide, and a worker thread must not capture another's
    output.
    """
    handler = _ThreadRecords(out)
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)  # a handler found: no "last resort" printing on stderr
    saved = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
            tmp = tempfile.TemporaryFile()
            saved = os.dup(2)
            os.dup2(tmp.fileno(), 2)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(64 * 1024).decode("utf-8", "replace")
            tmp.close()
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            out.extend(lines[:20] + ([f"... {len(lines) - 20} more decoder lines"]
                                     if len(lines) > 20 else []))


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
            f"limit with max_pixels=N or SEAMLINE_MAX_PIXELS")


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
        raise InputError(f"{path}: not a readable image (no image decoder recognises it; "
                         f"readable: every still-image format Pillow reads)") from None
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
    if im.format in _REFUSED_FORMATS:
        raise InputError(f"{path}: {im.format} file: {_REFUSED_FORMATS[im.format]}")
    info = {"format": im.format, "mode": im.mode, "icc": None, "exif_orientation": 1,
            "conversions": []}
    with _decoder_errors(path):
        if getattr(im, "n_frames", 1) > 1:
            info["conversions"].append(f"{im.n_frames}-frame file: first frame only")
            info["notes"] = [f"{im.format} with {im.n_frames} frames: read the first frame only"]
        rawmode = im.tile[0].args if im.format == "PNG" and im.tile else None
        # Before OpenCV sees the data: for PNG this decodes it, so Pillow reports corruption.
        info["exif_orientation"] = _exif_orientation(im)
        icc = im.info.get("icc_profile") or None
        deep_png = rawmode in ("RGB;16B", "RGBA;16B", "LA;16B")
        if deep_png and getattr(im, "n_frames", 1) > 1:
            # OpenCV's imdecode picks its own APNG frame (not Pillow's frame 0): read the
            # first frame with Pillow, at the 8 bits it gives, and say so.
            deep_png = False
            info["conversions"].append("16-bit animated PNG: first frame read at 8 bits")
        if deep_png:
            # Pillow reduces these to 8 bits; metadata comes from it, pixels from OpenCV.
            info["mode"] = rawmode[:-1]
            fh.seek(0)
            pixels, layout = _cv2_deep_png(fh.read(), im.size, rawmode[:-4])
            orientation = info["exif_orientation"]
        else:
            im.load()
            # Pillow's TIFF decoder applies the orientation tag itself and drops it; read it
            # again after loading so that it is applied exactly once.
            orientation = _exif_orientation(im)
            if orientation != info["exif_orientation"]:
                info["conversions"].append(f"orientation {info['exif_orientation']} applied "
                                           f"by the {im.format} decoder")
            pixels, layout = _pil_pixels(path, im, info["conversions"])
    return _Raw(pixels=pixels, layout=layout, icc=icc, info=info, orientation=orientation)


@functools.cache
def _register_plugins() -> None:
    """HEIF/HEIC (and AVIF on Pillow < 11.3) through Pillow's maintained plugins, if present.

    Optional: ``pip install seamline[heif]``. Registering adds openers to Pillow globally,
    which is what those plugins are for.
    """
    with contextlib.suppress(Exception):  # absent or broken plugin: those files stay unknown
        from pillow_heif import register_heif_opener
        register_heif_opener()
    if "AVIF" not in Image.registered_extensions().values():
        with contextlib.suppress(Exception):
            import pillow_avif  # noqa: F401 - registers itself


def _pil_open(fh) -> Image.Image:
    _register_plugins()
    try:
        return Image.open(fh)
    except Image.DecompressionBombError:
        # Pillow refuses > 2 x Image.MAX_IMAGE_PIXELS before telling us the size; reopen with
        # its guard lifted so that our limit, checked right after (still before decoding),
        # decides and names the way to raise it.
        with _PIL_GUARD_LOCK:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                fh.seek(0)
                return Image.open(fh)
            finally:
                Image.MAX_IMAGE_PIXELS = saved


def _pil_pixels(path: Path, im: Image.Image, conversions: list) -> tuple[np.ndarray, str]:
    """Bring a decoded Pillow image to one of the layouts L, LA, RGB, RGBA, CMYK (uint8/16)."""
    mode = im.mode
    key = im.info.get("transparency")
    if mode in ("P", "PA"):
        with_alpha = mode == "PA" or im.has_transparency_data
        im = im.convert("RGBA" if with_alpha else "RGB")
        conversions.append("palette -> RGB")
        if with_alpha:
            conversions.append("palette transparency -> alpha")
        return np.asarray(im), im.mode
    if mode == "1":
        px = np.asarray(im).astype(np.uint8) * 255
        conversions.append("1-bit -> grayscale")
        layout = "L"
    elif mode in ("L", "RGB"):
        px, layout = np.asarray(im), mode
    elif mode.startswith("I;16"):
        px, layout = np.asarray(im).astype(np.uint16), "L"  # astype: big-endian to native
    elif mode == "I":
        px, layout = _int32_gray(path, np.asarray(im), conversions), "L"
    elif mode == "F":
        px, layout = _float_gray(path, np.asarray(im), conversions), "L"
    elif mode in ("La", "RGBa"):  # premultiplied alpha: Pillow divides it out
        im = im.convert(mode[:-1] + "A")
        conversions.append(f"premultiplied {mode} -> straight alpha")
        return np.asarray(im), im.mode
    elif mode in ("YCbCr", "HSV", "RGBX"):
        im = im.convert("RGB")
        conversions.append(f"{mode} -> RGB" if mode != "RGBX"
                           else "RGBX -> RGB (padding channel dropped)")
        return np.asarray(im), "RGB"
    elif mode == "LAB":
        lab = ImageCms.createProfile("LAB", 5000)  # CIELAB D50: the ICC connection space
        im = ImageCms.profileToProfile(im, lab, ImageCms.createProfile("sRGB"),
                                       renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                       outputMode="RGB")
        conversions.append("CIELAB -> sRGB (LittleCMS relative colorimetric)")
        return np.asarray(im), "RGB"
    elif mode in ("LA", "RGBA", "CMYK"):
        return np.asarray(im), mode
    else:
        raise InputError(f"{path}: unsupported pixel mode {mode!r}; convert the file to 8- or "
                         f"16-bit grayscale, RGB or RGBA")
    if key is not None and not isinstance(key, bytes):
        px, layout = _key_to_alpha(px, layout, key, mode)
        if layout.endswith("A"):
            conversions.append("transparency key -> alpha")
    return px, layout


def _key_to_alpha(px: np.ndarray, layout: str, key, mode: str) -> tuple[np.ndarray, str]:
    """A transparency key (PNG tRNS for gray/RGB, 1-bit included) -> an alpha channel."""
    if mode == "1":
        key = 255 if key else 0
    key = np.asarray(key, dtype=np.int64).reshape(-1)
    if key.size != (1 if layout == "L" else 3):
        return px, layout  # malformed key: ignore it, as viewers do
    if layout == "L":
        hit = px == key[0]
    else:
        hit = (px == key.astype(px.dtype)).all(axis=-1)
    full = np.iinfo(px.dtype).max
    alpha = np.where(hit, 0, full).astype(px.dtype)
    return np.dstack([px, alpha]) if layout == "RGB" else np.stack([px, alpha], -1), layout + "A"


def _int32_gray(path: Path, a: np.ndarray, conversions: list) -> np.ndarray:
    """Pillow mode I (32-bit integer gray): 16-bit data in a wider container, or refused."""
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if lo < 0 or hi > 65535:
        raise InputError(f"{path}: 32-bit integer samples from {lo} to {hi}: measurement data, "
                         f"not a photo; scale it to 16 bits (0-65535) first")
    conversions.append("32-bit integer gray (values 0-65535) -> 16-bit")
    return a.astype(np.uint16)


def _float_gray(path: Path, a: np.ndarray, conversions: list) -> np.ndarray:
    """Pillow mode F (32-bit float gray, e.g. PFM, SPIDER, float TIFF) -> 16-bit.

    Values in [0, 1] are read as they are, values in [0, 255] as 8-bit levels (what Pillow
    writes and most float files of photos hold); anything else (negative, HDR, NaN) is
    measurement data and refused with its range.
    """
    finite = bool(np.isfinite(a).all())
    lo, hi = (float(a.min()), float(a.max())) if a.size and finite else (0.0, 0.0)
    if not finite or lo < 0 or hi > 255:
        what = "NaN or infinite values" if not finite else f"values from {lo:.6g} to {hi:.6g}"
        raise InputError(f"{path}: 32-bit float samples with {what}: measurement data, not a "
                         f"photo; scale it to [0, 1] or to 16-bit integers first")
    scale = 1.0 if hi <= 1 else 255.0
    conversions.append(f"32-bit float gray (0-{scale:g}) -> 16-bit")
    return np.rint(np.clip(a / scale, 0, 1) * 65535).astype(np.uint16)


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
    """16-bit multi-channel TIFF: Pillow reduces or rejects these, so tifffile does it all.

    tifffile decodes every compression through ``imagecodecs`` (a dependency): a file it
    cannot decode is refused with the reason, never approximated by another decoder.
    """
    _check_size(path, page.imagewidth, page.imagelength, limit)
    photometric = tifffile.PHOTOMETRIC(page.photometric).name
    colour = {"RGB": 3, "MINISBLACK": 1, "SEPARATED": 4}.get(photometric)
    extra = page.samplesperpixel - (colour or 0)
    extrasamples = tuple(page.extrasamples or ())
    if page.bitspersample != 16 or page.sampleformat != 1 or colour is None or extra < 0 \
            or (colour == 4 and extra):
        raise InputError(
            f"{path}: unsupported TIFF ({page.samplesperpixel} x {page.bitspersample}-bit "
            f"{photometric}, sample format {page.sampleformat}); expected 8/16-bit unsigned "
            f"grayscale, RGB, RGBA or CMYK")
    conversions: list[str] = []
    with _decoder_errors(path):
        try:
            px = page.asarray()
        except ValueError as e:
            if "imagecodecs" not in str(e) and "compression" not in str(e).lower():
                raise
            raise InputError(f"{path}: cannot decode this 16-bit TIFF ({page.compression.name} "
                             f"compression: {e}); install imagecodecs, or save it "
                             f"uncompressed") from None
        if page.axes.startswith("S"):  # planar configuration: samples first
            px = np.moveaxis(px, 0, -1)
        if px.ndim == 2:
            px = px[..., None]
        px = np.asarray(px, np.uint16)
        if px.shape != (page.imagelength, page.imagewidth, page.samplesperpixel):
            raise InputError(f"{path}: 16-bit TIFF decoded to shape {px.shape}, expected "
                             f"{(page.imagelength, page.imagewidth, page.samplesperpixel)}")
        icc = page.tags.valueof(34675) or None
        orientation = page.tags.valueof(274, 1)
    alpha_kind = extrasamples[0] if extra else None  # 1 associated (premultiplied), 2 straight
    if extra > 1:
        conversions.append(f"{extra - 1} extra sample channel(s) beyond alpha dropped")
    px = px[..., :colour + (1 if extra else 0)]
    if colour == 4:
        # Pillow's CMYK path is 8-bit: convert there (16-bit CMYK is print data anyway).
        px = (px.astype(np.uint32) * 255 + 32767) // 65535
        conversions.append("16-bit CMYK -> 8-bit CMYK")
        layout, px = "CMYK", px.astype(np.uint8)
    else:
        layout = ("L", "RGB")[colour == 3] + ("A" if extra else "")
    if alpha_kind == 1:
        px = _unpremultiply(px)
        conversions.append("premultiplied (associated) alpha -> straight alpha")
    info = {"format": "TIFF", "mode": layout + (";16" if px.dtype == np.uint16 else ""),
            "icc": None, "exif_orientation": int(orientation) if orientation in range(1, 9) else 1,
            "conversions": conversions}
    return _Raw(pixels=px, layout=layout, icc=bytes(icc) if icc else None, info=info,
                orientation=info["exif_orientation"])


def _unpremultiply(px: np.ndarray) -> np.ndarray:
    """(H, W, C+1) uint16 colour x alpha -> straight colour; fully transparent stays 0."""
    a = px[..., -1:].astype(np.float64)
    colour = px[..., :-1].astype(np.float64) * 65535 / np.maximum(a, 1)
    colour = np.where(a > 0, np.clip(np.rint(colour), 0, 65535), 0)
    return np.concatenate([colour.astype(np.uint16), px[..., -1:]], axis=-1)


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

