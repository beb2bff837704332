"""Scoring a map on held-out prompts against the naive hand-over, and the one-call workflow.

- :func:`evaluate_map`: mean cosine and top-1 retrieval of the mapped vectors, against the
  naive baseline (identity, truncate or zero-pad) and the constant-mean floor.
- :func:`fit_and_evaluate`: split the prompts, embed them with both encoders, fit on one
  part, score on the other; the map records the report and its training prompts' hashes.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from seamline.errors import InputError
from seamline.translate.encoders import load_encoder
from seamline.translate.fit import fit_map
from seamline.translate.maps import METHODS, EmbeddingMap
from seamline.translate.prompts import load_prompts, prompt_hash, split_prompts

__all__ = ["evaluate_map", "naive_baseline", "count_seen_in_fit", "fit_and_evaluate"]


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def _cos_top1(P: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    Pu, Yu = _unit(P), _unit(Y)
    cos = float(np.mean(np.sum(Pu * Yu, axis=1)))
    sims = Pu @ Yu.T
    top1 = float(np.mean(np.argmax(sims, axis=1) == np.arange(len(Y))))
    return cos, top1


def naive_baseline(X, target_dim: int) -> tuple[np.ndarray, str]:
    """What a pipeline without a map would hand over: the source vector, made to fit.

    Identity when the dims match; otherwise truncated to the first ``target_dim`` values or
    zero-padded to ``target_dim``. Returns ``(Y_naive, kind)``.
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    if d == target_dim:
        return X, "identity"
    if d > target_dim:
        return X[:, :target_dim], "truncate"
    return np.pad(X, ((0, 0), (0, target_dim - d))), "zero-pad"


def evaluate_map(m: EmbeddingMap, X_test, Y_test) -> dict:
    """Score a map on held-out pairs against baselines.

    Parameters
    ----------
    m : EmbeddingMap
    X_test : array_like
        ``(n, source_dim)`` source embeddings of prompts *not* used to fit ``m``.
    Y_test : array_like
        ``(n, target_dim)`` target embeddings of the same prompts.

    Returns
    -------
    dict
        - ``cosine``: mean cosine(``m.apply(x_i)``, ``y_i``).
        - ``top1``: fraction of prompts whose mapped vector is closest (cosine) to its own
          target among all ``n`` test targets.
        - ``cosine_centred``: the mean cosine after subtracting the map's training target mean
          from both; it measures the prompt-specific part (anisotropic spaces such as CLIP's
          make raw cosines high for any vector near the mean).
        - ``baseline``, ``baseline_cosine``, ``baseline_top1``: the naive hand-over (see
          :func:`naive_baseline`: identity, truncate or zero-pad).
        - ``mean_cosine``: cosine of a constant prediction (the training target mean): the
          floor any map must clear on ``cosine``.
        - ``chance_top1``: ``1/n``.
        - ``n``.
    """
    X = np.asarray(X_test, dtype=np.float32)
    Y = np.asarray(Y_test, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise InputError(f"X_test and Y_test must be 2-D with the same rows; got {X.shape} and "
                         f"{Y.shape}")
    if Y.shape[1] != m.target_dim:
        raise InputError(f"target embeddings have dim {Y.shape[1]} but the map produces dim "
                         f"{m.target_dim}")
    if len(X) < 2:
        raise InputError(f"need at least 2 held-out pairs to evaluate; got {len(X)}")
    P = m.apply(X).astype(np.float64)
    cos, top1 = _cos_top1(P, Y)
    ym = m.tensors["y_mean"].astype(np.float64)
    cos_c = float(np.mean(np.sum(_unit(P - ym) * _unit(Y - ym), axis=1)))
    B, kind = naive_baseline(X, m.target_dim)
    b_cos, b_top1 = _cos_top1(B, Y)
    mean_cos = float(np.mean(_unit(Y) @ _unit(ym)))
    return {"n": int(len(X)), "method": m.method, "cosine": cos, "top1": top1,
            "cosine_centred": cos_c, "baseline": kind, "baseline_cosine": b_cos,
            "baseline_top1": b_top1, "mean_cosine": mean_cos, "chance_top1": 1.0 / len(X)}


def count_seen_in_fit(m: EmbeddingMap, prompts: Sequence[str]) -> int | None:
    """How many of ``prompts`` the map was fitted on (``None`` when the map has no record)."""
    if not m.train_hashes:
        return None
    seen = set(m.train_hashes)
    return sum(prompt_hash(p) in seen for p in prompts)


def fit_and_evaluate(source, target, prompts, *, method: str = "ridge", holdout: float = 0.2,
                     seed: int = 0, alpha="auto", batch_size: int = 64,
                     device: str = "cpu", progress: bool | None = False
                     ) -> tuple[EmbeddingMap, dict]:
    """Split prompts, embed them with both encoders, fit on one part, score on the other.

    Parameters
    ----------
    source, target : Encoder or str
        Encoders or :func:`load_encoder` specs.
    prompts : sequence of str, path or None
        Prompts, a prompts file, or ``None`` for the shipped corpus.
    method : {"ridge", "procrustes", "mlp"}
    holdout : float
        Fraction of the unique prompts held out for evaluation.
    seed : int
        Split (and MLP) seed.
    alpha : float or "auto"
        See :func:`fit_map`.
    progress : bool or None
        Progress bars while embedding (see :meth:`Encoder.encode`).

    Returns
    -------
    (EmbeddingMap, dict)
        The map fitted on the training prompts (its ``params["heldout"]`` holds the report)
        and the report: :func:`evaluate_map`'s numbers plus encoder names, ids and dims,
        ``n_train`` and ``holdout``.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if prompts is None or isinstance(prompts, (str, os.PathLike)):
        prompts = load_prompts(prompts)
    train, test = split_prompts(prompts, holdout, seed)
    enc_a = load_encoder(source, device=device)
    enc_b = load_encoder(target, device=device)
    Xa = enc_a.encode(train + test, batch_size=batch_size, progress=progress)
    Yb = enc_b.encode(train + test, batch_size=batch_size, progress=progress)
    n = len(train)
    m = fit_map(Xa[:n], Yb[:n], method=method, alpha=alpha, seed=seed, source=enc_a,
                target=enc_b)
    report = evaluate_map(m, Xa[n:], Yb[n:])
    report.update(source=enc_a.name, target=enc_b.name, source_id=enc_a.id,
                  target_id=enc_b.id, source_dim=enc_a.dim, target_dim=enc_b.dim,
                  n_train=n, holdout=float(holdout), seed=int(seed),
                  alpha=m.params.get("alpha"))
    m.params["heldout"] = {k: report[k] for k in ("n", "cosine", "top1", "cosine_centred",
                                                  "baseline", "baseline_cosine",
                                                  "baseline_top1", "mean_cosine")}
    m.params["holdout"], m.params["split_seed"] = float(holdout), int(seed)
    m.train_hashes = [prompt_hash(p) for p in train]
    return m, report
