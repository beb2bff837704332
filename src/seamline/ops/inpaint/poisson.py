"""Poisson image editing's guided interpolation (Perez et al. 2003) on a set of pixels: the
one sparse system the gradient-domain fills build.

:func:`guided_solve` solves, for every unknown pixel ``p``,
``tie * (u_p - target_p) + sum_q (u_p - u_q) = sum_q rhs_pq`` over the 4-neighbours ``q``
whose edge the caller uses, a known ``q``'s value (and any guidance across the edge) being in
``rhs_pq``; an edge not used is free (no constraint across it). Callers:

* :func:`seamline.ops.inpaint.exemplar.exemplar_fill`'s seamless paste: the correction of
  the copied pixels, every in-frame edge used, the source's own step across the hole border
  as guidance there;
* :func:`seamline.ops.inpaint.edge_first.edge_fill`'s bands along a polynomial curve: the
  band's colours, its drawn steps as guidance, pinned to the known pixels that differ from
  the drawn colour by a change of light, tied weakly to the drawn colour.

numpy, OpenCV and scipy.sparse.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

__all__ = ["NEIGHBOURS", "SOLVE_GROUP_PX", "guided_solve"]

#: The 4-neighbour offsets ``(dy, dx)``, in the order the edges are visited.
NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))
#: Unknowns per sparse solve: SuperLU's factors of a stroke-shaped hole hold ~1 KB an unknown
#: (190 MB for a 24 MP title's 0.2 MP hole, twice the exemplar fill's EM buffers).
SOLVE_GROUP_PX = 1 << 16


def guided_solve(unknown: np.ndarray, edge: Callable, channels: int, *, tie: float = 0.0,
                 target: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the guided interpolation on ``unknown``'s pixels.

    Parameters
    ----------
    unknown : ndarray, shape (h, w), bool
        The pixels solved for.
    edge : callable
        ``edge(yp, xp, yq, xq) -> (use, rhs)`` for one neighbour direction
        (:data:`NEIGHBOURS`' order) at a time: ``(yp, xp)`` the unknown pixels (int arrays,
        shape (m,), raster order) that have an in-frame neighbour ``(yq, xq)`` that way.
        ``use`` (m,) bool: the edges that constrain ``p`` (an unused edge is free);
        ``rhs`` (m, channels) float: what each used edge adds to ``p``'s right-hand side
        (the guidance ``u_p - u_q`` wanted across it, plus ``u_q`` where ``q`` is known).
    channels : int
        Values per pixel (3 for RGB).
    tie : float, keyword-only
        Weight of each unknown's tie to ``target`` (0: none; a 4-neighbour edge weighs 1).
    target : ndarray, shape (h, w, channels), optional, keyword-only
        The values the tie pulls towards (needed when ``tie`` is not 0: ValueError).

    Returns
    -------
    ys, xs : ndarray, shape (n,), int
        The unknown pixels, raster order (``np.nonzero(unknown)``).
    values : ndarray, shape (n, channels), float64
        The solution at them (not clipped; shape (0, channels) when ``unknown`` is empty).
        The system links a pixel to its 4-neighbours
        only, so it is solved a group of 4-connected components of about
        :data:`SOLVE_GROUP_PX` unknowns at a time (the same solution; memory follows the
        group, not the whole hole).
    """
    if tie and target is None:
        raise ValueError("guided_solve: a tie needs its target")
    h, w = unknown.shape
    ys, xs = np.nonzero(unknown)
    n = ys.size
    if n == 0:  # nothing to solve (an empty system would not reshape)
        return ys, xs, np.zeros((0, channels))
    idx = np.full((h, w), -1, np.int32 if n < 2**31 else np.int64)
    idx[ys, xs] = np.arange(n)
    diag = np.full(n, float(tie))
    rhs = (np.zeros((n, channels)) if not tie
           else tie * target[ys, xs].astype(np.float64))
    rows, cols = [], []
    for dy, dx in NEIGHBOURS:
        yq, xq = ys + dy, xs + dx
        i = np.flatnonzero((yq >= 0) & (yq < h) & (xq >= 0) & (xq < w))
        yq, xq = yq[i], xq[i]
        use, add = edge(ys[i], xs[i], yq, xq)
        diag[i[use]] += 1
        rhs[i[use]] += add[use]  # one edge a pixel per direction: no repeated index
        link = use & unknown[yq, xq]
        rows.append(i[link])
        cols.append(idx[yq[link], xq[link]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    a = coo_matrix(
        (np.concatenate([diag, -np.ones(rows.size)]),
         (np.concatenate([np.arange(n), rows]), np.concatenate([np.arange(n), cols]))),
        shape=(n, n),
    ).tocsc()
    return ys, xs, _solve_by_components(a, rhs, unknown, ys, xs)


def _solve_by_components(a, rhs, unknown, ys, xs):
    """``spsolve(a, rhs)`` a group of ``unknown``'s 4-connected components at a time (the
    system is block-diagonal over them, so each group solves exactly on its own). Components
    join groups of about ``SOLVE_GROUP_PX`` unknowns in label order (a smaller set is one
    solve)."""
    if ys.size <= SOLVE_GROUP_PX:
        return spsolve(a, rhs, permc_spec="MMD_AT_PLUS_A").reshape(ys.size, -1)
    lab = cv2.connectedComponents(unknown.astype(np.uint8), connectivity=4,
                                  ltype=cv2.CV_32S)[1][ys, xs]
    of = (np.cumsum(np.bincount(lab)) // SOLVE_GROUP_PX)[lab]  # group of every unknown
    out = np.empty((ys.size, rhs.shape[1]))
    for k in np.unique(of):
        sel = np.flatnonzero(of == k)  # raster order, as in the whole system
        out[sel] = spsolve(a[sel][:, sel], rhs[sel], permc_spec="MMD_AT_PLUS_A").reshape(
            sel.size, -1)
    return out
