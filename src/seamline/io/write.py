"""Writing image files: encode by extension with an embedded sRGB profile, atomically.

Also the output-path check every command uses before it computes anything, and the file
digest manifests record.
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from seamline.core.arrays import as_image, as_mask, to_uint8, to_uint16
from seamline.core.atomic import atomic_open, write_bytes_atomic
from seamline.errors import InputError
from seamline.io.icc import srgb_gray_icc_bytes, srgb_icc_bytes

__all__ = ["SUPPORTED_EXTENSIONS", "write_image", "save_image", "check_output_path",
           "file_sha256"]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
"""Extensions :func:`write_image` can write (lower case)."""

_DEEP_EXTENSIONS = (".png", ".tif", ".tiff")  # the ones that can hold 16 bits per channel


def write_image(path, image, *, alpha=None, bit_depth: int = 8, quality: int = 95,
                compress_level: int = 6) -> Path:
    """Write an sRGB image (plus optional alpha) atomically, with an embedded sRGB profile.

    Parameters
    ----------
    path : str or os.PathLike
        ``.png`` (8/16-bit), ``.tif``/``.tiff`` (8/16-bit, zlib), ``.jpg``/``.jpeg`` (8-bit,
        4:4:4 chroma), ``.webp`` (8-bit; lossless when ``quality == 100``). Checked with
        :func:`check_output_path`.
    image : array_like
        Anything :func:`as_image` accepts; normally ``(H, W, 3)`` float32 in [0, 1]. An
        ``(H, W)`` (or ``(H, W, 1)``) image is grey: PNG, TIFF and JPEG store it as one grey
        channel with a grey sRGB-curve profile (a grey input comes out grey); WebP, and any
        grey image with alpha, are written as RGB.
    alpha : array_like, optional
        ``(H, W)`` uint8, uint16, bool or float in [0, 1]. Integer alpha of the output bit
        depth is written as is; other integer depths are rescaled (x257 or /257).
    bit_depth : {8, 16}
        Bits per channel in the file.
    quality : int
        1-100, for JPEG and WebP; ignored by PNG and TIFF (lossless).
    compress_level : int
        0-9, zlib effort of an 8-bit PNG (same pixels at every level). 6 (Pillow's default)
        is for files people keep; the run directory's previews use 1: a 1024x768 photo
        encodes in ~0.1 s instead of 0.25-0.55 s, for files ~15 % larger.

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
    path = check_output_path(path, alpha=alpha is not None)
    ext = path.suffix.lower()
    image = as_image(image, name="image", grey=alpha is None and ext != ".webp")
    if bit_depth not in (8, 16):
        raise InputError(f"bit_depth: must be 8 or 16, got {bit_depth!r}")
    if bit_depth == 16 and ext not in _DEEP_EXTENSIONS:
        raise InputError(f"{path}: {ext} stores 8 bits per channel; use .png or .tif for "
                         f"bit_depth=16")
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral) \
            or not 1 <= quality <= 100:
        raise InputError(f"quality: must be an integer from 1 to 100, got {quality!r}")
    if isinstance(compress_level, bool) or not isinstance(compress_level, numbers.Integral) \
            or not 0 <= compress_level <= 9:
        raise InputError(f"compress_level: must be an integer from 0 to 9, got "
                         f"{compress_level!r}")
    if bit_depth == 8 and ext not in (".tif", ".tiff"):
        # Pillow's formats: its image is filled strip by strip and encoded straight into
        # the file, so no uint8 copy of the frame and no encoded bytes are held beside it
        # (a 96 MP upscale: 0.29 GB and the PNG's size twice); the same file
        img = _pillow_image(image, None if alpha is None else
                            _alpha_at_depth(alpha, image.shape[:2], 8))
        try:
            with atomic_open(path, "wb") as f:
                _save_pillow(img, f, ext, quality, compress_level)
        except OSError as e:
            if e.errno is not None:
                raise InputError(f"{path}: cannot write ({e.strerror or e})") from e
            raise InputError(f"{path}: cannot encode {ext} ({e})") from e
        except ValueError as e:
            raise InputError(f"{path}: cannot encode {ext} ({e})") from e
        return path
    pixels = to_uint16(image) if bit_depth == 16 else to_uint8(image)
    if alpha is not None:
        pixels = np.dstack([pixels, _alpha_at_depth(alpha, image.shape[:2], bit_depth)])
    try:
        data = _encode(ext, pixels, quality, compress_level)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot encode {ext} ({e})") from e
    try:
        write_bytes_atomic(path, data)
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


def _encode(ext: str, pixels: np.ndarray, quality: int, compress_level: int = 6) -> bytes:
    """(H, W, 3|4) or grey (H, W) uint8/uint16 -> file bytes with an embedded sRGB profile
    (its grey form for grey pixels)."""
    grey = pixels.ndim == 2
    icc = srgb_gray_icc_bytes() if grey else srgb_icc_bytes()
    buf = io.BytesIO()
    if ext in (".tif", ".tiff"):
        tifffile.imwrite(buf, pixels, photometric="minisblack" if grey else "rgb",
                         compression="zlib", iccprofile=icc,
                         extrasamples=("unassalpha",) if not grey and pixels.shape[2] == 4
                         else None, metadata=None)
    elif ext == ".png" and pixels.dtype == np.uint16:
        return _encode_png16(pixels, icc)
    else:
        _save_pillow(Image.fromarray(pixels), buf, ext, quality, compress_level)
    return buf.getvalue()


#: Pixels converted per strip when a Pillow image is filled from a float frame.
_STRIP_PIXELS = 1 << 20


def _pillow_image(image: np.ndarray, alpha8: np.ndarray | None) -> Image.Image:
    """``Image.fromarray`` of ``to_uint8(image)`` (with ``alpha8`` as a fourth channel), made a
    strip of rows at a time: the same image without the frame-sized uint8 array."""
    h, w = image.shape[:2]
    grey = image.ndim == 2
    if grey and alpha8 is not None:  # write_image reads an image with alpha as RGB
        return Image.fromarray(np.dstack([to_uint8(image), alpha8]))
    img = Image.new("RGBA" if alpha8 is not None else "L" if grey else "RGB", (w, h))
    step = max(1, _STRIP_PIXELS // max(1, w))
    for y in range(0, h, step):
        part = to_uint8(image[y:y + step])
        if alpha8 is not None:
            part = np.dstack([part, alpha8[y:y + step]])
        img.paste(Image.fromarray(part), (0, y))
    return img


def _save_pillow(img: Image.Image, f, ext: str, quality: int, compress_level: int) -> None:
    """Encode a Pillow image into the file object ``f`` with an embedded sRGB profile."""
    icc = srgb_gray_icc_bytes() if img.mode == "L" else srgb_icc_bytes()
    if ext == ".png":
        img.save(f, "PNG", icc_profile=icc, compress_level=int(compress_level))
    elif ext in (".jpg", ".jpeg"):
        # 4:4:4: chroma subsampling would smear colour across the edges an edit makes.
        img.save(f, "JPEG", quality=quality, subsampling=0, icc_profile=icc)
    else:  # .webp; exact: keep the colour under fully transparent pixels
        lossless = quality == 100
        # Lossless WebP reads quality as compression effort: 100 is ~5x slower than the
        # libwebp default (75) for files <0.2% smaller.
        img.save(f, "WEBP", lossless=lossless, quality=75 if lossless else quality,
                 exact=True, icc_profile=icc)


def _encode_png16(pixels: np.ndarray, icc: bytes) -> bytes:
    # Pillow cannot write 16-bit RGB(A) PNG; OpenCV can but writes no profile, so the iCCP
    # chunk goes in by hand, right after IHDR (it must precede PLTE and IDAT).
    ok, encoded = cv2.imencode(".png", pixels if pixels.ndim == 2 else
                               pixels[..., [2, 1, 0, 3][:pixels.shape[2]]])
    png = encoded.tobytes() if ok else b""
    if png[12:16] != b"IHDR":
        raise ValueError("OpenCV could not encode the 16-bit PNG")
    body = b"sRGB\x00\x00" + zlib.compress(icc)  # name, separator, method 0 (zlib)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + \
        struct.pack(">I", zlib.crc32(b"iCCP" + body))
    return png[:33] + chunk + png[33:]  # 8-byte signature + 25-byte IHDR chunk


def _resolve(path: Path, what: str) -> Path:
    """``path.resolve()``, with a symbolic link loop as a one-line InputError (pathlib raises
    RuntimeError for it before Python 3.13, OSError after)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        raise InputError(f"{what}: symbolic link loop (or a path that cannot be resolved)") \
            from None


def check_output_path(path, *, inputs=(), name: str = "output", alpha: bool = False) -> Path:
    """Check that an image can be written at ``path`` without overwriting an input.

    Parameters
    ----------
    path : str or os.PathLike
        Where the image will go; extension one of :data:`SUPPORTED_EXTENSIONS`.
    inputs : iterable of str or os.PathLike
        Files that must not be overwritten (compared after resolving links).
    name : str
        What to call the path in messages.
    alpha : bool
        The image to be written has alpha (JPEG cannot store it): checked before the work
        that makes the image, not after it.

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    InputError
        ``path`` is a directory, its directory is missing or not writable, its extension is
        not supported (or JPEG for an image with ``alpha``), or it is one of ``inputs``.
    """
    given = Path(path).expanduser()
    target = _resolve(given, f"{name} {given}")
    if target.is_dir():
        raise InputError(f"{name} {given}: is a directory; give a file name such as "
                         f"{given / 'result.png'}")
    ext = given.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise InputError(f"{name} {given}: unsupported extension {ext or '(none)'!r}; use one "
                         f"of {' '.join(SUPPORTED_EXTENSIONS)}")
    if alpha and ext in (".jpg", ".jpeg"):
        raise InputError(f"{given}: JPEG cannot store alpha; write .png (or .webp, .tif) to "
                         f"keep it")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{name} {given}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{name} {given}: directory {parent} is not writable")
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).expanduser()
        if _resolve(src, str(src)) == target or (target.exists() and src.exists()
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

