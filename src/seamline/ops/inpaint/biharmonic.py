"""Biharmonic fill: the smoothest surface through the hole's border values and slopes.

A diffusion fill that continues *gradients*, not only values: where a defocused petal's soft
edge crosses a title, Telea's fronts meet in a crease along the hole's middle (the smear
judge's seam) and FSR's blockwise bases cut the edge flat, while the biharmonic surface
carries the blurred edge's slope across. Over defocus (no fine grain in the photo around
the hole) that is what a person expects; it keeps no texture, and it carries whatever the
hole's border holds inward too (a glow's halo left outside a text mask became a dark band on
a held-out photo), so ``remove-text``'s auto fill does not choose it: it is there for
``--backend biharmonic``.

scikit-image's ``inpaint_biharmonic`` (one sparse solve per hole component, float64).
"""

from __future__ import annotations

import numpy as np

__all__ = ["biharmonic_fill"]


def biharmonic_fill(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` in ``crop`` with the biharmonic surface of each channel.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The photo around the hole (two known pixels or more beside every hole pixel give
        the surface its slope).
    hole : ndarray, shape (h, w), bool
        Pixels to synthesise.

    Returns
    -------
    ndarray, shape (h, w, 3), float32 in [0, 1]
        ``crop`` outside ``hole``; the surface, clipped to [0, 1], inside.
    """
    from skimage.restoration import inpaint_biharmonic

    hole = np.asarray(hole, bool)
    out = np.array(crop, np.float32, copy=True)
    if not hole.any():
        return out
    filled = inpaint_biharmonic(crop.astype(np.float64), hole, channel_axis=-1)
    out[hole] = np.clip(filled[hole], 0.0, 1.0)
    return out
