"""Semi-transparent text taken off by inverting its blend: the photo is still under it.

A watermark drawn once at 30-75 % opacity (the demo's white "SAMPLE" over the spoon and the
saucer) dims the photo towards its paint, ``I = (1 - a) P + a C``; it does not replace it.
A fill throws away what is left of the photo under the strokes and invents it again: over a
spoon's handle or a saucer's rim the frequency-selective fill breaks the structure the eye
follows through the letters. The tiled case has many copies to read ``a`` and ``C`` from
(:mod:`seamline.ops.text.unblend`); one copy has its strokes' own borders:

1. **Pairs across the border.** Every hole pixel is paired with the nearest untouched photo
   just outside the hole (``RING_IN_PX`` to ``RING_OUT_PX`` px out, past the anti-aliased
   rim), at most ``PAIR_MAX_PX`` away: the photo changes little over a few pixels, so a
   painted pixel is about ``(1 - a)`` times its partner plus ``a C``, an unpainted one (the
   mask is the strokes grown a few px) about its partner.
2. **One blend for the hole.** ``I = s I_out + k`` (one slope, three offsets) is fitted by
   least squares with Cauchy reweighting (scale ``CAUCHY``) on the pixels ``CORE_PX`` deep
   or more, then refitted on the pixels the blend explains better than the photo beside
   them, by the reduced major axis (a least-squares slope is pulled towards 0 by the
   photo's own change between a pixel and its partner: the opacity came out 0.52 for the
   demo's 0.45, now 0.42-0.45); ``a = 1 - s``, ``C = k / a``. It is trusted
   (:func:`fit_blend`) only when ``a`` lies in [``A_MIN``, ``A_MAX``], ``C`` is a colour, the
   blend's median residual is at most ``BETTER`` of the alternatives' (opaque paint, no
   paint) and, over every pair, at least ``MIN_EVIDENCE`` are explained within ``EXPLAIN``
   where the photo beside differs by over three times that (a text-shaped hole over an
   untouched photo, opaque text, outlines and shadows stay under it: they are filled).
3. **Invert.** A hole pixel is painted where, averaged over ``PAINT_SIGMA`` px, inverting it
   brings it closer to its partner than leaving it, and where the strokes continue from
   such pixels (:func:`_follow_strokes`): where the photo beside a stroke is not the photo
   under it (a bright rim beside a stroke over the spoon's dark neck) that answer says
   "photo" on stretches of the stroke, which stayed pale. The stroke is followed through
   pixels whose inversion is a colour (over a darker photo an unpainted pixel inverts below
   0), in areas no wider than a stroke (over a bright photo every pixel inverts to a colour),
   not onto a pixel beside one that inverts out of range (the anti-aliased edge: unmixed).
   Painted pixels are inverted,
   ``P = (I - k) / s``; unpainted ones are photo and kept; the strokes' anti-aliased edge
   (``EDGE_OUT_PX`` out of the painted pixels, ``EDGE_IN_PX`` in, except on a painted line
   no wider than ``THIN_LINE_PX``: the middle of a stroke the strokes were followed along,
   inverted whole) is unmixed with its own coverage, read against the photo resolved round it; what is left (out of range, no
   partner) is filled by Telea (radius 2).

Measured on the demo (coffee, a train photo): text-region PSNR of the watermark 20.08 dB
(FSR, the spoon's handle broken under "SA") -> 25.5 dB (per-pixel paint decision) -> 27.8
dB (strokes followed; the "S"'s arc over the spoon's neck 20.1 -> 24.6 dB, no longer pale at
2x) -> 28.0 dB (the followed line, often 1 px wide over the cup's dark body, inverted whole
instead of unmixed as an edge against a photo estimate the cup's bright lip brightens: the
"S"'s arc 24.6 -> 25.1 dB).

numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["fit_blend", "see_through_fill"]

#: Hole pixels this deep (px, L2 distance to the nearest untouched pixel) are a stroke's core:
#: fully covered by the paint.
CORE_PX = 2.5
#: Untouched photo this far from the hole (px) is the partner of a core pixel: past the
#: anti-aliased rim a mask that hugs the strokes leaves outside.
RING_IN_PX = 2.0
RING_OUT_PX = 3.5
#: Most distance (px) between a core pixel and its partner.
PAIR_MAX_PX = 14.0
#: Fewest pairs for a fit ...
MIN_PAIRS = 150
#: ... and most (an even subsample beyond: a 24 MP title has millions).
MAX_PAIRS = 20000
#: Opacity range inverted: under A_MIN the paint is too faint to tell from the photo's own
#: variation; over A_MAX the photo left is too dim (the inversion multiplies its noise by
#: 1 / (1 - a)).
A_MIN = 0.15
A_MAX = 0.75
#: Scale of the Cauchy reweighting of a pair's residual (sRGB units).
CAUCHY = 0.05
#: The blend's median residual over the better alternative's (opaque paint, no paint) must
#: be at most this.
BETTER = 0.6
#: The strokes' anti-aliased edge: this far (px) out of the painted pixels and in from their
#: border; its coverage is read against the photo resolved round it (Gaussian, this sigma).
#: A painted line no wider than THIN_LINE_PX (px from its border, its widest within 2 px) is
#: a stroke's middle the strokes were followed along, not a border: it is inverted whole.
EDGE_OUT_PX = 2.0
EDGE_IN_PX = 1.0
EDGE_SIGMA = 1.5
THIN_LINE_PX = 1.5
#: Scale (px) over which the per-pixel paint decisions are averaged.
PAINT_SIGMA = 1.0
#: The strokes' half-width is this quantile of the painted pixels' distance to their border
#: on its ridge; pixels that invert to a colour in an area wider than a disk of
#: THIN_RADIUS half-widths are photo (a bright photo inverts to a colour everywhere), not
#: grown into by :func:`_follow_strokes`.
STROKE_QUANTILE = 0.75
THIN_RADIUS = 1.5
#: Evidence for paint: the share of all pairs the blend explains within EXPLAIN (sRGB
#: distance) whose photo beside differs by over 3 x EXPLAIN must be MIN_EVIDENCE or more.
#: Text-shaped holes over untouched train photos (coffee, astronaut, chelsea, rocket) gave
#: at most 0.061, outlines and shadows 0.049, semi-transparent words 0.077-0.45.
EXPLAIN = 0.03
MIN_EVIDENCE = 0.07
#: A recovered pixel this far out of [0, 1] is not explained by the blend: filled instead.
RANGE_SLACK = 0.04


def _partners(hole: np.ndarray, known: np.ndarray):
    """Per hole pixel, the nearest untouched pixel ``RING_IN_PX`` to ``RING_OUT_PX`` px out of
    the hole: (rows, cols, distance), each (h, w); distance inf where there is none."""
    h8 = hole.astype(np.uint8)
    d_out = cv2.distanceTransform(1 - h8, cv2.DIST_L2, 5)
    ring = known & ~hole & (d_out >= RING_IN_PX) & (d_out <= RING_OUT_PX)
    if not ring.any():
        inf = np.full(hole.shape, np.inf, np.float32)
        z = np.zeros(hole.shape, np.intp)
        return z, z, inf
    dist, lab = cv2.distanceTransformWithLabels((~ring).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ry, rx = np.nonzero(ring)
    lut = np.zeros((int(lab.max()) + 1, 2), np.intp)
    lut[lab[ry, rx]] = np.stack([ry, rx], 1)
    p = lut[lab]
    return p[..., 0], p[..., 1], dist


def _inverted(x: np.ndarray, s: float, k: np.ndarray) -> np.ndarray:
    """The photo under blended pixels ``x`` (..., 3) float32: ``x = s P + k`` solved for
    ``P``, in float32."""
    return (x - np.float32(k)) / np.float32(s)


def _a_colour(P: np.ndarray) -> np.ndarray:
    """Whether each inverted pixel ``P`` (..., 3) is a colour: every channel within
    ``RANGE_SLACK`` of [0, 1] (the blend explains it)."""
    return np.all((P >= -RANGE_SLACK) & (P <= 1 + RANGE_SLACK), axis=-1)


def _painted(I: np.ndarray, Po: np.ndarray, s: float, k: np.ndarray) -> np.ndarray:
    """Whether each pixel ``I`` (n, 3) is the blend over the photo beside it ``Po`` (n, 3)
    rather than that photo itself: the inverted pixel is a colour and closer to it."""
    P1 = (I - k) / s  # float64 (the fit's pairs)
    return _a_colour(P1) & (np.linalg.norm(P1 - Po, axis=1) < np.linalg.norm(I - Po, axis=1))


def _paint_map(crop, hole, known, s, k):
    """Which hole pixels the paint covers (bool), and each one's distance to its partner.

    Per pixel, how much closer to the photo beside it the inverted pixel is than the pixel
    itself; one pixel's answer is noisy where the photo changes within a few px (a spoon's
    highlights), so the answer is averaged over ``PAINT_SIGMA`` px of paired hole pixels
    (the strokes are shapes, not speckle)."""
    pr, pc, dist = _partners(hole, known)
    paired = hole & (dist <= PAIR_MAX_PX)
    cy, cx = np.nonzero(paired)
    I, Po = crop[cy, cx], crop[pr[cy, cx], pc[cy, cx]]
    P1 = _inverted(I, s, k)
    score = np.zeros(hole.shape, np.float32)
    score[cy, cx] = np.linalg.norm(I - Po, axis=1) - np.linalg.norm(P1 - Po, axis=1)
    sm = cv2.GaussianBlur(score, (0, 0), PAINT_SIGMA)
    painted = paired & (sm > 0)
    return _follow_strokes(crop, painted, paired, s, k), dist


def _follow_strokes(crop, painted, paired, s, k):
    """``painted`` grown along the strokes: a paired hole pixel connected to painted ones
    through pixels whose inversion is a colour, where those pixels are no wider than a
    stroke, is painted too.

    Where the photo beside a stroke differs from the photo under it (the spoon's neck, a
    dark saucer next to a bright rim) the per-pixel answer says "photo" on stretches of a
    stroke whose inversion is exact, and the stretch is left pale. Over a darker photo an
    unpainted pixel inverts out of range (below the paint's offset); the pixels that invert
    to a colour there are the strokes, as wide as a stroke. Over a bright photo every pixel
    inverts to a colour: those areas are wider than a stroke (an opening with a disk of
    ``THIN_RADIUS`` stroke half-widths keeps them) and are not grown into."""
    if not painted.any():
        return painted
    colour = paired & _a_colour(_inverted(crop, s, k))
    # the strokes' half-width: the painted pixels' distance to their border on its ridge
    p8 = painted.astype(np.uint8)
    dt = cv2.distanceTransform(p8, cv2.DIST_L2, 5)
    ridge = painted & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8)))
    half = float(np.quantile(dt[ridge], STROKE_QUANTILE))
    rho = max(1, int(np.ceil(THIN_RADIUS * half)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rho + 1, 2 * rho + 1))
    wide = cv2.morphologyEx(colour.astype(np.uint8), cv2.MORPH_OPEN, disk) > 0
    thin = (colour & ~wide).astype(np.uint8)
    # the painted pixels' components of ``thin | painted`` (connected through thin pixels)
    n, lab = cv2.connectedComponents((thin | p8).astype(np.uint8), connectivity=8)
    reached = np.zeros(n, bool)
    reached[np.unique(lab[painted])] = True
    reached[0] = False
    # a pixel beside one that inverts out of range is the strokes' anti-aliased edge (part
    # paint: inverted at full opacity it comes out too dark): left to the edge's unmixing
    inner = cv2.erode(colour.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS,
                                                                        (3, 3))) > 0
    return painted | (reached[lab] & (thin > 0) & inner)


def _lsq(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """``y = s x + k`` (n, 3), one slope and an offset per channel, weighted least squares."""
    ws = w.sum()
    mx, my = (w[:, None] * x).sum(0) / ws, (w[:, None] * y).sum(0) / ws
    xc, yc = x - mx, y - my
    s = float((w[:, None] * xc * yc).sum() / max(float((w[:, None] * xc * xc).sum()), 1e-12))
    return s, my - s * mx


def _irls(x, y, use, fit, rounds: int = 5):
    """``fit`` reweighted by the residual (Cauchy, scale ``CAUCHY``) over the pairs ``use``."""
    w = use.astype(np.float64)
    for _ in range(rounds):
        s, k = fit(x, y, w)
        r = np.linalg.norm(y - (s * x + k), axis=1)
        w = use / (1.0 + (r / CAUCHY) ** 2)
    return s, k


def _rma(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """``y = s x + k`` (n, 3) with one slope and an offset per channel, weights ``w`` (n,):
    the reduced major axis slope ``sign(Sxy) sqrt(Syy / Sxx)``. The partner is the photo a
    few px away, not under the pixel: as a regressor it carries the photo's own change over
    those px, which pulls a least-squares slope towards 0 (the paint's opacity up); the
    photo is as varied under the strokes as beside them, so the axis is not biased."""
    ws = w.sum()
    mx, my = (w[:, None] * x).sum(0) / ws, (w[:, None] * y).sum(0) / ws
    xc, yc = x - mx, y - my
    sxx, syy = float((w[:, None] * xc * xc).sum()), float((w[:, None] * yc * yc).sum())
    sxy = float((w[:, None] * xc * yc).sum())
    s = float(np.sign(sxy) * np.sqrt(syy / max(sxx, 1e-12)))
    return s, my - s * mx


def fit_blend(crop: np.ndarray, hole: np.ndarray, *, known: np.ndarray | None = None) -> dict:
    """The semi-transparent paint a hole's strokes are, if they are.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The image (or a crop of it) with the text still in the hole and untouched photo
        around it.
    hole : ndarray, shape (h, w), bool
        The text's pixels (a mask that hugs the strokes, grown a few px).
    known : ndarray, shape (h, w), bool, optional, keyword-only
        Untouched photo (default: outside ``hole``): only these are partners.

    Returns
    -------
    dict
        ``ok`` (bool: the blend is trusted), ``reason`` (one line), ``pairs``, and where
        fitted ``opacity`` (``a``), ``color`` (``C``, sRGB 0-1), ``slope`` (``1 - a``),
        ``offset`` (``a C``), ``painted`` (pairs the blend explains better than the photo
        beside them), ``residual`` (median, the blend's, on those), ``residual_opaque`` and
        ``residual_none`` (the alternatives' on the same pixels). JSON-serialisable.
    """
    crop = np.asarray(crop, np.float32)
    hole = np.asarray(hole, bool)
    known = ~hole if known is None else (np.asarray(known, bool) & ~hole)
    pr, pc, dist = _partners(hole, known)
    d_in = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    cy, cx = np.nonzero(hole & (dist <= PAIR_MAX_PX))
    out: dict = {"ok": False, "pairs": int(cy.size)}
    if cy.size < MIN_PAIRS:
        out["reason"] = f"{cy.size} hole pixels paired with the photo beside them (< {MIN_PAIRS})"
        return out
    if cy.size > MAX_PAIRS:
        pick = np.linspace(0, cy.size - 1, MAX_PAIRS).astype(np.intp)
        cy, cx = cy[pick], cx[pick]
    I = crop[cy, cx].astype(np.float64)
    Po = crop[pr[cy, cx], pc[cy, cx]].astype(np.float64)
    # start from the deep pixels (mostly strokes), then refit on the pixels the blend
    # explains better than the photo beside them (a mask grown round the strokes holds photo)
    use = d_in[cy, cx] >= CORE_PX
    if use.sum() < MIN_PAIRS:
        use = np.ones(cy.size, bool)
    # a robust least-squares start (it copes with the photo mixed in), then the unbiased
    # axis on the pixels the blend explains
    s, k = _irls(Po, I, use, _lsq)
    for _ in range(4):
        if not 0.05 < s < 1.0:
            break
        nxt = _painted(I, Po, s, k)
        if nxt.sum() < MIN_PAIRS:
            break
        s, k = _irls(Po, I, nxt, _rma)
        if np.array_equal(nxt, use):
            break
        use = nxt
    a = 1.0 - s
    color = k / a if abs(a) > 1e-6 else np.full(3, np.nan)
    r = np.linalg.norm(I - (s * Po + k), axis=1)[use]
    res = float(np.median(r)) if r.size else float("inf")
    res_opaque = float(np.median(np.linalg.norm(I[use] - np.median(I[use], 0), axis=1)))
    res_none = float(np.median(np.linalg.norm(I[use] - Po[use], axis=1)))
    # over every pair (no selection): the share the blend explains closely where the photo
    # beside differs clearly, a shift no chance match of the photo's own makes that often
    r_all = np.linalg.norm(I - (s * Po + k), axis=1)
    r_none = np.linalg.norm(I - Po, axis=1)
    evidence = float(np.mean((r_all < EXPLAIN) & (r_none > 3 * EXPLAIN)))
    out.update(opacity=round(a, 4), slope=round(s, 4), offset=[round(float(v), 4) for v in k],
               color=[round(float(v), 4) for v in color], painted=int(use.sum()),
               residual=round(res, 4), residual_opaque=round(res_opaque, 4),
               residual_none=round(res_none, 4), evidence=round(evidence, 4))
    if not A_MIN <= a <= A_MAX:
        out["reason"] = f"opacity {a:.2f} outside [{A_MIN:g}, {A_MAX:g}]"
    elif not np.all((color > -0.1) & (color < 1.1)):
        out["reason"] = f"paint colour {np.round(color, 2).tolist()} is not a colour"
    elif evidence < MIN_EVIDENCE:
        out["reason"] = (f"too few strokes shifted by the blend: {evidence:.3f} of the pairs "
                         f"(< {MIN_EVIDENCE:g})")
    elif res > BETTER * min(res_opaque, res_none):
        out["reason"] = (f"the blend does not explain the strokes (median residual {res:.3f}; "
                         f"opaque paint {res_opaque:.3f}, no paint {res_none:.3f})")
    else:
        out["ok"] = True
        out["reason"] = (f"semi-transparent paint, opacity {a:.2f}: the blend inverted "
                         f"(median residual {res:.3f}; opaque {res_opaque:.3f}, "
                         f"none {res_none:.3f})")
    return out


def see_through_fill(crop: np.ndarray, hole: np.ndarray, *, known: np.ndarray | None = None,
                     fit: dict | None = None, fallback=None) -> tuple[np.ndarray, dict]:
    """Take semi-transparent text off ``hole`` by inverting its blend (module docstring).

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The image (or a crop) with the text in the hole and context around it.
    hole : ndarray, shape (h, w), bool
    known : ndarray, shape (h, w), bool, optional, keyword-only
        Untouched photo (default: outside ``hole``); other pixels (another region's text,
        not filled yet) are neither partners nor context, and are filled by the fallback
        with the hole where the blend is not trusted.
    fit : dict, optional, keyword-only
        A trusted :func:`fit_blend` on this crop (default: fitted here).
    fallback : callable, optional, keyword-only
        ``fallback(crop, unknown) -> crop`` for a hole whose blend is not trusted (default:
        the frequency-selective fill); ``unknown`` is ``hole`` and every pixel not known.

    Returns
    -------
    filled : ndarray, shape (h, w, 3), float32 in [0, 1]
        ``crop`` with the hole filled; other pixels unchanged.
    fit : dict
        The fit used (``ok`` False: the fallback filled the hole).
    """
    crop = np.asarray(crop, np.float32)
    hole = np.asarray(hole, bool)
    out = crop.copy()
    if not hole.any():
        return out, {"ok": False, "reason": "empty hole", "pairs": 0}
    known = ~hole if known is None else (np.asarray(known, bool) & ~hole)
    fit = fit_blend(crop, hole, known=known) if fit is None else fit
    if not fit["ok"]:
        if fallback is None:
            from seamline.ops.inpaint.fsr import fsr_fill

            fallback = fsr_fill
        filled = fallback(crop, ~known)
        out[hole] = filled[hole]
        return out, fit
    s, k = fit["slope"], np.float32(fit["offset"])
    painted, dist = _paint_map(crop, hole, known, s, k)
    # the strokes' anti-aliased edge (EDGE_OUT_PX out of the painted pixels, EDGE_IN_PX in)
    # is partly painted: its coverage is read against the photo resolved on both sides
    out_d = cv2.distanceTransform((~painted).astype(np.uint8), cv2.DIST_L2, 3)
    in_d = cv2.distanceTransform(painted.astype(np.uint8), cv2.DIST_L2, 3)
    widest = cv2.dilate(in_d, np.ones((5, 5), np.uint8))
    edge = hole & (((~painted) & (out_d <= EDGE_OUT_PX))
                   | (painted & (in_d <= EDGE_IN_PX) & (widest > THIN_LINE_PX)))
    core = painted & ~edge
    P = _inverted(crop[core], s, k)
    ok = _a_colour(P)
    ty, tx = np.nonzero(core)
    out[ty[ok], tx[ok]] = np.clip(P[ok], 0, 1)
    # hole pixels the blend does not explain better than the photo beside them are photo
    keep = hole & ~painted & ~edge & (dist <= PAIR_MAX_PX)
    resolved = known | keep
    resolved[ty[ok], tx[ok]] = True
    wf = resolved.astype(np.float32)
    den = cv2.GaussianBlur(wf, (0, 0), EDGE_SIGMA)
    B = cv2.GaussianBlur(out * wf[..., None], (0, 0), EDGE_SIGMA) / np.maximum(den, 1e-6)[..., None]
    a = 1.0 - float(s)
    C = np.float32(k) / np.float32(a)
    ey, ex = np.nonzero(edge & (den > 0.05))
    Ie, Be = crop[ey, ex], B[ey, ex]
    v = C[None] - Be
    cov = np.clip(((Ie - Be) * v).sum(1) / np.maximum(a * (v * v).sum(1), 1e-4), 0.0, 1.0)
    ac = (a * cov)[:, None]
    Pe = (Ie - ac * C[None]) / (1.0 - ac)
    eok = _a_colour(Pe)
    out[ey[eok], ex[eok]] = np.clip(Pe[eok], 0, 1)
    rest = hole & ~keep
    rest[ty[ok], tx[ok]] = False
    rest[ey[eok], ex[eok]] = False
    resolved[ey[eok], ex[eok]] = True
    if rest.any():
        from seamline.io import as_image, to_uint16

        # per channel at 16 bits, as the telea backend does (no 8-bit quantisation)
        q = to_uint16(out)
        r8 = (rest | ~resolved).astype(np.uint8) * 255
        tel = as_image(np.stack([cv2.inpaint(np.ascontiguousarray(q[..., c]), r8, 2,
                                             cv2.INPAINT_TELEA) for c in range(3)], axis=-1))
        out[rest] = tel[rest]
    fit = dict(fit, inverted_px=int(ok.sum()), edge_px=int(eok.sum()),
               kept_px=int(keep.sum()), filled_px=int(rest.sum()))
    return out, fit
