"""Glyph-level text masks by colour matting.

:func:`glyph_mask` turns each detected polygon into a mask that hugs the glyph strokes
(fill, outline, drop shadow, semi-transparent body) instead of filling the box, so the
photo between and around the letters is left for the inpainter to use, not erased.

How the glyph mask separates text from the photo behind it, per region (all on a crop):

1. *Background under the text*: inpaint the polygon from the pixels outside every detected
   polygon (TELEA on a copy scaled so the text is ~16 px tall; the background is smooth at
   that scale). The detector's polygon already includes outlines and shadows (rapidocr
   unclips its boxes), so outside pixels are photo.
2. *Noise floor*: the same estimator predicting a band just outside the polygon from
   beyond it; the median error there is how far the photo itself strays from the estimate
   (high on fur or foliage, low on sky). Pixels closer than that to the estimate are photo.
3. *Text colours*: k-means on the clearly-different pixels inside the polygon. A cluster is
   a text colour when it is much more frequent inside the polygon than in the surrounding
   photo ("lift"); its true colour is the point all background->pixel lines meet, which
   recovers the paint colour of semi-transparent watermarks. Clusters that fail the lift
   test but wrap around accepted glyphs (outlines, shadows in a colour the photo also has)
   are accepted within a stroke's distance of them; the fill an only colour with lift encloses
   is text too (``outline.enclosed_fill``), and so is the fill a glow with lift in several
   clusters encloses when that fill was no seed (a light grey title in a black glow over a
   light photo: the holes of the glow's mask). When no colour has lift, an opaque
   light fill rimmed all round by a thin darker outline (a subtitle over a light photo) is
   tested before the semi-transparent search; its outline is then only that ring (and after
   step 6, the fill grown by the ring's width + 1 px, its outer 2 px only where they differ
   from the background estimate: ``outline.grow_over_ring``).
4. *Matting*: each pixel's alpha along the line background -> text colour (with a residual
   test); alpha > 0.65 and clearly different from the background = text.
5. *Photo structure*: per colour layer, components much thicker than the strokes (an eye, a
   helmet) and parts that touch the polygon edge and continue outside it in the same colour
   (whiskers, towers, rims) are dropped.
6. *Outlined text*: a fill colour enclosed by an outline colour counts only inside the
   outline (:mod:`seamline.ops.text.outline`): the white cup under a white, black-outlined
   title is photo. In a fill + outline line, a fill pixel nearer an edge of the fill that no
   outline (nor other dark pixel) rims than a rimmed edge is photo too: the light photo
   joined to a letter through a gap in its thin outline (``unrimmed.unrimmed_fill``).
   An outlined line's letters end at their outline: the colours step 3 took for wrapping
   the glyphs are the photo beside it (the demo title's darker wood in an "E"'s opening).

Measured on ``benchmarks/glyph_mask_eval.py`` (see its docstring for the numbers).

(This module is over 600 lines because steps 1-6 share one crop's state (background
estimate, noise floor, colour clusters, layers) in :func:`_analyse`, read in order; the
tests that need only masks and colours live in :mod:`seamline.ops.text.outline`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from seamline.errors import InputError
from seamline.io import as_image, to_uint8
from seamline.ops.inpaint.telea_kernel import telea_inpaint
from seamline.ops.polygons import line_rect as _rect
from seamline.ops.polygons import polygon_mask, stacked
from seamline.ops.text.detect import check_image
from seamline.ops.text.outline import (RING_CONTRAST, drop_unenclosed_fill, enclosed_fill,
                                       grow_over_ring, rimmed_fill, ring_outline)
from seamline.ops.text.unrimmed import unrimmed_fill

__all__ = ["GlyphMask", "glyph_mask"]


# ----------------------------------------------------------------------------- glyph mask
@dataclass
class GlyphMask:
    """Result of :func:`glyph_mask`.

    Attributes
    ----------
    mask : ndarray, shape (H, W), float32 in {0, 1}
        1 on pixels that belong to text (glyph body, outline, shadow, semi-transparent body).
    stroke_width_px : list of float
        Per region (same order as the input), the median glyph stroke width (> 0; an
        estimate from the box height when no glyph pixels were found).
    text_height_px : list of float
        Per region, the extent of the glyph pixels across the text line (> 0; likewise).
    per_region : list of dict
        Per region, JSON-serialisable numbers explaining the decision: ``noise_floor``,
        ``threshold``, ``colors`` (text colours found, RGB in [0, 1]), ``lifts``,
        ``structure_px_dropped``, ``coverage_of_polygon`` (mask area / polygon area), ``path``
        (lift | fill+outline | watermark | top), ``ring_px``, ``ring_grown_px``,
        ``enclosed_fill_px`` (the fill an outline or glow with lift encloses), ``refit`` (an
        outline colour re-estimated at full size, :func:`_refit_blends`, kept where it rings
        another text colour: ``refit_rings``, :func:`_only_rings`), ``wrap_dropped_px``
        (an outlined line: the pixels of colours taken for wrapping its letters given back
        to the photo), ...
    fill_outline : ndarray, shape (H, W), bool, or None
        The mask of the fill + outline lines (a combining step keeps it whole); None if none.
    edge : ndarray, shape (H, W), int32
        The glyphs' anti-aliased edge just outside ``mask`` (blends of the photo and a text
        colour under the matte's cut, :func:`_blended_edge`), labelled with its region's
        index + 1 (0: none); not in ``mask`` (a moved shadow fitted to the glyphs stays the
        glyphs' core moved). A fill + outline line has none (its outline is grown already).
    """

    mask: np.ndarray
    stroke_width_px: list = field(default_factory=list)
    text_height_px: list = field(default_factory=list)
    per_region: list = field(default_factory=list)
    fill_outline: np.ndarray | None = None
    edge: np.ndarray | None = None


# Decision constants (tuned on benchmarks/glyph_mask_eval.py, seed 0; checked on seed 1).
_WORK_HEIGHT = 16.0  # text height (px) at which the background is estimated
_TAU_MIN = 0.04  # noise floor never below this RGB distance (~10/255)
_K = 4  # colour clusters among the clearly-different pixels
_LIFT_MIN = 3.0  # text colour: >= 3x more frequent inside the polygon than around it
_LIFT_TOP = 1.5  # ... or, when no colour passes, the most over-represented one above this
_WRAP_FRAC = 0.8  # a low-lift colour wrapping the glyphs (outline/shadow): share near them
_WRAP_DIST = 0.06  # ... "near" = within this fraction of the box height
_ALPHA_CORE = 0.65  # matte alpha above which a pixel is text
_ALPHA_EDGE = 0.1  # ... and, next to text, above which a pixel is its anti-aliased edge
_EDGE_SEEN = 0.1  # ... changing the photo by this much (RGB, ~25/255)
_RES_K = 0.25  # tolerated off-line residual, fraction of |text colour - background|
_BLOB_K = 1.8  # a component thicker than this many stroke widths is photo
_CONT_K = 0.25  # photo structure crossing the edge: dropped within this x box height
_END_PX = 3.0  # ... but not where it crosses the line's ends (the box cut the last letter)
_MAX_WORK_HEIGHT = 40.0  # larger text is analysed at a scale where its box is this tall
_MAX_SAMPLES = 3000  # pixels sampled for clustering and colour statistics
_REFIT_PAST = 1.2  # full-size pixels past this alpha (the matte's clip) on a colour's line
_REFIT_SHARE = 1.5  # ... outnumbering this x those at or under it: the colour is a blend
_REFIT_MIN_PX = 30  # ... and at least this many of them
_RING_PX = 5.0  # ... kept only where its pixels ring another text colour's: within this (px)
_RING_HUG = 0.8  # ... of it, this share of them
_RING_COVER = 0.8  # ... covering this share of that colour's outer boundary
_RING_SEEN = 0.15  # ... both colours this far (RGB) from the photo behind them
_REFIT_GAIN = 0.03  # ... and only where it adds this share to the line's full-size mask


def _otsu(values: np.ndarray, bins: int = 128) -> float:
    """Otsu threshold of a 1-D sample."""
    v = values.ravel()
    if v.size < 2:
        return float(v.max()) if v.size else 0.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-6:
        return hi
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    hist = hist.astype(np.float64)
    mids = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * mids)
    between = w0 * w1 * (m0 / np.maximum(w0, 1) - (m0[-1] - m0) / np.maximum(w1, 1)) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def _disk(r) -> np.ndarray:
    r = max(0, int(round(r)))
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return ((x * x + y * y) <= r * r + 0.5).astype(np.uint8)


def _norm(a: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (faster than np.linalg.norm for HxWx3)."""
    return np.sqrt(np.einsum("...k,...k->...", a, a))


def _dist_outside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) of every pixel to the nearest True pixel of ``mask`` (0 on it)."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)


def _background(crop: np.ndarray, known: np.ndarray, hb: float) -> np.ndarray:
    """Smooth estimate of the photo under the unknown pixels, from the known ones.

    TELEA inpainting on a copy scaled so the text is ~16 px tall: the background under text
    is only needed at low frequency, and the cost then no longer grows with the text size.
    """
    h, w = known.shape
    s = min(1.0, _WORK_HEIGHT / max(hb, 1.0))
    sw_, sh_ = max(4, int(round(w * s))), max(4, int(round(h * s)))
    small = cv2.resize(crop, (sw_, sh_), interpolation=cv2.INTER_AREA)
    unk = cv2.resize((~known).astype(np.uint8), (sw_, sh_), interpolation=cv2.INTER_NEAREST)
    unk = cv2.dilate(unk, np.ones((3, 3), np.uint8))  # area-averaged pixels next to text are mixed
    filled = as_image(telea_inpaint(to_uint8(small), unk))
    filled = np.where(unk[..., None] > 0, filled, small)
    B = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(known[..., None], crop, B)


def _kmeans(x: np.ndarray, k: int):
    k = max(1, min(k, len(x)))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1e-3)
    cv2.setRNGSeed(0)  # deterministic masks
    _, labels, centers = cv2.kmeans(np.ascontiguousarray(x, np.float32), k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
    return labels.ravel(), centers


def _lift(mu: np.ndarray, eps: float, inside: np.ndarray, around: np.ndarray) -> float:
    """How much more frequent colour ``mu`` (within ``eps``, RGB) is among the polygon's
    pixels ``inside`` (N, 3) than among the photo's ``around`` it (M, 3)."""
    f_in = float((_norm(inside - mu) < eps).mean())
    f_out = float((_norm(around - mu) < eps).mean()) if len(around) else 0.0
    return f_in / (f_out + 1e-3)


def _paint_colour(c: np.ndarray, b: np.ndarray, reg: float = 0.05) -> np.ndarray:
    """The colour T that pixels ``c`` are blends of, over backgrounds ``b``: c = b + a (T - b).

    T is the point closest to all lines ``b_i + t (c_i - b_i)``; with a varying background
    the lines meet at the paint colour even for a semi-transparent watermark. Regularised
    toward the mean colour (opaque text: the lines all pass through it anyway).
    """
    d = c - b
    u = d / np.maximum(_norm(d)[:, None], 1e-6)
    proj = np.eye(3)[None] - u[:, :, None] * u[:, None, :]
    lam = reg * len(c)
    A = proj.sum(0) + lam * np.eye(3)
    rhs = np.einsum("nij,nj->i", proj, c) + lam * c.mean(0)
    return np.clip(np.linalg.solve(A, rhs), 0, 1).astype(np.float32)


def _matte(diff: np.ndarray, B: np.ndarray, T: np.ndarray, tau: float):
    """Alpha of paint colour T over background B explaining ``diff = pixel - B``; -1 where not.

    ``diff`` and ``B`` are (..., 3) arrays (an image crop or a list of pixels).
    """
    v = T - B
    vv = np.maximum(np.einsum("...k,...k->...", v, v), 1e-4)
    a = np.clip(np.einsum("...k,...k->...", diff, v) / vv, 0, 1.2)
    res = _norm(diff - a[..., None] * v)
    vn = np.sqrt(vv)
    ok = (res < tau + _RES_K * vn * np.minimum(a, 1)) & (vn > tau)
    return np.where(ok, a, -1.0).astype(np.float32)


def _watermark(crop, B, seeds, sy, sx, sc, sb, P, band, Bc_band, tau):
    """Paint colour of a semi-transparent layer: (T, lift, rows, cols, opacity) or None.

    Every pixel of a layer painted with colour T at opacity o over background b is
    ``b + o (T - b)``, so T lies on the ray from b through the pixel, at 1/o of the way.
    Votes along all rays (opacity 0.25-1) peak at T. Its lift compares how many polygon
    pixels it explains with how many pixels of the band outside the polygon it explains
    there (against that band's own background estimate): photo highlights are explained in
    both, a watermark only inside.
    """
    d = sc - sb
    inv = np.linspace(1.15, 4.0, 12, dtype=np.float32)  # 1/o for o = 0.87 .. 0.25
    pts = sb[:, None, :] + d[:, None, :] * inv[None, :, None]
    inside = np.all((pts > -0.03) & (pts < 1.03), axis=2)
    if inside.sum() < 20:
        return None
    nb = 10
    q = np.clip((pts[inside] * nb).astype(np.int32), 0, nb - 1)
    # one vote per pixel per bin
    who = np.broadcast_to(np.arange(len(sc))[:, None], inside.shape)[inside]
    key = np.unique((q[:, 0] * nb + q[:, 1]) * nb + q[:, 2] + who.astype(np.int64) * nb ** 3)
    votes = np.bincount(key % nb ** 3, minlength=nb ** 3)
    peak = int(np.argmax(votes))
    T0 = (np.array([peak // (nb * nb), (peak // nb) % nb, peak % nb], np.float32) + 0.5) / nb
    # pixels whose ray passes close to T0; refine T on them
    u = d / np.maximum(_norm(d)[:, None], 1e-6)
    w = T0 - sb
    t = np.einsum("ij,ij->i", w, u)
    close = (t > 0) & (_norm(w - t[:, None] * u) < 0.08)
    if close.sum() < max(8, 0.2 * len(sc)):
        return None
    T = _paint_colour(sc[close], sb[close], reg=0.005)
    a = _matte(d[close], sb[close], T, tau)
    a = a[a > 0]
    if a.size < 8:
        return None
    a_ref = float(np.clip(np.median(a), 0.2, 1.0))
    # lift: share of the polygon explained vs share of the outside band explained
    py, px = np.nonzero(P)
    step = max(1, py.size // 6000 + 1)
    py, px = py[::step], px[::step]
    dp = crop[py, px] - B[py, px]
    a_in = _matte(dp, B[py, px], T, tau) / a_ref
    f_in = float(((a_in > _ALPHA_CORE) & (_norm(dp) > tau)).mean())
    cb = crop[band]
    step = max(1, len(cb) // 6000 + 1)
    db = cb[::step] - Bc_band[::step]
    a_out = _matte(db, Bc_band[::step], T, tau) / a_ref
    f_out = float(((a_out > _ALPHA_CORE) & (_norm(db) > tau)).mean()) if len(db) else 0.0
    return T, f_in / (f_out + 1e-3), sy[close], sx[close], a_ref


def _fill_outline(crop, B, cand, seeds, G, clusters, tau, hb):
    """Opaque light fill + thin dark outline (:func:`~seamline.ops.text.outline.rimmed_fill`)
    with the lightest cluster as the fill: (fill cluster, ring, hug) or None."""
    fill = clusters[int(np.argmax([float(np.mean(c[0])) for c in clusters]))]
    iy, ix = np.nonzero(cand)
    fc = np.zeros(cand.shape, np.uint8)
    fc[iy, ix] = _matte(crop[iy, ix] - B[iy, ix], B[iy, ix], fill[0], tau) > _ALPHA_CORE
    n, cc = cv2.connectedComponents(fc, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(cc[seeds & (fc > 0)])] = True  # connected to a clearly-different pixel
    keep[0] = False
    res = rimmed_fill(crop, B, keep[cc], cand & (G > 0), fill[0], tau, max(2.0, _WRAP_DIST * hb))
    return None if res is None else (fill, *res)


def glyph_mask(image, regions, *, margin=0.3) -> GlyphMask:
    """Mask of the text pixels (not the boxes) inside detected text regions.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The image the regions were detected on.
    regions : sequence of TextRegion
        Usually from :func:`detect_text`.
    margin : float, keyword-only
        Outlines and shadows attached to the glyphs may extend this fraction of the text
        height beyond the polygon (>= 0). Nothing outside the grown polygon is masked.

    Returns
    -------
    GlyphMask
        ``mask`` HxW float32 in {0, 1}; per-region ``stroke_width_px``, ``text_height_px``
        (both > 0, for the mask normaliser's dilation) and ``per_region`` explanations.

    Notes
    -----
    Works on a crop around each region; ~10 regions on a 1024x768 photo take tens of ms.
    Pixels whose colour cannot be told from the photo behind them (black outline on black)
    are left out: they are invisible, and inpainting them would only erase photo.
    """
    check_image(image)
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        raise InputError(f"margin must be a finite number >= 0, got {margin!r}") from None
    if not (margin >= 0 and np.isfinite(margin)):  # inf overflowed the region's disk
        raise InputError(f"margin must be a finite number >= 0, got {margin!r}")
    H, W = image.shape[:2]
    out = GlyphMask(np.zeros((H, W), np.float32), edge=np.zeros((H, W), np.int32))
    polys = []
    for i, r in enumerate(regions):
        poly = np.asarray(getattr(r, "polygon", None), np.float32)
        if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3 or not np.isfinite(poly).all():
            raise InputError(f"regions[{i}] must be a TextRegion with an (N>=3, 2) polygon, got {r!r}")
        polys.append(poly)
    if not polys:
        return out
    # Every polygon is "not background" for every region (neighbouring lines).
    all_polys = _union(polys, (H, W))
    for i, poly in enumerate(polys):
        sub, info = _region_mask(image, all_polys, poly, margin)
        info = {"index": i, **info}
        if sub is not None:
            y0, x0, mk, edge = sub
            sl = (slice(y0, y0 + mk.shape[0]), slice(x0, x0 + mk.shape[1]))
            out.mask[sl] = np.maximum(out.mask[sl], mk.astype(np.float32))
            out.edge[sl][edge & (out.edge[sl] == 0)] = i + 1
            if info.get("path") == "fill+outline":
                out.fill_outline = np.zeros((H, W), bool) if out.fill_outline is None else out.fill_outline
                out.fill_outline[sl] |= mk
        out.stroke_width_px.append(float(info["stroke_width_px"]))
        out.text_height_px.append(float(info["text_height_px"]))
        out.per_region.append(info)
    return out


def _union(polys, shape) -> np.ndarray:
    """uint8 (H, W) mask, 1 inside any of ``polys`` except where two stacked lines' boxes
    overlap. A line the detector split in two boxes side by side holds letters where they
    overlap (train glow7: the "W" of "Shipping When" under both boxes was taken as background
    when one ``cv2.fillPoly`` call filled them even-odd); two lines one above the other
    overlap in their padding, the photo between them, which stays background for their
    matting (train subtitle3, two lines over a saucer: without it the saucer's light rim
    outside was the only background and was matted as the white fill, 26.20 -> 22.38 dB)."""
    out = np.zeros(shape, np.uint8)
    pts = [np.round(p).astype(np.int32) for p in polys]
    for p in pts:
        cv2.fillPoly(out, [p], 1)
    lo = [p.min(axis=0) for p in pts]
    hi = [p.max(axis=0) for p in pts]
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            # (the overlap clipped to the frame: boxes may reach past it)
            x0, y0 = np.maximum(np.maximum(lo[i], lo[j]), 0)
            x1, y1 = np.minimum(np.minimum(hi[i], hi[j]), (shape[1] - 1, shape[0] - 1))
            if x0 > x1 or y0 > y1 or not stacked(polys[i], polys[j]):
                continue
            a = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
            b = a.copy()
            cv2.fillPoly(a, [pts[i] - [x0, y0]], 1)
            cv2.fillPoly(b, [pts[j] - [x0, y0]], 1)
            out[y0:y1 + 1, x0:x1 + 1][(a & b) > 0] = 0
    return out


def _region_mask(image, all_polys, poly, margin, debug=None):
    """Glyph pixels of one region: ((y0, x0, bool mask of the crop) or None, info dict)."""
    H, W = image.shape[:2]
    (cx, cy), (w, h), ang = _rect(poly)
    hb = max(2.0, h)  # box height: the detector's box is ~1.3-1.6x the text height
    # a margin this wide already grows the box over the whole frame (crop and G alike): a
    # larger one (``mask.margin=1e30``) is the same mask, not coordinates past int32
    m = min(margin * hb, 2.0 * (H + W + float(np.abs(poly).max())))
    rw = max(3.0, 0.3 * hb)  # width of the calibration band around the polygon
    info = {
        "box_height_px": round(hb, 2),
        "stroke_width_px": max(1.0, 0.1 * hb),  # fallbacks when no glyph is found
        "text_height_px": max(1.0, hb / 1.5),
    }
    pad = max(m, 2 * rw) + 2
    x0 = max(int(np.floor(poly[:, 0].min() - pad)), 0)
    y0 = max(int(np.floor(poly[:, 1].min() - pad)), 0)
    x1 = min(int(np.ceil(poly[:, 0].max() + pad)) + 1, W)
    y1 = min(int(np.ceil(poly[:, 1].max() + pad)) + 1, H)
    if x1 - x0 < 3 or y1 - y0 < 3:
        info["skipped"] = "outside the image"
        return None, info
    crop = image[y0:y1, x0:x1]
    off = np.float32([x0, y0])
    P = polygon_mask(poly, crop.shape[:2], off)
    G = polygon_mask(cv2.boxPoints(((cx, cy), (w + 2 * m, h + 2 * m), ang)), crop.shape[:2], off)
    G |= P
    known = (all_polys[y0:y1, x0:x1] == 0).astype(np.uint8)
    if P.sum() < 4:
        info["skipped"] = "polygon too small"
        return None, info

    # Large text is analysed at a reduced scale (cost grows with area, the decisions do not
    # need the detail), then the mask edge is re-decided at full resolution.
    s = min(1.0, _MAX_WORK_HEIGHT / hb)
    if s < 1.0:
        size = (max(3, int(round(crop.shape[1] * s))), max(3, int(round(crop.shape[0] * s))))
        crop_a = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        P_a, G_a = (cv2.resize(x, size, interpolation=cv2.INTER_NEAREST) > 0 for x in (P, G))
        # known only where every source pixel was known
        known_a = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.999
    else:
        crop_a, P_a, G_a, known_a = crop, P > 0, G > 0, known > 0
    if P_a.sum() < 4:
        info["skipped"] = "polygon too small"
        return None, info
    res = _analyse(crop_a, P_a, G_a, known_a, hb * s, ang, info, debug)
    if res is None:
        return None, info
    core, colours, tau, B, fill = res
    if s < 1.0:
        # Full-resolution edge: inside the reduced-scale mask keep every pixel that differs
        # from the background; around its edge re-decide each pixel with the matte.
        fs = (crop.shape[1], crop.shape[0])
        up = cv2.resize(core.astype(np.float32), fs, interpolation=cv2.INTER_LINEAR)
        near = cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8))
        near = (cv2.resize(near, fs, interpolation=cv2.INTER_NEAREST) > 0) & (G > 0)
        iy, ix = np.nonzero(near)
        B_full = cv2.resize(B, fs, interpolation=cv2.INTER_LINEAR)
        Bf = B_full[iy, ix]
        diff = crop[iy, ix] - Bf
        differs = _norm(diff) > tau

        def decide(colours):
            best = np.full(iy.shape, -1.0, np.float32)
            for _, T, a_ref in colours:
                best = np.maximum(best, _matte(diff, Bf, T, tau) / a_ref)
            return differs & ((best > _ALPHA_CORE) | (up[iy, ix] > 0.99))

        keep = decide(colours)
        refit = _refit_blends(diff, Bf, colours, tau, info)
        if any(c[1] is not o[1] for c, o in zip(refit, colours)):
            refit = _only_rings(refit, colours, near, diff, Bf, tau, info)
        moved = [c for c, o in zip(refit, colours) if c[1] is not o[1]]
        if moved:
            # an outline the reduced-scale colour left pixels of: with its refitted colour
            # (a mask complete already only gains the refit's edge and 1 px cap, which lost
            # 0.2-1.0 dB on train outline5 and cases 014/016, none of their pixels added)
            with_refit = decide(refit)
            added = int((with_refit & ~keep).sum())
            info["refit_added_px"] = added
            if added >= _REFIT_GAIN * keep.sum():
                colours, keep = refit, with_refit
            else:
                info["refit_adds_little"] = info.pop("refit")
                moved = []
        core = np.zeros(crop.shape[:2], bool)
        core[iy, ix] = keep
        if moved:  # a thin layer's anti-aliased edge, seen at full size only: with it
            edge = _blended_edge(core, crop, B_full, moved, tau, G > 0)
            info["refit_edge_px"] = int(edge.sum())
            core |= edge
        info["stroke_width_px"] = round(info["stroke_width_px"] / s, 3)
        info["work_scale"] = round(s, 3)
        if not core.any():
            info["coverage_of_polygon"] = 0.0
            return None, info
    Bf = B if s >= 1.0 else cv2.resize(B, (crop.shape[1], crop.shape[0]),
                                       interpolation=cv2.INTER_LINEAR)
    if fill is not None and fill.any():  # a fill + outline line: the whole outline
        info["ring_grown_px"] = grow_over_ring(core, fill, G > 0, info["ring_px"] / s,
                                               differs=_norm(crop - Bf) > tau)
    ys, xs = np.nonzero(core)
    t = np.deg2rad(ang)
    across = (xs + x0 - cx) * -np.sin(t) + (ys + y0 - cy) * np.cos(t)
    info["text_height_px"] = round(max(1.0, float(np.quantile(across, 0.995) - np.quantile(across, 0.005)) + 1), 3)
    info["coverage_of_polygon"] = round(float(core.sum() / max(P.sum(), 1)), 4)
    if fill is None:  # (a fill + outline line holds its outline's edge already)
        edge = _blended_edge(core, crop, Bf, colours, tau, G > 0)
        info["edge_px"] = int(edge.sum())
    else:
        edge = np.zeros_like(core)
    if debug is not None:
        debug.update(x0=x0, y0=y0, mask=core, full_P=P > 0)
    return (y0, x0, core, edge), info


def _refit_blends(diff, B, colours, tau, info):
    """The text colours re-estimated from full-resolution pixels where the reduced-scale
    estimate is a blend: ``colours`` with such a colour replaced.

    At the reduced analysis scale a thin outline (2 px at full size) is only blended pixels,
    so its colour comes out between the photo and the outline's true colour, and the
    outline's own pixels at full size lie past it on the line background -> colour (alpha
    ~1.6, past the matte's 1.2 clip: left out). A colour is a blend when, of the full-size
    pixels ``diff = pixel - B`` on its line beyond ``_ALPHA_CORE``, those past 1.2 that no
    other text colour explains outnumber those at or under it 1.5 to 1 (opaque text measured
    at the right colour has most near 1); it is then replaced by the mean colour of the
    line's farthest pixels (alpha at or above the 80th percentile of those past 1.2), so the
    colour itself is right and the matte's clip stays (train outline7: a teal outline
    estimated (0.20, 0.40, 0.40), drawn (0.12, 0.61, 0.60), refitted (0.13, 0.61, 0.60)).
    """
    mattes = [_matte(diff, B, T, tau) / a_ref for _, T, a_ref in colours]
    out = []
    for i, (k, T, a_ref) in enumerate(colours):
        v = T - B
        vv = np.maximum(np.einsum("...k,...k->...", v, v), 1e-4)
        a = np.einsum("...k,...k->...", diff, v) / vv
        vn = np.sqrt(vv)
        res = _norm(diff - a[..., None] * v)
        a_r = a / a_ref
        on = (a_r > _ALPHA_CORE) & (res < tau + _RES_K * vn * np.minimum(a, 1)) & (vn > tau)
        # past the colour and explained by no other text colour (a fill's line towards a
        # darker photo may end at the outline's colour: that one explains them already)
        other = np.zeros(a.shape, bool)
        for j, m in enumerate(mattes):
            if j != i:
                other |= m > _ALPHA_CORE
        past = on & (a_r > _REFIT_PAST) & ~other
        near1 = on & (a_r <= _REFIT_PAST)
        if past.sum() < _REFIT_MIN_PX or past.sum() <= _REFIT_SHARE * near1.sum():
            out.append((k, T, a_ref))
            continue
        far = past & (a_r >= np.quantile(a_r[past], 0.8))
        T2 = np.clip((B[far] + diff[far]).mean(0), 0, 1).astype(np.float32)
        info.setdefault("refit", []).append(
            {"from": [round(float(x), 3) for x in T], "to": [round(float(x), 3) for x in T2],
             "past_px": int(past.sum()), "near_px": int(near1.sum())})
        out.append((k, T2, 1.0))
    return out


def _only_rings(refit, colours, near, diff, B, tau, info):
    """``refit`` (from :func:`_refit_blends`) with a re-estimated colour kept only where it is
    an outline: its full-size pixels ring another text colour's. Other colours go back to
    their ``colours`` estimate.

    Colour i rings colour j when, with every pixel of ``near`` (its ``diff = pixel - B``)
    given to the text colour that explains it best (alpha over ``_ALPHA_CORE``), a share
    ``_RING_HUG`` of i's pixels lie within ``_RING_PX`` of j's, i's pixels grown 2 px cover
    ``_RING_COVER`` of j's outer boundary, and both colours lie ``_RING_SEEN`` or more from
    the photo behind them (median). A semi-transparent watermark or a line of one colour has
    no such pair (train case 010: a one-colour watermark refitted and given an edge,
    36.31 -> 29.74 dB); nor has a fill re-estimated inside its outline (the outline rings it,
    not the reverse) or a glow's dark fill (train case 008). Explained in
    ``info["refit_rings"]``; a colour put back is listed in ``info["refit_not_ring"]``.
    """
    iy, ix = np.nonzero(near)
    differs = _norm(diff) > tau
    best = np.full(iy.shape, _ALPHA_CORE, np.float32)
    lab = np.full(iy.shape, -1, np.int32)
    for n, (_, T, a_ref) in enumerate(refit):
        a = _matte(diff, B, T, tau) / a_ref
        better = differs & (a > best)
        best = np.where(better, a, best)
        lab[better] = n
    layers, seen = [], []
    for n, (_, T, _) in enumerate(refit):
        L = np.zeros(near.shape, bool)
        L[iy[lab == n], ix[lab == n]] = True
        layers.append(L)
        seen.append(float(np.median(_norm(T - B[lab == n]))) if (lab == n).any() else 0.0)
    moved = [i for i, (c, o) in enumerate(zip(refit, colours)) if c[1] is not o[1]]
    k3, k5 = np.ones((3, 3), np.uint8), np.ones((5, 5), np.uint8)
    pairs = []
    for i in moved:
        Li = layers[i]
        if Li.sum() < _REFIT_MIN_PX:
            continue
        grown_i = cv2.dilate(Li.astype(np.uint8), k5) > 0
        for j, Lj in enumerate(layers):
            if j == i or Lj.sum() < _REFIT_MIN_PX:
                continue
            rim = (cv2.dilate(Lj.astype(np.uint8), k3) > 0) & ~Lj
            cover = float((rim & grown_i).sum() / max(rim.sum(), 1))
            hug = float((Li & (_dist_outside(Lj) <= _RING_PX)).sum() / Li.sum())
            ok = (cover >= _RING_COVER and hug >= _RING_HUG
                  and min(seen[i], seen[j]) >= _RING_SEEN)
            pairs.append({"ring": i, "round": j, "cover": round(cover, 3), "hug": round(hug, 3),
                          "seen": [round(seen[i], 3), round(seen[j], 3)], "ok": bool(ok)})
    info["refit_rings"] = pairs
    rings = {p["ring"] for p in pairs if p["ok"]}
    notes = dict(zip(moved, info.pop("refit")))
    if rings:
        info["refit"] = [notes[i] for i in moved if i in rings]
    if len(rings) < len(moved):
        info["refit_not_ring"] = [notes[i] for i in moved if i not in rings]
    return [c if i in rings else o for i, (c, o) in enumerate(zip(refit, colours))]


def _blended_edge(core, crop, B, colours, tau, G):
    """The glyphs' anti-aliased edge: pixels 8-adjacent to ``core`` (inside ``G``) that the
    matte explains as a blend of the background ``B`` and a text colour with alpha above
    ``_ALPHA_EDGE`` that changes ``B`` by at least ``_EDGE_SEEN`` (alpha x |colour - B|), and
    that differ from ``B`` by more than the noise floor ``tau``.

    Their alpha is under ``_ALPHA_CORE``, yet a green letter's 15 % edge over dark coffee is
    a visible green speck once the letters are filled; the normaliser's 1 px growth of a
    hard-edged line reaches only the 4 straight neighbours, so a corner's diagonal edge
    pixel and an edge 2 px wide were left. The text-mask stage adds them to such lines only
    (train shadow_hard2/6, where main's wider moved shape had covered them); other lines are
    left as they were (a capped glyphs-only line may miss such pixels too: not measured).
    """
    ring = (cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~core & G
    iy, ix = np.nonzero(ring)
    diff, bg = crop[iy, ix] - B[iy, ix], B[iy, ix]
    blend = np.zeros(iy.shape, bool)
    for _, T, a_ref in colours:
        a = _matte(diff, bg, T, tau)
        blend |= (a / a_ref > _ALPHA_EDGE) & (np.minimum(a, 1) * _norm(T - bg) > _EDGE_SEEN)
    edge = np.zeros(core.shape, bool)
    edge[iy, ix] = blend & (_norm(diff) > tau)
    return edge


def _line_ends(P: np.ndarray) -> np.ndarray:
    """The polygon's pixels within ``_END_PX`` of its two ends along the line (bool): where
    the detector's box often cuts through the last letter (a date stamp's final "1"), so
    text colour continuing past the edge there is the letter, not photo structure."""
    ys, xs = np.nonzero(P)
    if xs.size < 3:
        return np.zeros(P.shape, bool)
    (cx, cy), (w, h), ang = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
    if w < h:
        w, h, ang = h, w, ang + 90.0
    t = np.deg2rad(ang)
    along = (xs - cx) * np.cos(t) + (ys - cy) * np.sin(t)
    out = np.zeros(P.shape, bool)
    out[ys, xs] = np.abs(along) >= w / 2 - _END_PX
    return out


def _analyse(crop, P, G, known, hb, ang, info, debug):
    """Steps 1-6 on one crop (any scale): (core, colours, tau, background, fill) or None."""
    rw = max(3.0, 0.3 * hb)
    d_out = _dist_outside(P)

    # 1-2. background estimate and its error scale on a band just outside the polygon
    B = _background(crop, known, hb)
    band = (d_out > 0) & (d_out <= rw) & known
    Bc_band = _background(crop, known & ~band, hb)[band]
    err = _norm(crop[band] - Bc_band)
    tau = max(float(np.median(err)) if err.size > 20 else 0.05, _TAU_MIN)
    diff = crop - B
    D = _norm(diff)
    cand = P & (D > tau)
    thr = max(tau, 0.5 * _otsu(D[cand])) if cand.sum() > 10 else tau
    seeds = cand & (D > thr)
    info.update(noise_floor=round(tau, 4), threshold=round(thr, 4), seeds=int(seeds.sum()))
    if seeds.sum() < 8:
        info.update(coverage_of_polygon=0.0, colors=[])
        return None

    # 3. text colours: clusters of clearly-different pixels, frequent inside, rare outside
    sy, sx = np.nonzero(seeds)
    if sy.size > _MAX_SAMPLES:
        pick = np.random.default_rng(0).choice(sy.size, _MAX_SAMPLES, replace=False)
        sy, sx = sy[pick], sx[pick]
    sc, sb = crop[sy, sx], B[sy, sx]
    labels, _ = _kmeans(sc, _K)
    inside = crop[P]
    inside = inside[:: max(1, len(inside) // _MAX_SAMPLES + 1)]
    around = crop[(d_out > 0) & (d_out <= 2 * rw) & known]
    around = around[:: max(1, len(around) // _MAX_SAMPLES + 1)]
    clusters = []  # (paint colour, lift, member rows, member cols, typical alpha)
    for k in range(int(labels.max()) + 1):
        sel = labels == k
        if sel.sum() < max(4, 0.03 * len(sc)):
            continue
        ci = sc[sel]
        mu = ci.mean(0)
        eps = float(np.clip(1.5 * np.sqrt(((ci - mu) ** 2).sum(1).mean()), 0.05, 0.2))
        clusters.append((_paint_colour(ci, sb[sel]), _lift(mu, eps, inside, around),
                         sy[sel], sx[sel], 1.0))
    info["lifts"] = [round(c[1], 2) for c in clusters]
    primary = [c for c in clusters if c[1] >= _LIFT_MIN]
    info["path"] = "lift"  # which test chose the text colours: lift, fill+outline, watermark, top
    ring = None
    if not primary and clusters:
        # An opaque light fill with a thin dark outline (a subtitle) over a photo that has the
        # fill's colour too: no colour has lift, and the semi-transparent search below would
        # take the anti-aliased outline for grey paint and the photo beside it for outline.
        # Tested first: the outline then counts only as a dark ring hugging the fill.
        ring = _fill_outline(crop, B, cand, seeds, G, clusters, tau, hb)
        if ring is not None:
            primary = [ring[0]]
            info["path"] = "fill+outline"
            info["outline_hug"] = round(ring[2], 3)
    if not primary:
        # A semi-transparent watermark over a varied photo has no colour of its own: look
        # for the paint colour its pixels are blends towards instead.
        wm = _watermark(crop, B, seeds, sy, sx, sc, sb, P, band, Bc_band, tau)
        if wm is not None:
            info["watermark"] = {"color": [round(float(v), 3) for v in wm[0]], "opacity": round(wm[4], 3),
                                 "lift": round(wm[1], 2)}
            if wm[1] >= _LIFT_MIN:
                primary = [wm]
                info["path"] = "watermark"
    if not primary and clusters:
        # The detector says there is text: the colour most over-represented inside the
        # polygon is text if it is over-represented at all.
        top = max(clusters, key=lambda c: c[1])
        if top[1] >= _LIFT_TOP:
            primary = [top]
            info["path"] = "top"
    if not primary:
        info.update(coverage_of_polygon=0.0, colors=[])
        return None

    # 4. matte against the text colours (only where the pixel differs from the background)
    def explain(colours, where):
        iy, ix = np.nonzero(where)
        dif, bg = diff[iy, ix], B[iy, ix]
        best = np.full(iy.shape, -1.0, np.float32)
        lay = np.full(iy.shape, -1, np.int32)
        for k, T, a_ref in colours:
            a = _matte(dif, bg, T, tau) / a_ref
            better = a > best
            best = np.where(better, a, best)
            lay[better] = k
        hit = np.zeros(D.shape, bool)
        hit[iy, ix] = best > _ALPHA_CORE
        layer_map = np.full(D.shape, -1, np.int32)
        layer_map[iy, ix] = lay
        return hit, layer_map

    colours = [(k, c[0], c[4]) for k, c in enumerate(primary)]
    core, layer = explain(colours, cand)
    # mixtures of two text colours (fill/outline edge) enclosed by text
    closed = cv2.morphologyEx(core.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
    core |= closed & cand
    n, cc = cv2.connectedComponents(core.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(cc[seeds & core])] = True
    keep[0] = False
    core = keep[cc]
    # Low-lift colours hugging the glyphs: an outline (or a tight shadow) in a colour the
    # photo also has. Accepted when most of its pixels lie right next to accepted glyphs,
    # and then applied only there.
    others = [c for c in clusters if all(c is not q for q in primary)]
    wrapping: list[int] = []  # the indices of those colours taken below
    if ring is not None:
        others = []  # the photo's colours beside the letters are not outline
        add, info["ring_px"] = ring_outline(ring[1], core, D > tau, G, max(2.0, _WRAP_DIST * hb))
        if add.any():
            colours += [(len(colours), crop[add & ring[1]].mean(0).astype(np.float32), 1.0)]
            layer = np.where(add, len(colours) - 1, layer)
            core |= add
    if core.any() and others:
        near = (_dist_outside(core) <= max(2.0, _WRAP_DIST * hb)) & G
        extra = []
        for c in others:
            if near[c[2], c[3]].mean() >= _WRAP_FRAC:
                extra.append((len(colours) + len(extra), c[0], c[4]))
        if extra:
            add, layer2 = explain(extra, near & (D > tau) & ~core)
            layer = np.where(add, layer2, layer)
            core |= add
            colours += extra
            wrapping = [k for k, _, _ in extra]
    enc = None
    if ring is None and info["path"] == "lift" and len(primary) == 1:
        # only an outline has lift, its fill the photo has too: the fill it encloses
        enc = enclosed_fill(core, crop, D, thr, tau, colours[0][1],
                            [c[0] for c in clusters if c[1] >= 1.0
                             and all(c[0] is not T for _, T, _ in colours)],
                            lambda T: _matte(diff, B, T, tau) > _ALPHA_CORE)
    elif ring is None and info["path"] == "lift":
        # a dark glow has lift in several clusters (its core and falloff), and a light fill
        # no darker than the photo is no seed at all: the Otsu cut between glow and photo
        # lies above the fill's own contrast, so no cluster holds it. Its letters are then
        # the holes of the glow's mask; they differ from the photo (the noise floor), share
        # one colour, and that colour has lift as step 3 measures it, its spread taken from
        # the holes' median pixel (their anti-aliased rim, blends with the glow, is not it)
        def lifted(T, px):
            eps = float(np.clip(1.5 * np.sqrt(np.median(((px - T) ** 2).sum(1))), 0.05, 0.2))
            return _lift(T, eps, inside, around) >= _LIFT_MIN

        enc = enclosed_fill(core, crop, D, tau, tau, colours[0][1], [],
                            lambda T: _matte(diff, B, T, tau) > _ALPHA_CORE, lifted=lifted)
    if enc is not None:
        colours += [(len(colours), enc[1], 1.0)]
        layer = np.where(enc[0], len(colours) - 1, layer)
        core |= enc[0]
        info["enclosed_fill_px"] = int(enc[0].sum())
    info["colors"] = [[round(float(v), 3) for v in T] for _, T, _ in colours]
    if not core.any():
        info["coverage_of_polygon"] = 0.0
        return None
    dt = cv2.distanceTransform(core.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = core & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8))) & (dt > 0)
    sw = float(2 * np.median(dt[ridge])) if ridge.any() else max(1.0, 0.1 * hb)

    # 5. photo structure, per colour layer
    d_in = cv2.distanceTransform(P.astype(np.uint8), cv2.DIST_L2, 3)
    edge_in = P & (d_in <= 2) & ~_line_ends(P)
    eo_y, eo_x = np.nonzero((d_out > 0) & (d_out <= 3))
    eo_c = crop[eo_y, eo_x]
    dropped = 0
    for k, T, _ in colours:
        lk = core & (layer == k)
        if not lk.any():
            continue
        # thick parts: the opening of the layer by a disk wider than any stroke (union of
        # the disks that fit), so a blob merged with letters goes and the letters stay
        dtk = cv2.distanceTransform(lk.astype(np.uint8), cv2.DIST_L2, 3)
        r_blob = _BLOB_K * max(sw, 1.0)
        centres = dtk > r_blob
        drop = np.zeros(D.shape, bool)
        if centres.any():
            drop = lk & (_dist_outside(centres) <= r_blob + 1.5)
        touching = edge_in & lk
        if touching.any():
            same = np.zeros(D.shape, bool)
            same[eo_y, eo_x] = _norm(eo_c - T) < max(2 * tau, 0.12)
            if same.any():
                tp = touching & (_dist_outside(same) <= 3)
                if tp.sum() >= 2:
                    drop |= lk & (_dist_outside(tp) <= max(2.0, _CONT_K * hb))
        dropped += int(drop.sum())
        core &= ~drop
    # 6. outlined text: the fill colour only where the outline encloses it
    dropped += drop_unenclosed_fill(core, layer, colours, crop, tau, ang, info)
    pair = info.get("outlined")
    if pair and wrapping:
        # an outlined line's letters end at their outline: a low-lift colour taken for
        # wrapping them (not the pair itself) is the photo beside the outline, which the
        # letters leave near them wherever they stand close (the demo title's darker wood
        # in the middle "E"'s opening, which the fill then drew as the lighter wood round it)
        beside = core & np.isin(layer, [k for k in wrapping
                                        if k not in (pair["fill"], pair["outline"])])
        info["wrap_dropped_px"] = int(beside.sum())
        core &= ~beside
    if ring is not None and info.get("ring_px"):
        # the photo the fill took beside the letters meets it with no outline between; dark
        # photo rims a letter as its outline does (an outline over it does not stand out)
        photo = unrimmed_fill(core & (layer == colours[0][0]), ring[1],
                              crop.mean(-1) < float(np.mean(colours[0][1])) - RING_CONTRAST)
        info["unrimmed_px"] = int(photo.sum())
        core &= ~photo
    fill = core & (layer == colours[0][0]) if info.get("ring_px") else None  # grown later
    info["structure_px_dropped"] = dropped
    info["stroke_width_px"] = round(max(sw, 1.0), 3)
    if debug is not None:
        debug.update(crop=crop, B=B, D=D, core=core, P=P, G=G)
    if not core.any():
        info["coverage_of_polygon"] = 0.0
        return None
    return core, colours, tau, B, fill
