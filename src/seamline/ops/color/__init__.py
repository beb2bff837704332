"""Colour reconciliation: remove the colour drift a stage introduced, keep its new detail.

(This module is over 600 lines because the four methods share one set of numba sRGB<->Lab
kernels and their lookup tables, which are private to it; splitting them out would make
those tables and kernels public API for no caller but this one.)

The typical case is an upscaler: ``image`` is its output, ``reference`` the image it was given
(smaller, same picture). The upscaler added detail we want to keep and shifted colours (a
cast, a tone curve, a saturation change) we want to undo. The methods, from the most to the
least informed:

``regression``
    The reference is the same picture, so pixels correspond once the output is downscaled
    (area) to the reference size. A smooth colour transform RGB -> RGB is fitted on those
    aligned pairs: a 3D lattice (a LUT with trilinear interpolation) regularised by its
    second differences, fitted with Huber-robust iteratively reweighted least squares so a
    few hallucinated objects do not bend it. The transform is a per-pixel function of colour,
    so it is applied to the full-resolution output and the new detail survives (only scaled
    by the transform's local slope, which is what the drift did to the truth's detail too).
    Optional ``spatial`` correction for drift that varies across the frame (vignetting, a
    tinted corner): per-channel gains and offsets that vary slowly over the image.
``wavelet``
    The StableSR colour fix: low frequencies of the reference (upsampled to the output size)
    plus high frequencies of the output, split with an a-trous (dilated binomial) low-pass.
``histogram``
    For a reference that is *another* picture: per-channel histogram matching in CIELAB
    (the A1111 colour correction), with ``luminance`` to keep the output's lightness, fitted
    on ``mask`` pixels if given (IOPaint), applied as smooth monotone 1D LUTs. The histograms
    are smoothed and floored before the CDFs are inverted, so an 8-bit reference's comb-like
    histogram does not turn into a staircase map (banding, posterisation), and they are taken
    at one scale (the larger image area-downscaled to the smaller's pixel count): a small
    reference's histogram is narrower than the full-resolution picture's.
``meanstd``
    Reinhard transfer in CIELAB: per-channel mean and standard deviation.
``auto``
    ``regression`` when the reference has the image's aspect ratio (within 1 %) and is the
    same picture (luminance correlation >= 0.5 at a common size: a colour drift keeps it near
    1, another photo of the same shape scores near 0), else ``histogram``.

Correct against the original reference, never against the previous pass's output: drift
accumulates otherwise. Alpha is never colour-matched: callers pass RGB only (``as_image``
refuses 4 channels) and carry the alpha beside the image.

Conventions: images ``(H, W, 3) float32`` sRGB in [0, 1]; masks ``(H, W) float32`` in [0, 1].
Here ``mask`` weights the pixels the transform is *fitted* on (1 = trust this pixel); the
fitted transform is applied to the whole image. To fit on the unedited surroundings of an
inpainting (IOPaint), pass ``1 - edit_mask``.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time

import cv2
import numpy as np
from numba import njit, prange
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from seamline.core.arrays import LUMA, srgb_decode, srgb_encode
from seamline.errors import InputError
from seamline.io import as_image, as_mask

__all__ = ["METHODS", "match_colors", "color_drift"]

METHODS = ("histogram", "meanstd", "wavelet", "regression", "auto")

_ASPECT_TOL = 0.01
_SAME_PICTURE = 0.5  # luminance correlation above which `auto` trusts pixel correspondence
_FIT_SAMPLES = 1 << 18  # pixels used to fit histograms / the lattice (subsampled beyond)

# Options per method with their defaults; validated up front (unknown name -> InputError).
_OPTIONS = {
    "histogram": {"luminance": 1.0, "bins": 1024, "smooth": 0.5},
    "meanstd": {"luminance": 1.0, "max_gain": 4.0},
    "wavelet": {"levels": 5},
    "regression": {"grid": 13, "smoothness": 1e-5, "robust": True, "spatial": 0.0},
}
_OPTIONS["auto"] = {**_OPTIONS["histogram"], **_OPTIONS["regression"]}


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def match_colors(image, reference, *, method="auto", mask=None, report=None, **options):
    """Remove the colour drift of ``image`` relative to ``reference``, keeping its detail.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1]
        The stage's output (e.g. an upscaled image), sRGB. RGB only: alpha is never
        colour-matched; pass ``rgba[..., :3]`` and carry the alpha beside it.
    reference : (h, w, 3) float32 array in [0, 1]
        The colours to restore. For ``regression``/``wavelet`` (and ``auto`` choosing
        ``regression``): the same picture at any resolution (typically the stage's input),
        with the image's aspect ratio within 1 %. For ``histogram``/``meanstd``: any picture.
        Always correct against the original input, not a previous pass's output.
    method : {"auto", "regression", "wavelet", "histogram", "meanstd"}
        See the module docstring. ``auto`` picks ``regression`` for an aligned reference of
        the same picture, ``histogram`` otherwise.
    mask : (H, W) float32 array in [0, 1], optional
        Fitting weights at the image's size: 1 = use this pixel to fit the transform,
        0 = ignore it (an edited or hallucinated region); soft values weigh partially. When
        the reference is aligned, the mask resized to the reference size weighs the
        reference's pixels too. The transform is applied to every pixel. For ``wavelet`` the
        low-frequency correction is estimated from mask pixels only (normalised convolution).
    report : dict, optional
        Filled in place with ``method`` (the one used), ``requested``, ``options``,
        ``aligned``, ``correspondence`` (``auto`` with an aligned reference: the luminance
        correlation it decided on; else None), ``before``/``after`` (:func:`color_drift`
        of the image and of the result against the reference: ΔE2000 mean/p95 when
        aligned, histogram distance), ``params`` (a summary of what was fitted) and
        ``time_s`` (the matching alone).
    **options
        Keyword options of the method (unknown names are an error):

        histogram
            ``luminance`` (float in [0, 1], default 1): how much of the lightness (L) match
            to apply; 0 keeps the image's L (the A1111 luminosity blend), a/b are always
            matched. ``bins`` (int >= 64, default 1024): histogram bins per channel.
            ``smooth`` (float >= 0, default 0.5): Gaussian smoothing of the histograms in
            Lab units (an 8-bit source has gaps of about 0.4 L between levels).
        meanstd
            ``luminance`` as above; ``max_gain`` (float >= 1, default 4): std ratios are
            clipped to ``[1/max_gain, max_gain]``.
        wavelet
            ``levels`` (int in [1, 10], default 5): a-trous levels; the low band is what
            remains below about ``2**levels`` output pixels.
        regression
            ``grid`` (int in [3, 33], default 13): lattice nodes per RGB axis (the fit
            solves ``grid**3`` unknowns; beyond 17 it gets slow and gains nothing).
            ``smoothness`` (float > 0, default 1e-5): weight of the second-difference
            penalty (larger = closer to an affine map). ``robust`` (bool, default True):
            Huber IRLS. ``spatial`` (float in [0, 1], default 0 = off): Gaussian window, as
            a fraction of the reference's longer side, of per-channel gains and offsets
            fitted after the global transform (0.01-0.02 undoes a vignette); off by default
            because a global colour function can never move structure around.
        auto
            Accepts the options of ``histogram`` and ``regression``; those of the method
            chosen are used.

    Returns
    -------
    (H, W, 3) float32 array in [0, 1]

    Raises
    ------
    InputError
        Bad image/reference/mask, unknown method or option, or a ``regression``/``wavelet``
        reference whose aspect ratio differs from the image's.
    """
    image = as_image(image, name="image")
    reference = as_image(reference, name="reference")
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    opts = _check_options(method, options)
    if mask is not None:
        mask = as_mask(mask, name="mask", shape=image.shape)
        if not mask.any():
            raise InputError("mask: no pixel > 0; nothing to fit the colour transform on")
    if report is not None and not isinstance(report, dict):
        raise InputError(f"report: expected a dict or None, got {type(report).__name__}")
    aligned = _aligned(image.shape, reference.shape)
    correspondence = None
    used = method
    if method == "auto":
        if aligned:
            correspondence = _correspondence(image, reference, mask)
        same = aligned and correspondence >= _SAME_PICTURE
        used = "regression" if same else "histogram"
    if used in ("regression", "wavelet") and not aligned:
        h, w = image.shape[:2]
        rh, rw = reference.shape[:2]
        raise InputError(f"reference: size {rw}x{rh} (aspect {rw / rh:.4f}) does not match the "
                         f"image's {w}x{h} (aspect {w / h:.4f}) within 1%; method {used!r} needs "
                         f"the same picture, use 'histogram' or 'meanstd' for another one")
    opts = {k: v for k, v in opts.items() if k in _OPTIONS[used]}

    t0 = time.perf_counter()
    fn = {"histogram": _histogram, "meanstd": _meanstd, "wavelet": _wavelet,
          "regression": _regression}[used]
    out, params = fn(image, reference, mask, **opts)  # float32 in [0, 1] (each clips)
    elapsed = time.perf_counter() - t0

    if report is not None:
        report.update(method=used, requested=method, options=opts, aligned=aligned,
                      correspondence=correspondence, params=params, time_s=elapsed,
                      before=color_drift(image, reference), after=color_drift(out, reference))
    return out


def color_drift(output, reference):
    """How far ``output``'s colours are from ``reference``'s.

    Parameters
    ----------
    output : (H, W, 3) float32 array in [0, 1]
    reference : (h, w, 3) float32 array in [0, 1]
        Both may be grey ``(H, W)``: the figures are then measured on the one channel (those
        of their RGB expansions, within 1e-3), without making three.

    Returns
    -------
    dict
        ``aligned`` (bool): same aspect ratio within 1 %. ``delta_e_mean``,
        ``delta_e_p95`` (float, or None when not aligned): CIEDE2000 per pixel between the
        larger of the two area-downscaled to the smaller's size and the smaller (the output
        downscaled to the reference size, for an upscaler). ``psnr`` (float in dB, capped at
        100 for identical pixels; None when not aligned): the same pair's PSNR, data range 1.
        ``hist_w1`` (list of 3 floats):
        per CIELAB channel (L, a, b), the Wasserstein-1 (earth mover's) distance between the
        two images' 1D histograms, in Lab units; ``hist_w1_mean`` their mean. The
        histograms are taken at one scale (the larger image area-downscaled to the smaller's
        pixel count: averaging narrows a histogram, so a picture and its half-size copy would
        otherwise differ) on at most 2**18 pixels each (strided subsample).
    """
    from seamline.ops.metrics import delta_e2000, psnr

    output = as_image(output, name="output", grey=True)
    reference = as_image(reference, name="reference", grey=True)
    if output.ndim != reference.ndim:  # one grey, one colour: compare in colour
        output, reference = as_image(output), as_image(reference)
    aligned = _aligned(output.shape, reference.shape)
    result = {"aligned": aligned, "delta_e_mean": None, "delta_e_p95": None, "psnr": None}
    common = None
    if aligned:
        a, b = _common_size(output, reference)
        de = delta_e2000(a, b)
        result["delta_e_mean"] = float(de.mean())
        # de is this function's own: partitioned in place, not copied (the same percentile)
        result["delta_e_p95"] = float(np.percentile(de, 95, overwrite_input=True))
        del de
        result["psnr"] = min(psnr(a, b), 100.0)  # JSON has no infinity
        if output.shape[0] * output.shape[1] != reference.shape[0] * reference.shape[1]:
            common = a, b  # what _fit_pixels would downscale again (an upscale: 3 B/px)
    x, _, r, _ = _fit_pixels(output, reference, None, common=common)
    del common
    if x.shape[1] == 1:  # grey: the subsample (<= 2**18 px) in colour, for the same Lab
        x, r = np.repeat(x, 3, axis=1), np.repeat(r, 3, axis=1)
    la, lb = _srgb_to_lab(x), _srgb_to_lab(r)
    w1 = []
    for c, (lo, hi) in enumerate(((0.0, 100.0), (-128.0, 128.0), (-128.0, 128.0))):
        bins = np.linspace(lo, hi, 2049)
        ca = np.cumsum(np.histogram(np.clip(la[:, c], lo, hi), bins)[0]) / len(la)
        cb = np.cumsum(np.histogram(np.clip(lb[:, c], lo, hi), bins)[0]) / len(lb)
        w1.append(float(np.abs(ca - cb).sum() * (bins[1] - bins[0])))
    result["hist_w1"] = w1
    result["hist_w1_mean"] = float(np.mean(w1))
    return result


# --------------------------------------------------------------------------------------------
# validation and small helpers
# --------------------------------------------------------------------------------------------


def _check_options(method, options):
    allowed = _OPTIONS[method]
    for name in options:
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            raise InputError(f"{name}: not an option of method {method!r} (options: {known})")
    opts = {**allowed, **options}

    def number(name, lo, hi=np.inf, integer=False, lo_open=False):
        v = opts[name]
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        if ok and integer:
            ok = float(v) == int(v)
        if not ok or not np.isfinite(v) or v > hi or (v <= lo if lo_open else v < lo):
            kind = "an integer" if integer else "a number"
            rng = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
            raise InputError(f"{name}: expected {kind} in {rng}, got {v!r}")
        opts[name] = int(v) if integer else float(v)

    for name in opts:
        if name == "luminance":
            number(name, 0.0, 1.0)
        elif name == "bins":
            number(name, 64, 65536, integer=True)
        elif name == "smooth":
            number(name, 0.0, 10.0)
        elif name == "max_gain":
            number(name, 1.0, 1e3)
        elif name == "levels":
            number(name, 1, 10, integer=True)
        elif name == "grid":
            number(name, 3, 33, integer=True)
        elif name == "smoothness":
            number(name, 0.0, 1e3, lo_open=True)
        elif name == "spatial":
            number(name, 0.0, 1.0)
        elif name == "robust" and not isinstance(opts[name], (bool, np.bool_)):
            raise InputError(f"robust: expected True or False, got {opts[name]!r}")
    return opts


def _aligned(shape_a, shape_b):
    ra, rb = shape_a[1] / shape_a[0], shape_b[1] / shape_b[0]
    return abs(ra - rb) <= _ASPECT_TOL * rb


def _resize_area(x, hw):
    if x.shape[:2] == tuple(hw):
        return x
    return cv2.resize(x, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def _common_size(a, b):
    """Area-downscale the larger of two aligned images to the smaller's size."""
    if a.shape[0] * a.shape[1] >= b.shape[0] * b.shape[1]:
        return _resize_area(a, b.shape[:2]), b
    return a, _resize_area(b, a.shape[:2])


def _correspondence(image, reference, mask):
    """(Mask-weighted) Pearson correlation of luminance, both at <= 256 px, aligned.

    A colour drift (cast, tone curve, saturation) keeps the order of values and so a
    correlation near 1; a different picture of the same aspect ratio scores near 0.
    """
    a, b = _common_size(image, reference)
    scale = min(1.0, 256 / max(a.shape[:2]))
    size = (max(1, round(a.shape[0] * scale)), max(1, round(a.shape[1] * scale)))
    ya = (_resize_area(a, size) @ LUMA).ravel().astype(np.float64)
    yb = (_resize_area(b, size) @ LUMA).ravel().astype(np.float64)
    w = np.ones_like(ya) if mask is None else _resize_area(mask, size).ravel().astype(np.float64)
    w /= w.sum()
    da, db = ya - w @ ya, yb - w @ yb
    va, vb = w @ (da * da), w @ (db * db)
    if min(va, vb) < 1e-6:  # a flat image: nothing to disagree about
        return 1.0
    return float(w @ (da * db) / np.sqrt(va * vb))


def _subsample(x, n, *others):
    """Every k-th row of ``x`` (and of ``others``) so that at most about ``n`` remain."""
    step = max(1, -(-len(x) // n))
    if not others:
        return x[::step]
    return (x[::step],) + tuple(o[::step] if o is not None else None for o in others)


# sRGB <-> CIELAB (D65) with the formulas of skimage.color.rgb2lab/lab2rgb, in numba kernels
# that do a whole pixel at a time: NumPy's element-wise passes are several times slower, and
# cv2.cvtColor approximates the sRGB curve (up to 0.5 ΔE), too coarse for an identity to stay
# put. The transcendental parts are tables: the sRGB decode read at the nearest of 2**16 + 1
# points (its slope is at most 2.3: < 2e-5 error), the cube root and the sRGB encode on 2**14
# intervals with linear interpolation (< 1e-6): an identity map returns its input within
# 2e-5. A pixel costs about a dozen table reads; that is the whole budget of `histogram`.
_XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                          [0.212671, 0.715160, 0.072169],
                          [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.95047, 1.0, 1.08883])
_M_FWD = (_XYZ_FROM_RGB / _WHITE[:, None]).astype(np.float32)  # linear RGB -> XYZ / white
_M_INV = (np.linalg.inv(_XYZ_FROM_RGB) * _WHITE[None, :]).astype(np.float32)
_X16 = np.linspace(0.0, 1.0, (1 << 16) + 1)
_DECODE = srgb_decode(_X16).astype(np.float32)
_X14 = np.append(np.linspace(0.0, 1.0, (1 << 14) + 1), 1.0 + 2.0 ** -14)  # one step past 1
_CBRT64 = np.where(_X14 > 0.008856, np.cbrt(_X14), 7.787 * _X14 + 16.0 / 116.0)
_CBRT = _CBRT64.astype(np.float32)
_ENCODE = srgb_encode(_X14).astype(np.float32)
# Per-channel maps for _map_kernel are (lo, scale, values): values on a uniform grid from lo
# with `scale` intervals per Lab unit, continued with slope 1 beyond. These ranges hold every
# sRGB colour's Lab coordinates (two points on them make an exact affine map).
_LAB_RANGES = np.array([[0.0, 100.0], [-200.0, 200.0], [-200.0, 200.0]])
_KERNEL = dict(cache=True, fastmath=True, error_model="numpy")


@njit(inline="always", **_KERNEL)
def _lerp_unit(tab, x):
    """A table on [0, 1] (plus one point past 1) at x, linear interpolation, x clamped."""
    m = tab.shape[0] - 2
    t = min(max(x, np.float32(0)) * np.float32(m), np.float32(m))
    i = np.int32(t)
    return tab[i] + (t - np.float32(i)) * (tab[i + 1] - tab[i])


@njit(inline="always", **_KERNEL)
def _nearest_unit(tab, x):
    """A table on [0, 1] at x, nearest point, x clamped."""
    n = tab.shape[0] - 1
    return tab[min(max(np.int32(x * np.float32(n) + np.float32(0.5)), 0), n)]


@njit(inline="always", **_KERNEL)
def _rgb_to_xyz_px(r, g, b, dec, m):
    """sRGB -> XYZ divided by the white point."""
    l0, l1, l2 = _nearest_unit(dec, r), _nearest_unit(dec, g), _nearest_unit(dec, b)
    return (m[0, 0] * l0 + m[0, 1] * l1 + m[0, 2] * l2,
            m[1, 0] * l0 + m[1, 1] * l1 + m[1, 2] * l2,
            m[2, 0] * l0 + m[2, 1] * l1 + m[2, 2] * l2)


@njit(inline="always", **_KERNEL)
def _rgb_to_lab_px(r, g, b, dec, cbrt, m):
    x, y, z = _rgb_to_xyz_px(r, g, b, dec, m)
    fx, fy, fz = _lerp_unit(cbrt, x), _lerp_unit(cbrt, y), _lerp_unit(cbrt, z)
    return (np.float32(116) * fy - np.float32(16), np.float32(500) * (fx - fy),
            np.float32(200) * (fy - fz))


@njit(inline="always", **_KERNEL)
def _f_inv(f):
    cube = f * f * f
    linear = (f - np.float32(16.0 / 116.0)) * np.float32(1 / 7.787)
    return cube if f > np.float32(0.2068966) else linear


@njit(inline="always", **_KERNEL)
def _f_to_rgb_px(fy, lab_a, lab_b, enc, m, out, p):
    """(f(Y), a, b) -> sRGB: Lab -> sRGB with L already turned into f(Y) = (L + 16) / 116."""
    x = _f_inv(lab_a * np.float32(1 / 500) + fy)
    z = _f_inv(max(fy - lab_b * np.float32(1 / 200), np.float32(0)))
    y = _f_inv(fy)
    for c in range(3):
        out[p, c] = _lerp_unit(enc, m[c, 0] * x + m[c, 1] * y + m[c, 2] * z)


@njit(inline="always", **_KERNEL)
def _lut(lo, scale, values, c, v):
    """Map c at v: linear interpolation on its grid, slope 1 beyond (branch-free)."""
    n = values.shape[1] - 1
    t = (v - lo[c]) * scale[c]
    tc = min(max(t, np.float32(0)), np.float32(n) - np.float32(1e-3))
    i = np.int32(tc)
    return (values[c, i] + (tc - np.float32(i)) * (values[c, i + 1] - values[c, i])
            + (t - tc) / scale[c])


@njit(parallel=True, **_KERNEL)
def _rgb_to_lab_kernel(src, out, dec, cbrt, m):
    for p in prange(src.shape[0]):
        out[p, 0], out[p, 1], out[p, 2] = _rgb_to_lab_px(src[p, 0], src[p, 1], src[p, 2],
                                                         dec, cbrt, m)


@njit(parallel=True, **_KERNEL)
def _map_kernel(src, out, dec, cbrt, f_map, enc, m_fwd, m_inv, lo, scale, values):
    """sRGB -> Lab -> per-channel piecewise-linear maps -> sRGB, one pixel at a time.

    L's map is pre-composed into ``f_map``: Y -> f(Y) of the mapped L (the cube root, the
    map and the way back to f in one table read); a and b use rows 1 and 2 of the maps.
    """
    for p in prange(src.shape[0]):
        x, y, z = _rgb_to_xyz_px(src[p, 0], src[p, 1], src[p, 2], dec, m_fwd)
        fx, fy, fz = _lerp_unit(cbrt, x), _lerp_unit(cbrt, y), _lerp_unit(cbrt, z)
        lab_a = _lut(lo, scale, values, 1, np.float32(500) * (fx - fy))
        lab_b = _lut(lo, scale, values, 2, np.float32(200) * (fy - fz))
        _f_to_rgb_px(_lerp_unit(f_map, y), lab_a, lab_b, enc, m_inv, out, p)


def _flat(x):
    return np.ascontiguousarray(x, np.float32).reshape(-1, 3)


@contextlib.contextmanager
def _torch_threads_kept():
    """Restore torch's intra-op thread count after a parallel numba kernel.

    numba's OpenMP threading layer and the CPU build of torch share libgomp; a parallel
    launch sets the OpenMP thread count to numba's, which silently changes torch's (seen
    with ``OMP_NUM_THREADS=1``: 1 -> 2) and with it the reduction order of every later
    convolution, so a diffusion stage after a colour match would no longer reproduce
    diffusers bit for bit.
    """
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _srgb_to_lab(rgb):
    """(..., 3) sRGB in [0, 1] -> CIELAB (L in [0, 100]), float32."""
    flat = _flat(rgb)
    out = np.empty_like(flat)
    with _torch_threads_kept():
        _rgb_to_lab_kernel(flat, out, _DECODE, _CBRT, _M_FWD)
    return out.reshape(np.shape(rgb))


def _map_lab(rgb, grid, values):
    """sRGB -> Lab -> per-channel piecewise-linear maps -> sRGB in one pass.

    grid : (3, 2) or (3, K + 1) uniform grids (only the ends are read); values : (3, K + 1)
    the maps at the grid points. Beyond the grid each map continues with slope 1.
    """
    grid, values = np.asarray(grid, np.float64), np.asarray(values, np.float64)
    lo = grid[:, 0]
    scale = (values.shape[1] - 1) / (grid[:, -1] - lo)
    # L's map as a table over Y on the cube-root table's points: Y -> f(Y) of the mapped L
    lab_l = 116.0 * _CBRT64 - 16.0
    mapped = np.interp(lab_l, np.linspace(lo[0], grid[0, -1], values.shape[1]), values[0])
    mapped += np.where(lab_l < lo[0], lab_l - lo[0], 0) + np.where(
        lab_l > grid[0, -1], lab_l - grid[0, -1], 0)  # slope 1 beyond the grid
    f_map = ((mapped + 16.0) / 116.0).astype(np.float32)
    flat = _flat(rgb)
    out = np.empty_like(flat)
    with _torch_threads_kept():
        _map_kernel(flat, out, _DECODE, _CBRT, f_map, _ENCODE, _M_FWD, _M_INV,
                    lo.astype(np.float32), scale.astype(np.float32), values.astype(np.float32))
    return out.reshape(np.shape(rgb))


def _weighted_moments(x, w):
    if w is None:
        return x.mean(0), x.std(0)
    s = w.sum()
    mu = (x * w[:, None]).sum(0) / s
    return mu, np.sqrt(((x - mu) ** 2 * w[:, None]).sum(0) / s)


def _fit_pixels(image, reference, mask, *, common=None):
    """Flat (image pixels, weights, reference pixels, weights) for fitting distributions.

    Both are taken at one scale: the larger is area-downscaled to the smaller's pixel count
    (to the smaller's exact size when aligned). A 2x-downscaled reference has a narrower
    histogram than the full-resolution truth (averaging shrinks the spread), and matching
    across scales would flatten the image's contrast and detail. Then both are subsampled
    to at most about 2**18 pixels. The mask, resized alike, weighs the image's pixels and,
    when aligned, the reference's. ``common``: ``_common_size(image, reference)`` of an
    aligned pair whose pixel counts differ, when the caller has it (the same two arrays this
    function would make).
    """
    aligned = _aligned(image.shape, reference.shape)
    (hi, wi), (hr, wr) = image.shape[:2], reference.shape[:2]

    def size_like(h, w, n):  # (h, w) scaled to about n pixels, never up
        s = min(1.0, np.sqrt(n / (h * w)))
        return max(1, round(h * s)), max(1, round(w * s))

    img_size = (hr, wr) if aligned and hi * wi > hr * wr else size_like(hi, wi, hr * wr)
    ref_size = (hi, wi) if aligned and hr * wr > hi * wi else size_like(hr, wr, hi * wi)
    channels = 1 if image.ndim == 2 else 3  # grey (H, W) pairs: (n, 1) pixels
    x = (_resize_area(image, img_size) if common is None else common[0]).reshape(-1, channels)
    r = (_resize_area(reference, ref_size) if common is None else common[1]).reshape(
        -1, channels)
    wx = wr_ = None
    if mask is not None:
        wx = _resize_area(mask, img_size).reshape(-1)
        if aligned:
            wr_ = _resize_area(mask, ref_size).reshape(-1)
    x, wx = _subsample(x, _FIT_SAMPLES, wx)
    r, wr_ = _subsample(r, _FIT_SAMPLES, wr_)
    return x, wx, r, wr_


# --------------------------------------------------------------------------------------------
# histogram
# --------------------------------------------------------------------------------------------


def _histogram(image, reference, mask, *, luminance, bins, smooth):
    x, wx, r, wr = _fit_pixels(image, reference, mask)
    lab_x, lab_r = _srgb_to_lab(x), _srgb_to_lab(r)
    grids, maps, summary = [], [], {}
    for c, name in enumerate("Lab"):
        grid, ymap = _quantile_map(lab_x[:, c], wx, lab_r[:, c], wr, bins=bins, smooth=smooth)
        if c == 0:
            ymap = grid + luminance * (ymap - grid)
        grids.append(grid)
        maps.append(ymap)
        slope = np.diff(ymap) / np.diff(grid)
        summary[name] = {"range": [float(grid[0]), float(grid[-1])],
                         "slope_min": float(slope.min()), "slope_max": float(slope.max()),
                         "shift_mean": float(np.mean(ymap - grid))}
    params = {"bins": bins, "smooth": smooth, "luminance": luminance,
              "fit_pixels": int(len(x)), "channels": summary}
    return _map_lab(image, np.array(grids), np.array(maps)), params


def _quantile_map(src, w_src, ref, w_ref, *, bins, smooth):
    """Monotone piecewise-linear map sending ``src``'s distribution onto ``ref``'s.

    Both histograms share one set of ``bins`` over the union of the two ranges, are smoothed
    by a Gaussian of ``smooth`` Lab units (at least one bin) and floored at a small uniform
    density, so both CDFs are strictly increasing and piecewise linear: the map
    ``CDF_ref^-1(CDF_src(x))`` is then continuous with bounded slopes, unlike the staircase
    one gets from raw histograms of quantised (8-bit) data, the usual source of banding.

    Returns ``(grid, values)``: the map sampled at ``bins + 1`` points spanning the source's
    range (slightly padded); outside it the map continues with slope 1.
    """
    # Pad the range by the smoothing so no mass is cut off at the ends: on a nearly
    # constant channel (a grey texture's a/b) truncation would distort the shift.
    pad = 4 * smooth + 1e-3
    lo = float(min(src.min(), ref.min())) - pad
    hi = float(max(src.max(), ref.max())) + pad
    edges = np.linspace(lo, hi, bins + 1)
    width = edges[1] - edges[0]

    def density(v, w):
        idx = np.clip(((v - lo) / width).astype(np.int64), 0, bins - 1)
        h = np.bincount(idx, weights=w, minlength=bins).astype(np.float64)
        sigma = max(smooth / width, 1.0)
        k = np.exp(-0.5 * (np.arange(-int(4 * sigma), int(4 * sigma) + 1) / sigma) ** 2)
        h = np.convolve(np.pad(h, len(k) // 2, mode="constant"), k / k.sum(), mode="valid")
        h /= h.sum()
        return h + 1e-4 / bins  # floor: strictly increasing CDF, bounded map slope

    cdf_src = np.concatenate([[0.0], np.cumsum(density(src, w_src))])
    cdf_ref = np.concatenate([[0.0], np.cumsum(density(ref, w_ref))])
    cdf_src /= cdf_src[-1]
    cdf_ref /= cdf_ref[-1]
    # The CDFs are linear between edges, so their composition is exact at the edges and the
    # inverse is a plain interpolation with the roles of x and y swapped.
    values = np.interp(cdf_src, cdf_ref, edges)
    return edges, values


# --------------------------------------------------------------------------------------------
# meanstd (Reinhard in CIELAB)
# --------------------------------------------------------------------------------------------


def _meanstd(image, reference, mask, *, luminance, max_gain):
    x, wx, r, wr = _fit_pixels(image, reference, mask)
    mu_x, sd_x = _weighted_moments(_srgb_to_lab(x).astype(np.float64), wx)
    mu_r, sd_r = _weighted_moments(_srgb_to_lab(r).astype(np.float64), wr)
    gain = np.clip((sd_r + 1e-6) / (sd_x + 1e-6), 1 / max_gain, max_gain)
    shift = mu_r - mu_x * gain
    # L blended with the image's own: L + luminance * (matched L - L)
    gain[0], shift[0] = 1 + luminance * (gain[0] - 1), luminance * shift[0]
    # affine per channel, as two-point maps spanning every sRGB colour's Lab range
    grid = _LAB_RANGES
    values = grid * gain[:, None] + shift[:, None]
    params = {"mean_image": mu_x.tolist(), "std_image": sd_x.tolist(),
              "mean_reference": mu_r.tolist(), "std_reference": sd_r.tolist(),
              "gain": gain.tolist(), "luminance": luminance}
    return _map_lab(image, grid, values), params


# --------------------------------------------------------------------------------------------
# wavelet (StableSR colour fix)
# --------------------------------------------------------------------------------------------


def _lowpass(x, levels):
    """A-trous low band: ``levels`` binomial [1, 2, 1]/4 passes dilated by 1, 2, 4, ..."""
    for i in range(levels):
        d = 2 ** i
        k = np.zeros(2 * d + 1, np.float32)
        k[[0, d, 2 * d]] = (0.25, 0.5, 0.25)
        x = cv2.sepFilter2D(x, -1, k, k, borderType=cv2.BORDER_REFLECT)
    return x


def _wavelet(image, reference, mask, *, levels):
    h, w = image.shape[:2]
    ref_up = reference
    if reference.shape[:2] != (h, w):  # bicubic up (as StableSR), area down
        up = reference.shape[0] * reference.shape[1] < h * w
        ref_up = cv2.resize(reference, (w, h),
                            interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)
    diff = ref_up - image
    # out = high(image) + low(ref) = image + low(ref - image): the low-pass is linear.
    if mask is None:
        corr = _lowpass(diff, levels)
    else:  # normalised convolution: the correction estimated from mask pixels only
        num = _lowpass(diff * mask[..., None], levels)
        den = _lowpass(mask, levels)[..., None]
        corr = num / np.maximum(den, 1e-6)
        corr[np.broadcast_to(den < 1e-6, corr.shape)] = 0
    params = {"levels": levels, "correction_abs_mean": float(np.abs(corr).mean()),
              "correction_abs_max": float(np.abs(corr).max())}
    out = image + corr
    return np.clip(out, 0, 1, out=out), params


# --------------------------------------------------------------------------------------------
# regression (lattice colour transform fitted on aligned pixel pairs)
# --------------------------------------------------------------------------------------------


def _corner_offsets(n):
    return [((dr * n) + dg) * n + db for dr in (0, 1) for dg in (0, 1) for db in (0, 1)]


def _trilinear(x, n):
    """Lattice cell base index (N,) and the 8 corner weights (N, 8) of colours x (N, 3)."""
    t = np.clip(x, 0, 1) * np.float32(n - 1)
    i0 = np.minimum(t.astype(np.int32), n - 2)
    f = t - i0
    base = (i0[:, 0] * n + i0[:, 1]) * n + i0[:, 2]
    w1, w0 = f, 1 - f  # weights of the upper / lower corner along each axis
    wts = [(w1 if dr else w0)[:, 0] * (w1 if dg else w0)[:, 1] * (w1 if db else w0)[:, 2]
           for dr in (0, 1) for dg in (0, 1) for db in (0, 1)]
    return base, np.stack(wts, 1)


@functools.lru_cache(maxsize=8)
def _lattice_penalty(n):
    """Sum of squared second differences of a lattice function (the discrete Hessian).

    Pure second differences along each axis plus twice the mixed ones: the null space is
    exactly the affine maps, so where the data say nothing the transform continues linearly.
    """
    eye = sp.identity(n, format="csr")
    d2 = sp.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n))
    d1 = sp.diags([-1.0, 1.0], [0, 1], shape=(n - 1, n))

    def kron3(a, b, c):
        return sp.kron(sp.kron(a, b), c)

    ops = [kron3(d2, eye, eye), kron3(eye, d2, eye), kron3(eye, eye, d2)]
    mixed = [kron3(d1, d1, eye), kron3(d1, eye, d1), kron3(eye, d1, d1)]
    pen = sum(o.T @ o for o in ops) + 2 * sum(o.T @ o for o in mixed)
    return sp.csr_matrix(pen) * (n - 1) ** 4 / n ** 3  # per-node, grid-independent scale


def _normal_matrix(base, wts, w, n):
    """A^T diag(w) A for the trilinear design matrix A, built from 64 bincounts."""
    size = n ** 3
    offs = _corner_offsets(n)
    rows, cols, vals = [], [], []
    idx = np.arange(size)
    for k in range(8):
        rk = base + offs[k]
        wk = wts[:, k] * w
        for m in range(k, 8):
            v = np.bincount(rk, weights=wk * wts[:, m], minlength=size)
            nz = v != 0
            d = offs[m] - offs[k]
            rows += [idx[nz]] if d == 0 else [idx[nz], idx[nz] + d]
            cols += [idx[nz]] if d == 0 else [idx[nz] + d, idx[nz]]
            vals += [v[nz]] if d == 0 else [v[nz], v[nz]]
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(size, size))


@njit(parallel=True, **_KERNEL)
def _lattice_kernel(x, values, out):
    """Trilinear interpolation of the lattice values (n, n, n, 3) at colours x (N, 3)."""
    n = values.shape[0]
    one, zero, top = np.float32(1), np.float32(0), np.float32(n - 1)
    for p in prange(x.shape[0]):
        t0 = min(max(x[p, 0], zero), one) * top
        t1 = min(max(x[p, 1], zero), one) * top
        t2 = min(max(x[p, 2], zero), one) * top
        i0, i1, i2 = min(int(t0), n - 2), min(int(t1), n - 2), min(int(t2), n - 2)
        f0, f1, f2 = t0 - i0, t1 - i1, t2 - i2
        for c in range(3):
            a00 = values[i0, i1, i2, c] + f2 * (values[i0, i1, i2 + 1, c] - values[i0, i1, i2, c])
            a01 = values[i0, i1 + 1, i2, c] + f2 * (values[i0, i1 + 1, i2 + 1, c]
                                                     - values[i0, i1 + 1, i2, c])
            a10 = values[i0 + 1, i1, i2, c] + f2 * (values[i0 + 1, i1, i2 + 1, c]
                                                     - values[i0 + 1, i1, i2, c])
            a11 = values[i0 + 1, i1 + 1, i2, c] + f2 * (values[i0 + 1, i1 + 1, i2 + 1, c]
                                                         - values[i0 + 1, i1 + 1, i2, c])
            a0 = a00 + f1 * (a01 - a00)
            a1 = a10 + f1 * (a11 - a10)
            out[p, c] = a0 + f0 * (a1 - a0)


def _lattice_eval(x, values, n):
    """Apply the lattice (n**3, 3) to colours x (N, 3); float32 (N, 3)."""
    flat = np.ascontiguousarray(x, np.float32).reshape(-1, 3)
    out = np.empty_like(flat)
    with _torch_threads_kept():
        _lattice_kernel(flat, np.ascontiguousarray(values, np.float32).reshape(n, n, n, 3),
                        out)
    return out


def _fit_lattice(src, dst, w, *, n, smoothness, robust):
    """Lattice values (n**3, 3) minimising Huber(A V - dst) + smoothness * |Hessian V|^2."""
    base, wts = _trilinear(src, n)
    g = np.linspace(0, 1, n)
    identity = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    penalty = _lattice_penalty(n)
    # A whisper of ridge towards the identity: data confined to a plane or a line (a grey
    # texture) leave the affine null space of the penalty undetermined across it.
    ridge = sp.identity(n ** 3, format="csr") * (1e-6 / n ** 3)
    w0 = np.ones(len(src)) if w is None else w.astype(np.float64)
    robust_w = np.ones(len(src))
    values = identity.copy()
    lu = None
    iters = 3 if robust else 1
    for _ in range(iters):
        ww = w0 * robust_w
        total = ww.sum()
        a = _normal_matrix(base, wts, ww / total, n) + smoothness * penalty + ridge
        offs = _corner_offsets(n)
        rhs = np.zeros((n ** 3, 3))
        for k in range(8):
            wk = wts[:, k] * ww / total
            for c in range(3):
                rhs[:, c] += np.bincount(base + offs[k], weights=wk * dst[:, c],
                                         minlength=n ** 3)
        rhs += ridge @ identity
        if lu is None:
            # Sparse LU (symmetric ordering): the system is small (n**3 unknowns, 27
            # bands) but badly conditioned where colours are rare, so plain iterative
            # solvers crawl.
            lu = spl.splu(a.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0,
                          options={"SymmetricMode": True})
            values = lu.solve(rhs)
        else:
            # Reweighted systems differ from the first one only in the data weights: its
            # factorisation is an excellent preconditioner, a few CG steps do.
            pre = spl.LinearOperator(a.shape, matvec=lu.solve, dtype=np.float64)
            for c in range(3):
                values[:, c], _ = spl.cg(a, rhs[:, c], x0=values[:, c], M=pre, rtol=1e-9,
                                         atol=0, maxiter=200)
        if robust:
            res = np.linalg.norm(_lattice_eval(src, values, n) - dst, axis=1)
            # Huber threshold from the median residual, floored at ~1/255: quantisation and
            # detail averaging are not outliers, a hallucinated object is.
            delta = max(1.5 * 1.4826 * np.median(res), 4e-3)
            robust_w = np.minimum(1.0, delta / np.maximum(res, 1e-12))
    return values, identity, robust_w


def _local_affine(src, dst, weights, *, sigma, eps=1e-3):
    """Per-pixel, per-channel ``gain, offset`` with ``dst ~ gain * src + offset`` locally.

    Weighted local least squares in a Gaussian window of ``sigma`` pixels (normalised
    convolution, so zero-weight pixels are ignored); ``eps`` shrinks the gain towards 1
    where the window's variance is small (flat areas fit an offset only).
    """
    w = np.ones(src.shape[:2], np.float32) if weights is None else weights.astype(np.float32)

    def blur(v):
        return cv2.GaussianBlur(v, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    norm = np.maximum(blur(w), 1e-6)[..., None]
    w3 = w[..., None]
    mean_s, mean_d = blur(src * w3) / norm, blur(dst * w3) / norm
    var = blur(src * src * w3) / norm - mean_s ** 2
    cov = blur(src * dst * w3) / norm - mean_s * mean_d
    gain = (cov + eps) / (np.maximum(var, 0) + eps)
    return gain.astype(np.float32), (mean_d - gain * mean_s).astype(np.float32)


def _regression(image, reference, mask, *, grid, smoothness, robust, spatial):
    small, ref = _common_size(image, reference)
    wmask = None if mask is None else _resize_area(mask, small.shape[:2])
    src, dst, wfit = _subsample(small.reshape(-1, 3), _FIT_SAMPLES, ref.reshape(-1, 3),
                                None if wmask is None else wmask.reshape(-1))
    keep = None if wfit is None else wfit > 0
    if keep is not None:
        src, dst, wfit = src[keep], dst[keep], wfit[keep]
    values, identity, robust_w = _fit_lattice(src.astype(np.float32), dst.astype(np.float64),
                                              wfit, n=grid, smoothness=smoothness,
                                              robust=robust)
    fitted = _lattice_eval(small.reshape(-1, 3), values, grid).reshape(small.shape)
    rms = lambda a: float(np.sqrt(np.mean((a - ref) ** 2)))  # noqa: E731
    params = {"grid": grid, "smoothness": smoothness, "robust": robust,
              "fit_size": [small.shape[1], small.shape[0]], "fit_pixels": int(len(src)),
              "downweighted_fraction": float(np.mean(robust_w < 1)),
              "lattice_shift_mean": float(np.abs(values - identity).mean()),
              "lattice_shift_max": float(np.abs(values - identity).max()),
              "rms_before": rms(small), "rms_after": rms(fitted)}
    if spatial > 0:
        # What one colour function cannot do (vignetting, a tinted corner): a per-channel
        # gain and offset that vary slowly across the frame, fitted between the globally
        # corrected output and the reference at the fitting size (a guided filter with a
        # wide Gaussian window, gains shrunk towards 1), then upsampled. A gain, not just
        # an offset, so the detail under a vignette is rescaled like its mean.
        gain, offset = _local_affine(fitted, ref, wmask, sigma=spatial * max(ref.shape[:2]))
    # the fitting-size pair is let go before the full-size output is made (an upscale's
    # output downscaled to its input: two input-sized frames less at the peak)
    del small, fitted, src, dst
    out = _lattice_eval(image.reshape(-1, 3), values, grid).reshape(image.shape)
    if spatial > 0:
        size = (image.shape[1], image.shape[0])

        def full(m):
            same = m.shape[:2] == image.shape[:2]
            return m if same else cv2.resize(m, size, interpolation=cv2.INTER_LINEAR)

        # out * gain + offset in place, one full-size map at a time: the same float32
        # operations, without four more full-size copies (3 GB at an upscale's 62 MP)
        g = full(gain)
        np.multiply(out, g, out=out)
        params["spatial_sigma_px"] = float(spatial * max(ref.shape[:2]))
        params["spatial_gain_range"] = [float(g.min()), float(g.max())]
        del g
        o = full(offset)
        np.add(out, o, out=out)
        params["spatial_offset_abs_max"] = float(max(abs(o.max()), abs(o.min())))
        del o
    return np.clip(out, 0, 1, out=out), params
