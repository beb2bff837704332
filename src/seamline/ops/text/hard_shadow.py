"""A hard drop shadow placed by its own edges: the glyphs moved by one offset.

:func:`seamline.ops.text.effects.combine_masks` explains the segmenter's pixels past the
glyphs by the glyphs moved and grown. A dark shadow over dark photo is marked by the
segmenter only in part, and its blur round the letters was then fitted as a wider shape
moved the wrong way (train split: a coffee caption's (-7, 6) shadow fitted as (-2, 2) grown
3 px). The shadow's own outer edge says where it is, whatever the photo's colour there:
:func:`edge_shadow` finds that offset (and :func:`shift` moves a mask by it). Where the
glyph matte took the shadow with the fill (its outline is then the shadow's own), the mask's
two colours say it instead: :func:`split_shadow`. What such a line's mask walls in is
photo: :func:`shadowed_holes`.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import channel_norm
from seamline.ops.inpaint.telea_kernel import telea_inpaint
from seamline.ops.masks import ellipse_kernel as _disk
from seamline.ops.masks import enclosed_holes
from seamline.ops.polygons import line_crop

__all__ = ["SHADOW_HUE_CHANNELS", "SHADOW_HUE_MIN_OFFSET", "crop_lab", "edge_shadow",
           "estimate_error", "shadowed_holes", "shift", "split_shadow", "telea_estimate"]


#: A hard drop shadow is the glyphs' own shape moved by one offset, so its outer edge is the
#: glyph outline moved there, with one sign of lightness change all round (darker inside for
#: a dark shadow, whatever the photo's colour); the photo's own edges (stripes, coins, fur)
#: change sign along an outline. :func:`edge_shadow` correlates the image's lightness
#: gradient, outside the glyphs grown by ``SHADOW_EDGE_EXCLUDE_PX``, with the outline's
#: outward normal for every offset of 2 px up to ``max_shift`` (the rule's 10 px; 1 px
#: shadows lie under the glyphs' own anti-aliased edge). The best offset is a shadow when the
#: gradient there agrees in sign with the normal on at least ``SHADOW_EDGE_CONSISTENCY`` of
#: its magnitude, its mean is ``SHADOW_EDGE_PEAK`` x the median offset's, and the mirror
#: offset (-dx, -dy) scores under ``SHADOW_EDGE_MIRROR`` of it (a glyph edge or outline the
#: matting missed shows on every side). Train split (sized shadow_hard cases): the drawn
#: offsets found score consistency 0.84-0.92, peak 14-29, mirror 0.00-0.05; the best offsets
#: of lines whose glyph mask already holds the shadow, 0.15-0.68, 2.4-6.4, 0.00-0.38.
SHADOW_EDGE_EXCLUDE_PX = 2
SHADOW_EDGE_CONSISTENCY = 0.75
SHADOW_EDGE_PEAK = 8.0
SHADOW_EDGE_MIRROR = 0.2
#: ... and its pixels past the glyphs must be at least this share of the outline's (a shadow
#: wholly under the letters changes nothing a 1 px growth does not take).
SHADOW_EDGE_MIN_VISIBLE = 0.1
#: A shadow of another hue whose lightness is nearly the photo's shows no lightness step:
#: :func:`edge_shadow` on the a* then the b* channel, tried last (after the lightness edges
#: and :func:`split_shadow`). Train split: a red (120, 20, 20) shadow (2, 3) behind a navy
#: outline over rocket's night sky, and a red one (6, 6) under a yellow title over
#: astronaut, both found on a* and b* only; none of the twelve same lines drawn without a
#: shadow. Tried before the split, they placed shadow_hard4's (stripes1) shadow at an offset
#: of the glyphs still holding it, which the colour test rejected, and the split that
#: placed it on main was not tried (pipeline 36.67 -> 36.36 dB).
SHADOW_HUE_CHANNELS = (1, 2)
#: ... at an offset of at least this many px along x or y: within 2 px an outline's ring and
#: the letters' anti-aliased rim have chroma edges too, and on train subtitle3 (a white,
#: dark-outlined subtitle over coffee, no shadow) the a* / b* test placed "shadows" at
#: (-2, -2) and (-2, 2) for its two lines (precision 0.807 -> 0.723, 26.58 -> 24.36 dB);
#: the hue-placed shadows it is for sit at (2, 3), (3, 3) (train huge2) and (6, 6).
SHADOW_HUE_MIN_OFFSET = 3

#: A glyph mask that took the shadow with the fill (both colours have lift: its outline is the
#: shadow's, so :func:`edge_shadow` finds nothing) is split by :func:`split_shadow`: its
#: pixels' two colour clusters (centres at least ``SPLIT_MIN_DELTA_E`` apart) are a fill F and
#: a shadow S when F moved by one offset (2-10 px) explains at least ``SPLIT_EXPLAINED`` of S
#: and at least ``SPLIT_MOVED_IN`` of F moved past itself lies on S, and the mirror offset
#: scores (the sum of the two) under ``SPLIT_MIRROR`` of it. Train split (sized shadow_hard
#: cases, the six lines whose matte held the shadow): explained 0.62-0.98, moved in
#: 0.82-0.99, mirror 0.17-0.58, all at the drawn offset; the nearest miss, a dark brown line
#: over stripes whose second cluster held the stripes, 0.75 / 0.73 / 0.72 (a wrong sign). The
#: 36-case mix: one line passes, train 007's blurred (6, 5) shadow (0.66 / 0.97 / 0.47).
SPLIT_MIN_DELTA_E = 15.0
SPLIT_EXPLAINED = 0.6
SPLIT_MOVED_IN = 0.8
SPLIT_MIRROR = 0.65

#: An outlined line's mask holds three colours (fill, outline, shadow), so two clusters put
#: the shadow with the outline and the split above fails. Its pixels are then cut into three
#: clusters, each tried as the shadow S with the other two (fill and outline) as the letters
#: F. The glyph stage leaves much of such a shadow out (the colours wrapping an outlined
#: line's letters go back to the photo, b40ea02), so fewer of F's moved pixels are S
#: (``SPLIT3_MOVED_IN``), and S must lie on F moved the more (``SPLIT3_EXPLAINED``), its
#: centre at least ``SPLIT_MIN_DELTA_E`` from both others, the mirror under
#: ``SPLIT_MIRROR``. Train split (white/yellow DejaVu and DejaVu Serif Bold, 1-3 px dark
#: outlines, hard purple/blue shadows (3-5 px) over chelsea and coffee: the four lines the
#: two-cluster split left): explained 0.93-0.99, moved in 0.47-0.84, mirror 0.34-0.63, all at
#: the drawn offset; the same twelve lines drawn without a shadow (and clusters that are the
#: outline or the fill): explained at most 0.73 where the mirror is under 0.65, and the
#: clusters explained over 0.85 are slivers (S/F <= 0.04, moved in <= 0.07).
SPLIT3_EXPLAINED = 0.85
SPLIT3_MOVED_IN = 0.4
#: ... and F keeps only its pieces whose moved copy, past F, lies on S on at least
#: ``SPLIT3_PIECE_IN`` of it: the letters (0.30-1.0 on those four lines); the photo specks
#: the glyph mask took beside them, 0.0 (their moved copies had added 260 px farther than
#: 8 px from the text on the coffee line; they stay in the glyph mask, unmoved).
SPLIT3_PIECE_IN = 0.1
#: The two-cluster split's F (the cluster whose offset scores higher) is the shadow when
#: the shadow is blurred: the glyph matte keeps only its dark core, a thinned copy of the
#: letters, which moved back lies wholly on the fill and so scores higher than the fill moved
#: onto it. A fill's edge against the photo is sharp (its anti-aliased step), a blurred
#: shadow's soft. Each cluster's softness: the median colour change (Delta E against the
#: photo estimated from 4 px past the glyph mask) on the photo 1 px past its exposed edge (not
#: beside the other cluster), over that on the edge itself (so a low-contrast fill is not
#: taken for a soft one). The clusters swap (F the other one, moved the other way) where S's
#: softness is under ``SPLIT_SOFT_EDGE`` of F's. Train split (italic serif titles and small
#: sans lines with blurred shadows, offsets 1-8 px, blur 1-4 px, over defocused photos, and
#: the sized shadow_hard / shadow_blur / huge cases x8; the 29 lines that reach this test):
#: the 11 split the wrong way round (placed up-left: (-7, -5) for a (6, 6) shadow) 0.06-0.35
#: but one at 0.96 (left); the 17 right ones 0.57 (a hard (2, 2) shadow over stripes) and
#: 1.0-30; shadow_blur0's (-3, -3) over retina (the style draws shadows downwards) 0.54, left.
SPLIT_SOFT_EDGE = 0.45


def shift(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``a`` moved by (dx, dy) px, zero-filled (all zeros when moved by its size or more)."""
    out = np.zeros_like(a)
    h, w = a.shape
    if abs(dx) >= w or abs(dy) >= h:  # nothing of it stays (the slices below would not match)
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shadowed_holes(mask: np.ndarray, polygons, shadowed, *, margin: float = 0.3
                   ) -> np.ndarray:
    """The holes of hard-shadowed lines' masks: the photo they wall in, which no hole fill
    should take.

    Such a line's mask is its letters and their exact copy moved by the shadow's offset (no
    margin grown round either), so what it encloses is photo: the letters' counters, and
    where a stroke and its shadow run apart (an "L"'s corner, a thin italic moved 5-8 px)
    the photo between them. normalize-mask filled holes up to twice the stroke squared
    whatever their colour, taking them for gaps the matte left in a stroke; it replaced that
    photo with a guess. Train shadow_hard x12 (sized cases): 28-208 px a case filled, 0-20
    of them drawn; left open, the pipeline 25.58 -> 29.58 dB (bokeh1, 24 px bold sans),
    25.69 -> 28.44 (coffee, 24-32 px italic serif), 28.26 -> 28.86, 24.29 -> 24.49, 23.76
    -> 23.86, the rest unchanged (mean 28.95 -> 29.59; ghost, ink left, far px the same).
    Not a blurred shadow's line: its tail is grown past the moved outline, so its mask is
    no longer that shape. ``mask`` bool (H, W); ``polygons`` the lines ((N, 2)
    x, y px each); ``shadowed`` per line whether its mask is that shape. Per such line, the
    4-connected regions outside the mask that its crop
    (:func:`~seamline.ops.polygons.line_crop` with ``margin``) encloses. Returns bool
    (H, W)."""
    out = np.zeros(mask.shape, bool)
    for poly, on in zip(polygons, shadowed):
        if not on:
            continue
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        if y1 > y0 and x1 > x0:
            labels, _, enclosed = enclosed_holes(mask[y0:y1, x0:x1])
            out[y0:y1, x0:x1] |= enclosed[labels]
    return out


def crop_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab of an sRGB crop: ``rgb`` (h, w, 3) float in [0, 1] (a view of the image is
    fine); returns (h, w, 3) float32 (L in [0, 100]). One conversion per line crop, which
    :func:`edge_shadow`, :func:`split_shadow` and :func:`seamline.ops.text.effects.combine_masks`
    share (each converted the same crop again)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def telea_estimate(rgb: np.ndarray, unknown: np.ndarray, memo: dict | None = None
                   ) -> np.ndarray:
    """A smooth estimate of the photo under ``unknown``, from the pixels around it (Telea on
    8-bit sRGB).

    ``rgb`` (h, w, 3) float32 in [0, 1], ``unknown`` (h, w) bool or uint8 (non-zero:
    estimated); returns (h, w, 3) float32 in [0, 1]. ``memo``: the estimates of this same
    ``rgb`` made before, by unknown pixels (read-only results; a line's halo and soft-shadow
    searches estimate under the same masks where the halo adds nothing: ~17 ms a Telea
    fill). Here, the lowest of the text-mask modules, so that
    :mod:`seamline.ops.text.effects`, :mod:`seamline.ops.text.rim` and this module share it.
    """
    key = None
    if memo is not None:
        unknown = np.asarray(unknown, bool)
        key = (unknown.shape, np.packbits(unknown).tobytes())
        if key in memo:
            return memo[key]
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    est = telea_inpaint(u8, unknown.astype(np.uint8))  # cv2.inpaint's pixels, ~0.7x its CPU
    est = est.astype(np.float32) / 255
    if key is not None:
        memo[key] = est
    return est


def estimate_error(rgb: np.ndarray, lab: np.ndarray, unknown: np.ndarray,
                   memo: dict | None = None) -> np.ndarray:
    """Delta E between each pixel and a Telea estimate of the photo under ``unknown``
    (:func:`telea_estimate`, with its ``memo``).

    ``rgb`` (h, w, 3) float32 in [0, 1], ``lab`` its Lab, ``unknown`` (h, w) bool or uint8;
    returns (h, w) float32."""
    return channel_norm(lab - cv2.cvtColor(telea_estimate(rgb, unknown, memo),
                                           cv2.COLOR_RGB2Lab))


def _soft_edged(fill: np.ndarray, shadow: np.ndarray, glyph: np.ndarray, rgb: np.ndarray,
                lab: np.ndarray) -> bool:
    """Is ``fill``'s edge against the photo soft beside ``shadow``'s (``SPLIT_SOFT_EDGE``)?
    Bool masks of one crop (``glyph``: both and their anti-aliased edge); ``rgb``, ``lab``:
    the crop."""
    k3 = np.ones((3, 3), np.uint8)
    out = ~glyph
    de = estimate_error(rgb, lab, cv2.dilate(glyph.astype(np.uint8), _disk(4)))

    def softness(a, b):  # change 1 px past a's edge (not beside b) over that on the edge
        edge = (a & (cv2.dilate(out.astype(np.uint8), k3) > 0)
                & ~(cv2.dilate(b.astype(np.uint8), k3) > 0))
        past = out & (cv2.dilate(edge.astype(np.uint8), k3) > 0)
        if edge.sum() < 20 or past.sum() < 20:
            return None
        return float(np.median(de[past])) / max(float(np.median(de[edge])), 1e-3)

    soft_f, soft_s = softness(fill, shadow), softness(shadow, fill)
    return soft_f is not None and soft_s is not None and soft_s < SPLIT_SOFT_EDGE * soft_f


def edge_shadow(glyph: np.ndarray, rgb: np.ndarray, max_shift: int, channels=(0,), *,
                lab: np.ndarray | None = None):
    """The offset (dx, dy) of a hard drop shadow the image's edges show, or None.

    ``glyph``: uint8 glyph mask of one line's crop; ``rgb``: the crop. See
    ``SHADOW_EDGE_*``: the lightness gradient outside the glyphs, correlated with the glyph
    outline's outward normal moved by each offset, must agree in sign with it all round,
    stand far above the other offsets and not on the mirror side. ``channels``: the Lab
    channels tried in turn (0: lightness; ``SHADOW_HUE_CHANNELS``: a* and b*), the first
    that passes placing the shadow. ``lab`` (keyword-only): the crop's Lab
    (:func:`crop_lab`) where the caller has it.
    """
    m = max_shift
    if glyph.sum() < 20:
        return None
    rgb = np.ascontiguousarray(rgb, np.float32)
    lab = crop_lab(rgb) if lab is None else lab
    outside = (cv2.dilate(glyph, _disk(SHADOW_EDGE_EXCLUDE_PX)) == 0).astype(np.float32)
    soft = cv2.GaussianBlur(glyph.astype(np.float32), (0, 0), 0.7)
    nx = -cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)  # outward normal, weighted by the edge
    ny = -cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    nn = np.sqrt(nx * nx + ny * ny)

    def corr(a, t):  # [dy + m, dx + m]: ``t`` moved by (dx, dy) against ``a``
        return cv2.matchTemplate(cv2.copyMakeBorder(a, m, m, m, m, cv2.BORDER_CONSTANT, 0),
                                 t, cv2.TM_CCORR)

    seen = corr(outside, nn)
    for ch in channels:
        light = np.ascontiguousarray(lab[..., ch])  # lightness, or a* / b*
        gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3) * outside
        gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3) * outside
        signed = corr(gx, nx) + corr(gy, ny)
        size = corr(np.sqrt(gx * gx + gy * gy), nn)
        mean = np.where(seen >= SHADOW_EDGE_MIN_VISIBLE * float(nn.sum()),
                        signed / np.maximum(seen, 1e-6), 0.0)
        mean[m - 1:m + 2, m - 1:m + 2] = 0  # 0-1 px: the glyphs' own edge
        peak = np.abs(mean)
        iy, ix = np.unravel_index(int(np.argmax(peak)), peak.shape)
        best = float(peak[iy, ix])
        rest = peak[peak > 0]
        if best == 0 or rest.size < 3:
            return None  # no offset leaves enough of the moved outline in view
        if (abs(float(signed[iy, ix])) >= SHADOW_EDGE_CONSISTENCY * float(size[iy, ix])
                and best >= SHADOW_EDGE_PEAK * float(np.median(rest))
                and float(peak[2 * m - iy, 2 * m - ix]) < SHADOW_EDGE_MIRROR * best):
            return _edge_refined(glyph, rgb, light, ch, int(ix) - m, int(iy) - m,
                                 float(signed[iy, ix]), m)
    return None


def _edge_refined(glyph, rgb, light, ch, dx, dy, signed, m):
    """:func:`edge_shadow`'s offset (dx, dy), found on Lab channel ``ch`` (``light``, HxW
    float32), refined: the correlation's peak is a few px wide (Sobel, the outline's blur,
    the glyphs' own edge left out), so of it and its 8 neighbours the offset whose moved
    glyphs hold the most change of the shadow's sign (``ch`` against the photo estimated
    from round them all) beyond half the typical change there."""
    g1 = cv2.dilate(glyph, _disk(1)) > 0
    near = [(dx + u, dy + v) for v in (-1, 0, 1) for u in (-1, 0, 1)
            if max(abs(dx + u), abs(dy + v)) >= 2 and max(abs(dx + u), abs(dy + v)) <= m]
    shapes = {d: (shift(glyph, *d) > 0) & ~g1 for d in near}
    union = g1.copy()
    for sh in shapes.values():
        union |= sh
    union = cv2.dilate(union.astype(np.uint8), _disk(1)) > 0
    if union.all():
        return dx, dy
    change = -np.sign(signed) * (
        light - cv2.cvtColor(telea_estimate(rgb, union), cv2.COLOR_RGB2Lab)[..., ch])
    sel = shapes[(dx, dy)]
    if not sel.any():
        return dx, dy
    half = 0.5 * max(float(np.median(change[sel])), 0.0)
    gain = {d: float(np.sum(change[sh] - half)) for d, sh in shapes.items()}
    return max(gain, key=gain.get)


def _nearer(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per row of ``x``: 1 where centre ``c[1]`` is nearer than ``c[0]`` (the half-space
    test, no N x 2 x 3 distance array), else 0."""
    return (x @ (c[1] - c[0]) > 0.5 * float(c[1] @ c[1] - c[0] @ c[0])).astype(np.int64)


def _two_means(x: np.ndarray, iters: int = 10):
    """Two clusters of the rows of ``x`` (Lab), seeded at the darkest and lightest tenth:
    (labels 0/1, centres), deterministic."""
    x = x.astype(np.float64)
    c = _extreme_seeds(x)
    return _lloyd(x, np.stack(c), _nearer, iters)


def _extreme_seeds(x: np.ndarray) -> list:
    """The means of the darkest and of the lightest tenth of the rows of ``x`` (Lab, by L)."""
    order = np.argsort(x[:, 0], kind="stable")
    n = max(len(x) // 10, 1)
    return [x[order[:n]].mean(0), x[order[-n:]].mean(0)]


def _lloyd(x: np.ndarray, c: np.ndarray, assign, iters: int):
    """``iters`` rounds of Lloyd's k-means on the rows of ``x`` from centres ``c`` (K, 3),
    updated in place; ``assign(x, c)`` labels each row. Returns (the last round's labels
    (N,) int64, the centres); a centre with no row keeps its place. Stops early once a round
    labels every row as the one before it did: the centres it would compute are the ones it
    was given (the same rows averaged the same way), so every later round repeats it bit for
    bit (most split-shadow fits settle before their 10 rounds). The centres are the rows'
    sums per label (``np.bincount``, which adds each label's rows in order, as ``mean(0)`` of
    the rows picked out does) over their counts: the same float64 means at ~1/4 of the CPU
    (no copy of each cluster's rows)."""
    lab = np.zeros(len(x), np.int64)
    for i in range(iters):
        new = assign(x, c)
        if i and np.array_equal(new, lab):
            break
        lab = new
        n = np.bincount(lab, minlength=len(c))
        sums = np.stack([np.bincount(lab, weights=x[:, j], minlength=len(c))
                         for j in range(x.shape[1])], 1)
        have = n > 0
        c[have] = sums[have] / n[have, None]
    return lab, c


def _sq_dist(x: np.ndarray, ck: np.ndarray) -> np.ndarray:
    """``((x - ck) ** 2).sum(1)`` for the (N, 3) rows of ``x``, bit for bit (the same three
    squares added in the same order: numpy adds a row's few elements one after another),
    at about a third of the CPU: a reduction along a length-3 axis pays per row (the
    split-shadow fits' k-means, ~30 ms a train case, were most of their time in it)."""
    d = x - ck
    d *= d
    return (d[:, 0] + d[:, 1]) + d[:, 2]


def _nearest(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per row of ``x`` (N, 3): the index of the nearest row of ``c`` (one distance column
    per centre, no N x K x 3 array)."""
    return np.argmin(np.stack([_sq_dist(x, ck) for ck in c], 1), 1)


def _three_means(x: np.ndarray, iters: int = 10) -> np.ndarray:
    """Three cluster centres of the rows of ``x`` (Lab), seeded at the darkest and lightest
    tenth and at the tenth farthest from both (an outlined line: fill, outline, shadow);
    deterministic. Returns the centres, (3, 3) float64."""
    x = x.astype(np.float64)
    c = _extreme_seeds(x)
    n = max(len(x) // 10, 1)
    far = np.minimum(_sq_dist(x, c[0]), _sq_dist(x, c[1]))
    c = np.stack([*c, x[np.argsort(far, kind="stable")[-n:]].mean(0)])
    return _lloyd(x, c, _nearest, iters)[1]


def _moved_fit(F: np.ndarray, S: np.ndarray, m: int):
    """How well ``S`` is ``F`` moved by one offset less ``F`` itself (float32 0/1 masks):
    (score, dx, dy, explained, moved in, mirror score) at the best offset of 2-``m`` px, or
    None when either is too small (see :func:`split_shadow`)."""
    nf, ns = float(F.sum()), float(S.sum())
    if nf < 30 or ns < 0.05 * nf:
        return None
    on_s = cv2.matchTemplate(cv2.copyMakeBorder(S, m, m, m, m, cv2.BORDER_CONSTANT, 0),
                             F, cv2.TM_CCORR)  # [dy + m, dx + m]: |F moved by (dx, dy) & S|
    on_f = cv2.matchTemplate(cv2.copyMakeBorder(F, m, m, m, m, cv2.BORDER_CONSTANT, 0),
                             F, cv2.TM_CCORR)  # |F moved & F|
    moved = np.maximum(nf - on_f, 1.0)
    explained = on_s / ns
    moved_in = on_s / moved
    score = explained + moved_in
    score[m - 1:m + 2, m - 1:m + 2] = 0  # 0-1 px: the anti-aliased edge
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    return (float(score[iy, ix]), int(ix) - m, int(iy) - m, float(explained[iy, ix]),
            float(moved_in[iy, ix]), float(score[2 * m - iy, 2 * m - ix]))


def split_shadow(glyph: np.ndarray, rgb: np.ndarray, max_shift: int, *,
                 lab: np.ndarray | None = None):
    """The fill and the offset (dx, dy) of a hard drop shadow the glyph mask took with it.

    ``glyph``: uint8 glyph mask of one line's crop; ``rgb``: the crop. The mask's pixels
    (their anti-aliased edge left out) fall in two colour clusters; one is the fill F, the
    other the shadow S when S is the fill moved by one offset less the fill itself: most of
    S lies on F moved there (``SPLIT_EXPLAINED``) and most of F moved there, past F, is S
    (``SPLIT_MOVED_IN``), far more than on the mirror offset (``SPLIT_MIRROR``). Of the two
    clusters the fill is the one whose offset scores higher (explained + moved in; the
    shadow moved back onto the fill explains less of it). Failing that, an outlined line's
    three clusters (fill, outline, shadow; ``SPLIT3_*``): F is then the fill with its
    outline. Returns ``(fill uint8 mask, (dx, dy))`` or None. ``lab`` (keyword-only): the
    crop's Lab (:func:`crop_lab`) where the caller has it.
    """
    m = max_shift
    if glyph.sum() < 50:
        return None
    core = cv2.erode(glyph, np.ones((3, 3), np.uint8)) > 0
    if core.sum() < 30:
        return None
    lab = crop_lab(rgb) if lab is None else lab
    g = glyph > 0
    _, c = _two_means(lab[core])
    if float(np.linalg.norm(c[0] - c[1])) >= SPLIT_MIN_DELTA_E:
        side = np.full(g.shape, -1, np.int8)
        side[g] = _nearer(lab[g].astype(np.float64), c)
        best = None
        for k in (0, 1):
            fit = _moved_fit((side == k).astype(np.float32),
                             (side == 1 - k).astype(np.float32), m)
            if fit is not None and (best is None or fit[0] > best[0][0]):
                best = (fit, k)
        if best is not None:
            (s, dx, dy, ex, mi, mirror), k = best
            if ex >= SPLIT_EXPLAINED and mi >= SPLIT_MOVED_IN and mirror < SPLIT_MIRROR * s:
                if _soft_edged(side == k, side == 1 - k, g, rgb, lab):
                    k, dx, dy = 1 - k, -dx, -dy  # the blurred shadow's core scored as F
                return (side == k).astype(np.uint8), (dx, dy)
    # an outlined line: fill, outline and shadow (``SPLIT3_*``)
    c = _three_means(lab[core])
    side = np.full(g.shape, -1, np.int8)
    side[g] = _nearest(lab[g].astype(np.float64), c)
    best = None
    for k in range(3):
        if min(float(np.linalg.norm(c[k] - c[j])) for j in range(3) if j != k) \
                < SPLIT_MIN_DELTA_E:
            continue
        fit = _moved_fit(((side != k) & g).astype(np.float32),
                         (side == k).astype(np.float32), m)
        if fit is None:
            continue
        s, dx, dy, ex, mi, mirror = fit
        # of the clusters that pass, the best (the outline as S scores on the fill's side)
        if (ex >= SPLIT3_EXPLAINED and mi >= SPLIT3_MOVED_IN and mirror < SPLIT_MIRROR * s
                and (best is None or s > best[0])):
            best = (s, k, dx, dy)
    if best is None:
        return None
    _, k, dx, dy = best
    # the letters only: a piece of F whose copy moved there lands on no S is photo the glyph
    # mask took beside them (a wood streak, a saucer's edge), whose moved copy would be masked
    F = ((side != k) & g).astype(np.uint8)
    n, cc = cv2.connectedComponents(F, connectivity=8)
    moved = shift(cc, dx, dy) * (F == 0)  # each piece moved, past F
    past = np.bincount(moved.ravel(), minlength=n)
    on_s = np.bincount(moved[side == k], minlength=n)
    keep = on_s >= SPLIT3_PIECE_IN * np.maximum(past, 1)
    keep[0] = False
    return keep[cc].astype(np.uint8), (dx, dy)
