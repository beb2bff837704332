"""Argument checks shared by the ops: one-line :class:`~seamline.errors.InputError` naming the
argument and showing the value received."""

from __future__ import annotations

import numbers

import numpy as np

from seamline.errors import InputError

__all__ = ["nonneg_int", "positive_number"]


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
