"""A blurred drop shadow the glyph matte took with the fill is split the right way round."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from test_text_mask_outlined import _near, _remove_text_mask

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _defocused_rocket() -> np.ndarray:
    """A 300x400 crop of scikit-image's rocket defocused (Gaussian 14 px at 1280x960) and
    warmed to a smooth orange-brown: float32 RGB in [0, 1]."""
    a = data.rocket()[..., :3].astype(np.float32) / 255
    a = cv2.GaussianBlur(cv2.resize(a, (1280, 960), interpolation=cv2.INTER_AREA), (0, 0), 14)
    a = np.clip(a * np.float32([1.05, 0.6, 0.45]) + 0.05, 0, 1)
    return np.ascontiguousarray(a[600:900, 400:800], np.float32)


def test_a_small_lines_blurred_shadow_is_not_split_as_the_fill_moved_up_left():
    # a 36 px orange "SHARE" with a black shadow (5, 5) blurred 2.4 px at 0.71 over a
    # defocused photo: the glyph matte takes the fill and the shadow's dark core as two
    # colours, and split_shadow took the core (a thinned copy of the letters, which moved back
    # lies wholly on the fill) as the fill and the orange letters as its shadow moved (-4, -4):
    # the shadow's soft rim down-right was left (210 px changed by > 0.1 outside the mask, 156
    # of them more than 1 px out). The fill is the cluster with the sharp edge against the
    # photo (ops.text.hard_shadow SPLIT_SOFT_EDGE)
    from seamline.testing.overlays import Overlay, render

    photo = _defocused_rocket()
    line = Overlay("SHARE", (107, 105), 36, SANS, color=(255, 170, 40), shadow_offset=(5, 5),
                   shadow_blur=2.4, shadow_opacity=0.71)
    image = render(photo, [line])[0].astype(np.float32)
    mask, report = _remove_text_mask(image, report=True)
    (choice,) = report["per_line"]
    assert "split" in choice, choice
    dx, dy = (int(v) for v in choice.split("dx=")[1].split(", r=")[0].split(", dy="))
    assert dx > 0 and dy > 0, choice
    seen = np.abs(image - photo).max(-1) > 0.1
    assert (seen & ~mask).sum() <= 10, (seen & ~mask).sum()
    # and the line stays hugged: nothing farther than 3 px from a drawn pixel
    drawn = np.abs(image - photo).max(-1) > 2 / 255
    assert (mask & ~_near(drawn, 3)).sum() <= 0.01 * drawn.sum()
