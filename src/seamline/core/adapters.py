"""Adapters: small, auditable fixes the runner inserts at a handoff under the ``reconcile`` policy.

Each adapter is a plain function ``(value, port) -> (value, params)`` registered under the id
that a contract rule names (see ``seamline.core.contracts``). ``params`` records what the adapter did
(threshold used, pixels removed, padding added) so the manifest can show it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from seamline.core.contracts import PortSpec

Adapter = Callable[[Any, PortSpec], tuple[Any, dict]]


def to_float32(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Convert any supported dtype to float32 in [0, 1] through the conversion module."""
    from seamline.core.arrays import as_image, as_mask

    before = str(np.asarray(value).dtype)
    out = as_image(value, name=port.kind) if port.kind == "image" else as_mask(value, name=port.kind)
    return out, {"from_dtype": before}


def clip(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Clip values into the port's range (overshoot from resampling or blending)."""
    lo, hi = port.value_range
    n = int(np.count_nonzero((value < lo) | (value > hi)))
    return np.clip(value, lo, hi).astype(np.float32, copy=False), {"clipped_values": n,
                                                                   "range": [lo, hi]}


def pad_to_multiple(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Reflect-pad bottom and right edges up to the port's size multiple."""
    m = port.size_multiple
    h, w = value.shape[:2]
    ph, pw = (-h) % m, (-w) % m
    pad = ((0, ph), (0, pw)) + ((0, 0),) * (value.ndim - 2)
    return np.pad(value, pad, mode="reflect" if min(h, w) > 1 else "edge"), {
        "pad_bottom": ph, "pad_right": pw}


def binarize(value: np.ndarray, port: PortSpec, threshold: float = 0.5) -> tuple[np.ndarray, dict]:
    """Threshold a soft mask for a receiver that needs a binary one."""
    soft = int(np.count_nonzero((value > 0) & (value < 1)))
    return (value >= threshold).astype(np.float32), {"threshold": threshold, "soft_pixels": soft}


def remove_specks(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Drop mask components smaller than the port's ``min_component_px``."""
    from seamline.ops.masks import remove_specks as _remove_specks

    out = _remove_specks(value, min_area_px=port.min_component_px)
    removed = int(np.count_nonzero(value > 0) - np.count_nonzero(out > 0))
    return out, {"min_area_px": port.min_component_px, "pixels_removed": removed}


def _expected_max(port: PortSpec, stat: str) -> float | None:
    return next((e.max for e in port.expects if e.stat == stat), None)


def denoise(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Denoise down to the noise level the receiving port declares (``noise_sigma`` max)."""
    from seamline.ops.noise import denoise as _denoise, estimate_noise

    target = _expected_max(port, "noise_sigma") or 0.0
    sigma = float(estimate_noise(value))
    # aim below the limit so the re-measured value passes with some margin
    return _denoise(value, sigma=sigma, target_sigma=0.5 * target), {
        "sigma_in": sigma, "target_sigma": 0.5 * target}


def deblock(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Smooth JPEG 8x8 block boundaries for a receiver that declares a blockiness limit."""
    from seamline.ops.noise import deblock as _deblock, estimate_blockiness

    b = float(estimate_blockiness(value))
    return _deblock(value), {"blockiness_in": b}


def recenter(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Re-centre latents per channel onto the receiving port's profile.

    ``(x - mean) / std * target_std + target_mean`` per channel, with ``mean``/``std`` measured
    on the incoming latents (population std) and the targets from ``port.profile`` (the
    receiving model's calibration). Computed in float64 and stored as float32, so the
    re-measured statistics hit the targets to ~1e-6. A constant channel (std 0) is only
    shifted. The provenance is kept and gains a ``recentered`` entry.
    """
    from seamline.core.artifacts import Latents

    target = port.profile
    lat = value if isinstance(value, Latents) else Latents(value)
    x = lat.data.astype(np.float64)
    flat = x.reshape(x.shape[0], -1)
    mean, std = flat.mean(axis=1), flat.std(axis=1)
    t_mean, t_std = np.asarray(target.mean, np.float64), np.asarray(target.std, np.float64)
    scale = np.where(std > 0, t_std / np.where(std > 0, std, 1.0), 1.0)
    out = ((x - mean[:, None, None]) * scale[:, None, None] + t_mean[:, None, None])
    params = {"mean_in": [round(float(v), 6) for v in mean],
              "std_in": [round(float(v), 6) for v in std],
              "target_mean": [float(v) for v in t_mean], "target_std": [float(v) for v in t_std],
              "profile": target.source}
    return lat.replace(out.astype(np.float32), recentered={
        "profile": target.source, "mean_in": params["mean_in"], "std_in": params["std_in"]}), params


def translate(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Carry a prompt embedding from its encoder's space into the receiving encoder's.

    The map is the one in ``port.encoder.maps`` fitted from exactly the embedding's encoder
    to the receiver's (fingerprints compared, see :func:`seamline.translate.find_map`). The
    result has the receiver's per-token shape and metadata naming the receiving encoder, with
    ``translated_from`` recording the source encoder and the map.
    """
    from seamline.core.artifacts import Embedding
    from seamline.translate import find_map, translate_embedding

    target = port.encoder
    emb = value if isinstance(value, Embedding) else Embedding(np.asarray(value))
    meta = emb.metadata
    m, path = find_map(target.maps, source_id=meta.get("encoder"), target_id=target.id,
                       source_name=meta.get("encoder_name"), target_name=target.name)
    out = translate_embedding(emb.data.reshape(-1), m, source_id=meta.get("encoder"),
                              target_id=target.encoder).reshape(target.shape)
    heldout = m.params.get("heldout") or {}
    params = {"map": path, "method": m.method, "source": m.source_name, "target": m.target_name,
              "source_dim": m.source_dim, "target_dim": m.target_dim,
              "heldout_cosine": heldout.get("cosine"), "heldout_top1": heldout.get("top1"),
              "heldout_baseline_top1": heldout.get("baseline_top1")}
    new_meta = {**meta, **target.encoder.identity(),
                "translated_from": {"encoder": meta.get("encoder"),
                                    "encoder_name": meta.get("encoder_name"),
                                    "pooling": meta.get("pooling"), "map": path,
                                    "method": m.method}}
    return Embedding(out, new_meta), params


ADAPTERS: dict[str, Adapter] = {
    "recenter": recenter,
    "translate": translate,
    "denoise": denoise,
    "deblock": deblock,
    "to_float32": to_float32,
    "clip": clip,
    "pad_to_multiple": pad_to_multiple,
    "binarize": binarize,
    "remove_specks": remove_specks,
}
