"""Argument checks shared by the ops: one-line :class:`~seamline.errors.InputError` naming the
argument and showing the value received."""

from __future__ import annotations

import numbers

import numpy as np

from seamline.errors import InputError

__all__ = ["frame_margin", "nonneg_int", "nonneg_number", "positive_number", "unit_number"]


def nonneg_int(value, name: str) -> int:
    """``value`` as an int >= 0, or an InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(f"{name}: expected a non-negative integer, got {value!r}")
    return int(value)


def positive_number(value, name: str) -> float:
    """``value`` as a finite float > 0, or an InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value <= 0:
        raise InputError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def frame_margin(value, name: str, shape) -> int:
    """:func:`nonneg_int` ``value``, at most the larger side of a frame of ``shape`` (H, W, ...):
    a margin that reaches every border grows a box to the whole frame whatever its size, and
    a larger one overflowed box corners held in int32 (``--radius 3000000000``)."""
    return min(nonneg_int(value, name), max(shape[:2]))


def nonneg_number(value, name: str) -> float:
    """``value`` as a finite float >= 0, or an InputError naming ``name`` (NaN compared
    false with every limit, so a NaN threshold never fired)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0:
        raise InputError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def unit_number(value, name: str) -> float:
    """``value`` as a float in [0, 1] (a probability, a fraction), or an InputError naming
    ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise InputError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)
