"""seamline.ops.color: colour reconciliation after an upscaler (or any stage) drifted.

The setup everywhere: a real photo is the high-resolution truth, its area-downscaled half
is the reference (what the upscaler was given), and a known colour drift applied to the
truth plays the drifting upscaler's output. Reconciliation must bring the colours back to
the truth without touching the detail (high-frequency energy).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.ops.color import METHODS, color_drift, match_colors
from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.metrics import delta_e2000, hf_energy

LUMA = np.float32([0.2126, 0.7152, 0.0722])
CROP = 256  # keeps the suite fast; every drift still sees a full photo's colours


def _saturate(x, s):
    y = (x @ LUMA)[..., None]
    return y + np.float32(s) * (x - y)


def _cast(x):  # warm white balance: red up, blue down, a slight lift
    return x * np.float32([1.06, 1.0, 0.9]) + np.float32([0.015, 0.0, 0.02])


DRIFTS = {
    "cast": _cast,
    "gamma": lambda x: x ** np.float32(1.2),
    "saturation": lambda x: _saturate(x, 0.8),
    "combo": lambda x: _saturate(np.clip(_cast(x), 0, 1) ** np.float32(0.9), 1.1),
}


def drift(name, x):
    return np.clip(DRIFTS[name](x), 0, 1).astype(np.float32)


def _photo(name):
    a = getattr(data, name)()
    a = as_image(a)  # grey textures become RGB
    h, w = a.shape[:2]
    y0, x0 = (h - min(h, CROP)) // 2, (w - min(w, CROP)) // 2
    return np.ascontiguousarray(a[y0:y0 + CROP, x0:x0 + CROP])


def downscale(x, factor=2):
    h, w = x.shape[:2]
    return cv2.resize(x, (w // factor, h // factor), interpolation=cv2.INTER_AREA)


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel")


@pytest.fixture(scope="module")
def photos():
    return {n: _photo(n) for n in PHOTOS}


def de_mean(a, b):
    return float(delta_e2000(a, b).mean())


def hf_ratio(a, truth):
    return hf_energy(a) / hf_energy(truth)


# ------------------------------------------------------------------------------ regression


@pytest.mark.parametrize("drift_name", list(DRIFTS))
@pytest.mark.parametrize("photo", PHOTOS)
def test_regression_undoes_drift_and_keeps_detail(photos, photo, drift_name):
    truth = photos[photo]
    drifted = drift(drift_name, truth)
    out = match_colors(drifted, downscale(truth), method="regression")
    assert out.dtype == np.float32 and out.shape == truth.shape
    assert de_mean(out, truth) <= 1.0
    assert abs(hf_ratio(out, truth) - 1) <= 0.05


@pytest.mark.parametrize("photo,drift_name", [("astronaut", "combo"), ("brick", "cast"),
                                              ("rocket", "gamma")])
def test_auto_picks_regression_for_the_same_picture(photos, photo, drift_name):
    truth = photos[photo]
    report = {}
    out = match_colors(drift(drift_name, truth), downscale(truth), report=report)
    assert report["method"] == "regression" and report["requested"] == "auto"
    assert de_mean(out, truth) <= 1.0
    assert abs(hf_ratio(out, truth) - 1) <= 0.05
    # the report measures at the reference's size: the drift was large, the residue is not
    assert report["before"]["delta_e_mean"] > 3 * report["after"]["delta_e_mean"]
    assert report["after"]["delta_e_mean"] < 0.5
    assert report["params"]["rms_after"] < report["params"]["rms_before"]


def test_other_methods_improve_and_are_reported(photos, capsys):
    truth = photos["coffee"]
    drifted = drift("combo", truth)
    before = de_mean(drifted, truth)
    reached = {}
    for method in ("histogram", "meanstd", "wavelet", "regression"):
        out = match_colors(drifted, downscale(truth), method=method)
        reached[method] = (de_mean(out, truth), hf_ratio(out, truth))
    with capsys.disabled():
        print(f"\ncoffee/combo ΔE2000 to truth {before:.2f} before; after: " + ", ".join(
            f"{m} {d:.2f} (HF {h:.3f})" for m, (d, h) in reached.items()))
    for method, (d, _) in reached.items():
        assert d < before / 2, method
    assert reached["regression"][0] == min(d for d, _ in reached.values())


def test_spatial_option_undoes_a_vignette(photos):
    truth = photos["chelsea"]
    h, w = truth.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    drifted = np.clip(_cast(truth) * (1 - 0.1 * r2)[..., None], 0, 1).astype(np.float32)
    ref = downscale(truth)
    plain = de_mean(match_colors(drifted, ref, method="regression"), truth)
    report = {}
    local = match_colors(drifted, ref, method="regression", spatial=0.02, report=report)
    assert de_mean(local, truth) < 0.7 * plain
    assert abs(hf_ratio(local, truth) - 1) <= 0.05
    assert report["params"]["spatial_gain_range"][0] < 1


# ------------------------------------------------------------------------------ histogram


def _ramp():
    """A smooth 16-bit-precision gradient in three different channel ramps."""
    t = np.linspace(0.05, 0.95, 2048, dtype=np.float32)
    return np.stack([t, 0.1 + 0.8 * t, 0.9 - 0.8 * t], -1)[None].repeat(16, 0)


def _levels_and_jumps(img):
    row = img[img.shape[0] // 2]
    levels = [len(np.unique(np.round(row[:, c] * 65535))) for c in range(3)]
    step = np.abs(np.diff(row, axis=0))
    jumps = [float(step[:, c].max() / np.median(step[:, c])) for c in range(3)]
    return levels, jumps


def test_histogram_does_not_band_a_smooth_gradient():
    truth = _ramp()
    # the reference is an 8-bit file at half size: a comb-like histogram, the usual cause of
    # posterised matches
    ref = (np.round(downscale(truth) * 255) / 255).astype(np.float32)
    drifted = (np.clip(truth * np.float32([1.05, 0.97, 0.92]) + 0.02, 0, 1)
               ** np.float32(1.15)).astype(np.float32)
    out = match_colors(drifted, ref, method="histogram")
    levels_in, _ = _levels_and_jumps(drifted)
    levels_out, jumps = _levels_and_jumps(out)
    assert all(o >= i for o, i in zip(levels_out, levels_in)), (levels_out, levels_in)
    assert max(jumps) < 4, jumps  # no steps: the largest pixel-to-pixel change stays typical
    # and the colours did move to the reference's
    assert de_mean(out, truth) < 0.5 * de_mean(drifted, truth)
    # the check has teeth: without smoothing the comb shows up as steps
    _, raw_jumps = _levels_and_jumps(match_colors(drifted, ref, method="histogram",
                                                  smooth=0.0))
    assert max(raw_jumps) > 8


def test_histogram_luminance_zero_keeps_lightness(photos):
    from skimage.color import rgb2lab

    truth = photos["chelsea"]
    drifted = drift("combo", truth)
    out = match_colors(drifted, downscale(truth), method="histogram", luminance=0.0)
    dl = np.abs(rgb2lab(out)[..., 0] - rgb2lab(drifted)[..., 0])
    assert np.median(dl) < 0.5  # L kept (up to gamut clipping); a/b matched
    assert de_mean(out, truth) < de_mean(drifted, truth)


def test_auto_does_not_trust_another_picture_of_the_same_shape(photos):
    img = drift("cast", photos["coffee"])
    report = {}
    out = match_colors(img, downscale(photos["chelsea"]), report=report)
    assert report["aligned"] is True and report["correspondence"] < 0.5
    assert report["method"] == "histogram"
    assert out.shape == img.shape
    report = {}
    match_colors(img, downscale(photos["coffee"]), report=report)
    assert report["correspondence"] > 0.95 and report["method"] == "regression"


def test_histogram_another_picture_of_other_aspect(photos):
    # a reference that is not the same picture: auto falls back to histogram
    img = photos["coffee"][:, :200]
    ref = photos["chelsea"]
    report = {}
    out = match_colors(img, ref, report=report)
    assert report["method"] == "histogram" and report["aligned"] is False
    assert report["before"]["delta_e_mean"] is None
    assert report["after"]["hist_w1_mean"] < report["before"]["hist_w1_mean"]
    assert out.shape == img.shape


# ------------------------------------------------------------------------------ mask


@pytest.mark.parametrize("method", ["regression", "histogram", "meanstd"])
def test_mask_restricted_fit_ignores_what_is_outside(photos, method):
    truth = photos["coffee"]
    drifted = drift("cast", truth)
    h, w = truth.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - 90) ** 2 + (xx - 150) ** 2 <= 45 ** 2  # a red object only the output has
    with_object = drifted.copy()
    with_object[disc] = (0.95, 0.05, 0.05)
    fit_on = (~((yy - 90) ** 2 + (xx - 150) ** 2 <= 50 ** 2)).astype(np.float32)
    ref = downscale(truth)
    clean = match_colors(drifted, ref, method=method)  # what the fit gives with no object
    masked = match_colors(with_object, ref, method=method, mask=fit_on)
    unmasked = match_colors(with_object, ref, method=method)
    keep = fit_on > 0
    err_masked = float(delta_e2000(masked, clean)[keep].mean())
    err_unmasked = float(delta_e2000(unmasked, clean)[keep].mean())
    assert err_masked < 0.15, err_masked
    assert err_masked < err_unmasked


def test_wavelet_mask_estimates_the_correction_from_mask_pixels(photos):
    truth = photos["astronaut"]
    drifted = drift("cast", truth)
    fit_on = np.ones(truth.shape[:2], np.float32)
    fit_on[:, :128] = 0  # left half not trusted: the correction is extrapolated from the right
    out = match_colors(drifted, downscale(truth), method="wavelet", mask=fit_on)
    right = (slice(None), slice(160, None))
    assert de_mean(out[right], truth[right]) < 0.5 * de_mean(drifted[right], truth[right])


# ------------------------------------------------------------------------------ identity


@pytest.mark.parametrize("method", ["histogram", "meanstd", "wavelet", "regression", "auto"])
def test_matching_an_image_to_itself_changes_almost_nothing(photos, method):
    img = photos["astronaut"]
    assert de_mean(match_colors(img, img, method=method), img) < 0.1
    # and to its own half-size copy: the no-drift upscaler case
    assert de_mean(match_colors(img, downscale(img), method=method), img) < 0.1


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("method", ["regression", "wavelet"])
def test_aspect_ratio_mismatch_is_an_input_error(photos, method):
    img = photos["coffee"]
    with pytest.raises(InputError, match=r"^reference: size 128x100 .*256x256") as err:
        match_colors(img, downscale(img)[:100], method=method)
    assert "\n" not in str(err.value)


def test_aspect_ratio_within_one_percent_is_accepted(photos):
    img = photos["coffee"]
    ref = cv2.resize(img, (128, 127), interpolation=cv2.INTER_AREA)  # 0.8 % off
    report = {}
    match_colors(img, ref, report=report)
    assert report["method"] == "regression"


def test_bad_arguments_are_one_line_input_errors(photos):
    img = photos["coffee"]
    cases = [
        (dict(method="lab"), r"^method: expected one of histogram"),
        (dict(method="histogram", grid=9), r"^grid: not an option of method 'histogram'"),
        (dict(method="regression", grid=1), r"^grid: expected an integer in \[3, 33\]"),
        (dict(method="histogram", luminance=2), r"^luminance: expected a number in \[0.0, 1.0\]"),
        (dict(method="regression", robust="yes"), r"^robust: expected True or False"),
        (dict(mask=np.zeros((256, 256), np.float32)), r"^mask: no pixel > 0"),
        (dict(mask=np.ones((10, 10), np.float32)), r"^mask: size 10x10 does not match"),
        (dict(report=[]), r"^report: expected a dict"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(InputError, match=pattern):
            match_colors(img, img, **kwargs)
    rgba = np.ones((8, 8, 4), np.float32)
    with pytest.raises(InputError, match=r"^image: has 4 channels"):  # alpha stays outside
        match_colors(rgba, rgba[..., :3])
    assert METHODS == ("histogram", "meanstd", "wavelet", "regression", "auto")


# ------------------------------------------------------------------------------ color_drift


def test_color_drift_measures_at_the_reference_scale(photos):
    truth = photos["chelsea"]
    ref = downscale(truth)
    same = color_drift(truth, ref)
    assert same["aligned"] and same["delta_e_mean"] < 1e-3
    assert same["hist_w1_mean"] < 0.05  # same scale: a picture and its half are one histogram
    drifted = color_drift(drift("combo", truth), ref)
    assert drifted["delta_e_mean"] > 2 and drifted["delta_e_p95"] >= drifted["delta_e_mean"]
    assert drifted["hist_w1_mean"] > 1 and len(drifted["hist_w1"]) == 3
    other = color_drift(truth, photos["coffee"][:, :100])
    assert not other["aligned"] and other["delta_e_mean"] is None and other["hist_w1_mean"] > 0


def test_colour_kernels_leave_torch_thread_count_alone():
    """numba's OpenMP layer shares libgomp with CPU torch: a parallel launch used to reset
    torch's thread count (1 -> 2 under OMP_NUM_THREADS=1) and so the numerics of any later
    diffusion stage. Checked in a fresh process, with the environment CI uses."""
    import os
    import subprocess
    import sys

    pytest.importorskip("torch")
    code = ("import numpy as np, torch\n"
            "torch.set_num_threads(1)\n"
            "assert torch.get_num_threads() == 1  # torch's OpenMP runtime is up (as in a run)\n"
            "torch.nn.functional.conv2d(torch.ones(1, 1, 8, 8), torch.ones(1, 1, 3, 3))\n"
            "from seamline.ops.color import match_colors\n"
            "a = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)\n"
            "for m in ('regression', 'meanstd', 'histogram', 'wavelet', 'auto'):\n"
            "    match_colors(a, a * 0.9, method=m)\n"
            "    assert torch.get_num_threads() == 1, m\n"
            "print(torch.get_num_threads())\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "1"
