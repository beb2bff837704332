"""Compositing: where a fill meets the photo, exactly and only there.

Every inpainting path (the backends, the text-removal loop, latent inpainting) pastes its
result back through :func:`composite`, so a pixel with edit weight 0 is bit-identical to the
input. :func:`mask_crops` gives the boxes around a mask that fills work on, :func:`edit_alpha`
the compositing weights with an optional feathered band, and :func:`lab_meanstd_transfer` the
one Lab mean/std colour reconciliation (a fill to its context ring; a decoded latent to the
untouched photo). A leaf module: it imports nothing from the backends that use it.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from seamline.core.arrays import as_image, as_mask
from seamline.errors import InputError
from seamline.ops.validate import frame_margin

__all__ = ["mask_crops", "merge_crops", "composite", "lab_meanstd_transfer", "match_fill_to_ring", "edit_alpha"]


def mask_crops(mask, *, context_px):
    """Boxes around the mask's components with a context margin, merged when they overlap.

    Parameters
    ----------
    mask : (H, W) float32 array in [0, 1]
        Support is ``mask > 0``.
    context_px : int
        Margin added on every side of every component (clipped at the image border).

    Returns
    -------
    list of (slice, slice)
        ``(rows, cols)`` boxes, pairwise disjoint and not touching, in raster order of
        their top-left corner. Together they contain every pixel of the support with at
        least ``context_px`` of surroundings (or the image border) around it. Empty for an
        empty mask.
    """
    support = (as_mask(mask) > 0).astype(np.uint8)
    context_px = frame_margin(context_px, "context_px", support.shape)
    n, _, stats, _ = cv2.connectedComponentsWithStats(support, connectivity=8)
    boxes = stats[1:, :4]
    # Merging two boxes can make their union overlap a third: redraw the boxes filled and
    # relabel until the number of boxes stops changing.
    while True:
        canvas = np.zeros_like(support)
        for x, y, w, h in boxes:
            c = context_px
            canvas[max(0, y - c) : y + h + c, max(0, x - c) : x + w + c] = 1
        n_merged, _, stats, _ = cv2.connectedComponentsWithStats(canvas, connectivity=8)
        merged = stats[1:, :4]
        if n_merged == n:
            break
        n, boxes, context_px = n_merged, merged, 0  # later passes merge boxes, no new margin
    order = np.lexsort((merged[:, 0], merged[:, 1]))
    return [(slice(int(y), int(y + h)), slice(int(x), int(x + w))) for x, y, w, h in merged[order]]


def merge_crops(boxes, *, context_px, shape):
    """:func:`mask_crops` from the components' bounding boxes, without a frame-sized canvas.

    Parameters
    ----------
    boxes : iterable of (y0, y1, x0, x1)
        Bounding boxes (half-open) of the mask's 8-connected components, in frame coordinates.
    context_px : int
        Margin added on every side of every box (clipped at the frame's border).
    shape : tuple of int
        ``(H, W, ...)`` of the frame.

    Returns
    -------
    list of (slice, slice)
        What :func:`mask_crops` returns for that mask: boxes grown by ``context_px``, those
        that overlap or touch (8-connected, as the filled rectangles on mask_crops' canvas)
        merged into their bounding box until none do, in raster order of their top-left
        corner.
    """
    H, W = shape[:2]
    c = frame_margin(context_px, "context_px", shape)
    rects = [[max(0, y0 - c), min(H, y1 + c), max(0, x0 - c), min(W, x1 + c)]
             for y0, y1, x0, x1 in boxes]
    while True:  # merging can make a union touch a third box: until the count settles
        groups: list[list[int]] = []
        for r in rects:
            for g in groups:
                if r[0] <= g[1] and g[0] <= r[1] and r[2] <= g[3] and g[2] <= r[3]:
                    g[0], g[1] = min(g[0], r[0]), max(g[1], r[1])
                    g[2], g[3] = min(g[2], r[2]), max(g[3], r[3])
                    break
            else:
                groups.append(list(r))
        if len(groups) == len(rects):
            break
        rects = groups
    rects.sort(key=lambda r: (r[0], r[2]))
    return [(slice(y0, y1), slice(x0, x1)) for y0, y1, x0, x1 in rects]


def composite(original, fill, mask):
    """Blend ``fill`` into ``original`` through ``mask``; exact where the mask is 0 or 1.

    ``original * (1 - m) + fill * m`` evaluated as ``original + (fill - original) * m``, but
    selected with ``np.where`` so ``m == 0`` returns the original float bit for bit and
    ``m == 1`` returns the fill bit for bit (floating-point arithmetic would not).

    Parameters
    ----------
    original, fill : (H, W, 3) float32 arrays in [0, 1]
    mask : (H, W) float32 array in [0, 1]

    Returns
    -------
    (H, W, 3) float32 array in [0, 1]
    """
    original = as_image(original, name="original")
    fill = as_image(fill, name="fill")
    if fill.shape != original.shape:
        raise InputError(f"fill: shape {fill.shape} does not match original's {original.shape}")
    m = as_mask(mask, shape=original.shape)[..., None]
    blended = np.clip(original + (fill - original) * m, 0, 1)
    return np.where(m == 0, original, np.where(m == 1, fill, blended)).astype(np.float32)


def lab_meanstd_transfer(image, region, source_px, reference_px, *, max_gain=2.0):
    """Move ``image``'s colours inside ``region`` by the Lab mean/std map source -> reference.

    Per CIELAB channel ``(x - mean_src) * gain + mean_ref`` with ``gain = std_ref / std_src``
    clipped to ``[1 / max_gain, max_gain]`` (a flat reference cannot erase texture, a busy one
    cannot blow it up); out-of-gamut results are clipped to sRGB.

    Parameters
    ----------
    image : (h, w, 3) float32 array in [0, 1]
    region : (h, w) bool array
        Only these pixels change.
    source_px, reference_px : (n, 3) float32 arrays in [0, 1]
        Pixels whose statistics define the map (they may differ from ``image[region]``: a
        latent decode is fitted on the untouched ring and applied inside the hole).
    max_gain : float, keyword-only

    Returns
    -------
    out : (h, w, 3) float32 array in [0, 1]
    stats : dict
        Lab means (3,) of the source (``mean_source``), the reference (``mean_reference``),
        the mapped source as computed (``mean_mapped``) and after clipping to sRGB
        (``mean_mapped_in_gamut``); the per-channel ``gain``.
    """
    from skimage.color import lab2rgb, rgb2lab

    lab_src = rgb2lab(np.asarray(source_px)[None])[0]
    lab_ref = rgb2lab(np.asarray(reference_px)[None])[0]
    mu_s, sd_s = lab_src.mean(0), lab_src.std(0) + 1e-6
    mu_r, sd_r = lab_ref.mean(0), lab_ref.std(0) + 1e-6
    gain = np.clip(sd_r / sd_s, 1 / max_gain, max_gain)
    out = image.copy()
    lab_in = rgb2lab(image[region][None])[0]
    mapped = (lab_src - mu_s) * gain + mu_r
    with warnings.catch_warnings():  # out-of-gamut Lab values are clipped, as intended
        warnings.simplefilter("ignore", UserWarning)
        out[region] = np.clip(lab2rgb(((lab_in - mu_s) * gain + mu_r)[None])[0], 0, 1)
        in_gamut = rgb2lab(np.clip(lab2rgb(mapped[None])[0], 0, 1)[None])[0]
    return out.astype(np.float32), {"mean_source": mu_s, "mean_reference": mu_r,
                                    "mean_mapped": mapped.mean(0),
                                    "mean_mapped_in_gamut": in_gamut.mean(0), "gain": gain}


def match_fill_to_ring(fill, original, region, *, ring_px=8, max_gain=2.0):
    """Reconcile a fill's colour to its context ring: per-channel mean/std in Lab.

    Patch and learned fills can carry a colour cast from where they copied (a darker patch
    of brick, a network's bias); a diffusion fill gets its colours from the boundary and
    needs none of this. Only pixels inside ``region`` change.

    Parameters
    ----------
    fill, original : (h, w, 3) float32 arrays in [0, 1]
    region : (h, w) bool array
        The synthesised pixels.
    ring_px : int
        Width of the context ring (pixels of ``original`` just outside ``region``).
    max_gain : float
        The std ratio is clipped to ``[1 / max_gain, max_gain]`` so a flat ring cannot erase
        the fill's texture, nor a busy one blow it up.

    Returns
    -------
    fill : (h, w, 3) float32 array in [0, 1]
    report : dict
        ``delta_e_before``/``delta_e_after``: ΔE2000 between mean colours of fill and ring.
    """
    from skimage.color import deltaE_ciede2000

    from seamline.ops.masks import context_ring

    ring = context_ring(region.astype(np.float32), ring_px)
    if not ring.any() or not region.any():
        return fill, {}
    out, st = lab_meanstd_transfer(fill, region, fill[region], original[ring], max_gain=max_gain)
    before = float(deltaE_ciede2000(st["mean_source"], st["mean_reference"]))
    after = float(deltaE_ciede2000(st["mean_mapped"], st["mean_reference"]))
    return out, {"delta_e_before": before, "delta_e_after": after}


def edit_alpha(mask, feather_px=0):
    """Compositing weights: the mask inside its support, a feathered ramp outside it.

    Inside ``mask > 0`` the weight is the mask value itself (soft values = partial edits).
    With ``feather_px`` > 0 a smooth ramp (:func:`seamline.ops.masks.feather`) continues outward
    so the fill fades into the photo instead of ending at a hard seam; every pixel farther
    than ``feather_px`` from the support keeps weight 0 and therefore its exact value.

    Parameters
    ----------
    mask : (H, W) float32 array in [0, 1]
    feather_px : int

    Returns
    -------
    (H, W) float32 array in [0, 1]
    """
    from seamline.ops.masks import feather, grow

    support = mask > 0
    if not feather_px:
        return mask.astype(np.float32)
    ramp = feather(support.astype(np.float32), feather_px)
    # the ramp reaches just past feather_px at non-integer distances: cut it at the disk
    # grown by feather_px, which is what "farther than feather_px" means everywhere else
    within = grow(support.astype(np.float32), feather_px) > 0
    return np.where(support, mask, np.where(within, ramp, 0)).astype(np.float32)
