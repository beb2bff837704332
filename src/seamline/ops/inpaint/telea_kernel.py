"""OpenCV's Telea inpainting (``cv2.inpaint(..., cv2.INPAINT_TELEA)``), compiled with Numba:
the same pixels, each pixel's weights computed once for all its channels.

Why: Telea fills are seamline's estimates of the photo under a mask (the text mask's
shadow, halo and rim tests: two 3-channel 8-bit fills per line, up to 100k px each; the
glyph mask's background) and the diffusion fills' carriers (FSR's residual, the ``telea``
backend: three 16-bit one-channel fills each, for precision). OpenCV's 3-channel code
computes every neighbour's weight (two double divisions, a square root) once per channel,
and a 16-bit image must go through it one channel at a time, marching the hole three times.
Here the march and the weights are done once: ~0.63x OpenCV's CPU on 3-channel 8-bit
images, ~0.45x on three 16-bit channels (train timing set's estimates and fills). A
one-channel image goes to OpenCV itself (its single-channel code is as fast as this one).

Same result as OpenCV 5.0's ``icvInpaint`` bit for bit (``tests/test_telea_kernel.py``
compares them on photos, noise and holes at the frame's edges): the same fast marching
(OpenCV's queue pops the smallest arrival time, ties in the order they were queued: a
binary heap on (time, order) here), the same float32 / float64 arithmetic in the same order,
and OpenCV's quirks kept: the gradient's border rows and columns read one pixel inwards,
its central differences are scaled by 2, and the 3-channel code's distance weight takes a
double square root where the one-channel code's takes a float one. (Older OpenCV versions
read the weighted value itself one pixel inwards too and never filled the first row and
column: an OpenCV upgrade that changes its code fails that test.)
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np
from numba import njit

from seamline.errors import InputError
from seamline.ops.validate import positive_number

__all__ = ["telea_inpaint", "warm_up"]

# OpenCV's pixel states (KNOWN also marks a pixel already filled and popped)
_KNOWN, _BAND, _INSIDE, _CHANGE = 0, 1, 2, 3


# ----------------------------------------------------------------------------- queue
# A binary heap on (arrival time, push order): OpenCV's sorted list pops the smallest time,
# equal times first in first out; the heap pops the same element in O(log n) where the list
# walks back over every queued element with a larger time. ``seq[0]`` holds the heap's size,
# ``nxt[0]`` the next push number; slots 1..size hold (time, order, y, x).
# The sifts are written out in both: as small helper kernels (a slot copy, a comparison) Numba
# did not inline them, and the 3-channel fills took 1.7x the CPU.

@njit(cache=True, nogil=True, error_model="numpy")
def _push(qt, seq, qy, qx, nxt, y, x, t):
    n = seq[0] + 1
    seq[0] = n
    order = nxt[0]
    nxt[0] = order + 1
    k = n
    while k > 1:
        p = k >> 1
        if qt[p] > t or (qt[p] == t and seq[p] > order):
            qt[k] = qt[p]
            seq[k] = seq[p]
            qy[k] = qy[p]
            qx[k] = qx[p]
            k = p
        else:
            break
    qt[k] = t
    seq[k] = order
    qy[k] = y
    qx[k] = x


@njit(cache=True, nogil=True, error_model="numpy")
def _pop(qt, seq, qy, qx):
    y = qy[1]
    x = qx[1]
    n = seq[0]
    t, order, ly, lx = qt[n], seq[n], qy[n], qx[n]
    n -= 1
    seq[0] = n
    k = 1
    while True:
        a = 2 * k
        if a > n:
            break
        b = a + 1
        if b <= n and (qt[b] < qt[a] or (qt[b] == qt[a] and seq[b] < seq[a])):
            a = b
        if qt[a] < t or (qt[a] == t and seq[a] < order):
            qt[k] = qt[a]
            seq[k] = seq[a]
            qy[k] = qy[a]
            qx[k] = qx[a]
            k = a
        else:
            break
    qt[k] = t
    seq[k] = order
    qy[k] = ly
    qx[k] = lx
    return y, x


@njit(cache=True, nogil=True, error_model="numpy")
def _seed(qt, seq, qy, qx, nxt, by, bx):
    """The queue emptied, then the narrow band pushed at time 0 in raster order."""
    seq[0] = 0
    nxt[0] = 0
    for s in range(by.shape[0]):
        _push(qt, seq, qy, qx, nxt, by[s], bx[s], np.float32(0.0))


# ----------------------------------------------------------------------------- marching
@njit(cache=True, nogil=True, error_model="numpy")
def _solve(i1, j1, i2, j2, f, t):
    """OpenCV's ``FastMarching_solve`` (double arithmetic, a float32 result)."""
    a11 = np.float64(t[i1, j1])
    a22 = np.float64(t[i2, j2])
    m12 = a11 if a11 < a22 else a22
    if f[i1, j1] != _INSIDE:
        if f[i2, j2] != _INSIDE:
            if abs(a11 - a22) >= 1.0:
                sol = 1 + m12
            else:
                sol = (a11 + a22 + math.sqrt(2 - (a11 - a22) * (a11 - a22))) * 0.5
        else:
            sol = 1 + a11
    elif f[i2, j2] != _INSIDE:
        sol = 1 + a22
    else:
        sol = 1 + m12
    return np.float32(sol)


@njit(cache=True, nogil=True, error_model="numpy")
def _arrival(i, j, f, t):
    """OpenCV's ``min4`` of the four one-sided solutions."""
    a = _solve(i - 1, j, i, j - 1, f, t)
    b = _solve(i + 1, j, i, j - 1, f, t)
    c = _solve(i - 1, j, i, j + 1, f, t)
    d = _solve(i + 1, j, i, j + 1, f, t)
    a = a if a < b else b
    c = c if c < d else d
    return a if a < c else c


@njit(cache=True, nogil=True, error_model="numpy")
def _outside(f, t, by, bx, qt, seq, qy, qx, nxt):
    """OpenCV's ``icvCalcFMM(out, t, Out, true)``: arrival times from the band outwards over
    ``f``'s INSIDE pixels (the ring within the radius of the hole), stored negated."""
    er, ec = f.shape
    _seed(qt, seq, qy, qx, nxt, by, bx)
    while seq[0] > 0:
        ii, jj = _pop(qt, seq, qy, qx)
        f[ii, jj] = _CHANGE
        for q in range(4):
            i, j = (ii - 1, jj) if q == 0 else (ii, jj - 1) if q == 1 else \
                (ii + 1, jj) if q == 2 else (ii, jj + 1)
            if i <= 0 or j <= 0 or i > er or j > ec:
                continue
            if f[i, j] == _INSIDE:
                d = _arrival(i, j, f, t)
                t[i, j] = d
                f[i, j] = _BAND
                _push(qt, seq, qy, qx, nxt, i, j, d)
    for y in range(er):
        for x in range(ec):
            if f[y, x] == _CHANGE:
                t[y, x] = -t[y, x]


@njit(cache=True, nogil=True, error_model="numpy")
def _telea(img, mask, t, by, bx, rng, maxval, dstab, qt, seq, qy, qx, nxt):
    """OpenCV's ``icvTeleaInpaintFMM`` on ``img`` (h, w, 1 or 3), in place; ``mask`` and
    ``t`` the (h + 2, w + 2) state after :func:`_outside`."""
    er, ec = mask.shape
    h, w, nc = img.shape
    im = img.reshape(h * w * nc)
    mf = mask.reshape(er * ec)
    tf = t.reshape(er * ec)
    # the disk's offsets in OpenCV's order (rows, then columns, ascending) and their weight
    side = 2 * rng + 1
    oy = np.empty(side * side, np.int64)
    ox = np.empty(side * side, np.int64)
    od = np.empty(side * side, np.float32)
    no = 0
    for a in range(-rng, rng + 1):
        for b in range(-rng, rng + 1):
            if a * a + b * b <= rng * rng:
                oy[no], ox[no], od[no] = a, b, dstab[a + rng, b + rng]
                no += 1
    half, one, two = np.float32(0.5), np.float32(1.0), np.float32(2.0)
    tiny = np.float32(1.0e-20)
    _seed(qt, seq, qy, qx, nxt, by, bx)
    while seq[0] > 0:
        ii, jj = _pop(qt, seq, qy, qx)
        mask[ii, jj] = _KNOWN
        for q in range(4):
            i, j = (ii - 1, jj) if q == 0 else (ii, jj - 1) if q == 1 else \
                (ii + 1, jj) if q == 2 else (ii, jj + 1)
            if i <= 0 or j <= 0 or i > er - 1 or j > ec - 1 or mask[i, j] != _INSIDE:
                continue
            d = _arrival(i, j, mask, t)
            t[i, j] = d
            if mask[i, j + 1] != _INSIDE:
                gx = (t[i, j + 1] - t[i, j - 1]) * half if mask[i, j - 1] != _INSIDE \
                    else t[i, j + 1] - t[i, j]
            else:
                gx = t[i, j] - t[i, j - 1] if mask[i, j - 1] != _INSIDE else np.float32(0.0)
            if mask[i + 1, j] != _INSIDE:
                gy = (t[i + 1, j] - t[i - 1, j]) * half if mask[i - 1, j] != _INSIDE \
                    else t[i + 1, j] - t[i, j]
            else:
                gy = t[i, j] - t[i - 1, j] if mask[i - 1, j] != _INSIDE else np.float32(0.0)
            # per channel: the weighted value (ia) and gradient terms (jx, jy); up to 3
            ia0 = ia1 = ia2 = jx0 = jx1 = jx2 = jy0 = jy1 = jy2 = np.float32(0.0)
            s = tiny
            tij = t[i, j]
            for o in range(no):
                k = i + oy[o]
                l = j + ox[o]
                if k < 1 or l < 1 or k > er - 2 or l > ec - 2:
                    continue
                p = k * ec + l
                if mf[p] == _INSIDE:
                    continue
                km = k - 1 + (1 if k == 1 else 0)
                kp = k - 1 - (1 if k == er - 2 else 0)
                lm = l - 1 + (1 if l == 1 else 0)
                lp = l - 1 - (1 if l == ec - 2 else 0)
                rx = np.float32(-ox[o])
                ry = np.float32(-oy[o])
                lev = np.float32(1.0 / (1.0 + abs(np.float64(tf[p] - tij))))
                dr = rx * gx + ry * gy
                if abs(np.float64(dr)) <= 0.01:
                    dr = np.float32(0.000001)
                wt = np.float32(abs(od[o] * lev * dr))
                # each axis's image difference as OpenCV takes it: right - left (times 2)
                # where both sides are known, one-sided where one is, 0 where neither. Which
                # two pixels and the scale are the same for every channel: chosen once (a 1x
                # scale and a pixel less itself are exact: OpenCV's values)
                fr, fl = mf[p + 1] != _INSIDE, mf[p - 1] != _INSIDE
                fd, fu = mf[p + ec] != _INSIDE, mf[p - ec] != _INSIDE
                q0 = km * w + lm
                xa, xb, xs = q0, q0, one
                if fr:
                    xa, xb, xs = (km * w + lp + 1, km * w + lm - 1, two) if fl else \
                        (km * w + lp + 1, q0, one)
                elif fl:
                    xa, xb = km * w + lp, km * w + lm - 1
                ya, yb, ys = q0, q0, one
                if fd:
                    ya, yb, ys = ((kp + 1) * w + lm, (km - 1) * w + lm, two) if fu else \
                        ((kp + 1) * w + lm, q0, one)
                elif fu:
                    ya, yb = kp * w + lm, (km - 1) * w + lm
                xa, xb, ya, yb = xa * nc, xb * nc, ya * nc, yb * nc
                qv = ((k - 1) * w + (l - 1)) * nc
                ia0 += wt * np.float32(im[qv])
                jx0 -= wt * ((np.float32(np.int32(im[xa]) - np.int32(im[xb])) * xs) * rx)
                jy0 -= wt * ((np.float32(np.int32(im[ya]) - np.int32(im[yb])) * ys) * ry)
                if nc == 3:
                    for c in (1, 2):
                        gix = np.float32(np.int32(im[xa + c]) - np.int32(im[xb + c])) * xs
                        giy = np.float32(np.int32(im[ya + c]) - np.int32(im[yb + c])) * ys
                        if c == 1:
                            ia1 += wt * np.float32(im[qv + 1])
                            jx1 -= wt * (gix * rx)
                            jy1 -= wt * (giy * ry)
                        else:
                            ia2 += wt * np.float32(im[qv + 2])
                            jx2 -= wt * (gix * rx)
                            jy2 -= wt * (giy * ry)
                s += wt
            base = ((i - 1) * w + (j - 1)) * nc
            for c in range(nc):
                ia, jx, jy = (ia0, jx0, jy0) if c == 0 else (ia1, jx1, jy1) if c == 1 \
                    else (ia2, jx2, jy2)
                sat = ia / s + (jx + jy) / (np.float32(math.sqrt(jx * jx + jy * jy)) + tiny)
                # OpenCV's round_cast: the 0.5 added in double, then cvRound (to nearest, ties
                # to even). Added in float32 it rounds once more: sat = 0.99999994 (1 - 2^-24,
                # a flat dark patch's value less the gradient term) gave 1.5 and 2, OpenCV 1
                v = np.rint(np.float64(sat) + 0.5)
                im[base + c] = 0 if v < 0 else maxval if v > maxval else v
            mask[i, j] = _BAND
            _push(qt, seq, qy, qx, nxt, i, j, d)


def _distance_weights(rng: int, three: bool) -> np.ndarray:
    """OpenCV's ``dst`` weight (1 / |r|^3) per offset: the 3-channel code takes the square
    root in double, the one-channel code in float (both cast to float32)."""
    out = np.zeros((2 * rng + 1, 2 * rng + 1), np.float32)
    for dy in range(-rng, rng + 1):
        for dx in range(-rng, rng + 1):
            v = np.float32(dx * dx + dy * dy)
            if v:
                root = math.sqrt(float(v)) if three else float(np.float32(math.sqrt(float(v))))
                prod = float(v) * root if three else float(v * np.float32(root))
                out[dy + rng, dx + rng] = np.float32(1.0 / prod)
    return out


# ----------------------------------------------------------------------------- API
def telea_inpaint(src: np.ndarray, hole: np.ndarray, radius: float = 3.0) -> np.ndarray:
    """``cv2.inpaint(src, hole, radius, cv2.INPAINT_TELEA)``, the same pixels; a 3-channel
    16-bit image in one call.

    Parameters
    ----------
    src : ndarray, shape (h, w, 3), (h, w, 1) or (h, w), uint8 or uint16
        The image. A 3-channel uint16 image is filled as three one-channel calls would fill
        each channel (OpenCV takes 16 bits in one channel only); one channel goes to OpenCV
        itself.
    hole : ndarray, shape (h, w), uint8 (or bool, any integer or float dtype)
        Non-zero where pixels are synthesised.
    radius : float
        Telea's neighbourhood radius, px, finite and > 0 (rounded as OpenCV rounds it,
        clamped to 1-100).

    Returns
    -------
    ndarray
        A new array of ``src``'s shape and dtype, the hole filled.

    Raises
    ------
    InputError
        A radius that is not a finite number > 0, a ``src`` of another dtype or channel
        count, or a ``hole`` of another shape.
    """
    # rounded to even and clamped as OpenCV does; OpenCV's own rounding overflows from 2**31
    # on (and takes 1 px), so its one-channel call gets this radius too: both paths agree
    rng = int(min(max(round(positive_number(radius, "radius")), 1), 100))
    src = np.asarray(src)
    hole = np.asarray(hole)
    if hole.ndim != 2 or hole.shape != src.shape[:2]:
        raise InputError(f"hole: shape {hole.shape} does not match src {src.shape[:2]}")
    if src.dtype not in (np.uint8, np.uint16) or not (
            src.ndim == 2 or (src.ndim == 3 and src.shape[2] in (1, 3))):
        raise InputError(f"src: {src.dtype} of shape {src.shape} (Telea here takes uint8 or "
                         "uint16, one channel or three)")
    if hole.dtype != np.uint8:
        # non-zero is the hole on both paths: a cast to OpenCV's uint8 would wrap (256 -> 0)
        # or truncate (0.5 -> 0)
        hole = (hole != 0).view(np.uint8)
    if min(hole.shape) == 1:
        # OpenCV's gradient reads a border row (column) one pixel inwards: a frame 1 px high
        # (wide) has none, and both OpenCV and the kernel then read past the image (garbage,
        # or a crash). Filled as the frame with that row (column), hole included, doubled:
        # the same image and hole, and every read inside it.
        ry, rx = (2, 1) if hole.shape[0] == 1 else (1, 2)
        reps = (ry, rx) + (1,) * (src.ndim - 2)
        return telea_inpaint(np.tile(src, reps), np.tile(hole, (ry, rx)),
                             rng)[:hole.shape[0], :hole.shape[1]]
    if src.ndim == 2 or src.shape[2] == 1:
        one = np.ascontiguousarray(src.reshape(src.shape[:2]))
        out = cv2.inpaint(one, np.ascontiguousarray(hole), rng, cv2.INPAINT_TELEA)
        return out.reshape(src.shape)
    if not _loaded:
        # the first fill in this process loads the kernels, compiling a cold cache in a child
        # (the benchmark's warm-up image reaches the text mask's estimates before any
        # warm_up(): compiled here, LLVM's state would stay for the process's life)
        warm_up()
    return _fill(src, hole, rng)


def _fill(src: np.ndarray, hole: np.ndarray, rng: int) -> np.ndarray:
    """:func:`telea_inpaint` of a checked 3-channel ``src`` at the integer radius ``rng``."""
    three = src.dtype == np.uint8
    h, w = hole.shape
    mask = np.zeros((h + 2, w + 2), np.uint8)
    mask[1:-1, 1:-1][hole != 0] = _INSIDE
    # the narrow band: known pixels 4-next to the hole, not on the 1 px frame
    band = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    band[mask != 0] = 0
    band[[0, -1]] = 0
    band[:, [0, -1]] = 0
    by, bx = (a.astype(np.int64) for a in np.nonzero(band))
    res = np.array(src, order="C", copy=True)
    if not len(by):
        return res
    # the ring within the radius (square) of the hole, where outside times are marched
    ring = cv2.dilate(mask, np.ones((2 * rng + 1, 2 * rng + 1), np.uint8))
    ring[(mask != 0) | (band != 0)] = 0
    ring[[0, -1]] = 0
    ring[:, [0, -1]] = 0
    t = np.full(mask.shape, 1.0e6, np.float32)
    t[by, bx] = 0
    cap = len(by) + max(int(np.count_nonzero(mask)), int(np.count_nonzero(ring))) + 2
    queue = (np.empty(cap, np.float32), np.empty(cap, np.int64), np.empty(cap, np.int64),
             np.empty(cap, np.int64), np.empty(1, np.int64))
    _outside(ring, t, by, bx, *queue)
    _telea(res, mask, t, by, bx, rng, 255 if three else 65535, _distance_weights(rng, three),
           *queue)
    return res


#: Whether this process has loaded the kernels (:func:`warm_up`), and its lock (the fill's
#: first pass runs regions on two threads).
_loaded = False
_load_lock = threading.Lock()


def warm_up() -> None:
    """Load (or compile) the kernels now, once per process. Kernels whose cache is cold are
    compiled in a child process first, so this process loads them from the cache instead of
    keeping the compiler's memory (:mod:`.jit_cache`)."""
    global _loaded
    from seamline.ops.inpaint.jit_cache import warm_kernels

    with _load_lock:
        if not _loaded:
            warm_kernels(__name__)
            _loaded = True


def _load_kernels() -> None:
    """:func:`warm_up`'s calls (the child's too): a small hole in a 3-channel 8-bit and 16-bit
    image."""
    hole = np.zeros((24, 24), np.uint8)
    hole[8:16, 6:18] = 255
    for dtype in (np.uint8, np.uint16):
        _fill(np.full((24, 24, 3), 100, dtype), hole, 3)
