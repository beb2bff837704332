"""seamline.ops.upscale.sr: the packaged super-resolution networks and the classic baselines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.core.arrays import LUMA
from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.metrics import psnr
from seamline.ops.upscale import sr as sr_module
from seamline.ops.upscale.sr import SR_SCALES, _session, classic_upscale, model_path, sr_upscale


@pytest.fixture(scope="module")
def photo_crop():
    """A 96x72 crop of a held-out photo: real edges and texture, quick to upscale."""
    return np.ascontiguousarray(as_image(data.astronaut())[100:172, 150:246])


def _round_trip(image, scale):
    """(original cropped to a multiple of scale, its area downscale)."""
    h, w = (d - d % scale for d in image.shape[:2])
    hr = image[:h, :w]
    return hr, cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("scale", SR_SCALES)
def test_packaged_model_loads_and_is_small(scale):
    path = model_path(scale)
    assert path.is_file()
    assert len(path.read_bytes()) <= 2 * 1024 * 1024
    meta = _session(scale).get_modelmeta().custom_metadata_map
    assert int(meta["seamline_sr_scale"]) == scale
    assert int(meta["seamline_sr_radius"]) <= 16  # the default overlap covers it


@pytest.mark.parametrize("scale", SR_SCALES)
def test_output_shape_dtype_range(scale):
    x = np.random.default_rng(0).random((13, 21, 3), dtype=np.float32)
    y = sr_upscale(x, scale=scale)
    assert y.shape == (13 * scale, 21 * scale, 3)
    assert y.dtype == np.float32
    assert 0 <= y.min() and y.max() <= 1


def test_gray_input_accepted():
    g = (np.arange(16 * 16, dtype=np.uint8) % 251).reshape(16, 16)
    assert sr_upscale(g).shape == (32, 32)  # grey stays grey


@pytest.mark.parametrize("scale", SR_SCALES)
@pytest.mark.parametrize("name", ["astronaut", "coffee", "brick", "chelsea"])
def test_beats_lanczos_on_held_out_photos(name, scale):
    # Never seen in training (see training/train_sr.py): downscale by area, upscale back.
    hr, lr = _round_trip(as_image(getattr(data, name)()), scale)
    sr = sr_upscale(lr, scale=scale)
    lz = classic_upscale(lr, scale=scale, method="lanczos")
    assert psnr(sr, hr) > psnr(lz, hr)


@pytest.mark.parametrize("scale", SR_SCALES)
def test_tiled_equals_whole_image(photo_crop, scale):
    whole = sr_upscale(photo_crop, scale=scale, tile=512)
    tiled = sr_upscale(photo_crop, scale=scale, tile=20)  # 5x4 tiles, uneven last ones
    assert np.abs(tiled - whole).max() < 1e-4


def _frame_sums_upscale(image, scale=2, tile=256, overlap=16):
    """sr_upscale as it was before the tile-row blend: a mirror-padded copy of the frame and
    frame-sized weight sums (the reference the streamed version must equal bit for bit)."""
    x = as_image(image, grey=True)
    grey, chan = x.ndim == 2, (() if x.ndim == 2 else ((0, 0),))
    H, W = x.shape[:2]
    s, sess = scale, _session(scale)
    name, r = sess.get_inputs()[0].name, sr_module._radius(sess)
    fade = overlap - r if overlap > r else overlap // 2
    P = max(overlap, r)
    pad = np.pad(x, ((P, P), (P, P), *chan), mode="symmetric")
    out = np.zeros((H * s, W * s) + (() if grey else (3,)), np.float32)
    wsum = np.zeros((H * s, W * s) + (() if grey else (1,)), np.float32)
    for y0 in range(0, H, tile):
        for x0 in range(0, W, tile):
            y1, x1 = min(y0 + tile, H), min(x0 + tile, W)
            cy0, cy1 = (overlap if y0 > 0 else P), (overlap if y1 < H else P)
            cx0, cx1 = (overlap if x0 > 0 else P), (overlap if x1 < W else P)
            ly, hy = min(fade, y0), min(fade, H - y1)
            lx, hx = min(fade, x0), min(fade, W - x1)
            inp = pad[y0 + P - cy0:y1 + P + cy1, x0 + P - cx0:x1 + P + cx1]
            if overlap < r:
                e = r - overlap
                ey0, ey1, ex0, ex1 = (e * (c == overlap) for c in (cy0, cy1, cx0, cx1))
                inp = np.pad(inp, ((ey0, ey1), (ex0, ex1), *chan), mode="symmetric")
                cy0, cx0 = cy0 + ey0, cx0 + ex0
            nchw = (np.broadcast_to(inp, (3, *inp.shape)) if grey
                    else inp.transpose(2, 0, 1))[None]
            res = sess.run(None, {name: np.ascontiguousarray(nchw)})[0][0].transpose(1, 2, 0)
            if grey:
                res = res @ LUMA
            oy, ox = (cy0 - ly) * s, (cx0 - lx) * s
            hh, ww = (y1 - y0 + ly + hy) * s, (x1 - x0 + lx + hx) * s
            w = (sr_module._ramp(hh, y0, y1, ly, hy, s)[:, None]
                 * sr_module._ramp(ww, x0, x1, lx, hx, s)[None, :])
            sl = (slice((y0 - ly) * s, (y1 + hy) * s), slice((x0 - lx) * s, (x1 + hx) * s))
            if grey:
                out[sl] += res[oy:oy + hh, ox:ox + ww] * w
                wsum[sl] += w
            else:
                out[sl] += res[oy:oy + hh, ox:ox + ww] * w[..., None]
                wsum[sl] += w[..., None]
    out /= wsum
    return np.clip(out, 0, 1, out=out)


@pytest.mark.parametrize("scale,tile,overlap", [
    (2, 256, 16), (2, 20, 16), (4, 24, 16), (2, 17, 3), (2, 16, 40), (2, 24, 0)])
@pytest.mark.parametrize("grey", [False, True])
def test_tile_rows_blend_equals_frame_sized_sums(scale, tile, overlap, grey):
    """Tiles cut from the frame (mirrored at its border) and blended a tile row at a time:
    the values of a padded frame copy and frame-sized weight sums, bit for bit (uneven last
    tiles, overlap below the receptive radius, overlap over the tile, no overlap, grey)."""
    img = as_image(data.astronaut())[60:161, 130:247]  # 117x101: ragged last tiles
    if grey:
        img = np.ascontiguousarray(img @ LUMA)
    got = sr_upscale(img, scale=scale, tile=tile, overlap=overlap)
    assert np.array_equal(got, _frame_sums_upscale(img, scale, tile, overlap))


def test_tiny_image_mirrored_past_its_side_equals_the_padded_frame():
    x = np.random.default_rng(1).random((9, 13, 3), dtype=np.float32)  # 9 px < the 16 px pad
    assert np.array_equal(sr_upscale(x), _frame_sums_upscale(x))
    assert np.array_equal(sr_upscale(x, tile=16, overlap=4), _frame_sums_upscale(x, 2, 16, 4))


def test_small_overlap_still_blends_without_gross_seams(photo_crop):
    whole = sr_upscale(photo_crop, tile=512)
    tiled = sr_upscale(photo_crop, tile=24, overlap=2)  # below the receptive radius
    assert np.abs(tiled - whole).mean() < 1e-3


def test_deterministic(photo_crop):
    a = sr_upscale(photo_crop, scale=4, tile=40)
    b = sr_upscale(photo_crop, scale=4, tile=40)
    assert np.array_equal(a, b)


def test_progress_bar(photo_crop, capsys):
    sr_upscale(photo_crop, tile=48, progress=True)
    assert "tile" in capsys.readouterr().err


@pytest.mark.parametrize("scale", [3, 1, 8, 2.0001, True, "2", None])
def test_bad_scale_names_argument_and_choices(scale):
    with pytest.raises(InputError, match=r"scale.*\(2, 4\)"):
        sr_upscale(np.zeros((16, 16, 3), np.float32), scale=scale)


@pytest.mark.parametrize("shape", [(7, 20, 3), (20, 7, 3), (1, 1, 3)])
def test_too_small_image(shape):
    with pytest.raises(InputError, match="at least 8"):
        sr_upscale(np.zeros(shape, np.float32))


@pytest.mark.parametrize("kw", [dict(tile=8), dict(tile=0), dict(overlap=-1), dict(tile=64.0)])
def test_bad_tiling_arguments(kw):
    with pytest.raises(InputError, match=next(iter(kw))):
        sr_upscale(np.zeros((16, 16, 3), np.float32), **kw)


def test_bad_image_is_input_error():
    with pytest.raises(InputError):
        sr_upscale(np.zeros((16, 16, 4), np.float32))


@pytest.mark.parametrize("method,flag", [("lanczos", cv2.INTER_LANCZOS4),
                                         ("bicubic", cv2.INTER_CUBIC)])
def test_classic_upscale_matches_opencv_clipped(photo_crop, method, flag):
    y = classic_upscale(photo_crop, scale=3, method=method)
    ref = np.clip(cv2.resize(photo_crop, (96 * 3, 72 * 3), interpolation=flag), 0, 1)
    assert y.shape == (216, 288, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("kw", [dict(scale=2, method="area"), dict(scale=0),
                                dict(scale=-2), dict(scale=float("nan"))])
def test_classic_upscale_bad_arguments(photo_crop, kw):
    with pytest.raises(InputError, match="method" if "method" in kw else "scale"):
        classic_upscale(photo_crop, **kw)
