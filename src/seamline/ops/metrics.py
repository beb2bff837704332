"""Quality metrics for edits: colour difference, seam visibility, texture loss, leakage.

Conventions: images are ``(H, W, 3) float32`` sRGB in [0, 1]; masks ``(H, W) float32`` in
[0, 1]. Geometric metrics (seams, rings, inside/outside) use the binary region
``mask >= 0.5``, except :func:`outside_change`, for which every pixel with ``mask > 0`` is
allowed to change. Averaging metrics (:func:`hf_energy`, :func:`psnr`, :func:`ssim`) weight
each pixel by its mask value, so soft edges count partially.

Luminance everywhere is ``0.2126 R + 0.7152 G + 0.0722 B`` on the sRGB values: these are
structure measures, so the encoded values (what the eye compares) are the right domain.

Memory follows the mask, not the frame: the masked metrics compute their per-pixel terms on
crops around the mask (:func:`seamline.ops.masks.support_boxes`, with the margin each filter
reads) and scatter them into full-frame arrays made with ``np.zeros``, whose untouched pages
the operating system never backs with memory. The final reductions run over those arrays
exactly as before, so every number is bit-identical to a full-frame computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from seamline.core.arrays import LUMA, row_strips, srgb_decode
from seamline.errors import InputError
from seamline.io import as_image, as_mask
from seamline.ops.ciede2000 import ciede2000_srgb
from seamline.ops.masks import grow, support_boxes
from seamline.ops.validate import nonneg_int

__all__ = [
    "delta_e2000",
    "seam_score",
    "outside_change",
    "inside_vs_ring_delta_e",
    "hf_energy",
    "hf_energy_ratio",
    "psnr",
    "ssim",
    "NormalRange",
    "QA_RANGES",
    "qa_figures",
    "qa_warnings",
]

_EPS = 1e-6  # keeps flat-vs-flat ratios at 1 instead of 0/0


def _pair(a, b, names=("a", "b"), grey=False):
    """Two images of one shape; with ``grey``, two grey ``(H, W)`` ones stay grey (one grey
    and one RGB: both RGB)."""
    a, b = as_image(a, name=names[0], grey=grey), as_image(b, name=names[1], grey=grey)
    if a.ndim != b.ndim:
        a, b = as_image(a, name=names[0]), as_image(b, name=names[1])
    if a.shape != b.shape:
        raise InputError(f"{names[1]}: shape {b.shape} does not match {names[0]}'s {a.shape}")
    return a, b


def _crop(box):
    y0, y1, x0, x1 = box
    return slice(y0, y1), slice(x0, x1)


def _region(mask, shape, fn):
    """Binary region ``mask >= 0.5``; both it and its complement must be non-empty.

    Returns the region (full frame, written on crops only) and the mask.
    """
    mask = as_mask(mask, shape=shape)
    region = np.zeros(mask.shape, bool)
    for box in support_boxes(mask, 0, threshold=0.5):
        region[_crop(box)] = mask[_crop(box)] >= 0.5
    if not region.any():
        raise InputError(f"{fn}: mask has no pixel >= 0.5; nothing to measure")
    if region.all():
        raise InputError(f"{fn}: mask covers the whole image; no surroundings to compare with")
    return region, mask


def _distance_to(region):
    """Euclidean distance of every pixel to the nearest pixel of ``region`` (0 inside it)."""
    return cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _weights(mask, shape, fn):
    if mask is None:
        return None
    mask = as_mask(mask, shape=shape)
    w = np.zeros(mask.shape, np.float64)  # float64 copy of the mask, written on crops only
    for box in support_boxes(mask, 0):
        w[_crop(box)] = mask[_crop(box)]
    if not w.any():
        raise InputError(f"{fn}: mask is empty; nothing to measure")
    return w


def _normal_gradient(image, signed_distance):
    """|luminance gradient . unit normal of the boundary| per pixel (Sobel 3x3 for both)."""
    luma = image if image.ndim == 2 else image @ LUMA  # grey: Y = the value
    gx, gy = (cv2.Sobel(luma, cv2.CV_32F, dx, 1 - dx, ksize=3) for dx in (1, 0))
    nx, ny = (cv2.Sobel(signed_distance, cv2.CV_32F, dx, 1 - dx, ksize=3) for dx in (1, 0))
    return np.abs(gx * nx + gy * ny) / (np.hypot(nx, ny) + 1e-12)


def delta_e2000(a, b):
    """Per-pixel CIEDE2000 colour difference.

    Parameters
    ----------
    a, b : (H, W, 3) float32 arrays in [0, 1], sRGB, or both (H, W): grey

    Returns
    -------
    (H, W) float32 array, >= 0
        ΔE00 computed in CIELAB (D65, 2°), the formulas and constants of
        :func:`skimage.color.rgb2lab` and :func:`skimage.color.deltaE_ciede2000` evaluated
        per pixel in float64 by one compiled loop (within 1e-4 of scikit-image's float64
        result; its array route held 1.9 GB over its inputs for a 12 MP pair, this holds the
        output alone, and takes 0.6x its CPU time). About 1 is
        a just noticeable difference; above 2-3 a side-by-side viewer sees it. Two grey
        images have no chroma (a* = b* = 0), where CIEDE2000 is ``|ΔL| / S_L``: computed so,
        on the one channel (the RGB route on their expansion agrees within 1e-3).
    """
    a, b = _pair(a, b, grey=True)
    if a.ndim == 2:
        la, lb = _grey_lightness(a), _grey_lightness(b)
        mid = (la + lb) / 2 - 50
        sl = 1 + 0.015 * mid * mid / np.sqrt(20 + mid * mid)
        return (np.abs(la - lb) / sl).astype(np.float32)
    return ciede2000_srgb(a, b)


def _grey_lightness(g):
    """CIELAB L* of grey sRGB values (R = G = B = g; Y = the decoded value), float32."""
    y = srgb_decode(g.astype(np.float32, copy=False))
    f = np.where(y > 0.008856, np.cbrt(y), np.float32(7.787) * y + np.float32(16 / 116))
    return np.float32(116) * f - np.float32(16)


def seam_score(result, mask, *, reference=None, band_px=1, ring_px=8):
    """How visible the mask boundary is, relative to its surroundings or to the truth.

    Definition. Let ``R = mask >= 0.5``, ``d`` the Euclidean distance to the boundary of
    ``R`` (distance to the nearest outside pixel for inside pixels, to the nearest inside
    pixel for outside ones, so the pixels touching the boundary have ``d = 1``), and
    ``g = |grad Y . n|``: the Sobel (3x3) gradient of luminance projected on the boundary
    normal ``n`` (the Sobel gradient of the signed distance). Then

    - band: pixels on either side with ``d <= band_px``;
    - ring: outside pixels with ``band_px < d <= band_px + ring_px``.

    Without ``reference``: ``(mean g(result) over band + eps) / (mean g(result) over ring
    + eps)``. With ``reference``: ``(mean g(result) over band + eps) / (mean g(reference)
    over band + eps)``. ``eps = 1e-6``.

    1.0 means the boundary is no more visible than the texture next to it (or than the same
    boundary in the clean image). > 1 is a visible seam: an edge running along the boundary.
    < 1 means the boundary is smoother than its surroundings (a blurred fill; measure that
    with :func:`hf_energy_ratio`). Projecting on the normal is what makes it a *seam*
    measure: an isotropic texture contributes the same on average in band and ring, while
    a seam's gradient is all normal. The score sees edges, not texture swaps: a flat patch
    in a fine, high-contrast texture (grass, gravel) scores near 1.

    Parameters
    ----------
    result : (H, W, 3) float32 array in [0, 1], or (H, W): grey (its own luminance; the
        score of its RGB expansion within float rounding)
    mask : (H, W) float32 array in [0, 1]
    reference : (H, W, 3) float32 array in [0, 1], optional
        The clean image the edit should reproduce.
    band_px : int
        Band half-width, >= 1. The default 1 (a 2 px band straddling the boundary) is the
        most sensitive: wider bands average in pixels the seam does not reach.
    ring_px : int
        Width of the comparison ring beyond the band, >= 1.

    Returns
    -------
    float
        NaN when there is nothing to compare with: no ring pixel inside the frame (a band
        as wide as the frame reaches every pixel outside the mask), or no band pixel.
    """
    result = as_image(result, name="result", grey=True)
    region, mask = _region(mask, result.shape[:2], "seam_score")
    for value, name in ((band_px, "band_px"), (ring_px, "ring_px")):
        if nonneg_int(value, name) < 1:
            raise InputError(f"{name}: expected an integer >= 1, got {value!r}")
    if reference is not None:
        result, reference = _pair(result, reference, ("result", "reference"), grey=True)
    shape = region.shape
    band, ring = np.zeros(shape, bool), np.zeros(shape, bool)
    g, g_ref = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    # band and ring lie within band_px + ring_px of the region; the Sobel filters read 1 px more
    for box in support_boxes(mask, band_px + ring_px + 2, threshold=0.5):
        reg = region[_crop(box)]
        d_out, d_in = _distance_to(reg), _distance_to(~reg)
        band[_crop(box)] = (reg & (d_in <= band_px)) | (~reg & (d_out <= band_px))
        ring[_crop(box)] = ~reg & (d_out > band_px) & (d_out <= band_px + ring_px)
        signed = np.where(reg, -d_in, d_out).astype(np.float32)
        g[_crop(box)] = _normal_gradient(result[_crop(box)], signed)
        if reference is not None:
            g_ref[_crop(box)] = _normal_gradient(reference[_crop(box)], signed)
    if not band.any() or (reference is None and not ring.any()):
        return float("nan")  # (a mean of nothing: numpy's RuntimeWarnings, then NaN)
    boundary = float(g[band].mean())
    if reference is None:
        return (boundary + _EPS) / (float(g[ring].mean()) + _EPS)
    return (boundary + _EPS) / (float(g_ref[band].mean()) + _EPS)


def outside_change(original, result, mask, *, dilate_px=0):
    """How much changed where nothing should have: outside the (dilated) mask.

    Parameters
    ----------
    original, result : (H, W, 3) float32 arrays in [0, 1], or both (H, W): grey (the
        figures of their RGB expansion, without making it)
    mask : (H, W) float32 array in [0, 1]
        Pixels with ``mask > 0``, grown by ``dilate_px``, are allowed to change.
    dilate_px : int
        Tolerance around the mask (for stages that legitimately blend past the edge).

    Returns
    -------
    dict
        ``dilate_px``; ``outside_px`` (pixels checked); ``changed_px`` (pixels where
        any channel differs at all, exact float comparison); ``max_abs_diff`` and
        ``mean_abs_diff`` (over the checked pixels and channels; 0 when none are checked).
    """
    original, result = _pair(original, result, ("original", "result"), grey=True)
    channels = 1 if original.ndim == 2 else original.shape[2]
    dilate_px = nonneg_int(dilate_px, "dilate_px")
    mask = as_mask(mask, shape=original.shape[:2])
    allowed = grow(mask, dilate_px) if dilate_px else mask  # > 0: allowed to change
    n_outside = mask.size - int(np.count_nonzero(allowed))
    # Every pixel is compared, a band of rows at a time (no full-frame temporaries).
    # Differences are taken only where a pixel changed at all (usually none): the mean over
    # all checked pixels is their sum over the checked count, the unchanged adding 0.
    n_changed, diffs = 0, [np.zeros(0)]
    for y in range(0, mask.shape[0], 256):
        rows = slice(y, y + 256)
        differs = result[rows] != original[rows]
        if channels > 1:  # the channels OR-ed one by one: any(axis=-1) over 3 is ~4x slower
            differs = np.logical_or.reduce([differs[..., c] for c in range(channels)])
        changed = differs & (allowed[rows] == 0)
        if changed.any():
            n_changed += int(changed.sum())
            diffs.append(np.abs(result[rows][changed].astype(np.float64)
                                - original[rows][changed]).ravel())
    diff = np.concatenate(diffs)
    return {
        "dilate_px": dilate_px,
        "outside_px": n_outside,
        "changed_px": n_changed,
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.sum() / (channels * n_outside)) if n_outside else 0.0,
    }


def inside_vs_ring_delta_e(result, mask, *, ring_px=8):
    """CIEDE2000 between the mean colour inside the mask and in the ring around it.

    Means are taken in CIELAB over ``mask >= 0.5`` and over outside pixels within Euclidean
    distance ``ring_px`` of it. A fill whose overall colour drifted from its surroundings
    scores high; a fill of a region that genuinely differs from its surroundings does too,
    so compare against the same number on the clean image when one exists.

    Parameters
    ----------
    result : (H, W, 3) float32 array in [0, 1], or (H, W): grey (R = G = B)
    mask : (H, W) float32 array in [0, 1]
    ring_px : int
        Ring width, >= 1.

    Returns
    -------
    float, >= 0
    """
    result = as_image(result, name="result", grey=True)
    region, mask = _region(mask, result.shape[:2], "inside_vs_ring_delta_e")
    if nonneg_int(ring_px, "ring_px") < 1:
        raise InputError(f"ring_px: expected an integer >= 1, got {ring_px!r}")
    ring = np.zeros(region.shape, bool)
    for box in support_boxes(mask, ring_px + 1, threshold=0.5):
        reg = region[_crop(box)]
        ring[_crop(box)] = ~reg & (_distance_to(reg) <= ring_px)
    def lab(px):  # (n, 3), or (n,) grey: expanded on these pixels only
        return rgb2lab((px[:, None] if px.ndim == 2 else np.repeat(px[:, None, None], 3, 2)))

    inside = lab(result[region]).mean(axis=(0, 1))
    around = lab(result[ring]).mean(axis=(0, 1))
    return float(deltaE_ciede2000(inside, around))


def hf_energy(image, mask=None):
    """Mean high-frequency energy of luminance: ``(Y - GaussianBlur(Y, sigma=1.5))**2``.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1], or (H, W): grey (its own luminance)
    mask : (H, W) float32 array in [0, 1], optional
        Weights for the mean (soft values count partially); whole image when omitted.

    Returns
    -------
    float, >= 0, in squared [0, 1] units
    """
    image = as_image(image, grey=True)
    w = _weights(mask, image.shape[:2], "hf_energy")
    if w is None:
        return _high_pass2_mean(image)
    weighted = np.zeros(w.shape, np.float64)  # hp2 * w, written where w > 0 only
    for box in support_boxes(w, _BLUR_RADIUS + 1):
        weighted[_crop(box)] = _high_pass2(image[_crop(box)]) * w[_crop(box)]
    return float(weighted.sum() / w.sum())


_BLUR_RADIUS = 6  # OpenCV's Gaussian kernel for sigma 1.5 in float32: 13 taps


def _high_pass2_mean(image, rows_per_strip: int | None = None) -> float:
    """``_high_pass2(image).mean()`` strip by strip: each strip reads ``_BLUR_RADIUS`` rows of
    context above and below, so its pixels equal the whole-image ones, and the float64
    temporaries stay a few MB (a 62 MP upscale output made 1.5 GB of them)."""
    h, w = image.shape[:2]
    step = rows_per_strip or max(1, (1 << 20) // w)
    total = 0.0
    for y0 in range(0, h, step):
        y1 = min(h, y0 + step)
        a0, a1 = max(0, y0 - _BLUR_RADIUS), min(h, y1 + _BLUR_RADIUS)
        total += float(_high_pass2(image[a0:a1])[y0 - a0:y1 - a0].sum())
    return total / (h * w)


def _high_pass2(image):
    """Squared high-pass of luminance, float64 ``(Y - GaussianBlur(Y, sigma=1.5))**2``."""
    luma = image if image.ndim == 2 else image @ LUMA  # grey: Y = the value (weights sum to 1)
    return (luma - cv2.GaussianBlur(luma, (0, 0), 1.5)).astype(np.float64) ** 2


def hf_energy_ratio(result, reference, mask):
    """``hf_energy(result, mask) / hf_energy(reference, mask)`` (each plus 1e-6).

    About 1 when the fill carries as much fine texture as the truth; diffusion fills of a
    textured hole score around 0.1-0.3 (smeared); above 1 means added noise or artefacts.

    Parameters
    ----------
    result, reference : (H, W, 3) float32 arrays in [0, 1]
    mask : (H, W) float32 array in [0, 1]

    Returns
    -------
    float, >= 0
    """
    result, reference = _pair(result, reference, ("result", "reference"))
    return (hf_energy(result, mask) + _EPS) / (hf_energy(reference, mask) + _EPS)


def psnr(a, b, mask=None):
    """Peak signal-to-noise ratio in dB for data range 1, optionally mask-weighted.

    Parameters
    ----------
    a, b : (H, W, 3) float32 arrays in [0, 1], or both (H, W): grey (the same figure as
        their RGB expansion, without making it)
    mask : (H, W) float32 array in [0, 1], optional
        Per-pixel weights of the squared error (all channels); whole image when omitted.

    Returns
    -------
    float
        ``10 * log10(1 / MSE)``; ``inf`` for identical inputs.
    """
    a, b = _pair(a, b, grey=True)
    w = _weights(mask, a.shape[:2], "psnr")
    if w is None and a.size > _PSNR_WHOLE_ELEMENTS:
        mse = _squared_error_sum(a, b) / a.size
    else:
        se = (a.astype(np.float64) - b) ** 2
        if se.ndim == 3:
            se = se.mean(axis=-1)
        mse = se.mean() if w is None else (se * w).sum() / w.sum()
    return float("inf") if mse == 0 else float(10 * np.log10(1 / mse))


#: Above this many values (1.4 MP RGB) :func:`psnr` without a mask sums its float64 squared
#: errors strip by strip: the whole-array expression held 2.7x the pair's float32 bytes (a
#: 24 MP pair: 0.77 GB); the figure then differs from it by float64 rounding only (~1e-15).
_PSNR_WHOLE_ELEMENTS = 1 << 22


def _squared_error_sum(a, b) -> float:
    """``sum((a - b) ** 2)`` in float64, a strip of about 2**20 values at a time
    (:func:`seamline.core.arrays.row_strips`)."""
    total = 0.0
    for s in row_strips(a):
        d = a[s].astype(np.float64)
        d -= b[s]
        total += float(np.vdot(d, d))
    return total


def ssim(a, b, mask=None):
    """Structural similarity (7x7 uniform window, data range 1), optionally mask-weighted.

    Without a mask this is :func:`skimage.metrics.structural_similarity`'s mean. With one,
    the SSIM map is computed on the mask's bounding box plus the window radius (identical
    values to the full-image map there, at a fraction of the cost), averaged over the
    channels and then weighted by the mask.

    Parameters
    ----------
    a, b : (H, W, 3) float32 arrays in [0, 1], at least 7x7
    mask : (H, W) float32 array in [0, 1], optional

    Returns
    -------
    float in [-1, 1]
    """
    a, b = _pair(a, b)
    H, W = a.shape[:2]
    if min(H, W) < 7:
        raise InputError(f"ssim: images must be at least 7x7 for the SSIM window, got {H}x{W}")
    w = _weights(mask, (H, W), "ssim")
    if w is None:
        return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))
    ys, xs = np.nonzero(w)
    # Window radius 3 of margin, widened where needed so the crop holds a full 7x7 window.
    y0, y1 = max(0, min(ys.min() - 3, H - 7)), min(H, max(ys.max() + 4, 7))
    x0, x1 = max(0, min(xs.min() - 3, W - 7)), min(W, max(xs.max() + 4, 7))
    box = (slice(y0, y1), slice(x0, x1))
    _, smap = structural_similarity(a[box], b[box], channel_axis=-1, data_range=1.0, full=True)
    wb = w[box]
    return float((smap.mean(axis=-1) * wb).sum() / wb.sum())


# --------------------------------------------------------------------------------------------
# Normal ranges of the QA figures: a figure far outside its range is a warning in the run's
# manifest and is flagged in the command line's summary.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalRange:
    """Where a QA figure lies on results a person accepts, and why the bounds are there.

    Attributes
    ----------
    key : str
        Dotted path into a QA report (``"color_drift.delta_e_mean"``).
    label : str
        How the figure reads, ``{}`` standing for the value (``"ΔE2000 {} vs input"``).
    low, high : float or None
        Normal is ``low <= value <= high``; None leaves that side open.
    unit : str
        Printed after the value and the bounds (``" dB"``).
    digits : int
        Decimals printed.
    reason : str
        Why the bounds are where they are (measured on the tuning set, never the held-out
        benchmark photos).
    """

    key: str
    label: str
    low: float | None = None
    high: float | None = None
    unit: str = ""
    digits: int = 2
    reason: str = ""

    def bounds(self) -> str:
        """The normal range as text: ``"<= 3"``, ``">= 30 dB"``, ``"0.75-1.33"``, ``"0 px"``."""
        lo, hi = (None if b is None else f"{b:g}" for b in (self.low, self.high))
        if lo is not None and hi is not None:
            return f"{lo}-{hi}{self.unit}"
        if hi is not None:
            return f"{hi}{self.unit}" if self.high == 0 and self.low is None else \
                f"<= {hi}{self.unit}"
        return f">= {lo}{self.unit}"


#: The QA figures with a normal range, in the order the summary prints them. "Train photos"
#: are :func:`seamline.testing.backgrounds.backgrounds` ``("train", max_side=256)`` (14
#: scikit-image photos, Grace Hopper, 14 procedural images) and, for the edit figures, 16
#: ``text_photo_cases`` (seeds 3 and 5) through ``remove_text`` plus those 30 images with three
#: random ellipses each through ``inpaint`` (telea and exemplar): "the edit cases".
QA_RANGES: tuple[NormalRange, ...] = (
    NormalRange("color_drift.delta_e_mean", "ΔE2000 {} vs input", high=3.0,
                reason="mean CIEDE2000 of the upscale area-downscaled back vs its input: 1 is a "
                       "just noticeable difference, 3 is seen at a glance; the train photos "
                       "measure 0.01-1.7 (seamline-sr) and <= 1.1 (Lanczos), 2.5 after the "
                       "denoise adapter removed sigma 0.02 noise. Above 3 the colours changed, "
                       "not only the size (1-bit dither: 2.2-3.7, colour noise textures: 4-6)"),
    NormalRange("color_drift.psnr", "PSNR {} vs input", low=30.0, unit=" dB", digits=1,
                reason="the upscale area-downscaled back reproduces its input: 38-77 dB on the "
                       "train photos (seamline-sr, Lanczos), 37 dB after denoising sigma 0.02 "
                       "noise; 1-bit dithered graphics upscaled by seamline-sr measure 20-22 dB"),
    NormalRange("hf_ratio_vs_unreconciled", "detail kept {}", low=0.75,
                reason="colour reconciliation moves low frequencies (or applies a smooth LUT), "
                       "so it keeps the upscaler's fine detail: 0.97-1.21 on the train photos "
                       "at x2; below 0.75 it smoothed it away. No upper bound: where the "
                       "upscaler washed out a fine pattern, the reconciliation restores its "
                       "contrast (a near-Nyquist checker at x4: 1.4-58, and rightly so)"),
    NormalRange("seam_score", "seam {}", high=2.0,
                reason="edge strength across the mask boundary vs the texture beside it: 1 is "
                       "no more visible than the surroundings; the edit cases measure 0.31-1.27 "
                       "(text removal 0.48-0.61: softer than the context, a smear, not a seam); "
                       "2 is an edge twice the context's, a line a person sees"),
    NormalRange("delta_e_inside_vs_ring", "ΔE2000 in/ring {}", high=15.0,
                reason="CIEDE2000 between the mean colours of the fill and its 8 px ring: "
                       "0.03-10.2 on the edit cases, up to 10 for good fills of a mask over an "
                       "edge (hair against sky: the ring averages both sides), while visibly "
                       "smeared fills measure 3-5 (the mean does not see them); above 15 the "
                       "fill has a colour of its own (the text's colour left, a foreign patch)"),
    NormalRange("hf_ratio_hole_vs_ring", "texture in/ring {}", high=3.0,
                reason="fine detail inside the fill vs its ring: 0.02-2.05 on the edit cases, "
                       "text removal's smeared fills 0.04-0.55 (a known limit, not flagged); "
                       "three times the context's detail is noise or a pasted edge"),
    NormalRange("outside_change.changed_px", "changed outside mask {}", high=0, unit=" px",
                digits=0, reason="every fill pastes back through one compositing step that "
                                 "keeps pixels outside the mask bit-identical"),
)


def _lookup(report: dict, key: str):
    for part in key.split("."):
        if not isinstance(report, dict) or part not in report:
            return None
        report = report[part]
    ok = isinstance(report, (int, float, np.integer, np.floating)) and not isinstance(report, bool)
    return float(report) if ok and np.isfinite(report) else None


def qa_figures(report: dict) -> list[tuple[NormalRange, float, str, bool]]:
    """The figures of a QA report that have a normal range, as printed.

    Parameters
    ----------
    report : dict
        A QA stage's report, or a run's merged ``manifest["qa"]``.

    Returns
    -------
    list of (NormalRange, float, str, bool)
        In :data:`QA_RANGES` order, for each figure present (and finite): its range, its
        value, its text (``"ΔE2000 0.27 vs input"``; ``"ΔE2000 3.71 vs input (normal <= 3)"``
        outside the range) and whether it is outside.
    """
    found = []
    for r in QA_RANGES:
        value = _lookup(report, r.key)
        if value is None:
            continue
        text = r.label.format(f"{value:.{r.digits}f}{r.unit}")
        outside = (r.low is not None and value < r.low) or (r.high is not None and value > r.high)
        found.append((r, value, f"{text} (normal {r.bounds()})" if outside else text, outside))
    return found


def qa_warnings(report: dict) -> list[str]:
    """One line per figure of ``report`` outside its normal range (see :func:`qa_figures`)."""
    return [text for _, _, text, outside in qa_figures(report) if outside]
