"""seamline.io: format conversion and colour-managed file I/O, on real photos."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps
from skimage import data

from seamline import io as imageio
import seamline.io.read  # noqa: F401  (imageio.read: monkeypatched below)
import seamline.io.write  # noqa: F401
from seamline.errors import InputError
from seamline.io import (DEFAULT_MAX_PIXELS, SUPPORTED_EXTENSIONS, ImageFile, as_image,
                              as_mask, check_output_path, file_sha256, load_image, load_mask,
                              read_image, save_image, to_uint8, to_uint16, write_image)

# A warning from Pillow/OpenCV reaching the caller is a failure.
pytestmark = pytest.mark.filterwarnings("error")

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# D50-adapted colorants (ICC PCS) of sRGB and of Adobe RGB (1998).
SRGB_D50 = np.array([[0.4361, 0.3851, 0.1431], [0.2225, 0.7169, 0.0606],
                     [0.0139, 0.0971, 0.7141]])
ADOBE_D50 = np.array([[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632],
                      [0.0195, 0.0609, 0.7446]])


# ------------------------------------------------------------------------------ helpers
def srgb_encode(lin):
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def _s15(*values) -> bytes:
    return struct.pack(f">{len(values)}i", *(round(v * 65536) for v in values))


def _desc(text: str) -> bytes:
    ascii_ = text.encode() + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_
            + struct.pack(">IIHB", 0, 0, 0, 0) + b"\0" * 67)


def make_icc(tags: dict[bytes, bytes], *, space: bytes = b"RGB ") -> bytes:
    """A minimal ICC v2 display profile: the given tags plus white point and copyright."""
    tags = {b"wtpt": b"XYZ \0\0\0\0" + _s15(0.9642, 1.0, 0.8249),
            b"cprt": b"text\0\0\0\0no copyright\0", **tags}
    table, blob = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for sig, body in tags.items():
        body += b"\0" * (-len(body) % 4)
        table += struct.pack(">4sII", sig, offset + len(blob), len(body))
        blob += body
    size = offset + len(blob)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + space + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642, 1.0, 0.8249)
              + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + blob


def matrix_trc_icc(colorants: np.ndarray, gamma: float, desc: str) -> bytes:
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))
    tags = {b"desc": _desc(desc)}
    for i, c in enumerate((b"r", b"g", b"b")):
        tags[c + b"XYZ"] = b"XYZ \0\0\0\0" + _s15(*colorants[:, i])
        tags[c + b"TRC"] = curve
    return make_icc(tags)


def gray_icc(gamma: float, desc: str) -> bytes:
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))
    return make_icc({b"desc": _desc(desc), b"kTRC": curve}, space=b"GRAY")


def lut_icc(corner_xyz, *, inputs: int, space: bytes, desc: str) -> bytes:
    """A LUT-based profile (A2B0 lut16, 2-point grid): not matrix/TRC, LittleCMS's job.

    Multilinear interpolation of the corners is exact for a multilinear ``corner_xyz``.
    """
    clut = []
    for corner in itertools.product((0, 1), repeat=inputs):  # first channel slowest
        clut += [min(65535, round(v * 32768)) for v in corner_xyz(*corner)]  # 1.0 = 0x8000
    identity = _s15(1, 0, 0, 0, 1, 0, 0, 0, 1)
    ramp = struct.pack(">2H", 0, 65535)
    lut = (b"mft2\0\0\0\0" + struct.pack(">BBBB", inputs, 3, 2, 0) + identity
           + struct.pack(">HH", 2, 2) + ramp * inputs + struct.pack(f">{len(clut)}H", *clut)
           + ramp * 3)
    return make_icc({b"desc": _desc(desc), b"A2B0": lut}, space=space)


def lut_linear_srgb_icc(desc: str) -> bytes:
    """Linear-light sRGB as a LUT profile."""
    return lut_icc(lambda r, g, b: SRGB_D50 @ np.array([r, g, b]), inputs=3, space=b"RGB ",
                   desc=desc)


def lut_cmyk_icc(desc: str) -> bytes:
    """CMYK where linear-light RGB = (1 - C)(1 - K), (1 - M)(1 - K), (1 - Y)(1 - K)."""
    return lut_icc(lambda c, m, y, k: SRGB_D50 @ ((1 - np.array([c, m, y])) * (1 - k)),
                   inputs=4, space=b"CMYK", desc=desc)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(arr: np.ndarray, *, color_type: int, icc: bytes | None = None,
              size: tuple[int, int] | None = None) -> bytes:
    """A PNG written by hand (16-bit LA, custom profiles, headers that lie about size)."""
    depth = 16 if arr.dtype == np.uint16 else 8
    h, w = arr.shape[:2]
    if size is not None:
        w, h = size
    rows = arr.astype(">u2" if depth == 16 else np.uint8).reshape(arr.shape[0], -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth,
                                                              color_type, 0, 0, 0))
    if icc is not None:
        out += _chunk(b"iCCP", b"test\0\0" + zlib.compress(icc))
    return out + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def rng_u16(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def icc_description(path) -> str:
    with Image.open(path) as im:
        icc = im.info.get("icc_profile")
    if icc is None:  # 16-bit TIFF: Pillow may not open it; the tag is standard
        with tifffile.TiffFile(path) as tif:
            icc = tif.pages[0].tags.valueof(34675)
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


def expect_input_error(path, func=read_image, *, prefix="", **kwargs) -> str:
    """Call func(path); it must raise a one-line InputError starting with prefix + path and
    leave the directory as it was."""
    before = sorted(os.listdir(os.path.dirname(path))) if os.path.isdir(
        os.path.dirname(path)) else None
    with pytest.raises(InputError) as err:
        func(path, **kwargs)
    msg = str(err.value)
    assert msg.startswith(f"{prefix}{path}"), msg
    assert "\n" not in msg
    if before is not None:
        assert sorted(os.listdir(os.path.dirname(path))) == before
    return msg


# ----------------------------------------------------------------------- exact round trips
@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff", ".webp"])
@pytest.mark.parametrize("photo", ["astronaut", "chelsea", "camera"])
def test_8bit_round_trip_is_exact(tmp_path, ext, photo):
    pixels = getattr(data, photo)()
    path = write_image(tmp_path / f"p{ext}", pixels, quality=100)  # webp: lossless
    f = read_image(path)
    assert f.image.dtype == np.float32 and f.image.shape[:2] == pixels.shape[:2]
    assert f.bit_depth == 8 and f.alpha is None
    expected = pixels if pixels.ndim == 3 else np.dstack([pixels] * 3)
    np.testing.assert_array_equal(to_uint8(f.image), expected)
    # what we read back writes back identically
    write_image(tmp_path / f"q{ext}", f.image, quality=100)
    np.testing.assert_array_equal(to_uint8(load_image(tmp_path / f"q{ext}")), expected)


def test_8bit_external_png_is_exact(tmp_path):
    pixels = data.coffee()
    Image.fromarray(pixels).save(tmp_path / "c.png")  # no profile, written by Pillow
    f = read_image(tmp_path / "c.png")
    np.testing.assert_array_equal(to_uint8(f.image), pixels)
    assert f.info["icc"] == "none, assumed sRGB"


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_round_trip_keeps_unedited_pixels_bit_identical(tmp_path, ext):
    pixels = rng_u16((96, 128, 3))
    alpha = rng_u16((96, 128), seed=1)
    src = write_image(tmp_path / f"in{ext}", pixels, alpha=alpha, bit_depth=16)
    f = read_image(src)
    assert f.bit_depth == 16 and f.alpha.dtype == np.uint16
    np.testing.assert_array_equal(to_uint16(f.image), pixels)
    np.testing.assert_array_equal(f.alpha, alpha)
    edited = f.image.copy()
    edited[20:40, 30:60] = 0.5  # an "edit"
    out = write_image(tmp_path / f"out{ext}", edited, alpha=f.alpha, bit_depth=f.bit_depth)
    g = read_image(out)
    back = to_uint16(g.image)
    outside = np.ones(pixels.shape[:2], bool)
    outside[20:40, 30:60] = False
    np.testing.assert_array_equal(back[outside], pixels[outside])
    assert (back[20:40, 30:60] == 32768).all()
    np.testing.assert_array_equal(g.alpha, alpha)


def test_16bit_png_from_opencv_keeps_16_bit_precision(tmp_path):
    pixels = rng_u16((40, 50, 3))
    assert (pixels % 257 != 0).any()
    cv2.imwrite(str(tmp_path / "cv.png"), pixels[..., ::-1])  # OpenCV writes BGR
    f = read_image(tmp_path / "cv.png")
    assert f.bit_depth == 16 and f.info["mode"] == "RGB;16"
    np.testing.assert_array_equal(to_uint16(f.image), pixels)


def test_16bit_tiff_from_tifffile_contiguous_and_planar(tmp_path):
    pixels = rng_u16((30, 40, 3))
    tifffile.imwrite(tmp_path / "c.tif", pixels, photometric="rgb")
    tifffile.imwrite(tmp_path / "p.tif", np.moveaxis(pixels, -1, 0), photometric="rgb",
                     planarconfig="separate")
    for name in ("c.tif", "p.tif"):
        f = read_image(tmp_path / name)
        assert f.bit_depth == 16
        np.testing.assert_array_equal(to_uint16(f.image), pixels)


def test_16bit_lzw_tiff_and_tiff_orientation(tmp_path):
    pixels = rng_u16((30, 40, 3))
    cv2.imwrite(str(tmp_path / "lzw.tif"), pixels[..., ::-1])  # OpenCV: LZW by default
    with tifffile.TiffFile(tmp_path / "lzw.tif") as tif:
        assert tif.pages[0].compression.name == "LZW"
    np.testing.assert_array_equal(to_uint16(load_image(tmp_path / "lzw.tif")), pixels)
    tifffile.imwrite(tmp_path / "o.tif", pixels, photometric="rgb",
                     extratags=[(274, "H", 1, 6, True)])
    f = read_image(tmp_path / "o.tif")
    assert f.info["exif_orientation"] == 6
    np.testing.assert_array_equal(to_uint16(f.image), np.rot90(pixels, -1))


def test_16bit_gray_png_and_tiff(tmp_path):
    gray = rng_u16((30, 40))
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    tifffile.imwrite(tmp_path / "g.tif", gray)
    for name in ("g.png", "g.tif"):
        f = read_image(tmp_path / name)
        assert f.bit_depth == 16 and "grayscale -> RGB" in f.info["conversions"]
        np.testing.assert_array_equal(to_uint16(f.image), np.dstack([gray] * 3))


def test_16bit_gray_alpha_png_and_tiff(tmp_path):
    la = rng_u16((20, 30, 2))
    (tmp_path / "la.png").write_bytes(png_bytes(la, color_type=4))
    tifffile.imwrite(tmp_path / "la.tif", la, photometric="minisblack",
                     extrasamples=["unassalpha"])
    for name in ("la.png", "la.tif"):
        f = read_image(tmp_path / name)
        assert f.bit_depth == 16 and f.info["mode"] == "LA;16"
        np.testing.assert_array_equal(to_uint16(f.image), np.dstack([la[..., 0]] * 3))
        np.testing.assert_array_equal(f.alpha, la[..., 1])


# ------------------------------------------------------------------------- lossy formats
def test_jpeg_loads_close_to_source(tmp_path):
    pixels = data.coffee()
    Image.fromarray(pixels).save(tmp_path / "c.jpg", quality=95)
    f = read_image(tmp_path / "c.jpg")
    assert f.info["format"] == "JPEG" and f.bit_depth == 8
    assert f.image.shape == pixels.shape and f.image.dtype == np.float32
    assert 0.0 <= f.image.min() and f.image.max() <= 1.0
    assert np.abs(f.image - pixels / 255).mean() < 0.01


def test_jpeg_and_webp_written_close_to_source(tmp_path):
    pixels = data.astronaut()
    for name in ("a.jpg", "a.jpeg", "a.webp"):
        back = load_image(save_image(tmp_path / name, pixels, quality=92))
        assert np.abs(back - pixels / 255).mean() < 0.02, name


def test_webp_with_alpha(tmp_path):
    pixels = data.chelsea()
    alpha = np.zeros(pixels.shape[:2], np.uint8)
    alpha[50:200, 100:300] = 255
    alpha[60:70] = 128
    path = write_image(tmp_path / "a.webp", pixels, alpha=alpha, quality=100)
    f = read_image(path)
    np.testing.assert_array_equal(f.alpha, alpha)
    np.testing.assert_array_equal(to_uint8(f.image), pixels)  # exact: colour under alpha 0 too
    lossy = read_image(write_image(tmp_path / "b.webp", pixels, alpha=alpha, quality=80))
    assert np.abs(lossy.alpha.astype(int) - alpha).max() <= 2


# ----------------------------------------------------------------------------- alpha
@pytest.mark.parametrize("ext", [".png", ".tif", ".webp"])
def test_8bit_alpha_carried_exactly(tmp_path, ext):
    pixels = data.astronaut()
    alpha = data.camera()[:512, :512]
    f = read_image(write_image(tmp_path / f"a{ext}", pixels, alpha=alpha, quality=100))
    assert f.alpha.dtype == np.uint8
    np.testing.assert_array_equal(f.alpha, alpha)
    np.testing.assert_array_equal(to_uint8(f.image), pixels)


def test_alpha_depth_conversion_and_float_alpha(tmp_path):
    pixels = data.astronaut()[:64, :64]
    a8 = np.arange(64 * 64, dtype=np.uint32).reshape(64, 64).astype(np.uint8)
    f = read_image(write_image(tmp_path / "a.png", pixels, alpha=a8, bit_depth=16))
    np.testing.assert_array_equal(f.alpha, a8.astype(np.uint16) * 257)
    g = read_image(write_image(tmp_path / "b.png", pixels, alpha=f.alpha, bit_depth=8))
    np.testing.assert_array_equal(g.alpha, a8)
    h = read_image(write_image(tmp_path / "c.png", pixels, alpha=a8 / 255))
    np.testing.assert_array_equal(h.alpha, a8)


def test_jpeg_cannot_carry_alpha(tmp_path):
    path = tmp_path / "a.jpg"
    msg = expect_input_error(path, lambda p: write_image(p, data.astronaut(),
                                                         alpha=np.zeros((512, 512), np.uint8)))
    assert "JPEG cannot store alpha" in msg and ".png" in msg and not path.exists()


def test_alpha_shape_mismatch(tmp_path):
    with pytest.raises(InputError, match="alpha: shape"):
        write_image(tmp_path / "a.png", data.astronaut(), alpha=np.zeros((5, 5), np.uint8))
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- orientation
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    pixels = data.chelsea()[:200, :300]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    f = read_image(path)
    assert f.info["exif_orientation"] == orientation
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(to_uint8(f.image), expected)


def test_exif_orientation_6_rotates_clockwise_with_alpha(tmp_path):
    pixels = data.astronaut()[:100, :160]
    alpha = np.zeros((100, 160), np.uint8)
    alpha[0, 0] = 255  # stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(np.dstack([pixels, alpha])).save(tmp_path / "o.png", exif=exif)
    f = read_image(tmp_path / "o.png")
    assert f.image.shape == (160, 100, 3)
    np.testing.assert_array_equal(to_uint8(f.image), np.rot90(pixels, -1))
    assert f.alpha[0, -1] == 255 and f.alpha.sum() == 255  # top-left went to top-right
    # masks are oriented the same way
    m = load_mask(tmp_path / "o.png")
    assert m.shape == (160, 100)


# --------------------------------------------------------------------------------- ICC
def test_linear_gamma_profile_is_converted_brighter(tmp_path):
    icc = matrix_trc_icc(SRGB_D50, 1.0, "Linear sRGB test")
    pixels = data.coffee()
    Image.fromarray(pixels).save(tmp_path / "lin.png", icc_profile=icc)
    f = read_image(tmp_path / "lin.png")
    assert f.info["icc"] == "converted from Linear sRGB test"
    assert any("Linear sRGB test" in c for c in f.info["conversions"])
    # linear light shown as sRGB: brighter, and exactly the sRGB curve of the raw values
    # (the tolerance covers the test colorants differing from LittleCMS's sRGB in the 4th digit)
    assert (f.image >= pixels / 255 - 3e-3).all() and f.image.mean() > pixels.mean() / 255 + 0.1
    np.testing.assert_allclose(f.image, srgb_encode(pixels / 255), atol=2e-3)
    # and what LittleCMS does with the same profile
    with Image.open(tmp_path / "lin.png") as im:
        lcms = np.asarray(ImageCms.profileToProfile(
            im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
            outputMode="RGB"))
    assert np.abs(to_uint8(f.image).astype(int) - lcms).max() <= 2


def test_wide_gamut_profile_gets_more_saturated(tmp_path):
    icc = matrix_trc_icc(ADOBE_D50, 563 / 256, "Wide RGB test")
    raw = np.array([[[100, 150, 100], [0, 255, 0], [128, 128, 128], [200, 80, 40]]], np.uint8)
    raw = np.repeat(raw, 4, axis=0)
    Image.fromarray(raw).save(tmp_path / "wide.png", icc_profile=icc)
    f = read_image(tmp_path / "wide.png")
    got = f.image[0]
    lin = (raw[0] / 255) ** (563 / 256)
    expected = srgb_encode(lin @ np.linalg.solve(SRGB_D50, ADOBE_D50).T)
    np.testing.assert_allclose(got, expected, atol=3e-3)
    # the same numbers mean a more saturated colour in the wider space
    assert got[0, 1] - got[0, 0] > (150 - 100) / 255
    np.testing.assert_allclose(got[1], [0, 1, 0], atol=1e-6)  # pure green: out of gamut, clipped
    np.testing.assert_allclose(got[2], got[2].mean(), atol=2e-3)  # gray stays gray
    assert got[3, 0] - got[3, 2] > (200 - 40) / 255
    with Image.open(tmp_path / "wide.png") as im:
        lcms = np.asarray(ImageCms.profileToProfile(
            im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
            outputMode="RGB"))
    assert np.abs(to_uint8(f.image).astype(int) - lcms).max() <= 2


def test_16bit_icc_conversion_keeps_16_bit_precision(tmp_path):
    icc = matrix_trc_icc(SRGB_D50, 1.0, "Linear sRGB test")
    ramp = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    neutral = np.dstack([ramp] * 3)
    colourful = np.dstack([ramp, ramp[::-1], ramp.T])
    tifffile.imwrite(tmp_path / "lin16.tif", neutral, photometric="rgb", iccprofile=icc)
    (tmp_path / "lin16.png").write_bytes(png_bytes(neutral, color_type=2, icc=icc))
    (tmp_path / "col16.png").write_bytes(png_bytes(colourful, color_type=2, icc=icc))
    for name in ("lin16.tif", "lin16.png"):
        f = read_image(tmp_path / name)
        assert f.bit_depth == 16 and f.info["icc"] == "converted from Linear sRGB test"
        np.testing.assert_allclose(f.image, srgb_encode(neutral / 65535), atol=2e-4)
        values = f.image[..., 1].ravel()
        assert (np.diff(values) >= 0).all()  # a smooth ramp stays monotonic
        assert len(np.unique(to_uint16(values))) > 30000  # not 8-bit steps
    g = read_image(tmp_path / "col16.png")
    np.testing.assert_allclose(g.image, srgb_encode(colourful / 65535), atol=2e-3)


def test_gray_profile(tmp_path):
    gray = data.camera()
    Image.fromarray(gray).save(tmp_path / "g.png", icc_profile=gray_icc(1.0, "Gray linear"))
    f = read_image(tmp_path / "g.png")
    assert f.info["icc"] == "converted from Gray linear"
    np.testing.assert_allclose(f.image[..., 1], srgb_encode(gray / 255), atol=2e-3)


def test_lut_based_profile_goes_through_littlecms(tmp_path):
    icc = lut_linear_srgb_icc("LUT linear test")
    pixels = data.astronaut()[::4, ::4]
    Image.fromarray(pixels).save(tmp_path / "lut.png", icc_profile=icc)
    f = read_image(tmp_path / "lut.png")
    assert any("LittleCMS" in c for c in f.info["conversions"])
    assert np.abs(f.image - srgb_encode(pixels / 255)).max() < 0.02
    tifffile.imwrite(tmp_path / "lut16.tif", pixels.astype(np.uint16) * 257, photometric="rgb",
                     iccprofile=icc)
    g = read_image(tmp_path / "lut16.tif")
    assert any("8-bit precision" in c for c in g.info["conversions"])
    assert np.abs(g.image - f.image).max() <= 1 / 255 + 1e-6


def test_unusable_profile_is_ignored_and_reported(tmp_path):
    pixels = data.coffee()[:50, :50]
    Image.fromarray(pixels).save(tmp_path / "junk.png", icc_profile=b"not a profile" * 20)
    Image.fromarray(pixels).save(tmp_path / "gray.png", icc_profile=gray_icc(1.0, "Gray"))
    for name in ("junk.png", "gray.png"):
        f = read_image(tmp_path / name)
        assert f.info["icc"].startswith("ignored")
        assert f.info["warnings"]
        np.testing.assert_array_equal(to_uint8(f.image), pixels)



def _crafted_profiles() -> dict[str, bytes]:
    """Profiles LittleCMS accepts but whose curves/matrix break a naive evaluator (issue 11)."""
    para1_a0 = b"para\0\0\0\0" + struct.pack(">H2x", 1) + _s15(2.2, 0.0, 0.5)  # d = -b/a
    para2_a0 = b"para\0\0\0\0" + struct.pack(">H2x", 2) + _s15(2.2, 0.0, 0.5, 0.1)
    long_table = b"curv\0\0\0\0" + struct.pack(">I", 100_000) + b"\0\x10" * 4  # n > data
    neg_gamma = b"para\0\0\0\0" + struct.pack(">H2x", 0) + _s15(-3.0)  # 0 ** -3 = inf
    good_curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563)
    out = {}
    for name, curve in (("para1", para1_a0), ("para2", para2_a0), ("table", long_table),
                        ("neg_gamma", neg_gamma)):
        tags = {b"desc": _desc(name)}
        for i, c in enumerate((b"r", b"g", b"b")):
            tags[c + b"XYZ"] = b"XYZ \0\0\0\0" + _s15(*ADOBE_D50[:, i])
            tags[c + b"TRC"] = curve
        out[name] = make_icc(tags)
    singular = {b"desc": _desc("singular")}
    for c in (b"r", b"g", b"b"):
        singular[c + b"XYZ"] = b"XYZ \0\0\0\0" + _s15(0.3, 0.3, 0.3)  # three equal columns
        singular[c + b"TRC"] = good_curve
    out["singular"] = make_icc(singular)
    out["truncated"] = make_icc({b"desc": _desc("cut"), b"rTRC": good_curve})[:150]
    return out


@pytest.mark.parametrize("name", ["para1", "para2", "table", "neg_gamma", "singular",
                                  "truncated"])
@pytest.mark.parametrize("depth", [8, 16])
def test_crafted_icc_profile_is_ignored_with_a_note_never_a_traceback(tmp_path, name, depth):
    pixels = data.coffee()[:40, :40]
    icc = _crafted_profiles()[name]
    path = tmp_path / f"{name}.png"
    if depth == 8:
        Image.fromarray(pixels).save(path, icc_profile=icc)
    else:
        path.write_bytes(png_bytes(pixels.astype(np.uint16) * 257, color_type=2, icc=icc))
    f = read_image(path)  # no ValueError / ZeroDivisionError / LinAlgError / RuntimeWarning
    assert np.isfinite(f.image).all() and f.image.min() >= 0 and f.image.max() <= 1
    if f.info["icc"].startswith("ignored"):
        assert f.info["warnings"] and f.info["icc"] in f.info["warnings"]
        np.testing.assert_array_equal(to_uint8(f.image), pixels)
    else:  # a profile LittleCMS can still apply sensibly is applied
        assert f.info["icc"].startswith("converted from")

@pytest.mark.parametrize("ext,depth", [(".png", 8), (".png", 16), (".jpg", 8), (".webp", 8),
                                       (".tif", 8), (".tif", 16)])
def test_written_files_carry_srgb_profile(tmp_path, ext, depth):
    path = write_image(tmp_path / f"a{ext}", data.coffee(), bit_depth=depth)
    assert icc_description(path) == "sRGB built-in"
    assert read_image(path).info["icc"].startswith("sRGB")


def test_srgb_profile_from_other_software_is_not_applied(tmp_path):
    # A table-based sRGB profile (as cameras embed): same curves, so no conversion.
    x = np.linspace(0, 1, 1024)
    table = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    curve = b"curv\0\0\0\0" + struct.pack(f">I{x.size}H", x.size,
                                          *np.rint(table * 65535).astype(int))
    tags = {b"desc": _desc("sRGB IEC61966-2.1")}
    for i, c in enumerate((b"r", b"g", b"b")):
        tags[c + b"XYZ"] = b"XYZ \0\0\0\0" + _s15(*SRGB_D50[:, i])
        tags[c + b"TRC"] = curve
    pixels = data.astronaut()
    Image.fromarray(pixels).save(tmp_path / "s.png", icc_profile=make_icc(tags))
    f = read_image(tmp_path / "s.png")
    assert f.info["icc"] == "sRGB (sRGB IEC61966-2.1), not converted"
    np.testing.assert_array_equal(to_uint8(f.image), pixels)


# ------------------------------------------------------------------------------- modes
def test_grayscale_and_gray_alpha(tmp_path):
    gray = data.camera()
    Image.fromarray(gray).save(tmp_path / "l.png")
    f = read_image(tmp_path / "l.png")
    assert f.info["mode"] == "L" and f.info["conversions"] == ["grayscale -> RGB"]
    np.testing.assert_array_equal(to_uint8(f.image), np.dstack([gray] * 3))
    alpha = gray[::-1].copy()
    Image.fromarray(np.dstack([gray, alpha])).save(tmp_path / "la.png")
    g = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(g.alpha, alpha)
    np.testing.assert_array_equal(to_uint8(g.image)[..., 2], gray)


def test_palette_with_and_without_transparency(tmp_path):
    pal = Image.fromarray(data.chelsea()).convert("P", palette=Image.Palette.ADAPTIVE)
    pal.save(tmp_path / "p.png")
    f = read_image(tmp_path / "p.png")
    assert f.info["mode"] == "P" and "palette -> RGB" in f.info["conversions"]
    assert f.alpha is None
    np.testing.assert_array_equal(to_uint8(f.image), np.asarray(pal.convert("RGB")))
    for name in ("t.png", "t.gif"):
        pal.save(tmp_path / name, transparency=0)
        g = read_image(tmp_path / name)
        assert "palette transparency -> alpha" in g.info["conversions"]
        np.testing.assert_array_equal(g.alpha == 0, np.asarray(pal) == 0)
        assert set(np.unique(g.alpha)) <= {0, 255}


def test_transparency_key_becomes_alpha(tmp_path):
    rgb = data.astronaut()[:64, :64].copy()
    rgb[:8] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "k.png", transparency=(1, 2, 3))
    f = read_image(tmp_path / "k.png")
    assert "transparency key -> alpha" in f.info["conversions"]
    assert (f.alpha[:8] == 0).all() and f.alpha.mean() > 200


def test_one_bit(tmp_path):
    bits = data.camera() > 128
    Image.fromarray(bits).save(tmp_path / "b.png")
    f = read_image(tmp_path / "b.png")
    assert f.info["mode"] == "1" and f.info["conversions"][0] == "1-bit -> grayscale"
    np.testing.assert_array_equal(f.image[..., 0], bits.astype(np.float32))


def test_cmyk_jpeg_and_tiff(tmp_path):
    pixels = data.coffee()
    cmyk = Image.fromarray(pixels).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    cmyk.save(tmp_path / "c.tif")
    for name in ("c.jpg", "c.tif"):
        f = read_image(tmp_path / name)
        assert f.info["mode"] == "CMYK"
        assert any(c.startswith("CMYK -> RGB") for c in f.info["conversions"])
        assert np.abs(f.image - pixels / 255).mean() < 0.02


def test_cmyk_with_profile_goes_through_littlecms(tmp_path):
    pixels = data.coffee()
    cmyk = Image.fromarray(pixels).convert("CMYK")  # C = 255 - R, ..., K = 0
    icc = lut_cmyk_icc("CMYK LUT test")
    cmyk.save(tmp_path / "c.tif", icc_profile=icc)
    cmyk.save(tmp_path / "c.jpg", icc_profile=icc, quality=95)
    for name in ("c.tif", "c.jpg"):
        f = read_image(tmp_path / name)
        assert f.info["icc"] == "converted from CMYK LUT test"
        assert f.info["conversions"] == ["CMYK -> sRGB (ICC 'CMYK LUT test', LittleCMS "
                                         "perceptual)"]
        # LittleCMS's 8-bit device link is coarse in the shadows; the direction is what counts
        assert np.abs(f.image - srgb_encode(pixels / 255)).mean() < 0.015, name
        with Image.open(tmp_path / name) as im:
            lcms = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                             ImageCms.createProfile("sRGB"), outputMode="RGB")
        np.testing.assert_array_equal(to_uint8(f.image), np.asarray(lcms))


def test_info_is_json_serialisable(tmp_path):
    path = write_image(tmp_path / "a.png", data.astronaut(), alpha=data.camera()[:512, :512])
    f = read_image(path)
    assert isinstance(f, ImageFile) and f.path == path
    assert set(f.info) >= {"format", "mode", "icc", "exif_orientation", "conversions",
                           "warnings"}
    json.dumps(f.info)


# --------------------------------------------------------------------------- bad input
def test_missing_directory_and_empty_files(tmp_path):
    assert "no such file" in expect_input_error(tmp_path / "nope.png")
    assert "directory" in expect_input_error(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in expect_input_error(tmp_path / "empty.png")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("this is text, not a picture\n" * 20)
    msg = expect_input_error(tmp_path / "notes.png")
    assert msg == f"{tmp_path / 'notes.png'}: not a readable image (no image decoder " \
                  f"recognises it; readable: every still-image format Pillow reads)"
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(5000))
    expect_input_error(tmp_path / "noise.jpg")
    expect_input_error(tmp_path / "notes.png", func=load_mask)


@pytest.mark.parametrize("ext,depth", [(".png", 8), (".jpg", 8), (".webp", 8), (".tif", 8),
                                       (".png", 16), (".tif", 16)])
def test_truncated_files(tmp_path, ext, depth):
    good = write_image(tmp_path / f"good{ext}", data.astronaut(), bit_depth=depth)
    blob = good.read_bytes()
    bad = tmp_path / f"bad{ext}"
    bad.write_bytes(blob[:len(blob) // 2])
    assert "not a readable image" in expect_input_error(bad)


def test_unsupported_modes(tmp_path):
    Image.fromarray(np.full((8, 8), -1.5, np.float32)).save(tmp_path / "f.tif")
    msg = expect_input_error(tmp_path / "f.tif")
    assert "32-bit float samples with values from -1.5 to -1.5: measurement data" in msg
    tifffile.imwrite(tmp_path / "f3.tif", np.zeros((8, 8, 3), np.float32), photometric="rgb")
    assert "unsupported TIFF" in expect_input_error(tmp_path / "f3.tif")


@pytest.mark.skipif(ROOT, reason="root reads files regardless of permissions")
def test_unreadable_permissions(tmp_path):
    path = write_image(tmp_path / "a.png", data.coffee())
    path.chmod(0)
    try:
        assert "cannot open" in expect_input_error(path)
    finally:
        path.chmod(0o644)


def test_permission_error_when_opening(tmp_path, monkeypatch):
    path = write_image(tmp_path / "a.png", data.coffee())

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.read, "open", denied, raising=False)  # shadows the builtin
    assert "Permission denied" in expect_input_error(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    import PIL.ImageFile

    path = write_image(tmp_path / "a.png", data.astronaut())

    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    msg = expect_input_error(path, max_pixels=1000)
    assert "512x512 = 262,144 pixels" in msg and "1,000" in msg
    assert "max_pixels=N" in msg and "SEAMLINE_MAX_PIXELS" in msg  # the CLI shows --max-pixels


def test_decompression_bomb_header_larger_than_pillows_own_limit(tmp_path):
    # A 100000 x 100000 PNG header with almost no data: Pillow itself refuses it before
    # saying how big it is; the message must still be ours.
    blob = png_bytes(np.zeros((1, 1), np.uint8), color_type=0, size=(100_000, 100_000))
    (tmp_path / "bomb.png").write_bytes(blob)
    msg = expect_input_error(tmp_path / "bomb.png")
    assert "100000x100000 = 10,000,000,000 pixels" in msg and f"{DEFAULT_MAX_PIXELS:,}" in msg
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's guard restored


def test_decompression_bomb_deep_tiff_and_env_override(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "t.tif", rng_u16((100, 100, 3)), photometric="rgb")
    assert "10,000 pixels" in expect_input_error(tmp_path / "t.tif", max_pixels=9999)
    monkeypatch.setenv("SEAMLINE_MAX_PIXELS", "9999")
    assert "limit of 9,999" in expect_input_error(tmp_path / "t.tif")
    monkeypatch.setenv("SEAMLINE_MAX_PIXELS", "10_000")
    assert read_image(tmp_path / "t.tif").image.shape == (100, 100, 3)
    monkeypatch.setenv("SEAMLINE_MAX_PIXELS", "lots")
    with pytest.raises(InputError, match="SEAMLINE_MAX_PIXELS: expected a positive integer"):
        read_image(tmp_path / "t.tif")
    with pytest.raises(InputError, match="max_pixels: expected a positive integer, got -5"):
        read_image(tmp_path / "t.tif", max_pixels=-5)


# ----------------------------------------------------------------------- atomic writing
@pytest.mark.parametrize("name,encoder", [("out.png", "_save_pillow"), ("out.tif", "_encode")])
def test_failed_encoding_leaves_existing_file_untouched(tmp_path, monkeypatch, name, encoder):
    # Pillow's formats encode into the temporary file (_save_pillow), the others into memory
    path = write_image(tmp_path / name, data.coffee())
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(imageio.write, encoder, broken)
    with pytest.raises(RuntimeError):
        write_image(path, data.astronaut())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = write_image(tmp_path / "out.tif", data.coffee())
    before = path.read_bytes()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    msg = expect_input_error(path, lambda p: write_image(p, data.astronaut()))
    assert "No space left on device" in msg
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]
    monkeypatch.undo()

    def io_error(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", io_error)
    expect_input_error(tmp_path / "new.png", lambda p: write_image(p, data.coffee()))
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_written_file_has_normal_permissions(tmp_path):
    path = write_image(tmp_path / "a.png", data.coffee())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_argument_errors(tmp_path):
    img = data.coffee()
    msg = expect_input_error(tmp_path / "a.bmp", lambda p: write_image(p, img),
                             prefix="output ")
    assert all(ext in msg for ext in SUPPORTED_EXTENSIONS)
    with pytest.raises(InputError, match=r"\.jpg stores 8 bits per channel"):
        write_image(tmp_path / "a.jpg", img, bit_depth=16)
    with pytest.raises(InputError, match="bit_depth: must be 8 or 16, got 12"):
        write_image(tmp_path / "a.png", img, bit_depth=12)
    with pytest.raises(InputError, match="quality: must be an integer from 1 to 100, got 0"):
        write_image(tmp_path / "a.jpg", img, quality=0)
    with pytest.raises(InputError, match="image: has 4 channels"):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- output path checks
def test_check_output_path(tmp_path, monkeypatch):
    src = write_image(tmp_path / "in.png", data.coffee())
    assert check_output_path(tmp_path / "out.png", inputs=[src]) == tmp_path / "out.png"
    with pytest.raises(InputError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.png")
    with pytest.raises(InputError, match="unsupported extension '.gif'"):
        check_output_path(tmp_path / "out.gif")
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(tmp_path / "sub" / ".." / "in.png", inputs=[src])
    (tmp_path / "sub").mkdir()
    os.symlink(src, tmp_path / "link.png")
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(tmp_path / "link.png", inputs=[str(src)])
    os.link(src, tmp_path / "hard.png")
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(tmp_path / "hard.png", inputs=[src])
    with pytest.raises(InputError, match=r"^result .*: is a directory"):
        check_output_path(tmp_path / "sub", name="result")
    monkeypatch.setattr(os, "access", lambda *a: False)
    with pytest.raises(InputError, match="is not writable"):
        check_output_path(tmp_path / "out.png")


@pytest.mark.skipif(ROOT, reason="root can write anywhere")
def test_check_output_path_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(InputError, match="is not writable"):
            check_output_path(ro / "out.png")
    finally:
        ro.chmod(0o755)


# ------------------------------------------------------------------------ array conversion
def test_as_image_dtypes_and_shapes():
    u8 = data.astronaut()
    np.testing.assert_array_equal(as_image(u8), u8.astype(np.float32) / 255)
    u16 = rng_u16((4, 5, 3))
    np.testing.assert_array_equal(as_image(u16), u16.astype(np.float32) / 65535)
    gray = as_image(data.camera())
    assert gray.shape == (512, 512, 3) and (gray[..., 0] == gray[..., 2]).all()
    assert as_image(np.ones((4, 5, 1), bool)).shape == (4, 5, 3)
    f64 = np.random.default_rng(0).random((4, 5, 3))
    out = as_image(f64)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    f32 = f64.astype(np.float32)
    assert as_image(f32) is f32  # nothing to convert
    assert as_image(np.float16(0.5) * np.ones((2, 2, 3), np.float16)).dtype == np.float32
    nudged = as_image(np.full((2, 2, 3), 1 + 5e-7))
    assert nudged.max() == 1.0


def test_as_image_errors():
    with pytest.raises(InputError, match=r"photo: has 4 channels .*alpha channel separately"):
        as_image(np.zeros((4, 4, 4), np.uint8), name="photo")
    with pytest.raises(InputError, match=r"got shape \(4, 4, 3, 2\)"):
        as_image(np.zeros((4, 4, 3, 2)))
    with pytest.raises(InputError, match=r"got shape \(10,\)"):
        as_image(np.zeros(10))
    with pytest.raises(InputError, match=r"found min -0.5 max 2"):
        as_image(np.array([[[-0.5, 2.0, 0.3]]]))
    with pytest.raises(InputError, match="NaN"):
        as_image(np.full((2, 2, 3), np.nan))
    with pytest.raises(InputError, match="unsupported dtype int64"):
        as_image(np.zeros((2, 2, 3), np.int64))
    with pytest.raises(InputError, match="empty image"):
        as_image(np.zeros((0, 4, 3)))


def test_as_mask_rules():
    soft = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(as_mask(soft), soft)  # never thresholded
    np.testing.assert_array_equal(as_mask(soft > 0.5), (soft > 0.5).astype(np.float32))
    u8 = (soft * 255).astype(np.uint8)
    np.testing.assert_array_equal(as_mask(u8), u8 / np.float32(255))
    u16 = (soft * 65535).astype(np.uint16)
    np.testing.assert_array_equal(as_mask(u16), u16 / np.float32(65535))
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = u8  # painted in red on black
    np.testing.assert_array_equal(as_mask(rgb), u8 / np.float32(255))
    # constant colour, varying alpha -> alpha
    rgba = np.dstack([np.full((3, 4, 3), 20, np.uint8), u8])
    np.testing.assert_array_equal(as_mask(rgba), u8 / np.float32(255))
    # opaque -> colour
    opaque = np.dstack([np.dstack([u8] * 3), np.full((3, 4), 255, np.uint8)])
    np.testing.assert_array_equal(as_mask(opaque), u8 / np.float32(255))
    # white strokes on a transparent (black) layer -> colour over black
    stroke = np.dstack([np.dstack([u8] * 3), u8])
    np.testing.assert_allclose(as_mask(stroke), (u8 / 255) ** 2, atol=1e-6)
    la = np.dstack([np.zeros((3, 4), np.uint8), u8])
    np.testing.assert_array_equal(as_mask(la), u8 / np.float32(255))


def test_as_mask_errors():
    with pytest.raises(InputError, match="^mask: size 300x200 does not match image size 512x512$"):
        as_mask(np.zeros((200, 300)), shape=(512, 512, 3))
    with pytest.raises(InputError, match=r"got shape \(2, 2, 5\)"):
        as_mask(np.zeros((2, 2, 5)))
    with pytest.raises(InputError, match="found min 0 max 255"):
        as_mask(np.array([[0.0, 255.0]]))


def test_load_mask(tmp_path):
    soft = (np.linspace(0, 1, 64 * 48).reshape(48, 64) * 255).astype(np.uint8)
    Image.fromarray(soft).save(tmp_path / "m.png", icc_profile=gray_icc(1.0, "Gray"))
    m = load_mask(tmp_path / "m.png", shape=(48, 64))
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, soft / np.float32(255))  # data: profile not applied
    cv2.imwrite(str(tmp_path / "m16.png"), soft.astype(np.uint16) * 257)
    np.testing.assert_array_equal(load_mask(tmp_path / "m16.png"), m)
    rgba = np.dstack([np.full((48, 64, 3), 255, np.uint8), soft])
    Image.fromarray(rgba).save(tmp_path / "stroke.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "stroke.png"), m)
    Image.fromarray(soft > 100).save(tmp_path / "bits.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "bits.png"), (soft > 100) * 1.0)
    msg = expect_input_error(tmp_path / "m.png", load_mask, shape=(512, 512))
    assert msg == f"{tmp_path / 'm.png'}: size 64x48 does not match image size 512x512"


def test_to_uint8_and_uint16():
    x = np.array([-0.1, 0, 0.5 / 255, 1.5 / 255, 0.2, 1, 1.2], np.float32)
    np.testing.assert_array_equal(to_uint8(x), [0, 0, 0, 2, 51, 255, 255])  # rint, clipped
    k = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8(k.astype(np.float32) / 255), k)
    np.testing.assert_array_equal(to_uint16(k.astype(np.float32) / 255), k.astype(np.uint16) * 257)
    k16 = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(to_uint16(k16.astype(np.float32) / 65535), k16)
    np.testing.assert_array_equal(to_uint8(k.astype(np.uint16) * 257), k)
    assert to_uint8(k) is k
    with pytest.raises(InputError, match="NaN"):
        to_uint8(np.array([np.nan]))


def test_file_sha256(tmp_path):
    path = write_image(tmp_path / "a.png", data.coffee())
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match="nope.png: cannot read"):
        file_sha256(tmp_path / "nope.png")


def test_reading_a_jpeg_is_fast(tmp_path):
    big = np.asarray(Image.fromarray(data.astronaut()).resize((1024, 768)))
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=90)
    read_image(path)
    best = min(_timed(read_image, path) for _ in range(5))
    assert best < 0.05, f"{best * 1000:.0f} ms"


def _timed(func, *args) -> float:
    """CPU seconds of this process (other jobs on a loaded machine do not count)."""
    t0 = time.process_time()
    func(*args)
    return time.process_time() - t0
