"""OpenCV xphoto's frequency-selective reconstruction (FSR), compiled with Numba.

The same algorithm as ``cv2.xphoto.inpaint(src, mask, dst, INPAINT_FSR_FAST / _BEST)``
(Genser et al. 2017/2018; OpenCV 5.0's implementation, including its quirks: blocks are
laid on a grid that leaves out the partial blocks at the right and bottom edges, and the
standard deviation that picks a block's size is taken on the *input* image, with the
pixels already reconstructed counting as zeros), re-written so that it costs what the
arithmetic costs: OpenCV's spends most of its time allocating small matrices in every one
of up to 100 iterations per block (a 23000 px caption hole: ~1 CPU s). The three channels
(Y, Cr, Cb) are independent: they run at once on up to three threads (the kernel releases
the GIL).

Same result as OpenCV's to rounding: the 2-D DFTs are this module's radix-2 FFTs, not
OpenCV's, so a reconstructed value can differ in the last bits and, rarely, round to the
next 8-bit level (``tests/test_fsr_kernel.py`` compares the two on photos).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from seamline.core.threads import pool, share

__all__ = ["fsr_inpaint", "warm_up"]

#: Profiles: (block_size_min, fft_size, max_iter, min_iter, iter_const,
#: orthogonality_correction), as OpenCV's ``fsr_parameters``.
_FAST = (4, 32, 100, 20, 1000, 0.5)
_BEST = (2, 64, 400, 50, 2000, 0.2)
_RHOS = np.array([0.80, 0.70, 0.66, 0.64])
_THRESH_Y = np.array([0.014, 0.030, 0.090])
_THRESH_CX = np.array([0.006, 0.010, 0.028])
_BLOCK = 16
_CONC_WEIGHTING = 0.5


# ----------------------------------------------------------------------------- FFT
@njit(cache=True, nogil=True)
def _fft_columns(a, tw, rev, ncols):
    """In place: radix-2 FFT of each of the first ``ncols`` columns of the complex array
    ``a`` (n rows, n a power of 2) with twiddles ``tw[k] = exp(-+2 pi i k / n)`` (k < n / 2)
    and the bit-reversal permutation ``rev``. Each butterfly is applied to whole rows at
    once (rows are contiguous: one column at a time, copied out and back, took 10-15 % more
    of the kernel's time); every element's arithmetic is that of a 1-D FFT of its column."""
    n = a.shape[0]
    for i in range(n):
        j = rev[i]
        if i < j:
            for c in range(ncols):
                t = a[i, c]
                a[i, c] = a[j, c]
                a[j, c] = t
    length = 2
    while length <= n:
        half = length >> 1
        step = n // length
        for s in range(0, n, length):
            for k in range(half):
                r0 = a[s + k]
                r1 = a[s + k + half]
                if k == 0:
                    for c in range(ncols):
                        u = r0[c]
                        v = r1[c]
                        r0[c] = u + v
                        r1[c] = u - v
                else:
                    w = tw[k * step]
                    for c in range(ncols):
                        u = r0[c]
                        v = r1[c] * w
                        r0[c] = u + v
                        r1[c] = u - v
        length <<= 1


@njit(cache=True, nogil=True)
def _fft2(a, tw, rev, ncols):
    """In place: 2-D FFT of the complex square array ``a``, the column pass on its first
    ``ncols`` columns only (unscaled). The row pass is a column pass of the transpose."""
    t = np.ascontiguousarray(a.T)
    _fft_columns(t, tw, rev, a.shape[0])
    a[:, :] = t.T
    _fft_columns(a, tw, rev, ncols)


@njit(cache=True, nogil=True)
def _fft_tables(n):
    """Forward and inverse twiddles and the bit-reversal permutation for length n."""
    fwd = np.empty(n // 2, np.complex128)
    inv = np.empty(n // 2, np.complex128)
    for k in range(n // 2):
        c, s = math.cos(2 * math.pi * k / n), math.sin(2 * math.pi * k / n)
        fwd[k] = complex(c, -s)
        inv[k] = complex(c, s)
    rev = np.zeros(n, np.int64)
    bits = 0
    while (1 << bits) < n:
        bits += 1
    for i in range(n):
        r, x = 0, i
        for _ in range(bits):
            r = (r << 1) | (x & 1)
            x >>= 1
        rev[i] = r
    return fwd, inv, rev


# ----------------------------------------------------------------------------- blocks
@njit(cache=True, nogil=True)
def _std(block, mask):
    """Standard deviation / 255 of ``block`` over its pixels with ``mask > 0`` (NaN when
    none), clipped to [0, 1]: OpenCV's meanStdDev (sums in row order, mean = sum x 1/n)."""
    s = 0.0
    sq = 0.0
    n = 0
    for y in range(block.shape[0]):
        for x in range(block.shape[1]):
            if mask[y, x] != 0:
                v = float(block[y, x])
                s += v
                sq += v * v
                n += 1
    if n < 1:
        return np.nan
    scale = 1.0 / n
    mean = s * scale
    sd = math.sqrt(max(sq * scale - mean * mean, 0.0))
    sig = sd / 255
    if sig < 0:
        sig = 0.0
    elif sig > 1:
        sig = 1.0
    return sig


@njit(cache=True, nogil=True)
def _iterations(sigma, iter_const, min_iter, max_iter):
    if sigma != sigma:  # NaN: OpenCV's cvRound gives INT_MIN, clamped to min_iter
        return min_iter
    k = round(iter_const * sigma)  # half to even, as cvRound
    return min(max(k, min_iter), max_iter)


@njit(cache=True, nogil=True, error_model="numpy")
def _extrapolate(block, mask, fft, rho, sigma, params, tables, fweight, decay):
    """One block's window ``block`` (M, N) with weights ``mask`` (1 known, 0.5 filled
    before, 0 unknown) -> the window rebuilt from a sparse set of Fourier basis
    functions; known pixels (weight 1) kept."""
    oc = params[5]
    M, N = block.shape
    fx = int(math.floor((fft - N) / 2.0))
    fy = int(math.floor((fft - M) / 2.0))
    w = np.zeros((fft, fft))
    w[fy:fy + M, fx:fx + N] = mask
    w *= _decay(decay, fft, rho, fy + M // 2, fx + N // 2)
    fwd, inv, rev = tables
    half = fft // 2 + 1
    W = w.astype(np.complex128)
    _fft2(W, fwd, rev, fft)
    Rfull = np.zeros((fft, fft), np.complex128)
    Rfull[fy:fy + M, fx:fx + N] = block * w[fy:fy + M, fx:fx + N]
    _fft2(Rfull, fwd, rev, half)  # only the first half + 1 columns are used
    Rw = np.ascontiguousarray(Rfull[:, :half])
    G = np.zeros((fft, fft), np.complex128)
    if sigma == 0:
        sigma = _std(block, mask)
    n_iter = _iterations(sigma, params[4], int(params[3]), int(params[2]))
    W00 = W[0, 0]
    h2 = fft // 2
    # W tiled 2 x 2: the spectrum shifted by (u, v) is a slice, no index wrapping
    Wp = np.empty((2 * fft, 2 * fft), np.complex128)
    Wp[:fft, :fft] = W
    Wp[:fft, fft:] = W
    Wp[fft:, :fft] = W
    Wp[fft:, fft:] = W
    # projection distances |Rw| x frequency weighting, and their maximum; refreshed as
    # each iteration updates Rw (the values OpenCV computes at the next iteration's start)
    pd = np.empty((fft, half))
    for y in range(fft):
        for x in range(half):
            z = Rw[y, x]
            pd[y, x] = math.sqrt(z.real * z.real + z.imag * z.imag) * fweight[y, x]
    row_max = np.empty(fft)
    mx = _row_max(pd, row_max)
    it = 0
    while it < n_iter:
        u = -1
        v = -1
        for y in range(fft):  # the first value within 0.001 of the maximum, row by row
            if not abs(row_max[y] - mx) < 0.001:
                continue  # nor is any value of this row (see _row_max)
            for x in range(half):
                if abs(pd[y, x] - mx) < 0.001:
                    u = y
                    v = x
                    break
            if u != -1:
                break
        if u == -1:  # no maximum (NaN): OpenCV's index arithmetic lands on (0, 0)
            u = 0
            v = 0
        if (v == 0 and u > h2) or (v == h2 and u > h2):
            up = u
            u = fft - u
            Rw[u, v] = Rw[up, v].conjugate()
        ucj = -1
        vcj = -1
        if 1 <= u < h2 and (v == 0 or v == h2):
            ucj, vcj = fft - u, v
        if (u == 0 or u == h2) and 1 <= v < h2:
            ucj, vcj = u, fft - v
        if u >= h2 + 1 and 1 <= v < h2:
            ucj, vcj = fft - u, fft - v
        if 1 <= u < h2 and 1 <= v < h2:
            ucj, vcj = fft - u, fft - v
        coef = oc * Rw[u, v] / W00
        G[u, v] += fft * fft * coef
        if ucj != -1 and vcj != -1:
            G[ucj, vcj] = G[u, v].conjugate()
            cc = coef.conjugate()
            for y in range(fft):
                ra = Wp[fft - u + y, fft - v:fft - v + half]
                rb = Wp[fft - ucj + y, fft - vcj:fft - vcj + half]
                rw, py, fw = Rw[y], pd[y], fweight[y]
                for x in range(half):
                    z = rw[x] - (coef * ra[x] + cc * rb[x])
                    rw[x] = z
                    py[x] = math.sqrt(z.real * z.real + z.imag * z.imag) * fw[x]
            it += 1  # two basis functions were added
        else:
            for y in range(fft):
                ra = Wp[fft - u + y, fft - v:fft - v + half]
                rw, py, fw = Rw[y], pd[y], fweight[y]
                for x in range(half):
                    z = rw[x] - coef * ra[x]
                    rw[x] = z
                    py[x] = math.sqrt(z.real * z.real + z.imag * z.imag) * fw[x]
        # the maximum in its own pass: the update above then carries no dependency from
        # one element to the next
        mx = _row_max(pd, row_max)
        it += 1
    g = G
    _fft2(g, inv, rev, fft)
    out = np.empty((M, N))
    scale = 1.0 / (fft * fft)
    for y in range(M):
        for x in range(N):
            out[y, x] = block[y, x] if mask[y, x] == 1.0 else g[fy + y, fx + x].real * scale
    return out


@njit(cache=True, nogil=True)
def _row_max(pd, row_max):
    """The largest value of ``pd`` (h, w) float64 >= 0, and each row's in ``row_max`` (h,);
    NaN never counts (-1.0 where nothing does). A row whose maximum is not within 0.001
    of the whole's holds no value that is: ``p <= row max <= max`` gives
    ``|p - max| >= |row max - max|`` (rounding keeps the order), so the search for the
    first value within 0.001 of the maximum skips it."""
    mx = -1.0
    for y in range(pd.shape[0]):
        m = -1.0
        for x in range(pd.shape[1]):
            if pd[y, x] > m:
                m = pd[y, x]
        row_max[y] = m
        if m > mx:
            mx = m
    return mx


@njit(cache=True, nogil=True)
def _decay(cache, fft, rho, cy, cx):
    """rho ** (distance of each window pixel's centre from (cy, cx)): the weighting of a
    window, cached for the centres near the window's middle (``cache[cy - fft // 2 + 1, cx - fft // 2 + 1]``,
    NaN until computed) for one rho (pow is
    most of a block's set-up)."""
    i, j = cy - fft // 2 + 1, cx - fft // 2 + 1
    if not (0 <= i < cache.shape[0] and 0 <= j < cache.shape[1]):
        d = np.empty((fft, fft))
        d[0, 0] = np.nan
    else:
        d = cache[i, j]
    if d[0, 0] != d[0, 0]:
        for u in range(fft):
            for v in range(fft):
                du = u + 0.5 - cy
                dv = v + 0.5 - cx
                d[u, v] = rho ** math.sqrt(du * du + dv * dv)
    return d


@njit(cache=True, nogil=True)
def _window(i, bs, n, border):
    """Start, stop of a block's window along one axis, and its borders (before, after)."""
    before = min(i * bs, border)
    after = max(0, min(n - (i + 1) * bs, border))
    return i * bs - before, min(n, i * bs + bs + after), before, after


@njit(cache=True, nogil=True)
def _has_unknown(mask, y0, y1, x0, x1):
    for y in range(y0, y1):
        for x in range(x0, x1):
            if mask[y, x] == 0:
                return True
    return False


@njit(cache=True, nogil=True)
def _all_unknown(mask, y0, y1, x0, x1):
    for y in range(y0, y1):
        for x in range(x0, x1):
            if mask[y, x] != 0:
                return False
    return True


@njit(cache=True, nogil=True)
def _bump(nen, y, x, d):
    """Add ``d`` to the nen count of the 8 neighbours of block (y, x)."""
    rows, cols = nen.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dy != 0 or dx != 0) and 0 <= y + dy < rows and 0 <= x + dx < cols:
                nen[y + dy, x + dx] += d


@njit(cache=True, nogil=True)
def _channel(sampled, known, params, thresholds, rhos):
    """Reconstruct one channel. ``sampled`` (H, W) uint8 with the unknown pixels zeroed,
    ``known`` (H, W) uint8 in {0, 1}; returns the reconstruction (float64). Two float64
    arrays of the channel's size (OpenCV holds four, one channel at a time)."""
    bs_min, fft = int(params[0]), int(params[1])
    H, W_ = sampled.shape
    rec = sampled.astype(np.float64)
    mask = known.astype(np.float64)
    tables = _fft_tables(fft)
    half = fft // 2 + 1
    fweight = np.empty((fft, half))
    for y in range(fft):
        for x in range(half):
            y2 = fft / 2.0 - abs(y - fft / 2.0)
            x2 = fft / 2.0 - abs(x - fft / 2.0)
            fweight[y, x] = 1 - math.sqrt(x2 * x2 + y2 * y2) * math.sqrt(2.0) / fft
    bs = _BLOCK
    rho = rhos[0]
    thr = thresholds[0]
    # blocks to look at, on a grid twice the previous one's size (children of a block)
    rows0, cols0 = (H + bs - 1) // bs, (W_ + bs - 1) // bs
    todo = np.zeros((rows0, cols0), np.bool_)
    for y in range(rows0):
        for x in range(cols0):
            todo[y, x] = _has_unknown(mask, y * bs, min(H, (y + 1) * bs), x * bs,
                                      min(W_, (x + 1) * bs))
    border = 0
    while bs >= bs_min:
        rows, cols = H // bs, W_ // bs  # OpenCV's grid: partial blocks left out
        nen = np.zeros((rows, cols))
        proc = np.zeros((rows, cols))
        sigma = np.zeros((rows, cols))
        setproc = np.zeros((rows, cols))
        later = np.zeros((2 * todo.shape[0], 2 * todo.shape[1]), np.bool_)
        any_later = False
        if bs > bs_min:
            border = (fft - bs) // 2
            for y in range(todo.shape[0]):
                for x in range(todo.shape[1]):
                    if not todo[y, x] or x >= cols or y >= rows:
                        continue
                    wy0, wy1, _, _ = _window(y, bs, H, border)
                    wx0, wx1, _, _ = _window(x, bs, W_, border)
                    s = _std(sampled[wy0:wy1, wx0:wx1], mask[wy0:wy1, wx0:wx1])
                    sigma[y, x] = s
                    if s < thr:
                        setproc[y, x] = 255
                    else:
                        for q in range(4):
                            later[2 * y + q // 2, 2 * x + q % 2] = True
                        any_later = True
        else:
            setproc[:, :] = 255
        unknown = np.zeros((rows, cols), np.bool_)
        for y in range(rows):
            for x in range(cols):
                unknown[y, x] = _has_unknown(mask, y * bs, (y + 1) * bs, x * bs, (x + 1) * bs)
                if unknown[y, x]:
                    _bump(nen, y, x, 1.0)
        for y in range(rows):
            for x in range(cols):
                if not unknown[y, x]:
                    nen[y, x] = -1
                    continue
                top, bottom = y == 0, y == rows - 1
                left, right = x == 0, x == cols - 1
                nen[y, x] += 5 * ((top and left) + (top and right) + (bottom and left)
                                  + (bottom and right))
                nen[y, x] += 3 * ((top and not left and not right)
                                  + (bottom and not left and not right)
                                  + (not top and not bottom and left)
                                  + (not top and not bottom and right))
        if rows * cols > 0 and nen.min() == 8:
            for y in range(rows):
                for x in range(cols):
                    if _all_unknown(mask, y * bs, (y + 1) * bs, x * bs, (x + 1) * bs):
                        nen[y, x] += 1
        decay = np.full((3, 3, fft, fft), np.nan)  # per level: rho changes
        by = np.empty(rows * cols, np.int64)
        bx = np.empty(rows * cols, np.int64)
        while True:
            proc[:, :] = 1
            mn = 99.0
            cnt = 0
            for y in range(rows):
                for x in range(cols):
                    t = nen[y, x]
                    if t >= 0 and t < mn and setproc[y, x] == 255:
                        cnt = 0
                        mn = t
                        proc[:, :] = 1
                    if t == mn and proc[y, x] != 0 and setproc[y, x] == 0:
                        nen[y, x] = -1
                    if t == mn and proc[y, x] != 0 and setproc[y, x] != 0:
                        by[cnt] = y
                        bx[cnt] = x
                        cnt += 1
                        for dy in (-1, 0, 1):
                            for dx in (-1, 0, 1):
                                if (dy != 0 or dx != 0) and 0 <= y + dy < rows \
                                        and 0 <= x + dx < cols:
                                    proc[y + dy, x + dx] = 0
            if cnt == 0:
                break
            for k in range(cnt):
                y, x = by[k], bx[k]
                wy0, wy1, top, bottom = _window(y, bs, H, border)
                wx0, wx1, left, right = _window(x, bs, W_, border)
                ext = _extrapolate(rec[wy0:wy1, wx0:wx1], mask[wy0:wy1, wx0:wx1], fft, rho,
                                   sigma[y, x], params, tables, fweight, decay)
                M, N = ext.shape
                rec[y * bs:min(H, (y + 1) * bs), x * bs:min(W_, (x + 1) * bs)] = \
                    ext[top:M - bottom, left:N - right]
                for yy in range(y * bs, min(H, (y + 1) * bs)):
                    for xx in range(x * bs, min(W_, (x + 1) * bs)):
                        m = mask[yy, xx]
                        sg = 1.0 if m > 0 else (-1.0 if m < 0 else 0.0)
                        mask[yy, xx] = m + (1 - sg) * _CONC_WEIGHTING
                nen[y, x] = -1
                _bump(nen, y, x, -1.0)
        bs //= 2
        border = (fft - bs) // 2
        if bs == 8:
            thr = thresholds[1]
            rho = rhos[1]
        if bs == 4:
            thr = thresholds[2]
            rho = rhos[2]
        if bs == 2:
            rho = rhos[3]
        if not any_later:
            break
        todo = later
    return rec


# ----------------------------------------------------------------------------- API
def _run(channel, known, params, thresholds):
    """One channel reconstructed, as uint8 (None if a value came out NaN)."""
    rec = _channel(np.ascontiguousarray(channel), known, params, thresholds, _RHOS)
    if np.isnan(rec).any():
        return None
    return np.clip(np.rint(rec), 0, 255).astype(np.uint8)


def fsr_inpaint(src: np.ndarray, known: np.ndarray, *, best: bool = False,
                threads: int | None = None) -> np.ndarray:
    """``cv2.xphoto.inpaint(src, known, dst, INPAINT_FSR_FAST or _BEST)``, compiled.

    Parameters
    ----------
    src : ndarray, shape (h, w, 3), uint8
        BGR image.
    known : ndarray, shape (h, w), uint8
        Non-zero where the pixel is known (xphoto's convention: the inverse of a hole).
    best : bool, keyword-only
        The best profile (larger windows, more iterations) instead of the fast one.
    threads : int, optional, keyword-only
        Threads for the three channels (1-3; default ``share(3)``,
        :func:`seamline.core.threads.share`). The result is the same for every value.

    Returns
    -------
    ndarray, shape (h, w, 3), uint8
        BGR, the unknown pixels reconstructed. As OpenCV's, hole pixels in the partial
        blocks at the right and bottom edges (beyond a multiple of 4 px; 2 px with
        ``best``) may come back as (0, 135, 0) green: callers pad the crop.
    """
    params = np.array(_BEST if best else _FAST, np.float64)
    k01 = (known != 0).astype(np.uint8)
    ycrcb = cv2.cvtColor(src, cv2.COLOR_BGR2YCrCb)
    jobs = [(ycrcb[..., c] * k01, _THRESH_Y if c == 0 else _THRESH_CX) for c in range(3)]
    n = share(3) if threads is None else int(threads)
    if n <= 1:
        chans = [_run(c, k01, params, t) for c, t in jobs]
    else:
        with pool(min(n, 3), "fsr") as channels:
            chans = list(channels.map(lambda j: _run(j[0], k01, params, j[1]), jobs))
    if any(c is None for c in chans):
        # a window with no known pixel at all (a hole that fills the crop) divides by a
        # zero weight; NaN then spreads differently here than in OpenCV's code: its result
        dst = np.zeros_like(src)
        cv2.xphoto.inpaint(src, known, dst, cv2.xphoto.INPAINT_FSR_BEST if best
                           else cv2.xphoto.INPAINT_FSR_FAST)
        return dst
    return cv2.cvtColor(np.ascontiguousarray(np.stack(chans, axis=-1)), cv2.COLOR_YCrCb2BGR)


def warm_up() -> None:
    """Load (or compile) the kernels now: a 40x40 image with a hole, both profiles. Kernels
    whose cache is cold are compiled in a child process first, so this process loads them
    from the cache instead of keeping the compiler's memory (:mod:`.jit_cache`)."""
    from seamline.ops.inpaint.jit_cache import warm_kernels

    warm_kernels(__name__)


def _load_kernels() -> None:
    """:func:`warm_up`'s calls: every kernel on both profiles (compiled where not cached)."""
    rng = np.random.default_rng(0)
    img = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
    known = np.ones((40, 40), np.uint8)
    known[12:28, 10:30] = 0
    for best in (False, True):
        fsr_inpaint(img, known, best=best, threads=1)
