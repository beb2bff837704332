"""Adapters: small, auditable fixes the runner inserts at a handoff under the ``reconcile`` policy.

Each adapter is a plain function ``(value, port) -> (value, params)`` registered under the id
that a contract rule names (see ``seamline.core.contracts``). ``params`` records what the adapter
did (threshold used, pixels removed, padding added) so the manifest can show it.

The core registers the generic ones (``to_float32``, ``to_rgb``, ``clip``,
``pad_to_multiple``, ``binarize``); a domain registers its own with :func:`register_adapter` when it is imported
(``seamline.stages`` imports them all): ``denoise``, ``deblock``, ``remove_specks`` from
``seamline.ops.handoffs``, ``recenter`` from ``seamline.diffusion.handoffs``, ``translate``
from ``seamline.translate.target``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from seamline.core.arrays import as_image, as_mask, rgb_view
from seamline.core.contracts import PortSpec
from seamline.errors import ContractError

Adapter = Callable[[Any, PortSpec], tuple[Any, dict]]


def to_float32(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Convert any supported dtype to float32 in [0, 1] through the conversion module."""
    before = str(np.asarray(value).dtype)
    convert = as_image if port.kind == "image" else as_mask
    return convert(value, name=port.kind), {"from_dtype": before}


def to_rgb(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Show a grey ``(H, W)`` image as ``(H, W, 3)`` to a stage that needs RGB.

    Lossless (R = G = B = the grey value, bit for bit), so the runner applies it under every
    policy; it is the only place a grey artifact becomes RGB inside a pipeline. A float32
    grey image becomes a read-only view (:func:`~seamline.core.arrays.rgb_view`: no copy, so
    a grey page handed to five RGB stages costs its one channel); other dtypes a copy.
    """
    a = np.asarray(value)
    if a.ndim == 2 and a.dtype == np.float32:
        return rgb_view(a), {"channels": [1, 3], "copy": False}
    return as_image(value, name=port.kind), {"channels": [1, 3]}


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


#: Registered adapters by id.
ADAPTERS: dict[str, Adapter] = {}


def register_adapter(adapter_id: str, fn: Adapter) -> Adapter:
    """Register ``fn`` as the adapter a contract rule names ``adapter_id``.

    Raises
    ------
    ValueError
        Another function is already registered under that id.
    """
    known = ADAPTERS.get(adapter_id)
    if known is not None and known is not fn:
        raise ValueError(f"adapter {adapter_id!r} is already registered ({known.__module__}."
                         f"{known.__qualname__})")
    ADAPTERS[adapter_id] = fn
    return fn


def get_adapter(adapter_id: str) -> Adapter:
    """The adapter registered under ``adapter_id``; an unknown id lists the registered ones."""
    try:
        return ADAPTERS[adapter_id]
    except KeyError:
        raise ContractError(f"adapter {adapter_id!r} is not registered (registered: "
                            f"{', '.join(sorted(ADAPTERS)) or 'none'})") from None


for _fn in (to_float32, to_rgb, clip, pad_to_multiple, binarize):
    register_adapter(_fn.__name__, _fn)
