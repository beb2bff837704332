"""Classical inpainting with a paste-back guarantee.

Only the neighbourhood of the mask is processed (crops with a context margin, merged when
they overlap), so a small edit in a large photo stays fast. Whatever the backend does, the
result is composited so that every pixel with ``mask == 0`` is bit-identical to the input:
the "unmasked pixels changed" class of bugs cannot happen here.

Backends are plain functions in a registry, ``name -> fill(crop, hole, radius) -> crop``:

- ``crop``: ``(h, w, 3) float32`` in [0, 1]
- ``hole``: ``(h, w) uint8``, 255 where the pixel must be synthesised
- ``radius``: neighbourhood radius in pixels (backend-specific meaning)
- returns ``(h, w, 3) float32`` in [0, 1]; values outside the hole are ignored.
"""

from __future__ import annotations

import math
import numbers

import cv2
import numpy as np

from seamline.errors import InputError, StageError
from seamline.imageio import as_image, as_mask, to_uint16
from seamline.masks import _nonneg_int

__all__ = ["BACKENDS", "inpaint", "composite", "mask_crops"]


def _opencv(flag):
    def fill(crop, hole, radius):
        # cv2.inpaint takes 3-channel input only as 8-bit, but 1-channel as 16-bit. Both
        # methods fill each channel independently (the marching order depends on the hole
        # only), so per-channel 16-bit gives the 3-channel result without 8-bit
        # quantisation: 16-bit sources survive. (1-channel float32 is accepted too but the
        # Telea path overshoots wildly on [0, 1] data, so 16-bit it is.)
        q = to_uint16(crop)
        out = [cv2.inpaint(np.ascontiguousarray(q[..., c]), hole, radius, flag) for c in range(3)]
        return as_image(np.stack(out, axis=-1))

    return fill


_FILLERS = {
    "telea": _opencv(cv2.INPAINT_TELEA),  # fast marching, weighted by distance and direction
    "ns": _opencv(cv2.INPAINT_NS),  # Navier-Stokes: continues isophotes into the hole
}
BACKENDS = tuple(_FILLERS)


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
    context_px = _nonneg_int(context_px, "context_px")
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


def inpaint(image, mask, *, backend="telea", radius=3, context_px=None):
    """Fill the masked region from its surroundings, touching nothing else.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1]
    mask : (H, W) float32 array in [0, 1]
        Every pixel with ``mask > 0`` is synthesised; the result is then composited with
        :func:`composite`, so soft values blend fill and original.
    backend : str
        One of :data:`BACKENDS`.
    radius : float
        Neighbourhood radius in pixels, > 0 (OpenCV's ``inpaintRadius``).
    context_px : int, optional
        Margin of surroundings cropped around each mask component. Default
        ``ceil(radius) + 2``: the OpenCV methods read only known pixels within ``radius`` of
        the hole, so this reproduces the full-image result exactly.

    Returns
    -------
    (H, W, 3) float32 array in [0, 1]
        Bit-identical to ``as_image(image)`` wherever ``mask == 0``. An empty mask returns
        a copy.

    Raises
    ------
    InputError
        Unknown backend, bad radius / context_px, or malformed arrays.
    StageError
        The mask covers the whole image: nothing to fill from.
    """
    if backend not in _FILLERS:
        raise InputError(f"backend: unknown inpainting backend {backend!r}; known: {', '.join(BACKENDS)}")
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not 0 < radius < math.inf:
        raise InputError(f"radius: expected a positive number, got {radius!r}")
    context_px = math.ceil(radius) + 2 if context_px is None else _nonneg_int(context_px, "context_px")
    image = as_image(image)
    mask = as_mask(mask, shape=image.shape)

    hole = mask > 0
    if not hole.any():
        return image.copy()
    if hole.all():
        raise StageError("inpaint: mask covers the whole image; nothing to fill from")

    out = image.copy()
    hole_u8 = hole.astype(np.uint8) * 255
    for box in mask_crops(mask, context_px=context_px):
        if hole[box].all():
            raise StageError(
                f"inpaint: no known pixels within context_px {context_px} of the mask; increase context_px"
            )
        # Clip before composite's range check: a backend overshoot is not the user's input error.
        fill = np.clip(_FILLERS[backend](image[box], hole_u8[box], float(radius)), 0, 1)
        out[box] = composite(image[box], fill, mask[box])  # mask is 0 outside the boxes
    return out
