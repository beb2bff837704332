"""Noise profile of an image, and the adapters that bring it to what the next stage expects.

An upscaler trained on clean input turns sensor noise and JPEG blocks into crisp, wrong
texture. :func:`noise_profile` measures the two (``noise_sigma``, ``blockiness``) so they can
travel with the image and be checked against a receiving stage's contract; :func:`denoise`
and :func:`deblock` are the adapters the runner inserts when the input is worse than the
receiver declares.

Methods
-------
- Noise: Immerkaer's (1996) 3x3 operator, which cancels every local linear trend and passes
  white noise with gain 6, evaluated in 16x16 blocks per channel; the 10th percentile of the
  block RMS values (the flattest regions, where texture does not masquerade as noise) is
  scaled by a constant measured on pure Gaussian noise. Blocks holding clipped pixels (0 or
  1) are skipped: clipping hides noise. Accuracy on the scikit-image photos with added
  Gaussian noise of sigma 0.02..0.08: within 10%; at 0.01 the photos' own noise (~0.005)
  adds in quadrature, as it should.
- Blockiness: mean absolute step between neighbouring pixels of the luminance, per position
  modulo 8; the ratio of the strongest phase (the block boundary) to the mean of the other
  seven, averaged over both axes. ~1.0-1.2 for camera images, about 1.3 at JPEG quality 50,
  1.7-2.1 at 20, 2.3-3.2 at 10. The phase is detected, so cropped JPEGs are measured too.
- Denoise: OpenCV's non-local means on the 8-bit image, applied as a correction to the float
  image (so sub-8-bit precision survives), then blended back toward the input so the residual
  noise lands at ``target_sigma``.
- Deblock: at each 8-pixel block boundary the step that exceeds the local gradient is spread
  as a linear ramp over the 3 pixels on each side, only where the step is small and the
  surroundings flat (a real edge is kept): the weak filter of H.264-style in-loop deblocking,
  with thresholds set by the measured blockiness.
"""

from __future__ import annotations

import numbers

import cv2
import numpy as np

from seamline.errors import InputError
from seamline.io import as_image

__all__ = ["estimate_noise", "estimate_blockiness", "noise_profile", "denoise", "deblock",
           "is_graphic", "GRAPHIC_NOTE"]

# Immerkaer's operator: zero response to constant and linear patches; white noise of std s
# comes out with std 6 s (the kernel's L2 norm).
_HP = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_HP_GAIN = 6.0
_PCT = 10.0
# E[10th percentile of block RMS] / sigma on pure Gaussian noise, measured (768x1024x3, sd < 0.2%).
_PCT_BIAS = {16: 0.892, 8: 0.793}
_MIN_BLOCKS = 32
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601, as JPEG's YCbCr
_NO_GRID = 1.05  # below this ratio an axis shows no block grid: assume JPEG's origin-aligned one
# blockiness -> deblock strength: 0 up to 1.1 (clean camera images), 1 from 2.0 (JPEG q~15)
_B_OFF, _B_SPAN = 1.1, 0.9


def _check_sigma(name, value, *, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or not 0 <= value <= 1:
        raise InputError(f"{name}: expected a number in [0, 1] (image units), got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------ measuring
#: How a stage's note names an image :func:`is_graphic` accepts (default ``max_colours``)
GRAPHIC_NOTE = ("graphic (at most 256 colours, or 32 grey levels: palette, 1-bit, dither, "
                "posterised)")

#: Most grey levels a grey graphic has. Every 8-bit grey image has at most 256 levels, so the
#: colour count cannot tell a grey photo (camera(): 247 levels, a fax scan's grey: 200+) from a
#: graphic; 1-bit pages, dither and 4-bit grey have 2-16.
MAX_GREY_LEVELS = 32


def is_graphic(image, *, max_colours: int = 256, max_grey_levels: int = MAX_GREY_LEVELS) -> bool:
    """True for graphics: few distinct 8-bit colours (palette, 1-bit, dither, posterised).

    Dither and hard one-pixel edges read as strong "noise" to :func:`estimate_noise`, so a
    denoiser would smear a graphic that has no sensor noise at all. A photo has thousands of
    colours; a strided sample of 65k pixels tells it early, so a photo costs ~1 ms. A grey
    image (one channel, or R = G = B everywhere) is a graphic only with at most
    ``max_grey_levels`` levels: a grey photo has at most 256 as well.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1] (anything :func:`seamline.io.as_image` takes), or
        a grey ``(H, W)`` image: its levels are counted directly (a histogram, not a sort),
        with the same answer as for its RGB expansion.
    max_colours : int
        Most distinct colours a colour graphic may have (256: GIF, PNG-8, BMP palettes).
    max_grey_levels : int
        Most distinct levels a grey graphic may have.

    Returns
    -------
    bool
    """
    img = as_image(image, grey=True)
    if img.ndim == 2:  # at most 256 levels: count them in a histogram, strip by strip
        step, seen = max(1, (1 << 20) // img.shape[1]), np.zeros(256, bool)
        for i in range(0, img.shape[0], step):
            seen[np.rint(img[i:i + step] * 255).astype(np.uint8)] = True
        return int(np.count_nonzero(seen)) <= min(max_colours, max_grey_levels)
    u8 = np.rint(img * 255).astype(np.uint32)
    packed = (u8[..., 0] << 16) | (u8[..., 1] << 8) | u8[..., 2]
    step = max(1, int(np.sqrt(packed.size / 65536)))
    if np.unique(packed[::step, ::step]).size > max_colours:
        return False
    colours = np.unique(packed)
    if colours.size > max_colours:
        return False
    r, g, b = colours >> 16, (colours >> 8) & 255, colours & 255
    if np.all((r == g) & (g == b)):  # a grey image stored as RGB: the grey rule
        return colours.size <= min(max_colours, max_grey_levels)
    return True


def estimate_noise(image) -> float:
    """Estimate the standard deviation of additive white Gaussian noise.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1] (anything :func:`seamline.io.as_image` takes).

    Returns
    -------
    float
        Noise sigma per channel in [0, 1] units (0.02 is about 5/255). Texture reads as a
        little noise: a clean photo typically measures 0.001-0.007.

    Notes
    -----
    Takes about 10 ms for 1024x768 on one core.
    """
    img = as_image(image)
    h, w = img.shape[:2]
    if h < 3 or w < 3:
        return 0.0
    hp = cv2.filter2D(img, cv2.CV_32F, _HP, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    # A pixel whose 3x3 neighbourhood could hold a clipped value; decided per pixel (any channel).
    ok = cv2.inRange(img, (1e-7,) * 3, (1 - 1e-7,) * 3)
    ok = cv2.erode(ok, np.ones((3, 3), np.uint8))[1:-1, 1:-1]
    for b in (16, 8):
        ny, nx = hp.shape[0] // b, hp.shape[1] // b
        if ny * nx < _MIN_BLOCKS:
            continue
        sq = cv2.multiply(hp[: ny * b, : nx * b], hp[: ny * b, : nx * b])
        ms = cv2.resize(sq, (nx, ny), interpolation=cv2.INTER_AREA)  # exact block means
        good = cv2.resize(ok[: ny * b, : nx * b], (nx, ny), interpolation=cv2.INTER_AREA) == 255
        if good.sum() < _MIN_BLOCKS // 2:
            continue
        p = np.percentile(ms[good], _PCT, axis=0)  # per channel
        return float(np.mean(np.sqrt(p)) / _HP_GAIN / _PCT_BIAS[b])
    # Too small (or too clipped) for blocks: median absolute response over usable pixels.
    vals = np.abs(hp[ok == 255]) if (ok == 255).any() else np.abs(hp).reshape(-1, 3)
    return float(np.mean(np.median(vals, axis=0)) / 0.6745 / _HP_GAIN)


def _grid(y: np.ndarray, axis: int):
    """(ratio, boundary offset) of the 8-pixel grid along one axis of a luminance image."""
    d = np.abs(np.diff(y, axis=axis)).mean(axis=1 - axis)  # mean step at each position
    n = (d.size // 8) * 8
    if n < 16:
        return 1.0, 0
    prof = d[:n].reshape(-1, 8).mean(axis=0)  # prof[k]: step between pixels k and k+1 (mod 8)
    k = int(np.argmax(prof))
    rest = (prof.sum() - prof[k]) / 7
    if rest <= 1e-12:
        ratio = 1.0 if prof[k] <= 1e-12 else float("inf")
    else:
        ratio = float(prof[k] / rest)
    if ratio < _NO_GRID:
        return ratio, 0
    return ratio, (k + 1) % 8  # first pixel of a block


def _blockiness(img: np.ndarray):
    y = img @ _LUMA
    (ry, oy), (rx, ox) = _grid(y, 0), _grid(y, 1)
    return (ry + rx) / 2, (oy, ox)


def estimate_blockiness(image) -> float:
    """Strength of JPEG-style 8x8 blocking.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1].

    Returns
    -------
    float
        Mean over both axes of (luminance step at the block boundary) / (mean step at the seven
        other positions). About 1.0-1.2 for camera images and high-quality JPEG, ~1.3 at JPEG
        quality 50, ~1.7-2.1 at 20, 2.3 and more at 10. Images under 16 pixels on a side
        measure 1.0 on that axis.
    """
    return float(_blockiness(as_image(image))[0])


def noise_profile(image) -> dict:
    """Noise and blocking of an image, as carried beside it through a pipeline.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1].

    Returns
    -------
    dict
        ``{"noise_sigma": float, "blockiness": float}``: see :func:`estimate_noise` and
        :func:`estimate_blockiness`.
    """
    img = as_image(image)
    return {"noise_sigma": estimate_noise(img), "blockiness": estimate_blockiness(img)}


# ------------------------------------------------------------------------------- adapting
def denoise(image, *, sigma=None, target_sigma: float = 0.0) -> np.ndarray:
    """Reduce Gaussian-like noise to ``target_sigma``, keeping edges.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1].
    sigma : float or None
        Noise sigma of the input in [0, 1] units; ``None`` measures it with
        :func:`estimate_noise`. It sets the filter strength (non-local means ``h`` = 0.55 sigma,
        searched over 15x15 pixels with 7x7 patches).
    target_sigma : float
        Noise level to leave: a receiver that was trained on slightly noisy input may want
        some. The filtered result is blended with the input so the residual is about this.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32 in [0, 1]. A copy of the input when ``sigma <= target_sigma``.

    Notes
    -----
    Non-local means is the cost: seconds for a 1024x768 image (OpenCV uses its thread pool).
    """
    img = as_image(image)
    sigma = _check_sigma("sigma", sigma)
    target = _check_sigma("target_sigma", target_sigma, allow_none=False)
    if sigma is None:
        sigma = estimate_noise(img)
    if sigma <= target or sigma < 1e-4:
        return img.copy()
    u8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    h = float(0.55 * sigma * 255.0)
    filtered = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 7, 15)
    # Apply the filter as a correction, so the input's sub-8-bit levels survive.
    den = img + (filtered.astype(np.float32) - u8.astype(np.float32)) * np.float32(1 / 255)
    np.clip(den, 0.0, 1.0, out=den)
    if target > 0:
        # Residual noise of a blend den + a (img - den) ~ sqrt((1-a)^2 s_d^2 + a^2 sigma^2); s_d is small.
        s_d = estimate_noise(den)
        if target > s_d:
            a = np.sqrt((target**2 - s_d**2) / max(sigma**2 - s_d**2, 1e-12))
            den = den + np.float32(min(a, 1.0)) * (img - den)
            np.clip(den, 0.0, 1.0, out=den)
    return den.astype(np.float32, copy=False)


def _deblock_cols(x: np.ndarray, first: int, gain: float, alpha: float, beta: float) -> np.ndarray:
    """Filter across the vertical block boundaries at columns first + 8k (in place)."""
    w = x.shape[1]
    b = np.arange(first, w, 8)
    b = b[(b >= 3) & (b <= w - 3)]  # p2..q2 must exist
    if b.size == 0:
        return x
    p2, p1, p0, q0, q1, q2 = (x[:, b + o] for o in (-3, -2, -1, 0, 1, 2))
    # The step across the boundary beyond what the gradient on either side predicts.
    e = (q0 - p0) - 0.5 * ((p0 - p1) + (q1 - q0))
    act = np.maximum(np.maximum(np.abs(p1 - p0), np.abs(q1 - q0)), np.maximum(np.abs(p2 - p1), np.abs(q2 - q1)))
    # Soft gates: full correction below half the threshold, none above it (edges and texture stay).
    g = gain * np.clip(2 - 2 * np.abs(e) / alpha, 0, 1) * np.clip(2 - 2 * act / beta, 0, 1)
    d = g * e / 7  # spread e as a linear ramp p2..q2: offsets (1, 2, 3, -3, -2, -1) / 7
    for o, k in ((-3, 1), (-2, 2), (-1, 3), (0, -3), (1, -2), (2, -1)):
        x[:, b + o] += k * d
    return x


def deblock(image, *, strength=None) -> np.ndarray:
    """Smooth JPEG block boundaries (only there), keeping real edges.

    Parameters
    ----------
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1].
    strength : float or None
        In [0, 1]: 0 leaves the image unchanged, 1 is for heavy blocking (JPEG quality ~15 or
        lower). ``None`` derives it from :func:`estimate_blockiness`: 0 up to 1.1 (clean),
        rising linearly to 1 at 2.0. It sets the largest boundary step still treated as an
        artefact (0.02 + 0.12 strength, in [0, 1] units; larger steps are edges and stay) and,
        below 0.25, also scales the correction down, so strength -> 0 fades to no change.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32 in [0, 1]. Pixels farther than 2 from a block boundary
        (the middle two of each 8) are never changed; neither is anything when strength is 0.
    """
    img = as_image(image)
    ratio, (oy, ox) = _blockiness(img)
    if strength is None:
        strength = float(np.clip((ratio - _B_OFF) / _B_SPAN, 0.0, 1.0))
    elif isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not 0 <= strength <= 1:
        raise InputError(f"strength: expected None or a number in [0, 1], got {strength!r}")
    out = img.copy()
    if strength <= 0:
        return out
    alpha = 0.02 + 0.12 * strength
    beta = 0.6 * alpha
    gain = min(1.0, 4.0 * strength)
    _deblock_cols(out, ox, gain, alpha, beta)
    t = np.ascontiguousarray(out.transpose(1, 0, 2))
    _deblock_cols(t, oy, gain, alpha, beta)
    out = np.ascontiguousarray(t.transpose(1, 0, 2))
    return np.clip(out, 0.0, 1.0, out=out)
