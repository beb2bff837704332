"""Colour management on read: embedded ICC profiles to sRGB; the sRGB profile files carry.

Matrix/TRC profiles (Adobe RGB, Display P3, ProPhoto, gray gamma, ...) are evaluated here in
float32, so 16-bit files keep 16-bit precision; other profiles (LUT-based RGB, CMYK) go through
LittleCMS (Pillow's ImageCms, perceptual intent) at 8 bits per channel. A profile that
describes sRGB is recognised and not applied, so files written by
:func:`seamline.io.write_image` come back bit-identical. A profile that cannot be used is
ignored with a note in ``info``, never an error: viewers ignore it too.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageCms

from seamline.core.arrays import srgb_decode, srgb_encode, to_uint8

__all__ = ["to_srgb", "srgb_icc_bytes", "srgb_gray_icc_bytes"]

# What a crafted or broken profile makes the parser, numpy or LittleCMS raise. The profile is
# then ignored with a note (as viewers do), never a traceback.
_CRAFTED = (ImageCms.PyCMSError, OSError, ValueError, ArithmeticError, struct.error,
            np.linalg.LinAlgError, IndexError, KeyError, TypeError)


def to_srgb(px: np.ndarray, layout: str, icc: bytes | None, info: dict, *,
            grey: bool = False) -> np.ndarray:
    """Colour pixels (L, RGB or CMYK; uint8/uint16) -> (H, W, 3) float32 sRGB in [0, 1].

    With ``grey=True`` grey pixels (layout L) stay ``(H, W)``, unless a profile that
    LittleCMS applies turned them into RGB.
    """
    conversions = info["conversions"]
    profile = _usable_profile(icc, layout, info)
    h, w = px.shape[:2]
    if layout == "CMYK":  # Pillow is 8-bit only here
        cmyk = Image.frombytes("CMYK", (w, h), np.ascontiguousarray(px).tobytes())
        rgb = None
        if profile is not None:
            try:
                rgb = _lcms(cmyk, profile[0])
                conversions.append(f"CMYK -> sRGB (ICC {profile[1]!r}, LittleCMS perceptual)")
            except _CRAFTED as e:
                _ignore_profile(info, f"ICC profile {profile[1]!r} cannot be applied: "
                                      f"{type(e).__name__}: {e}")
        if rgb is None:
            rgb = cmyk.convert("RGB")
            conversions.append("CMYK -> RGB (no usable ICC profile: naive formula)")
        return np.asarray(rgb).astype(np.float32) / 255
    x = px.astype(np.float32)
    x /= np.float32(255 if px.dtype == np.uint8 else 65535)  # in place: one float frame, not two
    if profile is not None:
        cms_profile, desc, shaper = profile
        try:
            with np.errstate(all="ignore"):  # a crafted curve may give NaN: checked below
                if shaper is not None:
                    y = _shaper_to_srgb(x, shaper)
                    how = "matrix/TRC, float32"
                else:
                    src = px if px.dtype == np.uint8 else to_uint8(x)
                    mode = "L" if src.ndim == 2 else "RGB"
                    src_img = Image.frombytes(mode, (w, h), np.ascontiguousarray(src).tobytes())
                    y = np.asarray(_lcms(src_img, cms_profile)).astype(np.float32) / 255
                    how = "LittleCMS perceptual, 8-bit precision"
            if not np.isfinite(y).all():
                raise ValueError("its curves give non-finite values")
        except _CRAFTED as e:
            _ignore_profile(info, f"ICC profile {desc!r} cannot be applied: "
                                  f"{type(e).__name__}: {e}")
        else:
            x = y
            conversions.append(f"ICC {desc!r} -> sRGB ({how})")
    if x.ndim == 2 and not grey:
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
    except _CRAFTED as e:
        return _ignore_profile(info, f"unreadable ICC profile: {e}")
    space = icc[16:20].decode("latin-1").strip()
    expected = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}[layout]
    if space != expected:
        return _ignore_profile(info, f"ICC profile {desc!r} is for {space}, pixels are "
                                     f"{expected}")
    try:
        with np.errstate(all="ignore"):
            shaper = _parse_shaper(icc)
            is_srgb = shaper is not None and _is_srgb(shaper)
    except _CRAFTED as e:  # e.g. a zero in a parametric curve, a table longer than its tag
        return _ignore_profile(info, f"malformed ICC profile {desc!r}: "
                                     f"{type(e).__name__}: {e}")
    if is_srgb:
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
def srgb_icc_bytes() -> bytes:
    # littleCMS stamps the profile with its creation time; zero the date (header bytes 24-35)
    # and the profile ID (84-99, an MD5 that would cover it) so the same pixels always give
    # the same file bytes (batch resume and caches compare files)
    icc = bytearray(_srgb_profile().tobytes())
    icc[24:36] = bytes(12)
    icc[84:100] = bytes(16)
    return bytes(icc)


@functools.cache
def srgb_gray_icc_bytes() -> bytes:
    """A grey ICC profile (v2, display class) with sRGB's tone curve, for grey files.

    A PNG or TIFF with one grey channel may only carry a GRAY profile (an RGB one is ignored
    by readers, ours included). LittleCMS through Pillow makes RGB, Lab and XYZ profiles only,
    so this one is assembled here: ``desc``, ``cprt``, ``wtpt`` (D50) and ``kTRC``, the sRGB
    decoding curve as a 1024-entry table. Fixed bytes (no date, no ID): the same pixels always
    give the same file.
    """
    def s15(v: float) -> bytes:
        return struct.pack(">i", int(round(v * 65536)))

    text = b"sRGB gray (seamline)"
    desc = (b"desc" + bytes(4) + struct.pack(">I", len(text) + 1) + text + b"\0"
            + bytes(8) + bytes(3) + bytes(67))  # no Unicode, no ScriptCode strings
    cprt = b"text" + bytes(4) + b"No copyright, use freely\0"
    d50 = (0.9642, 1.0, 0.8249)
    wtpt = b"XYZ " + bytes(4) + b"".join(s15(v) for v in d50)
    grid = np.linspace(0, 1, 1024)
    table = np.rint(srgb_decode(grid) * 65535).astype(">u2").tobytes()
    ktrc = b"curv" + bytes(4) + struct.pack(">I", 1024) + table
    tags = [(b"desc", desc), (b"cprt", cprt), (b"wtpt", wtpt), (b"kTRC", ktrc)]
    offset = 128 + 4 + 12 * len(tags)
    table_bytes, data = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)  # tag data 4-byte aligned
        table_bytes += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntr" + b"GRAY"
              + b"XYZ " + bytes(12) + b"acsp" + bytes(4) + bytes(4) + bytes(4) + bytes(4)
              + bytes(8) + struct.pack(">I", 0) + b"".join(s15(v) for v in d50) + bytes(4)
              + bytes(16) + bytes(28))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table_bytes + data


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
    return _parse_shaper(srgb_icc_bytes())


def _is_srgb(shaper: _Shaper) -> bool:
    """True when the profile describes sRGB closely enough that converting changes nothing."""
    x = np.linspace(0, 1, 256, dtype=np.float32)
    if not all(np.abs(curve(x) - srgb_decode(x)).max() < 1e-3 for curve in shaper.curves):
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
    return srgb_encode(np.clip(lin, 0, 1)).astype(np.float32)


