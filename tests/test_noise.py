"""Noise profile (sigma, JPEG blockiness) and the denoise / deblock adapters, on real photos."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.noise import deblock, denoise, estimate_blockiness, estimate_noise, noise_profile

SIGMAS = (0.01, 0.02, 0.04, 0.08)


@pytest.fixture(scope="module")
def photos():
    return {name: as_image(getattr(data, name)()) for name in ("astronaut", "coffee", "chelsea", "rocket")}


def _noisy(img, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0.0, sigma, img.shape).astype(np.float32), 0.0, 1.0)


def _jpeg(img, quality):
    u8 = np.round(img * 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return as_image(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))


def _psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


# --------------------------------------------------------------------------- noise sigma
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_noise_estimate_is_accurate_on_real_photos(photos, name):
    clean = photos[name]
    own = estimate_noise(clean)
    assert 0.0 <= own < 0.01  # a clean photo: a little texture and sensor noise
    for i, sigma in enumerate(SIGMAS):
        est = estimate_noise(_noisy(clean, sigma, seed=i))
        # The photo's own noise adds in quadrature; it matters only at the lowest level.
        expected = np.hypot(sigma, own)
        assert abs(est / expected - 1) < 0.2, (name, sigma, est, expected)
        if sigma >= 0.02:
            assert abs(est / sigma - 1) < 0.2, (name, sigma, est)


def test_noise_estimate_ignores_trends_and_clipping():
    yy, xx = np.mgrid[:200, :300].astype(np.float32)
    ramp = np.dstack([xx / 300, yy / 200, (xx + yy) / 500]).astype(np.float32)
    assert estimate_noise(ramp) < 1e-4  # linear trends cancel
    assert estimate_noise(np.full((64, 64, 3), 0.5, np.float32)) == 0.0
    # Half the frame blown out (clipped noise reads as none): measured on the rest.
    img = np.full((256, 256, 3), 0.5, np.float32)
    img[:, :128] = 1.0
    est = estimate_noise(_noisy(img, 0.04))
    assert abs(est / 0.04 - 1) < 0.1


def test_noise_estimate_small_images_and_input_checks():
    for shape in ((2, 2, 3), (12, 10, 3), (40, 30, 3)):
        v = estimate_noise(_noisy(np.full(shape, 0.5, np.float32), 0.05))
        assert np.isfinite(v) and v >= 0
    assert abs(estimate_noise(_noisy(np.full((40, 30, 3), 0.5, np.float32), 0.05)) / 0.05 - 1) < 0.3
    with pytest.raises(InputError, match="4 channels"):
        estimate_noise(np.zeros((8, 8, 4), np.float32))


def test_noise_estimate_is_fast():
    img = _noisy(np.full((768, 1024, 3), 0.5, np.float32), 0.03)
    estimate_noise(img)
    runs = []
    for _ in range(7):
        t = time.process_time()
        estimate_noise(img)
        runs.append(time.process_time() - t)
    # ~10 ms of CPU on a quiet core; CPU time, so other jobs on the machine do not count.
    assert min(runs) < 0.06, runs


# --------------------------------------------------------------------------- blockiness
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_blockiness_separates_jpeg_qualities(photos, name):
    clean = photos[name]
    b_clean = estimate_blockiness(clean)
    b95, b50, b20, b10 = (estimate_blockiness(_jpeg(clean, q)) for q in (95, 50, 20, 10))
    assert b_clean < 1.15 and b95 < 1.15
    assert b20 > 1.5 and b10 > 2.0
    assert b95 < b50 < b20 < b10
    assert b20 - max(b_clean, b95) > 0.4


def test_blockiness_finds_a_shifted_grid_and_ignores_noise(photos):
    clean = photos["astronaut"]
    cropped = _jpeg(clean, 20)[3:, 5:]  # the 8x8 grid no longer starts at the origin
    assert estimate_blockiness(cropped) > 1.5
    assert estimate_blockiness(_noisy(clean, 0.05)) < 1.1
    assert estimate_blockiness(np.full((64, 64, 3), 0.3, np.float32)) == 1.0
    assert estimate_blockiness(np.zeros((10, 12, 3), np.float32)) == 1.0  # too small to tell


def test_noise_profile(photos):
    noisy = _noisy(photos["coffee"], 0.03)
    prof = noise_profile(noisy)
    assert set(prof) == {"noise_sigma", "blockiness"}
    assert all(isinstance(v, float) for v in prof.values())
    assert abs(prof["noise_sigma"] / 0.03 - 1) < 0.2 and prof["blockiness"] < 1.1
    jpg = _jpeg(noisy, 30)
    assert noise_profile(jpg) == {"noise_sigma": estimate_noise(jpg), "blockiness": estimate_blockiness(jpg)}
    # JPEG at q30 quantises the noise away in flat areas and leaves blocks instead.
    assert noise_profile(jpg)["noise_sigma"] < 0.01 and noise_profile(jpg)["blockiness"] > 1.3


# --------------------------------------------------------------------------- denoise
def _edge_strength(img, edges):
    y = img @ np.array([0.299, 0.587, 0.114], np.float32)
    g = np.hypot(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))
    return float(g[edges].mean())


@pytest.mark.parametrize("sigma", [0.03, 0.06])
def test_denoise_reaches_target_and_keeps_edges(photos, sigma):
    clean = np.ascontiguousarray(photos["astronaut"][:256, 128:384])
    noisy = _noisy(clean, sigma)
    out = denoise(noisy)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert estimate_noise(out) < 0.25 * sigma
    assert _psnr(out, clean) > _psnr(noisy, clean) + 3.0
    # Edges: where the clean photo has its strongest gradients, they survive. A Gaussian blur
    # that removes as much noise flattens them.
    y = clean @ np.array([0.299, 0.587, 0.114], np.float32)
    g = np.hypot(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))
    edges = g > np.percentile(g, 95)
    kept = _edge_strength(out, edges) / _edge_strength(clean, edges)
    blurred = cv2.GaussianBlur(noisy, (0, 0), 2.0)
    assert estimate_noise(blurred) < 0.25 * sigma
    assert kept > 0.85 and kept > _edge_strength(blurred, edges) / _edge_strength(clean, edges) + 0.1

    half = denoise(noisy, target_sigma=sigma / 2)
    assert abs(estimate_noise(half) / (sigma / 2) - 1) < 0.25
    assert _psnr(half, clean) > _psnr(noisy, clean)


def test_denoise_uses_given_sigma_and_leaves_clean_images(photos):
    clean = np.ascontiguousarray(photos["chelsea"][:128, :128])
    noisy = _noisy(clean, 0.05)
    weak = denoise(noisy, sigma=0.01)  # told the noise is low: a gentle filter
    strong = denoise(noisy, sigma=0.05)
    assert np.abs(weak - noisy).mean() < 0.25 * np.abs(strong - noisy).mean()
    assert estimate_noise(strong) < 0.25 * estimate_noise(weak)
    same = denoise(noisy, target_sigma=0.08)  # already below the target
    assert same is not noisy and np.array_equal(same, noisy)
    # Sub-8-bit levels survive (the filter is applied as a correction, not a requantisation).
    smooth = np.dstack([np.linspace(0.2, 0.21, 128, dtype=np.float32)[None, :].repeat(128, 0)] * 3)
    out = denoise(_noisy(smooth, 0.02))
    assert np.abs(out * 255 - np.round(out * 255)).max() > 0.1


def test_denoise_argument_checks(photos):
    img = photos["coffee"][:32, :32]
    for kw in ({"sigma": -0.1}, {"sigma": 2.0}, {"sigma": "high"}, {"target_sigma": None}, {"target_sigma": np.nan}):
        with pytest.raises(InputError, match=next(iter(kw))):
            denoise(img, **kw)


# --------------------------------------------------------------------------- deblock
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_deblock_reduces_blocking_without_losing_fidelity(photos, name):
    clean = photos[name]
    for q in (10, 20):
        jpg = _jpeg(clean, q)
        out = deblock(jpg)
        b0, b1 = estimate_blockiness(jpg), estimate_blockiness(out)
        assert b1 < 1 + 0.75 * (b0 - 1), (q, b0, b1)  # at least a quarter of the excess gone
        assert _psnr(out, clean) >= _psnr(jpg, clean)  # closer to the original, not just smoother


def test_deblock_touches_only_block_boundaries(photos):
    jpg = _jpeg(photos["chelsea"], 15)
    out = deblock(jpg, strength=1.0)
    changed = np.abs(out - jpg).max(axis=2) > 0
    rows = (np.arange(jpg.shape[0]) % 8)[:, None]
    cols = (np.arange(jpg.shape[1]) % 8)[None, :]
    mid = ((rows == 3) | (rows == 4)) & ((cols == 3) | (cols == 4))
    assert not changed[mid].any()  # the middle of every block is kept
    boundary = np.broadcast_to((cols == 0) | (cols == 7), changed.shape)
    assert changed[boundary].mean() > 0.3  # boundaries: wherever it is flat enough


def test_deblock_keeps_edges_and_clean_images(photos):
    clean = photos["astronaut"]
    assert np.array_equal(deblock(clean), clean)  # no blocking measured: strength 0, no change
    assert np.array_equal(deblock(_jpeg(clean, 20), strength=0), _jpeg(clean, 20))
    step = np.full((64, 64, 3), 0.2, np.float32)
    step[:, 32:] = 0.8  # a real edge exactly on a block boundary
    assert np.array_equal(deblock(step, strength=1.0), step)
    small = np.full((64, 64, 3), 0.5, np.float32)
    small[:, 32:] = 0.52  # a 5/255 step on a flat field: a block artefact
    out = deblock(small, strength=1.0)
    assert abs(out[0, 32, 0] - out[0, 31, 0]) < 0.005
    assert np.allclose(out.mean(), small.mean(), atol=1e-6)  # mass-preserving ramp


def test_deblock_argument_checks(photos):
    for s in (-0.1, 1.5, "max", True):
        with pytest.raises(InputError, match="strength"):
            deblock(photos["coffee"][:16, :16], strength=s)
