"""seamline.ops.upscale.sr: the packaged super-resolution networks and the classic baselines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.metrics import psnr
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
