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
   brings it closer to its partner than leaving it (or closer to the photo round it,
   ``PAINT_SET_PX``: over the cup's dark body the partner of the "S"'s top is the cup's
   bright lip, and the stroke there was kept as photo), and where the strokes continue from
   such pixels (:func:`_follow_strokes`): where the photo beside a stroke is not the photo
   under it (a bright rim beside a stroke over the spoon's dark neck) that answer says
   "photo" on stretches of the stroke, which stayed pale. The stroke is followed through
   pixels whose inversion is a colour (over a darker photo an unpainted pixel inverts below
   0), in areas no wider than a stroke (over a bright photo every pixel inverts to a colour),
   not onto a pixel beside one that inverts out of range (the anti-aliased edge: unmixed).
   Paint is the paint's colour over the photo, so inverted it is a colour of the photo round
   it: a painted pixel whose inversion is farther than ``PHOTO_TOL`` from every photo pixel
   within ``PHOTO_PX`` px (averaged over ``PHOTO_SIGMA`` px of painted pixels) is photo
   (:func:`_leaves_photo`). A bright bokeh disc in a grown hole, with the dark photo beside
   it, is closer to the white blend over that photo than to the photo, and was inverted
   into a dark disc (train case 010: a faint dark "stockphoto"); so were the spoon's
   highlights under the demo's "S" and "A", and a stroke's anti-aliased rim, which inverted
   whole comes out darker than the photo round it and is unmixed instead.
   Painted pixels are inverted,
   ``P = (I - k) / s``; unpainted ones are photo and kept; the strokes' anti-aliased edge
   (``EDGE_OUT_PX`` out of the painted pixels, ``EDGE_IN_PX`` in, except on a painted line
   no wider than ``THIN_LINE_PX``: the middle of a stroke the strokes were followed along,
   inverted whole) is unmixed with its own coverage, read against the photo resolved round
   it, or, where one unmixes to a colour of the photo round it, that coverage
   (:mod:`seamline.ops.inpaint.photo_colour`: read against a photo estimate that still held
   paint, the "S"'s top came out as pale specks over the cup). Pixels with no partner (a
   hole the fill loop grew over ``PAIR_MAX_PX`` from the untouched photo) or that invert out of range are unmixed the same way, read against the
   photo resolved round them over ``FAR_SIGMA`` px where none is nearer: their coverage
   says whether they are paint or photo, a diffusion fill there came out dark over the
   spoon's neck. What is left (out of range, nothing resolved near) is filled by Telea
   (radius 2).
4. **Paint past the mask.** Where a mask stopped a few px short of a stroke (the demo's
   "A" leg over the spoon's neck) the inversion cannot reach the paint left beside the
   hole, and no look saw it: :func:`paint_beyond` runs the paint map on rings
   ``BEYOND_PX`` px out of the hole (partners farther out, the inversion bringing a pixel
   at least ``BEYOND_GAIN`` of the paint's own shift closer), kept where they continue a
   stroke of the hole that reaches its border and are no wider than its strokes; the fill
   loop adds them (grown over their rim) to the hole before the first inversion.

Measured on the demo (coffee, a train photo): text-region PSNR of the watermark 20.08 dB
(FSR, the spoon's handle broken under "SA") -> 25.5 dB (per-pixel paint decision) -> 27.8
dB (strokes followed; the "S"'s arc over the spoon's neck 20.1 -> 24.6 dB, no longer pale at
2x) -> 28.0 dB (the followed line, often 1 px wide over the cup's dark body, inverted whole
instead of unmixed as an edge against a photo estimate the cup's bright lip brightens: the
"S"'s arc 24.6 -> 25.1 dB) -> 32.5 dB (inversions that leave the photo's colours are photo,
and the paint the mask left beside the hole is taken: the spoon box 25.9 -> 30.9 dB, the
"S"'s arc 25.1 -> 28.2 dB). Unpaired pixels of a grown hole unmixed instead of filled: the
train case 010 (a watermark over bokeh, its mask three times the drawn pixels: 4201 of its
23513 px over 14 px from the photo) 19.5 -> 35.5 dB, 3778 -> 91 px changed far from the text
(Telea had smeared the discs; before the bokeh discs were photo to the paint map, the same
unmixing left a faint dark "stockphoto"). The paint map asking the photo round a pixel and
the edge's coverage read by colour: the watermark 33.17 -> 34.9 dB, the spoon box 31.71 ->
33.6 dB, the "S"'s arc 28.25 -> 31.1 dB (its pale specks over the cup gone at 2x).

numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import channel_norm, channel_sum
from seamline.ops.inpaint.photo_colour import coverage_by_colour, photo_distance
from seamline.ops.masks import blur_over

__all__ = ["fit_blend", "paint_beyond", "see_through_fill", "BEYOND_REACH_PX"]

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
#: Hole pixels with no photo resolved within EDGE_SIGMA (a hole the loop grew far from the
#: untouched photo, a core pixel that inverts out of range) are unmixed the same way, read
#: against the photo resolved round them over this sigma (px), not filled.
FAR_SIGMA = 6.0
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
#: A painted pixel is photo where its inversion is no colour of the photo round it: farther
#: than PHOTO_TOL (largest channel difference, averaged over PHOTO_SIGMA px of painted
#: pixels) from every photo pixel within PHOTO_PX px (untouched, or a hole pixel left
#: unpainted). A bright bokeh disc in the hole with dark photo beside it is closer to the
#: white paint's blend over its partner than to the partner, but inverted it is a dark
#: disc the photo round it does not have; a stroke's inversion is the photo it crosses.
PHOTO_PX = 8
PHOTO_SIGMA = 2.0
PHOTO_TOL = 0.08
#: The paint map also asks the photo round a pixel, not only its partner: where the partner
#: is not the photo under the stroke (a stroke over the cup's dark body beside its bright
#: lip) the inversion can be farther from the partner than the pixel and still be a colour
#: of the photo within PAINT_SET_PX px (untouched pixels) while the pixel is none: such a
#: pixel is painted too (largest-channel distances, the closer of the two answers wins).
PAINT_SET_PX = 6
#: The strokes the mask left beside the hole: untouched pixels up to BEYOND_PX px out of it
#: that the paint map calls paint (partners farther out), BEYOND_ROUNDS times from the grown
#: hole, then grown BEYOND_RIM_PX px over their anti-aliased rim.
BEYOND_PX = 2.0
BEYOND_ROUNDS = 4
BEYOND_RIM_PX = 2
#: Outside the mask a pixel is paint only where inverting it brings it closer to the photo
#: beside it by this share of the shift the paint gives that photo, or more (a white
#: highlight next to a stroke inverts to white: barely closer to the dark photo beside it).
BEYOND_GAIN = 0.5
#: How far (px) out of the hole :func:`paint_beyond` may take pixels (every round's ring,
#: the rim grown over them, the partners read past the ring): the crop it needs round a hole.
BEYOND_REACH_PX = int(np.ceil(BEYOND_ROUNDS * BEYOND_PX + BEYOND_RIM_PX + RING_OUT_PX)) + 4


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
    return _a_colour(P1) & (channel_norm(P1 - Po) < channel_norm(I - Po))


def _paint_map(crop, hole, known, s, k, *, strict=False):
    """Which hole pixels the paint covers (bool), and each one's distance to its partner.

    Per pixel, how much closer to the photo beside it the inverted pixel is than the pixel
    itself; one pixel's answer is noisy where the photo changes within a few px (a spoon's
    highlights), so the answer is averaged over ``PAINT_SIGMA`` px of paired hole pixels
    (the strokes are shapes, not speckle). The strokes are followed from there
    (:func:`_follow_strokes`); painted pixels whose inversion leaves the photo's colours
    round them are photo (:func:`_leaves_photo`). ``strict``: the inversion must bring a
    pixel ``BEYOND_GAIN`` of the paint's own shift closer (outside the mask,
    :func:`paint_beyond`)."""
    pr, pc, dist = _partners(hole, known)
    paired = hole & (dist <= PAIR_MAX_PX)
    cy, cx = np.nonzero(paired)
    I, Po = crop[cy, cx], crop[pr[cy, cx], pc[cy, cx]]
    P1 = _inverted(I, s, k)
    score = np.zeros(hole.shape, np.float32)
    gain = channel_norm(I - Po) - channel_norm(P1 - Po)
    if strict:  # at least BEYOND_GAIN of the shift the paint gives the photo beside it
        shift = channel_norm(np.float32(k) - (1 - np.float32(s)) * Po)
        gain = gain - BEYOND_GAIN * shift
    if not strict:  # or closer to the photo round it (PAINT_SET_PX), the pixel being none
        vals = np.stack([I, np.where(_a_colour(P1)[:, None], P1, np.float32(np.inf))], 1)
        d = photo_distance(vals, cy, cx, crop, known, PAINT_SET_PX)
        near = np.isfinite(d[:, 0])
        gain[near] = np.maximum(gain[near], d[near, 0] - d[near, 1])
    score[cy, cx] = gain
    sm = cv2.GaussianBlur(score, (0, 0), PAINT_SIGMA)
    painted = _follow_strokes(crop, paired & (sm > 0), paired, s, k)
    return painted & ~_leaves_photo(crop, painted, known | (paired & ~painted), s, k), dist


def _leaves_photo(crop, painted, photo, s, k):
    """The ``painted`` pixels whose inversion is no colour of the ``photo`` pixels (bool,
    (h, w)) round them: per painted pixel the smallest largest-channel difference between
    its inversion and a photo pixel within ``PHOTO_PX`` px, averaged over ``PHOTO_SIGMA`` px
    of painted pixels, over ``PHOTO_TOL``. A pixel with no photo within ``PHOTO_PX`` is not
    judged."""
    if not painted.any():
        return painted
    py, px = np.nonzero(painted)
    inv = _inverted(crop[py, px], s, k)
    best = photo_distance(inv[:, None], py, px, crop, photo, PHOTO_PX)[:, 0]
    best[~np.isfinite(best)] = 0
    gap = np.zeros(painted.shape + (1,), np.float32)
    gap[py, px, 0] = best
    avg, _ = blur_over(gap, painted, PHOTO_SIGMA)
    return painted & (avg[..., 0] > PHOTO_TOL)


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
        r = channel_norm(y - (s * x + k))
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
    r = channel_norm(I - (s * Po + k))[use]
    res = float(np.median(r)) if r.size else float("inf")
    res_opaque = float(np.median(channel_norm(I[use] - np.median(I[use], 0))))
    res_none = float(np.median(channel_norm(I[use] - Po[use])))
    # over every pair (no selection): the share the blend explains closely where the photo
    # beside differs clearly, a shift no chance match of the photo's own makes that often
    r_all = channel_norm(I - (s * Po + k))
    r_none = channel_norm(I - Po)
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


def paint_beyond(crop: np.ndarray, hole: np.ndarray, *, fit: dict,
                 known: np.ndarray | None = None) -> np.ndarray:
    """Untouched pixels beside ``hole`` that are its paint: strokes the mask left (the
    demo's "A" leg over the spoon's neck, its paint past the mask's end).

    The paint map (:func:`_paint_map`, the photo test included) on a ring ``BEYOND_PX``
    px out of the hole, each ring pixel paired with the photo farther out; what it calls
    paint joins the hole and the next ring is looked at, ``BEYOND_ROUNDS`` times at most;
    what was found is grown ``BEYOND_RIM_PX`` px over its anti-aliased rim.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
    hole : ndarray, shape (h, w), bool
    fit : dict, keyword-only
        A trusted :func:`fit_blend` of the hole's strokes (``slope``, ``offset``).
    known : ndarray, shape (h, w), bool, optional, keyword-only
        Untouched photo (default: outside ``hole``); only these are taken.

    Returns
    -------
    ndarray, shape (h, w), bool
        The pixels to add to the hole (none of ``hole``, all ``known``).
    """
    crop = np.asarray(crop, np.float32)
    hole = np.asarray(hole, bool)
    known = ~hole if known is None else (np.asarray(known, bool) & ~hole)
    s, k = fit["slope"], np.float32(fit["offset"])
    more = np.zeros_like(hole)
    # a stroke the mask cut: the hole's own paint reaches its border (a mask grown round
    # the strokes keeps its paint inside: what looks like paint beside it is photo)
    inside, _ = _paint_map(crop, hole, known, s, k, strict=True)
    d_known = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, 3)
    anchor = inside & (d_known <= BEYOND_PX)
    if not anchor.any():
        return more
    # a stroke is no wider than the strokes in the hole: a piece of ring wider than that is
    # a bright photo edge along the mask (a bokeh disc's rim), not a stroke leaving it
    dt = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 5)
    ridge = inside & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8)))
    widest = 2 * THIN_RADIUS * float(np.quantile(dt[ridge], STROKE_QUANTILE)) + 2 * BEYOND_PX
    cross = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for _ in range(BEYOND_ROUNDS):
        if not anchor.any():
            break
        d = cv2.distanceTransform((~(hole | more)).astype(np.uint8), cv2.DIST_L2, 3)
        ring = known & ~more & (d <= BEYOND_PX)
        if not ring.any():
            break
        painted, _ = _paint_map(crop, ring, known & ~ring & ~more, s, k, strict=True)
        # only the paint that continues a stroke from the hole (or from the last round)
        n, lab = cv2.connectedComponents((painted | (cv2.dilate(anchor.astype(np.uint8), cross)
                                                     > 0)).astype(np.uint8), connectivity=8)
        hit = np.zeros(n, bool)
        hit[np.unique(lab[anchor])] = True
        hit[0] = False
        painted &= hit[lab]
        m, plab, st, _ = cv2.connectedComponentsWithStats(painted.astype(np.uint8),
                                                          connectivity=8)
        narrow = np.maximum(st[:, 2], st[:, 3]) <= widest
        narrow[0] = False
        painted &= narrow[plab]
        if not painted.any():
            break
        more |= painted
        anchor = painted
    if more.any():
        r = BEYOND_RIM_PX
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        more = (cv2.dilate(more.astype(np.uint8), disk) > 0) & known
    return more


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
    B, den = blur_over(out, resolved, EDGE_SIGMA)
    # pixels left with no resolved photo near: the photo resolved round them, farther out
    # (what a diffusion fill would carry in, but only as the photo under the paint)
    far = hole & ~resolved & ~edge
    near = den > 0.05
    # (not blur_over: the weight decides first whether the colours are blurred at all)
    wf = resolved.astype(np.float32)
    den_far = cv2.GaussianBlur(wf, (0, 0), FAR_SIGMA)
    lo = (edge | far) & ~near & (den_far > 0.01)
    if lo.any():
        B_far = (cv2.GaussianBlur(out * wf[..., None], (0, 0), FAR_SIGMA)
                 / np.maximum(den_far, 1e-6)[..., None])
        B[lo] = B_far[lo]
    a = 1.0 - float(s)
    C = np.float32(k) / np.float32(a)
    ey, ex = np.nonzero(((edge | far) & near) | lo)
    Ie, Be = crop[ey, ex], B[ey, ex]
    v = C[None] - Be
    cov = np.clip(channel_sum((Ie - Be) * v) / np.maximum(a * channel_sum(v * v), 1e-4), 0.0, 1.0)
    cov, by_colour = coverage_by_colour(Ie, ey, ex, out, resolved, a, C, cov)
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
        from seamline.ops.inpaint.telea_kernel import telea_inpaint

        # each channel at 16 bits, as the telea backend does (no 8-bit quantisation)
        r8 = (rest | ~resolved).astype(np.uint8) * 255
        tel = as_image(telea_inpaint(to_uint16(out), r8, 2))
        out[rest] = tel[rest]
    fit = dict(fit, inverted_px=int(ok.sum()), edge_px=int(eok.sum()),
               edge_by_colour_px=int(by_colour[eok].sum()),
               kept_px=int(keep.sum()), filled_px=int(rest.sum()))
    return out, fit
