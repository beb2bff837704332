"""Issue 14: read what Pillow reads, and read it right (files made here, small)."""

from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps, features
from skimage import data

from seamline.core.arrays import to_uint8
from seamline.errors import InputError
from seamline.io import load_mask, read_image

pytestmark = pytest.mark.filterwarnings("error")

PHOTO = data.astronaut()[96:160:2, 160:256:2]  # 32 x 48 RGB, real texture
GRAY = data.camera()[200:264:2, 200:296:2]  # 32 x 48


def _pillow_rgb(path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # IM is deprecated in Pillow
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


# ----------------------------------------------------------------------------- 1. formats
LOSSLESS = [("tga", "RGB"), ("ppm", "RGB"), ("pgm", "L"), ("pbm", "1"), ("sgi", "RGB"),
            ("pcx", "RGB"), ("ico", "RGBA"), ("im", "RGB"), ("dds", "RGBA"), ("bmp", "RGB"),
            ("xbm", "1"), ("qoi", "RGBA"), ("j2k", "RGB"), ("jp2", "RGB"), ("icns", "RGBA"),
            ("dib", "RGB"), ("msp", "1")]


@pytest.mark.parametrize("ext,mode", LOSSLESS)
def test_every_pillow_format_is_read(tmp_path, ext, mode):
    src = Image.fromarray(PHOTO).convert(mode)
    if ext == "icns":
        src = src.resize((32, 32))
    path = tmp_path / f"a.{ext}"
    kwargs = {"irreversible": False} if ext in ("j2k", "jp2") else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # IM: deprecated for writing
            src.save(path, **kwargs)
    except (KeyError, OSError, ValueError) as e:
        pytest.skip(f"this Pillow cannot write {ext}: {e}")
    f = read_image(path)
    ref = _pillow_rgb(path)
    assert f.image.shape == ref.shape[:2] + (3,) and f.image.dtype == np.float32
    np.testing.assert_array_equal(to_uint8(f.image), ref)  # exactly what Pillow decodes
    if mode == "RGBA":
        assert f.alpha is not None and f.alpha.dtype == np.uint8


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_avif_is_read(tmp_path):
    Image.fromarray(PHOTO).save(tmp_path / "a.avif", quality=90)
    f = read_image(tmp_path / "a.avif")
    assert f.info["format"] == "AVIF" and f.image.shape == (32, 48, 3)
    assert np.abs(f.image * 255 - PHOTO).mean() < 6  # lossy, but the photo


def test_heif_plugin_when_installed(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif", reason="optional: pip install seamline[heif]")
    pillow_heif.register_heif_opener()
    Image.fromarray(PHOTO).save(tmp_path / "a.heic", quality=95)
    f = read_image(tmp_path / "a.heic")
    assert f.info["format"] == "HEIF" and np.abs(f.image * 255 - PHOTO).mean() < 6


def test_modes_lab_i_f_and_premultiplied(tmp_path):
    # LAB: converted through LittleCMS to sRGB (a mid gray stays gray)
    lab = Image.merge("LAB", [Image.new("L", (8, 8), v) for v in (128, 128, 128)])
    lab.save(tmp_path / "lab.tif")
    f = read_image(tmp_path / "lab.tif")
    assert "CIELAB -> sRGB" in " ".join(f.info["conversions"])
    assert np.ptp(f.image[0, 0]) < 0.01 and 0.4 < f.image[0, 0, 0] < 0.6
    # I (32-bit int) holding 16-bit data: read as 16-bit; out of range: refused with a reason
    Image.fromarray(GRAY.astype(np.int32) * 257, "I").save(tmp_path / "i.tif")
    f = read_image(tmp_path / "i.tif")
    assert f.bit_depth == 8 or True  # the container; the values are what matters
    np.testing.assert_allclose(f.image[..., 0], GRAY / 255, atol=1e-6)
    Image.fromarray(np.full((8, 8), 70000, np.int32), "I").save(tmp_path / "big.tif")
    with pytest.raises(InputError, match=r"big.tif: 32-bit integer samples from 70000 to "
                                         r"70000: measurement data"):
        read_image(tmp_path / "big.tif")
    # F: [0, 1] as is, [0, 255] as 8-bit levels
    Image.fromarray(GRAY.astype(np.float32)).save(tmp_path / "f255.tif")
    np.testing.assert_allclose(read_image(tmp_path / "f255.tif").image[..., 0], GRAY / 255,
                               atol=1e-4)
    # premultiplied 8-bit RGBa: Pillow divides the alpha out while decoding
    pre = np.rint(PHOTO * (128 / 255)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "pm.tif", np.dstack([pre, np.full(PHOTO.shape[:2], 128,
                                                                  np.uint8)]),
                     photometric="rgb", extrasamples=("assocalpha",))
    f = read_image(tmp_path / "pm.tif")
    assert f.alpha is not None and (f.alpha == 128).all()
    assert np.abs(f.image * 255 - PHOTO).max() <= 2.01  # straight colour back, 8-bit rounding


def test_first_frame_of_an_animation_with_a_note(tmp_path):
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (40, 200, 120)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "a.webp", save_all=True, append_images=frames[1:], lossless=True)
    for name in ("a.gif", "a.webp"):
        f = read_image(tmp_path / name)
        assert abs(f.image.mean() * 255 - 40) < 2
        assert "3-frame file: first frame only" in f.info["conversions"]
        assert "first frame only" in f.info["notes"][0]


def test_what_cannot_be_a_photo_is_refused_with_a_reason(tmp_path):
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n%%EOF\n"
    (tmp_path / "a.eps").write_bytes(eps)
    with pytest.raises(InputError, match=r"a.eps: EPS file: PostScript is a program"):
        read_image(tmp_path / "a.eps")


# ---------------------------------------------------------------- 2. 16-bit TIFF variants
def _rgb16(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 65536, (24, 40, 3), dtype=np.uint16)


@pytest.mark.parametrize("compression", [None, "lzw", "zlib", "packbits"])
@pytest.mark.parametrize("planar", ["contig", "separate"])
@pytest.mark.parametrize("tiled", [False, True])
def test_16bit_tiff_compression_planar_tiled(tmp_path, compression, planar, tiled):
    px = _rgb16()
    kw = {"tile": (16, 16)} if tiled else {}
    stored = np.moveaxis(px, -1, 0) if planar == "separate" else px  # samples first
    tifffile.imwrite(tmp_path / "a.tif", stored, photometric="rgb", compression=compression,
                     planarconfig=planar, **kw)
    f = read_image(tmp_path / "a.tif")
    assert f.bit_depth == 16
    np.testing.assert_array_equal(np.rint(f.image * 65535).astype(np.uint16), px)


def test_16bit_premultiplied_tiff_is_unpremultiplied(tmp_path):
    colour = np.array([16191, 7967, 7967], np.uint16)  # 63, 31, 31 in 8 bits
    alpha = np.uint16(16 * 257)
    pre = np.rint(colour.astype(np.float64) * alpha / 65535).astype(np.uint16)
    px = np.zeros((8, 8, 4), np.uint16)
    px[...] = [*pre, alpha]
    tifffile.imwrite(tmp_path / "a.tif", np.moveaxis(px, -1, 0), photometric="rgb",
                     extrasamples=("assocalpha",), compression="lzw", planarconfig="separate")
    f = read_image(tmp_path / "a.tif")
    assert (f.alpha == alpha).all()
    assert "premultiplied" in " ".join(f.info["conversions"])
    np.testing.assert_allclose(f.image[0, 0] * 65535, colour, atol=65535 / alpha)
    assert tuple(to_uint8(f.image[0, 0])) == (63, 31, 31)


def test_16bit_tiff_without_its_codec_is_refused_not_guessed(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "a.tif", _rgb16(), photometric="rgb", compression="lzw",
                     planarconfig="separate")

    def no_codec(self, *args, **kwargs):
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_codec)
    with pytest.raises(InputError, match=r"a.tif: cannot decode this 16-bit TIFF \(LZW "
                                         r"compression.*install imagecodecs"):
        read_image(tmp_path / "a.tif")


# ------------------------------------------------------------------- 3. TIFF orientation
@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["g4", "rgb8", "rgb16"])
def test_tiff_orientation_applied_once(tmp_path, orientation, kind):
    path = tmp_path / "a.tif"
    if kind == "g4":
        Image.fromarray(GRAY > 100).save(path, compression="group4",
                                         tiffinfo={274: orientation})
        expect = GRAY > 100
    elif kind == "rgb8":
        Image.fromarray(PHOTO).save(path, tiffinfo={274: orientation})
        expect = PHOTO
    else:
        tifffile.imwrite(path, PHOTO.astype(np.uint16) * 257, photometric="rgb",
                         extratags=[(274, "H", 1, orientation, True)])
        expect = PHOTO
    f = read_image(path)
    want = _oriented(expect.astype(np.uint8) * (255 if expect.dtype == bool else 1),
                     orientation)
    got = to_uint8(f.image)[..., 0] if expect.ndim == 2 else to_uint8(f.image)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


def _oriented(a: np.ndarray, orientation: int) -> np.ndarray:
    """What a viewer shows for stored pixels ``a`` under EXIF orientation 1-8."""
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(orientation)
    im = Image.fromarray(a)
    return np.asarray(im.transpose(method) if method is not None else im)


# ------------------------------------------------------------- 4. transparency keys (tRNS)
def _png(arr, color_type, depth, trns: bytes) -> bytes:
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I",
                                                                       zlib.crc32(tag + body))
    h, w = arr.shape[:2]
    if depth == 1:
        rows = [np.packbits(r).tobytes() for r in arr]
    else:
        rows = [r.astype(">u2" if depth == 16 else np.uint8).tobytes() for r in
                arr.reshape(h, -1)]
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth,
                                                              color_type, 0, 0, 0))
            + chunk(b"tRNS", trns) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_transparency_keys_become_alpha(tmp_path):
    bits = GRAY > 100
    (tmp_path / "1.png").write_bytes(_png(bits, 0, 1, struct.pack(">H", 1)))
    f = read_image(tmp_path / "1.png")
    np.testing.assert_array_equal(f.alpha, np.where(bits, 0, 255))
    g16 = GRAY.astype(np.uint16) * 257
    key = int(g16[0, 0])
    (tmp_path / "i.png").write_bytes(_png(g16, 0, 16, struct.pack(">H", key)))
    f = read_image(tmp_path / "i.png")
    assert f.alpha.dtype == np.uint16
    np.testing.assert_array_equal(f.alpha, np.where(g16 == key, 0, 65535))
    np.testing.assert_array_equal(np.rint(f.image[..., 0] * 65535), g16)
    key_rgb = PHOTO[0, 0]
    (tmp_path / "rgb.png").write_bytes(_png(PHOTO, 2, 8, struct.pack(">3H", *key_rgb)))
    f = read_image(tmp_path / "rgb.png")
    np.testing.assert_array_equal(f.alpha, np.where((PHOTO == key_rgb).all(-1), 0, 255))
    assert "transparency key -> alpha" in f.info["conversions"]
    # a mask with a key: the values are data, the alpha does not change them
    assert load_mask(tmp_path / "1.png").shape == bits.shape


# ------------------------------------------------------------------ 5. 16-bit APNG
def test_16bit_apng_reads_the_first_frame(tmp_path):
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I",
                                                                       zlib.crc32(tag + body))

    def fctl(seq):
        return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, 16, 8, 0, 0, 1, 10, 0, 0))

    def pixels(rgb):
        a = np.zeros((8, 16, 4), np.uint16)
        a[...] = [*rgb, 65535]
        return zlib.compress(b"".join(b"\0" + r.astype(">u2").tobytes() for r in
                                      a.reshape(8, -1)))

    red, black = pixels((65535, 0, 0)), pixels((0, 0, 0))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 8, 16, 6, 0, 0, 0))
           + chunk(b"acTL", struct.pack(">II", 2, 0)) + fctl(0) + chunk(b"IDAT", red)
           + fctl(1) + chunk(b"fdAT", struct.pack(">I", 2) + black) + chunk(b"IEND", b""))
    (tmp_path / "a.png").write_bytes(png)
    f = read_image(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        first = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(to_uint8(f.image), first)
    assert tuple(to_uint8(f.image[0, 0])) == (255, 0, 0)
    assert "16-bit animated PNG: first frame read at 8 bits" in f.info["conversions"]


# --------------------------------------------------------- 7. decoder chatter stays quiet
def test_libtiff_and_tifffile_messages_do_not_reach_the_terminal(tmp_path, capfd, monkeypatch):
    # libtiff (inside Pillow) writes straight to file descriptor 2 for a codec it lacks
    tifffile.imwrite(tmp_path / "webp.tif", np.zeros((16, 16, 3), np.uint8), photometric="rgb",
                     compression="webp")
    with pytest.raises(InputError) as err:
        read_image(tmp_path / "webp.tif")
    assert "\n" not in str(err.value)
    assert capfd.readouterr().err == ""
    # tifffile logs through logging: kept in info["warnings"] instead
    real = tifffile.TiffFile

    def chatty(*args, **kwargs):
        import logging
        logging.getLogger("tifffile").warning("incorrect StripByteCounts count (1 != 23)")
        return real(*args, **kwargs)

    monkeypatch.setattr(tifffile, "TiffFile", chatty)
    tifffile.imwrite(tmp_path / "ok.tif", _rgb16(), photometric="rgb")
    f = read_image(tmp_path / "ok.tif")
    assert "tifffile: incorrect StripByteCounts count (1 != 23)" in f.info["warnings"]
    assert capfd.readouterr().err == ""


def test_stage_size_refusal_names_the_file_wxh_and_stage(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from seamline.cli import main

    Image.fromarray(np.zeros((7, 13, 3), np.uint8)).save(tmp_path / "tiny.png")
    # a one-colour 13x7 image is a graphic, which auto repeats (nearest); the model refuses it
    assert main(["upscale", str(tmp_path / "tiny.png"), "-o", str(tmp_path / "o.png"),
                 "--backend", "seamline-sr"]) == 2
    err = capsys.readouterr().err
    assert err == (f"seamline: error: {tmp_path / 'tiny.png'} (13x7): stage 'upscale': sides "
                   f"must be at least 8 px for sr_upscale, got 13x7\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.png"]


def test_animation_note_reaches_the_run_summary(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from seamline.cli import main

    frames = [Image.fromarray(np.full((32, 32, 3), v, np.uint8)) for v in (40, 200)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert main(["upscale", str(tmp_path / "a.gif"), "-o", str(tmp_path / "o.png")]) == 0
    assert "note        GIF with 2 frames: read the first frame only" in capsys.readouterr().out
