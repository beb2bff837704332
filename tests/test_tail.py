"""The shadow-tail check (seamline.ops.text.tail) on a title it draws."""

from __future__ import annotations

import cv2
import numpy as np

from conftest import shadowed_friends_over_sky
from seamline.core.arrays import LUMA


def _shadowed_title():
    """:func:`conftest.shadowed_friends_over_sky` and a hole that stops short of the shadow's
    tail (the letters and the shadow where it is more than 30/255 dark, grown 2 px)."""
    photo, image = shadowed_friends_over_sky()
    core = (np.abs(image - photo).max(-1) > 30 / 255).astype(np.uint8)
    hole = cv2.dilate(core, np.ones((5, 5), np.uint8)) > 0
    return photo, image, hole


def test_the_tail_check_estimates_the_photo_by_one_luminance_fill_not_three(monkeypatch):
    """Telea is linear in the image (its weights are the hole's geometry alone), so the
    luminance of the three per-channel fills the tail check made per estimate is the fill of
    the luminance, but for the fills' rounding to 1/65535: one 16-bit fill per estimate
    instead of three (0.1-0.25 CPU s of a ~2 s meme case on the train timing set).
    The tail found is the drawn shadow's, as with the three fills."""
    from seamline.ops.inpaint import inpaint
    from seamline.ops.text import tail

    photo, image, hole = _shadowed_title()
    calls = []
    real = cv2.inpaint

    def counted(src, mask, radius, flags):
        calls.append(src.shape)
        return real(src, mask, radius, flags)

    monkeypatch.setattr(cv2, "inpaint", counted)
    found = tail.tail_halo(image, hole, darker_only=True)
    assert len(calls) == 2 and all(len(s) == 2 for s in calls)  # 6 before: 3 per estimate
    monkeypatch.setattr(cv2, "inpaint", real)
    # the tail is the shadow the hole left out: pixels the shadow darkened, beside the hole
    shadow = ((photo - image) @ LUMA > 0.5 / 255) & ~hole
    assert found.sum() > 1000
    assert (found & shadow).sum() > 0.9 * found.sum()
    # the one fill's luminance is the three fills' luminance to within their rounding
    ys, xs = np.nonzero(cv2.dilate(hole.astype(np.uint8), np.ones((25, 25), np.uint8)))
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    far = cv2.dilate(hole[box].astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (21, 21)))
    crop = np.ascontiguousarray(image[box])
    three = inpaint(crop, far.astype(np.float32), backend="telea", radius=3) @ LUMA
    one = tail._telea_luma(crop @ LUMA, far)
    assert np.abs(one - three).max() < 3e-5
    assert np.abs(one - crop @ LUMA)[far > 0].max() > 0.1  # it did fill the letters
