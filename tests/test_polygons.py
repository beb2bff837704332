"""ops.polygons: the crop rasteriser and its bounding-box form agree, on good and bad input."""

import numpy as np
import pytest

from seamline.ops.polygons import polygon_box_mask, polygon_mask


def test_the_box_mask_is_the_frame_mask_on_its_box():
    """Rotated quads with half-pixel vertices (np.round's ties), some over the frame's edge:
    the box form holds exactly the frame-sized fill's pixels."""
    rng = np.random.default_rng(0)
    shape = (60, 80)
    for _ in range(40):
        c = rng.uniform(-10, 90, 2)
        ang, w, h = rng.uniform(0, np.pi), rng.uniform(2, 40), rng.uniform(1, 12)
        u, v = np.array([np.cos(ang), np.sin(ang)]), np.array([-np.sin(ang), np.cos(ang)])
        quad = np.array([c - w * u - h * v, c + w * u - h * v, c + w * u + h * v,
                         c - w * u + h * v])
        quad = np.round(quad * 2) / 2  # half-pixel vertices
        full = polygon_mask(quad, shape) > 0
        box, m = polygon_box_mask(quad, shape)
        assert m.sum() == full.sum()
        if m.size:
            assert np.array_equal(m, full[box])


@pytest.mark.parametrize("polygon", [
    [[1.0, 1.0], [np.nan, 5.0], [8.0, 8.0], [8.0, 1.0]],
    [[1.0, 1.0], [np.inf, 5.0], [8.0, 8.0]],
    np.zeros((0, 2)),
    [],
    [[1.0, 2.0, 3.0]],
    np.ones((2, 4, 2)),
    np.ones((4,)),
])
def test_a_bad_polygon_is_refused_alike_by_both(polygon):
    """A NaN vertex (main: the frame form drew a stray wedge of 66 px, the box form raised
    on int()), no vertex at all (OpenCV's assertion vs numpy's empty reduction) or the wrong
    shape (a stack of two quads was flattened into one zig-zag polygon): one ValueError naming the argument, the same from both."""
    with pytest.raises(ValueError, match="^polygon: "):
        polygon_mask(polygon, (10, 12))
    with pytest.raises(ValueError, match="^polygon: "):
        polygon_box_mask(polygon, (10, 12))


def test_opencv_contour_layout_is_the_same_polygon():
    """OpenCV's (N, 1, 2) contour layout rasterises exactly like the (N, 2) form."""
    quad = np.array([[2.0, 1.0], [9.0, 2.5], [8.0, 8.0], [1.5, 7.0]])
    assert np.array_equal(polygon_mask(quad[:, None, :], (10, 12)), polygon_mask(quad, (10, 12)))
