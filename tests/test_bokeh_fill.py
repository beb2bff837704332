"""The biharmonic fill: the smoothest surface through a hole's border values and slopes."""

from __future__ import annotations

import numpy as np


def test_the_biharmonic_fill_is_a_backend_of_its_own():
    """Filled on its own, the hole takes the smoothest surface through the photo around it:
    a linear ramp is continued exactly, and pixels outside the hole are untouched."""
    from seamline.ops.inpaint import get_backend, inpaint

    assert get_backend("biharmonic").family == "diffusion"
    ramp = np.repeat(np.linspace(0.1, 0.9, 96, dtype=np.float32)[None, :, None], 64, 0)
    ramp = np.repeat(ramp, 3, 2)
    hole = np.zeros((64, 96), np.float32)
    hole[20:44, 30:70] = 1
    out = inpaint(ramp, hole, backend="biharmonic")
    assert np.array_equal(out[hole == 0], ramp[hole == 0])
    assert np.abs(out - ramp).max() < 2e-3
