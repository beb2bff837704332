"""``ops.text.hard_shadow.shift``: an array moved by whole pixels, zero-filled."""

from __future__ import annotations

import numpy as np

from seamline.ops.text.hard_shadow import shift


def _moved(a, dx, dy):
    h, w = a.shape
    out = np.zeros_like(a)
    for y in range(h):
        for x in range(w):
            if 0 <= y + dy < h and 0 <= x + dx < w:
                out[y + dy, x + dx] = a[y, x]
    return out


def test_shift_moves_and_zero_fills_at_any_offset():
    # a line's crop can be shorter than the offsets its shadow search tries (main a18c1d4:
    # a 6-row crop moved 7 px down raised "could not broadcast"): moved past its size, nothing
    # of it is left
    a = np.arange(1, 6 * 9 + 1, dtype=np.float32).reshape(6, 9)
    for dx in range(-11, 12):
        for dy in range(-8, 9):
            np.testing.assert_array_equal(shift(a, dx, dy), _moved(a, dx, dy), err_msg=f"{dx} {dy}")
