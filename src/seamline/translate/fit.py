"""Fitting a map from encoder A's embedding space to encoder B's, on paired prompts.

:func:`fit_map`: ridge (closed form, centred, strength chosen by exact leave-one-out),
scaled orthogonal Procrustes (PCA to the smaller dimension when the dims differ), or a small
residual MLP (torch, seeded, early stopping). Returns an
:class:`~seamline.translate.maps.EmbeddingMap`.
"""

from __future__ import annotations

import numpy as np

from seamline.errors import InputError
from seamline.translate.maps import METHODS, EmbeddingMap

__all__ = ["fit_map", "RIDGE_GRID", "MAX_MAP_VALUES"]

# Relative ridge strengths tried by leave-one-out (times the mean eigenvalue of the centred
# Gram matrix).
RIDGE_GRID = tuple(float(a) for a in np.logspace(-5, 2, 15))
#: Largest map (source dim x target dim weights) fit_map builds: 2 GiB of float32. A pooled
#: source into SD 1.5's 77 x 768 conditioning is 768 x 59136 (0.17 GiB); per-token states on
#: both sides would be tens of GiB.
MAX_MAP_VALUES = 1 << 29


def _check_pairs(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2:
        raise InputError(f"X and Y must be 2-D (n, dim); got shapes {X.shape} and {Y.shape}")
    if X.shape[0] != Y.shape[0]:
        raise InputError(f"X and Y must pair row for row; got {X.shape[0]} and {Y.shape[0]} "
                         "rows")
    if X.shape[0] < 3:
        raise InputError(f"need at least 3 paired embeddings to fit a map; got {X.shape[0]}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise InputError("X or Y has non-finite values")
    return X, Y


def fit_map(X, Y, *, method: str = "ridge", alpha="auto", seed: int = 0,
            hidden: int = 256, max_epochs: int = 300, source=None, target=None) -> EmbeddingMap:
    """Fit a map from source embeddings ``X`` to target embeddings ``Y`` (paired by row).

    Parameters
    ----------
    X : array_like
        ``(n, d_a)`` source embeddings.
    Y : array_like
        ``(n, d_b)`` target embeddings of the same prompts.
    method : {"ridge", "procrustes", "mlp"}
        - ``"ridge"``: ``W = (Xcᵀ Xc + λ I)⁻¹ Xcᵀ Yc`` on centred data, intercept from the
          means. ``λ = alpha × mean eigenvalue of Xcᵀ Xc`` so ``alpha`` is scale-free;
          ``alpha="auto"`` picks it by exact leave-one-out error over :data:`RIDGE_GRID`
          (closed form from one SVD).
        - ``"procrustes"``: scaled orthogonal Procrustes on centred data, ``y = s · x R``
          with ``RᵀR = I``. When ``d_a != d_b`` both sides are first reduced by PCA (fitted
          on the training data) to ``k = min(d_a, d_b, n - 1)`` components; the rotation is
          fitted between the PCA coordinates and the map composed back to ``d_a -> d_b``
          (so the target is only reconstructed within its top-``k`` principal subspace).
        - ``"mlp"``: ridge map plus a residual MLP (``d_a -> hidden -> d_b``, GELU) on
          standardised data, torch, seeded; the residual starts at zero, so training starts
          from the ridge solution; 15% of the rows are held out for early stopping
          (patience 15 epochs) and the best validation state is kept.
    alpha : float or "auto"
        Relative ridge strength (ridge, and the MLP's linear part).
    seed : int
        Seed for the MLP's initialisation, batches and validation split.
    hidden, max_epochs : int
        MLP size and epoch limit.
    source, target : Encoder, optional
        Recorded in the map (ids, names) for provenance and for checks on use.

    Returns
    -------
    EmbeddingMap

    Raises
    ------
    InputError
        Unknown method, mismatched rows, fewer than 3 pairs, non-finite values.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    X, Y = _check_pairs(X, Y)
    if X.shape[1] * Y.shape[1] > MAX_MAP_VALUES:
        raise InputError(f"a map from dim {X.shape[1]} to dim {Y.shape[1]} would hold "
                         f"{X.shape[1] * Y.shape[1] * 4 / 2**30:.1f} GiB of weights; embed the "
                         "source with a pooled vector (source_pooling=POOLING: auto, mean or "
                         "pooled), not per-token states")
    params: dict = {"n_train": int(X.shape[0]), "seed": int(seed)}
    if method == "ridge":
        x_mean, y_mean, W, a = _ridge(X, Y, alpha)
        params["alpha"] = a
        tensors = {"x_mean": x_mean, "y_mean": y_mean, "weight": W}
    elif method == "procrustes":
        x_mean, y_mean, W, info = _procrustes(X, Y)
        params.update(info)
        tensors = {"x_mean": x_mean, "y_mean": y_mean, "weight": W}
    else:
        tensors, info = _mlp(X, Y, alpha=alpha, seed=seed, hidden=hidden, max_epochs=max_epochs)
        params.update(info)
    return EmbeddingMap(method, tensors, params=params,
                        source_id=getattr(source, "id", None),
                        target_id=getattr(target, "id", None),
                        source_name=getattr(source, "name", None),
                        target_name=getattr(target, "name", None))


def _ridge(X, Y, alpha):
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc, Yc = X - x_mean, Y - y_mean
    n, d = Xc.shape
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    s2 = s ** 2
    scale = max(float(s2.sum()) / d, 1e-12)  # mean eigenvalue of Xcᵀ Xc over d dims
    UtY = U.T @ Yc
    if alpha == "auto":
        # Exact leave-one-out error from the one SVD: e_i = r_i / (1 - h_ii), with h_ii the
        # hat-matrix diagonal (1/n for the intercept). GCV is cheaper but fails when
        # n <= d_a: near-interpolating fits drive its denominator and numerator to zero
        # together and it picks the weakest regularisation.
        U2 = U ** 2
        best = None
        for a in RIDGE_GRID:
            f = s2 / (s2 + a * scale)  # shrinkage of each singular direction
            resid = Yc - U @ (f[:, None] * UtY)
            h = 1.0 / n + U2 @ f
            loo = float(((resid / np.maximum(1.0 - h, 1e-9)[:, None]) ** 2).sum())
            if best is None or loo < best[0]:
                best = (loo, a)
        alpha = best[1]
    alpha = float(alpha)
    if not alpha >= 0:
        raise InputError(f"alpha must be >= 0 or 'auto'; got {alpha}")
    lam = alpha * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(s2 + lam > 0, s / (s2 + lam), 0.0)
    W = Vt.T @ (g[:, None] * UtY)
    return x_mean, y_mean, W, alpha


def _pca_basis(Zc: np.ndarray, k: int) -> np.ndarray:
    _, _, Vt = np.linalg.svd(Zc, full_matrices=False)
    return Vt[:k].T  # (d, k), orthonormal columns


def _procrustes(X, Y):
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc, Yc = X - x_mean, Y - y_mean
    n, da = Xc.shape
    db = Yc.shape[1]
    if da == db and n > da:
        Pa = Pb = None
        A, B = Xc, Yc
    else:
        k = min(da, db, n - 1)
        Pa, Pb = _pca_basis(Xc, k), _pca_basis(Yc, k)
        A, B = Xc @ Pa, Yc @ Pb
    U, s, Vt = np.linalg.svd(A.T @ B)
    R = U @ Vt
    scale = float(s.sum() / max((A ** 2).sum(), 1e-12))  # least-squares global scale
    W = R * scale
    if Pa is not None:
        W = Pa @ W @ Pb.T
    return x_mean, y_mean, W, {"scale": scale, "pca_dim": None if Pa is None else int(A.shape[1])}


def _mlp(X, Y, *, alpha, seed, hidden, max_epochs):
    try:
        import torch
    except ImportError:
        raise InputError("method 'mlp' needs torch; install seamline's torch extra") from None
    n = X.shape[0]
    if n < 10:
        raise InputError(f"method 'mlp' needs at least 10 pairs (15% go to validation); got {n}")
    x_mean, y_mean = X.mean(0), Y.mean(0)
    # Scalar scales keep the geometry (cosines) of each space while putting both near unit
    # variance, so one learning rate fits any pair of encoders.
    x_scale = float(np.sqrt(((X - x_mean) ** 2).sum(1).mean())) or 1.0
    y_scale = float(np.sqrt(((Y - y_mean) ** 2).sum(1).mean())) or 1.0
    Z, T = (X - x_mean) / x_scale, (Y - y_mean) / y_scale
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = max(2, int(round(0.15 * n)))
    val, tr = perm[:n_val], perm[n_val:]
    _, _, W, a = _ridge(Z[tr], T[tr], alpha)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        lin = torch.nn.Linear(Z.shape[1], T.shape[1])
        fc1 = torch.nn.Linear(Z.shape[1], hidden)
        fc2 = torch.nn.Linear(hidden, T.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.astype(np.float32)))
            lin.bias.copy_(torch.from_numpy((T[tr].mean(0) - Z[tr].mean(0) @ W)
                                            .astype(np.float32)))
            fc2.weight.zero_()
            fc2.bias.zero_()
        mods = torch.nn.ModuleDict({"lin": lin, "fc1": fc1, "fc2": fc2})

        def forward(z):
            return mods["lin"](z) + mods["fc2"](torch.nn.functional.gelu(mods["fc1"](z)))

        zt, tt = torch.from_numpy(Z.astype(np.float32)), torch.from_numpy(T.astype(np.float32))
        opt = torch.optim.AdamW(mods.parameters(), lr=1e-3, weight_decay=1e-4)
        gen = torch.Generator().manual_seed(seed)
        tr_t, val_t = torch.from_numpy(tr), torch.from_numpy(val)

        def val_loss():
            with torch.no_grad():
                return float(((forward(zt[val_t]) - tt[val_t]) ** 2).sum(1).mean())

        best, best_state, best_epoch, bad, epochs = val_loss(), None, 0, 0, 0
        best_state = {k: v.detach().clone() for k, v in mods.state_dict().items()}
        start_loss = best
        for epoch in range(1, max_epochs + 1):
            epochs = epoch
            order = tr_t[torch.randperm(len(tr_t), generator=gen)]
            for i in range(0, len(order), 128):
                b = order[i:i + 128]
                loss = ((forward(zt[b]) - tt[b]) ** 2).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            v = val_loss()
            if v < best - 1e-6:
                best, best_epoch, bad = v, epoch, 0
                best_state = {k: t.detach().clone() for k, t in mods.state_dict().items()}
            else:
                bad += 1
                if bad >= 15:
                    break
        tensors = {k: t.numpy() for k, t in best_state.items()}
    tensors.update(x_mean=x_mean, y_mean=y_mean, x_scale=np.array([x_scale]),
                   y_scale=np.array([y_scale]))
    return tensors, {"alpha": a, "hidden": int(hidden), "epochs": epochs,
                     "best_epoch": best_epoch, "val_loss_start": start_loss,
                     "val_loss_best": best, "n_val": int(n_val)}


