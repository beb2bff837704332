"""ops.inpaint.poisson.guided_solve: the shared Poisson build, on cases it must handle."""

import numpy as np
import pytest

from seamline.ops.inpaint.poisson import guided_solve


def _membrane(known_values):
    """Edges of a membrane fill (no guidance): a used edge adds its known neighbour."""
    def edge(yp, xp, yq, xq):
        use = np.ones(yp.size, bool)
        add = np.where(np.isnan(known_values[yq, xq]), 0.0, known_values[yq, xq])[:, None]
        return use, add
    return edge


def test_a_hole_between_two_levels_is_filled_linearly():
    """A 1-row hole between 0 and 1 columns: the membrane solution is the straight ramp."""
    vals = np.full((1, 7), np.nan)
    vals[0, 0], vals[0, 6] = 0.0, 1.0
    unknown = np.isnan(vals)
    ys, xs, out = guided_solve(unknown, _membrane(vals), 1)
    assert list(xs) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(out[:, 0], np.arange(1, 6) / 6, atol=1e-9)


def test_an_empty_hole_and_a_tie_without_target():
    """Nothing unknown: nothing solved, shape (0, channels); a tie needs a target."""
    vals = np.zeros((4, 4))
    ys, xs, out = guided_solve(np.zeros((4, 4), bool), _membrane(vals), 3)
    assert ys.size == 0 and out.shape == (0, 3)
    with pytest.raises(ValueError, match="target"):
        guided_solve(np.ones((4, 4), bool), _membrane(vals), 1, tie=0.5)
