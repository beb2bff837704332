"""CIEDE2000 between two sRGB images, pixel by pixel, in one compiled loop.

:func:`seamline.ops.metrics.delta_e2000` is the public entry (argument checks, grey pairs);
this module holds its kernel: scikit-image's ``rgb2lab`` (sRGB, D65 2°) and
``deltaE_ciede2000`` (kL = kC = kH = 1), the same formulas and constants, evaluated per pixel
in float64. The array route makes about eight float64 copies of the frame (1.9 GB over its
inputs for a 12 MP pair, as the upscale QA measures); this holds only the output.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ciede2000_srgb"]


def ciede2000_srgb(a, b):
    """Per-pixel CIEDE2000 of two sRGB images.

    Parameters
    ----------
    a, b : (H, W, 3) float32 arrays in [0, 1], sRGB, same shape (not checked here)

    Returns
    -------
    (H, W) float32 array, >= 0
        Within 1e-4 of ``deltaE_ciede2000(rgb2lab(a), rgb2lab(b))`` in float64.
    """
    out = np.empty(a.shape[:2], np.float32)
    _kernel(np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32), out)
    return out


# scikit-image's sRGB -> XYZ matrix and D65 (2°) white: delta_e2000 matches its rgb2lab
_XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                          [0.212671, 0.715160, 0.072169],
                          [0.019334, 0.119193, 0.950227]]) / np.array([[0.95047], [1.0],
                                                                       [1.08883]])


@njit(inline="always", cache=True)
def _decode(v):
    v = np.float64(v)
    return ((v + 0.055) / 1.055) ** 2.4 if v > 0.04045 else v / 12.92


@njit(inline="always", cache=True)
def _lab_f(t):
    return np.cbrt(t) if t > 0.008856 else 7.787 * t + 16.0 / 116.0


@njit(inline="always", cache=True)
def _lab_px(r, g, b, m):
    """One sRGB pixel (floats in [0, 1]) -> CIELAB (L, a, b), float64."""
    r, g, b = _decode(r), _decode(g), _decode(b)
    fx = _lab_f(m[0, 0] * r + m[0, 1] * g + m[0, 2] * b)
    fy = _lab_f(m[1, 0] * r + m[1, 1] * g + m[1, 2] * b)
    fz = _lab_f(m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)
    return 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)


@njit(inline="always", cache=True)
def _polar_2pi(x, y):
    t = np.arctan2(y, x)
    return np.hypot(x, y), (t + 2 * np.pi if t < 0.0 else t)


@njit(cache=True)
def _kernel(a, b, out):
    """CIEDE2000 (kL = kC = kH = 1) of two (H, W, 3) sRGB images into ``out`` (H, W),
    step by step as :func:`skimage.color.deltaE_ciede2000` writes it."""
    m = _XYZ_FROM_RGB
    pi = np.pi
    deg = pi / 180.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            L1, a1, b1 = _lab_px(a[i, j, 0], a[i, j, 1], a[i, j, 2], m)
            L2, a2, b2 = _lab_px(b[i, j, 0], b[i, j, 1], b[i, j, 2], m)
            cbar = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
            c7 = cbar ** 7
            scale = 1 + 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0 ** 7)))
            C1, h1 = _polar_2pi(a1 * scale, b1)
            C2, h2 = _polar_2pi(a2 * scale, b2)
            tmp = (0.5 * (L1 + L2) - 50) ** 2
            l_term = (L2 - L1) / (1 + 0.015 * tmp / np.sqrt(20 + tmp))
            cbar = 0.5 * (C1 + C2)
            c_term = (C2 - C1) / (1 + 0.045 * cbar)
            h_diff, h_sum, cc = h2 - h1, h1 + h2, C1 * C2
            dh = h_diff
            if h_diff > pi:
                dh -= 2 * pi
            elif h_diff < -pi:
                dh += 2 * pi
            if cc == 0.0:
                dh = 0.0
            dh_term = 2 * np.sqrt(cc) * np.sin(dh / 2)
            hbar = h_sum
            if cc != 0.0 and abs(h_diff) > pi:
                hbar += 2 * pi if h_sum < 2 * pi else -2 * pi
            if cc == 0.0:
                hbar *= 2
            hbar *= 0.5
            t = (1 - 0.17 * np.cos(hbar - 30 * deg) + 0.24 * np.cos(2 * hbar)
                 + 0.32 * np.cos(3 * hbar + 6 * deg) - 0.20 * np.cos(4 * hbar - 63 * deg))
            h_term = dh_term / (1 + 0.015 * cbar * t)
            c7 = cbar ** 7
            rc = 2 * np.sqrt(c7 / (c7 + 25.0 ** 7))
            dtheta = 30 * deg * np.exp(-(((hbar / deg - 275) / 25) ** 2))
            r_term = -np.sin(2 * dtheta) * rc * c_term * h_term
            out[i, j] = np.sqrt(max(l_term * l_term + c_term * c_term + h_term * h_term
                                    + r_term, 0.0))
