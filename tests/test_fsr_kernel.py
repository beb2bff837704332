"""The compiled FSR (seamline.ops.inpaint.fsr_kernel) against OpenCV xphoto's, pixel for pixel."""

import cv2
import numpy as np
import pytest
from skimage import data

from conftest import text_like_hole
from seamline.ops.inpaint.fsr_kernel import fsr_inpaint


def _case(photo, y0, x0, h, w, seed):
    """A BGR crop of a scikit-image photo and a text-like hole (xphoto's known mask)."""
    src = np.ascontiguousarray(photo[y0:y0 + h, x0:x0 + w, ::-1])
    return src, (1 - text_like_hole(h, w, seed, 1)).astype(np.uint8)


CASES = [(data.astronaut(), 40, 30, 90, 201, 1),   # sizes not multiples of the blocks
         (data.coffee(), 200, 100, 77, 150, 2),
         (data.chelsea(), 10, 200, 64, 96, 3),
         (np.dstack([data.brick()] * 3), 100, 120, 120, 130, 4)]


@pytest.mark.parametrize("photo, y0, x0, h, w, seed", CASES)
def test_the_same_pixels_as_opencv(photo, y0, x0, h, w, seed):
    src, known = _case(photo, y0, x0, h, w, seed)
    assert (known == 0).sum() > 300
    ref = np.zeros_like(src)
    cv2.xphoto.inpaint(src, known, ref, cv2.xphoto.INPAINT_FSR_FAST)
    out = fsr_inpaint(src, known)
    assert np.array_equal(out, ref)
    # the channels on one thread or three: the same pixels
    assert np.array_equal(fsr_inpaint(src, known, threads=1), out)


def test_a_hole_at_the_edges_comes_back_as_opencv_leaves_it():
    # OpenCV's block grid leaves out the partial blocks at the right and bottom edges: the
    # hole there stays (0, 135, 0) green (fsr.py pads crops against it); the same here
    src, known = _case(data.astronaut(), 0, 0, 70, 141, 5)
    known[60:, 20:60] = 0
    known[10:40, 130:] = 0
    ref = np.zeros_like(src)
    cv2.xphoto.inpaint(src, known, ref, cv2.xphoto.INPAINT_FSR_FAST)
    out = fsr_inpaint(src, known)
    assert np.array_equal(out, ref)
    assert (out[known == 0] == (0, 135, 0)).all(axis=1).any()


def test_the_best_profile_and_a_known_image():
    src, known = _case(data.coffee(), 100, 300, 48, 80, 6)
    ref = np.zeros_like(src)
    cv2.xphoto.inpaint(src, known, ref, cv2.xphoto.INPAINT_FSR_BEST)
    assert np.array_equal(fsr_inpaint(src, known, best=True), ref)
    full = np.ones_like(known)
    assert np.array_equal(fsr_inpaint(src, full), cv2.cvtColor(
        cv2.cvtColor(src, cv2.COLOR_BGR2YCrCb), cv2.COLOR_YCrCb2BGR))
