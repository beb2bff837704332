"""What the diffusion domain contributes to stage handoffs: the ``recenter`` adapter for latents,
registered with the core on import (``seamline.stages`` imports this module)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seamline.core.adapters import register_adapter
from seamline.core.artifacts import Latents
from seamline.core.contracts import PortSpec


def recenter(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Re-centre latents per channel onto the receiving port's profile.

    ``(x - mean) / std * target_std + target_mean`` per channel, with ``mean``/``std`` measured
    on the incoming latents (population std) and the targets from ``port.profile`` (the
    receiving model's calibration). Computed in float64 and stored as float32, so the
    re-measured statistics hit the targets to ~1e-6. A constant channel (std 0) is only
    shifted. The provenance is kept and gains a ``recentered`` entry.
    """
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


register_adapter("recenter", recenter)
