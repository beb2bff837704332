"""Classical inpainting with a paste-back guarantee.

Only the neighbourhood of the mask is processed (crops with a context margin, merged when
they overlap), so a small edit in a large photo stays fast. Whatever the backend does, the
result is composited so that every pixel with ``mask == 0`` is bit-identical to the input:
the "unmasked pixels changed" class of bugs cannot happen here.

Backends are plain functions in a registry (:class:`Backend` entries), each
``fill(crop, hole, opts) -> crop``:

- ``crop``: ``(h, w, 3) float32`` in [0, 1]
- ``hole``: ``(h, w) uint8``, 255 where the pixel must be synthesised
- ``opts``: :class:`FillOptions` (radius for diffusion fills, seed, model path, device)
- returns ``(h, w, 3) float32`` in [0, 1]; values outside the hole are ignored.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from seamline.core.arrays import LUMA
from seamline.errors import InputError, StageError
from seamline.io import as_image, as_mask, to_uint16
# compositing lives in a leaf module (the backends import it too); re-exported here
from seamline.ops.compose import (composite, edit_alpha, mask_crops, match_fill_to_ring,
                                  merge_crops)
from seamline.ops.validate import nonneg_int

__all__ = ["BACKENDS", "Backend", "FillOptions", "get_backend", "inpaint", "composite", "mask_crops",
           "edit_alpha", "match_fill_to_ring", "choose_backend", "hole_context"]


@dataclass(frozen=True)
class FillOptions:
    """What a backend may use besides the crop: radius (diffusion), seed (patch), model."""

    radius: float = 3.0
    seed: int = 0
    model_path: str | None = None
    device: str = "cpu"


def _opencv(flag):
    def fill(crop, hole, opts):
        # cv2.inpaint takes 3-channel input only as 8-bit, but 1-channel as 16-bit. Both
        # methods fill each channel independently (the marching order depends on the hole
        # only), so per-channel 16-bit gives the 3-channel result without 8-bit
        # quantisation: 16-bit sources survive. (1-channel float32 is accepted too but the
        # Telea path overshoots wildly on [0, 1] data, so 16-bit it is.)
        q = to_uint16(crop)
        # OpenCV uses at most 100 px, and rounds a radius of 2**31 or more to 1 px: capped
        # here, a huge radius is the widest on every path (the kernel caps it too)
        radius = min(opts.radius, 100.0)
        # a grey image's RGB view (R = G = B): one channel filled stands for all three
        grey = bool((q[..., 0] == q[..., 1]).all() and (q[..., 0] == q[..., 2]).all())
        if flag == cv2.INPAINT_TELEA and not grey:
            # the three channels in one march, each filled as its own 16-bit call fills it
            # (seamline.ops.inpaint.telea_kernel: the same pixels at ~half the CPU)
            from seamline.ops.inpaint.telea_kernel import telea_inpaint

            return as_image(telea_inpaint(q, hole, radius))
        out = [cv2.inpaint(np.ascontiguousarray(q[..., c]), hole, radius, flag)
               for c in range(1 if grey else 3)]
        return as_image(np.stack(out * 3 if grey else out, axis=-1))

    return fill


def _fsr(best):
    def fill(crop, hole, opts):
        # xphoto's FSR, with mirrored context where the hole reaches the crop's edge
        # (seamline.ops.inpaint.fsr)
        from seamline.ops.inpaint.fsr import fsr_fill

        return fsr_fill(crop, hole > 0, best=best)

    return fill


def _biharmonic(crop, hole, opts):
    # the smoothest surface through the border's values and slopes
    # (seamline.ops.inpaint.biharmonic)
    from seamline.ops.inpaint.biharmonic import biharmonic_fill

    return biharmonic_fill(crop, hole > 0)


def _edge(crop, hole, opts):
    # the strong edges that cross the hole first, then FSR (seamline.ops.inpaint.edge_first)
    from seamline.ops.inpaint.edge_first import edge_fill

    return edge_fill(crop, hole > 0)


def _unblend(crop, hole, opts):
    # semi-transparent text: its blend inverted where one blend explains the strokes,
    # else FSR (seamline.ops.inpaint.see_through)
    from seamline.ops.inpaint.see_through import see_through_fill

    return see_through_fill(crop, hole > 0)[0]


def _oriented(crop, hole, opts):
    # along the one direction the ring's structure runs in (seamline.ops.inpaint.oriented)
    from seamline.ops.inpaint.oriented import oriented_fill

    return oriented_fill(crop, hole > 0)


def _exemplar(crop, hole, opts):
    from seamline.ops.inpaint.exemplar import exemplar_fill

    return exemplar_fill(crop, (hole > 0).astype(np.float32), seed=opts.seed)


def _lama(crop, hole, opts):
    from seamline.ops.inpaint.lama import lama_fill_crop, load_lama

    if not opts.model_path:
        raise InputError("model: the lama backend needs a checkpoint path (model=PATH); "
                         "seamline never downloads weights")
    # the crop already carries its context: one network pass over it, no second crop
    return lama_fill_crop(load_lama(opts.model_path, device=opts.device), crop, hole > 0)


@dataclass(frozen=True)
class Backend:
    """An inpainting backend and what it declares about itself.

    Attributes
    ----------
    name : str
    fill : callable
        ``fill(crop, hole, opts) -> crop``: ``crop`` (h, w, 3) float32 in [0, 1], ``hole``
        (h, w) uint8 with 255 where pixels must be synthesised, ``opts`` a
        :class:`FillOptions`; values outside the hole of the returned crop are ignored.
    family : {"diffusion", "patch", "learned", "unblend"}
        Diffusion fills continue colours/isophotes smoothly (good for thin strokes on smooth
        context; they smear texture); patch fills copy texture from the context; learned
        fills run a network; unblend recovers the photo under semi-transparent paint.
    good_for : str
        One line for ``seamline inpaint --help`` and the docs.
    needs_context : bool
        True when the backend copies from known pixels, so an all-ones mask is an error.
    needs : tuple of str
        Python modules the backend imports (an optional extra).
    context : callable
        ``context(hole_extent_px, radius) -> int``: default crop margin, from the largest
        over components of the smaller side of their bounding box.
    """

    name: str
    fill: Callable
    family: str
    good_for: str
    needs_context: bool = False
    needs: tuple[str, ...] = ()
    context: Callable[[int, float], int] = lambda extent, radius: math.ceil(radius) + 2


_REGISTRY = {
    b.name: b for b in (
        Backend("telea", _opencv(cv2.INPAINT_TELEA), "diffusion",
                "fast marching; thin strokes and small specks on smooth context"),
        Backend("ns", _opencv(cv2.INPAINT_NS), "diffusion",
                "Navier-Stokes: continues isophotes (edges) into thin holes"),
        Backend("biharmonic", _biharmonic, "diffusion",
                "the smoothest surface through the hole's border values and slopes: "
                "continues a defocused (soft) edge across a large hole on smooth context",
                context=lambda extent, radius: 8),
        Backend("fsr", _fsr(False), "diffusion",
                "frequency-selective reconstruction (OpenCV xphoto, fast profile); "
                "continues edges and texture that telea smears", context=lambda extent, radius: max(16, extent // 2)),
        Backend("fsr-best", _fsr(True), "diffusion",
                "frequency-selective reconstruction, best profile (slow: seconds at 512 px)",
                context=lambda extent, radius: max(16, extent // 2)),
        Backend("fsr-edge", _edge, "diffusion",
                "strong edges crossing the hole (a cup rim under a title) drawn first along "
                "the curve fitted through them (one ellipse where one fits), the rest "
                "frequency-selective",
                context=lambda extent, radius: max(32, extent // 2)),
        Backend("oriented", _oriented, "diffusion",
                "structure that runs one way (stripes, rails, motion blur): each hole pixel "
                "from where a line in that direction leaves the hole, either side",
                context=lambda extent, radius: max(32, extent // 2)),
        Backend("unblend", _unblend, "unblend",
                "semi-transparent text (a watermark drawn once): one blend fitted across the "
                "strokes' borders and inverted, the photo under them kept; the strokes' "
                "edges Telea; FSR where no blend explains the strokes",
                context=lambda extent, radius: max(16, extent // 2)),
        Backend("exemplar", _exemplar, "patch",
                "texture-preserving patch fill (PatchMatch, coarse-to-fine); larger holes in "
                "textured context", needs_context=True,
                context=lambda extent, radius: max(32, 2 * extent)),
        Backend("lama", _lama, "learned",
                "a LaMa checkpoint you already have (safetensors or weights-only torch); "
                "large holes, structure", needs_context=True, needs=("torch",),
                context=lambda extent, radius: max(64, extent)),
    )
}
BACKENDS = tuple(_REGISTRY)
#: What ``backend="auto"`` may pick from, per crop (see :func:`choose_backend`).
AUTO_CHOICES = ("telea", "exemplar")
#: ``auto`` thresholds: holes at most this thick (max inscribed radius, px) are "thin"; rings
#: with a luminance Laplacian energy above this are "textured" (sky ~7e-5, brick ~1e-3).
AUTO_THIN_PX = 3.0
AUTO_TEXTURE_ENERGY = 4e-4


def hole_context(crop, hole, *, structure=False):
    """How thick a hole is and what the photo around it is like (unrounded numbers).

    Parameters
    ----------
    crop : (h, w, 3) float32 array in [0, 1]
    hole : (h, w) bool array
    structure : bool, keyword-only
        Also measure ``ring_edge_fraction`` (costs two Sobel filters).

    Returns
    -------
    dict
        ``thickness_px``: the hole's largest inscribed radius; ``ring_texture_energy``: mean
        squared luminance Laplacian in a ring 3-10 px out (0 without a ring); with
        ``structure``, ``ring_edge_fraction``: share of ring pixels on a strong edge
        (gradient magnitude above ``edge_level``, [0, 1] units per px).
    """
    thickness = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).max())
    # ring 3..10 px away from the hole: close enough to describe it, far enough that
    # anti-aliased remains of what is being removed do not count as texture
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist > 3) & (dist <= 10)
    out = {"thickness_px": thickness, "ring_texture_energy": 0.0}
    if structure:
        out["ring_edge_fraction"] = 0.0
    if not ring.any():
        return out
    luma = crop @ LUMA
    lap = cv2.Laplacian(luma, cv2.CV_32F, ksize=1)
    out["ring_texture_energy"] = float(np.mean(lap[ring] ** 2))
    if structure:
        gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3) / 8
        out["ring_edge_fraction"] = float((np.hypot(gx, gy) > HOLE_EDGE_LEVEL)[ring].mean())
    return out


#: Luminance gradient magnitude (per px, [0, 1] units) that counts as a strong edge.
HOLE_EDGE_LEVEL = 0.08


def choose_backend(crop, hole):
    """The ``auto`` rule: a fast diffusion fill for thin strokes or smooth context, the
    exemplar fill for thicker holes in textured context.

    Parameters
    ----------
    crop : (h, w, 3) float32 array in [0, 1]
    hole : (h, w) bool array

    Returns
    -------
    name : str
        ``"telea"`` or ``"exemplar"``.
    why : dict
        ``thickness_px`` (max inscribed radius of the hole) and ``ring_texture_energy``.
    """
    c = hole_context(crop, hole)
    thickness, texture = c["thickness_px"], c["ring_texture_energy"]
    why = {"thickness_px": round(thickness, 2), "ring_texture_energy": round(texture, 6)}
    if thickness <= AUTO_THIN_PX or texture <= AUTO_TEXTURE_ENERGY:
        return "telea", why
    return "exemplar", why


def get_backend(name: str) -> Backend:
    """Look a backend up; an unknown name lists the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"backend: unknown inpainting backend {name!r}; known: "
                         f"{', '.join(BACKENDS)}") from None


def inpaint(image, mask, *, backend="telea", radius=3, context_px=None, seed=0, feather_px=0,
            color_match=None, model_path=None, device="cpu", report=None):
    """Fill the masked region from its surroundings, touching nothing else.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1], or (H, W): grey
        A grey image is filled a crop at a time as its RGB expansion (R = G = B; the
        backends take RGB) and returned grey: the RGB result's value where its channels
        agree (every backend but ``lama``), else its luminance.
    mask : (H, W) float32 array in [0, 1]
        Every pixel with ``mask > 0`` is synthesised; soft values blend fill and original
        (partial edits), see :func:`edit_alpha`.
    backend : str
        One of :data:`BACKENDS` (see :func:`get_backend`), or ``"auto"``: chosen per crop by
        :func:`choose_backend` (thin strokes or smooth context: ``telea``; thicker holes in
        textured context: ``exemplar``).
    radius : float
        Neighbourhood radius in pixels, finite and > 0 (OpenCV's ``inpaintRadius``, which
        uses at most 100; diffusion backends).
    context_px : int, optional
        Margin of surroundings cropped around each mask component. Default: the backend's
        own rule (``ceil(radius) + 2`` for telea/ns, which reproduces the full-image result
        exactly since they read only known pixels within ``radius`` of the hole; larger for
        patch-based fills, which need texture to copy from).
    seed : int
        For patch-based backends: same seed, same result.
    feather_px : int
        Width of a feathered transition band outside the mask (0 = hard edge). Pixels farther
        than this from the mask stay bit-identical.
    color_match : bool, optional
        Reconcile the fill's colour to its context ring (Lab mean/std,
        :func:`match_fill_to_ring`). Default: on for learned backends (lama) only; diffusion
        fills take their colours from the boundary and the exemplar fill ends with a
        gradient-domain paste that does the same (a Lab match on top measured 0.4 dB worse).
    model_path : str, optional
        Checkpoint for learned backends (``lama``); never downloaded.
    device : str
        Torch device for learned backends.
    report : dict, optional
        Filled in with what was done (crops, colour-match numbers).

    Returns
    -------
    (H, W, 3) float32 array in [0, 1], (H, W) for a grey image
        Bit-identical to ``as_image(image)`` wherever the edit weight is 0 (outside the mask
        grown by ``feather_px``). An empty mask returns a copy.

    Raises
    ------
    InputError
        Unknown backend, bad radius / context_px / feather_px (or a feathered band that
        covers the whole image), or malformed arrays.
    StageError
        The mask covers the whole image: nothing to fill from.
    """
    from seamline.ops.masks import support_boxes  # scipy: imported when first needed

    b = get_backend("exemplar" if backend == "auto" else backend)
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not 0 < radius < math.inf:
        raise InputError(f"radius: expected a positive number, got {radius!r}")
    feather_px = nonneg_int(feather_px, "feather_px")
    image = as_image(image, grey=True)
    mask = as_mask(mask, shape=image.shape)
    report = {} if report is None else report

    # The edit weights live only around the holes: per support box (ops.masks.support_boxes,
    # margin feather_px + 1, so each box holds its holes' whole feathered band and its edit
    # weights equal the frame's, bit for bit), never as frame-sized masks (hole, alpha,
    # region, labels, 8-bit copies: ~20 bytes a pixel, 0.25 GB at 12 MP).
    areas = [(box, edit_alpha(mask[_box(box)], feather_px))
             for box in support_boxes(mask, feather_px + 1)]
    if not areas:
        return image.copy()
    nothing = f"nothing to {'copy' if b.needs_context else 'fill'} from"
    if sum(int(np.count_nonzero(mask[_box(box)] > 0)) for box, _ in areas) == mask.size:
        raise StageError(f"inpaint: mask covers the whole image; {nothing}")
    if feather_px and sum(int(np.count_nonzero(a)) for _, a in areas) == mask.size:
        # the feathered band is filled too: named here, not as a crop without context
        raise InputError(f"feather_px: the mask grown by {feather_px} px covers the whole "
                         f"image; {nothing}")
    components = []  # bounding boxes (frame coordinates) of the edit region's components
    owners = []  # per component: its pixels inside its bounding box (for split crops)
    for (y0, _, x0, _), a in areas:
        _, labels, stats, _ = cv2.connectedComponentsWithStats((a > 0).astype(np.uint8), 8)
        for c, (x, y, w, h) in enumerate(stats[1:, :4], start=1):
            components.append((y0 + y, y0 + y + h, x0 + x, x0 + x + w))
            owners.append(labels[y:y + h, x:x + w] == c)
        del labels
    if context_px is None:
        # the hole's thickness decides how far a fill must look for context: a long thin
        # stroke needs a narrow margin along its whole length, a blob one as wide as itself
        extent = max(min(y1 - y0, x1 - x0) for y0, y1, x0, x1 in components)
        context_px = b.context(extent, radius)
    context_px = nonneg_int(context_px, "context_px")

    opts = FillOptions(radius=float(radius), seed=int(seed), model_path=model_path, device=device)
    out = image.copy()
    report.update(backend=backend, context_px=context_px, feather_px=feather_px,
                  color_match=color_match, crops=[])
    for box, own in _crops(components, owners, context_px, image.shape, b.needs_context):
        src = image[box] if image.ndim == 3 else np.repeat(image[box][..., None], 3, axis=2)
        alpha = _paste(areas, box)  # the edit weights on this crop (0 outside the areas)
        region = alpha > 0
        if region.all():
            raise StageError(
                f"inpaint: no known pixels within context_px {context_px} of the mask; increase context_px"
            )
        crop_report = {"box_yx": [box[0].start, box[1].start, box[0].stop, box[1].stop]}
        cb = b
        if backend == "auto":
            name, crop_report["auto"] = choose_backend(src, region)
            cb = get_backend(name)
        crop_report["backend"] = cb.name
        # Clip before composite's range check: a backend overshoot is not the user's input error.
        fill = np.clip(cb.fill(src, region.astype(np.uint8) * 255, opts), 0, 1)
        # default: only learned fills; exemplar's own gradient-domain paste already carries
        # the border colours in, and a Lab match on top measured 0.4 dB worse with worse seams
        if color_match if color_match is not None else cb.family == "learned":
            fill, crop_report["color_match"] = match_fill_to_ring(fill, src, region)
        report["crops"].append(crop_report)
        if own is None:
            out[box] = _like(image, composite(src, fill, alpha))  # alpha 0 outside the crops
            continue
        # a split crop: its own component's pixels only (another's may share its box)
        (cy0, cy1, cx0, cx1), mine = own
        crop_report["component_yx"] = [cy0, cx0, cy1, cx1]
        y, x = cy0 - box[0].start, cx0 - box[1].start
        sub = slice(y, y + cy1 - cy0), slice(x, x + cx1 - cx0)
        np.copyto(out[cy0:cy1, cx0:cx1], _like(image, composite(src[sub], fill[sub], alpha[sub])),
                  where=mine[..., None] if image.ndim == 3 else mine)
    return out


def _like(image, rgb):
    """``rgb`` (a crop's result) as ``image`` holds it: as is, or for a grey image its
    first channel where the three agree (R = G = B in, every per-channel fill keeps them
    equal) and its luminance where they do not (a learned fill)."""
    if image.ndim == 3:
        return rgb
    g = rgb[..., 0]
    if np.array_equal(g, rgb[..., 1]) and np.array_equal(g, rgb[..., 2]):
        return g
    return rgb @ LUMA

#: Largest merged crop (px) a patch or learned fill gets when its holes are sparse: beyond
#: it each hole gets its own crop. Holes spread over a large photo merge their context boxes
#: into crops covering most of the frame (40 blobs on 2 % of a 12 MP photo: a few crops of
#: several MP), and the exemplar fill holds ~150 bytes per crop pixel, so its memory
#: followed the frame.
MAX_MERGED_CROP_PX = 1 << 22
#: Most the holes' own crops may add up to, as a multiple of the merged crop, for it to be
#: split: overlapping context is filled once per hole (at 50 MP the 2 % blobs' own crops
#: overlap: 1x kept a merged crop, and 8.7 GB); one line's letters (3-4x) stay merged.
SPLIT_MAX_WORK = 2.0


def _crops(components, owners, context_px, shape, split):
    """``(crop, own)`` pairs to fill: the merged crops (``own`` None) and, where a merged
    crop of a patch/learned fill (``split``) holds several components, has more than
    :data:`MAX_MERGED_CROP_PX` pixels, and their own crops (box + context) add up to at most
    :data:`SPLIT_MAX_WORK` times it (sparse holes, not the letters of one line), one crop per
    component instead,
    ``own`` its bounding box and its pixels there. Every crop treats all edit pixels in it as
    unknown (as the merged crop did) and pastes back only its own component, so the result
    does not depend on the order."""
    H, W = shape[:2]
    for box in merge_crops(components, context_px=context_px, shape=shape):
        rows, cols = box
        area = (rows.stop - rows.start) * (cols.stop - cols.start)
        if not split or area <= MAX_MERGED_CROP_PX:
            yield box, None
            continue
        inside = [k for k, (y0, y1, x0, x1) in enumerate(components)
                  if rows.start <= y0 and y1 <= rows.stop and cols.start <= x0 and x1 <= cols.stop]
        own = [(slice(max(0, y0 - context_px), min(H, y1 + context_px)),
                slice(max(0, x0 - context_px), min(W, x1 + context_px)))
               for y0, y1, x0, x1 in (components[k] for k in inside)]
        if len(inside) < 2 or sum((r.stop - r.start) * (c.stop - c.start) for r, c in own) \
                > SPLIT_MAX_WORK * area:
            yield box, None
            continue
        for k, crop in zip(inside, own):
            yield crop, (components[k], owners[k])


def _box(box):
    y0, y1, x0, x1 = box
    return slice(y0, y1), slice(x0, x1)


def _paste(areas, crop):
    """The edit weights on ``crop`` (a (rows, cols) slice pair) from the per-box ones."""
    rows, cols = crop
    out = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.float32)
    for (y0, y1, x0, x1), a in areas:
        ty0, ty1 = max(y0, rows.start), min(y1, rows.stop)
        tx0, tx1 = max(x0, cols.start), min(x1, cols.stop)
        if ty0 < ty1 and tx0 < tx1:
            out[ty0 - rows.start:ty1 - rows.start, tx0 - cols.start:tx1 - cols.start] = \
                a[ty0 - y0:ty1 - y0, tx0 - x0:tx1 - x0]
    return out
