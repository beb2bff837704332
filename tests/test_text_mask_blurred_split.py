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


def test_an_italic_titles_fit_against_its_blurred_shadow_is_fitted_again_the_other_way():
    # a 130 px green DejaVu Serif Bold "Adventure" sheared to an italic, with a black shadow
    # (6, 4) blurred 3.5 px at 0.8 over a defocused photo: the segmenter's band round the
    # slanted letters lies wider on their left, and the effect fit took that side, the
    # glyphs moved (-8, 0) and grown 4 px, over photo the shadow never touched, while the
    # shadow's rim down-right was left (657 px changed by > 0.05 outside the mask). The
    # mirror side changes the photo, the fitted one does not: fitted again with that side
    # ruled out (ops.text.effects EFFECT_MIRROR_CHANGE)
    from PIL import Image, ImageDraw, ImageFont

    a = data.coffee()[..., :3].astype(np.float32) / 255
    a = cv2.GaussianBlur(cv2.resize(a, (1280, 960), interpolation=cv2.INTER_AREA), (0, 0), 14)
    photo = np.ascontiguousarray(
        np.clip(a * np.float32([1.05, 0.6, 0.45]) + 0.05, 0, 1)[200:560, 40:1000], np.float32)
    H, W = photo.shape[:2]
    text = Image.new("L", (W, H), 0)
    ImageDraw.Draw(text).text((60, 80), "Adventure", fill=255, font=ImageFont.truetype(
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", 130))
    fill = cv2.warpAffine(np.asarray(text, np.float32) / 255,
                          np.float32([[1, -0.25, 0.25 * 210], [0, 1, 0]]), (W, H))
    shadow = 0.8 * cv2.GaussianBlur(cv2.warpAffine(fill, np.float32([[1, 0, 6], [0, 1, 4]]),
                                                   (W, H)), (0, 0), 3.5)
    image = photo * (1 - shadow[..., None])
    image = image * (1 - fill[..., None]) + np.float32([45, 190, 75]) / 255 * fill[..., None]
    image = image.astype(np.float32)
    mask, report = _remove_text_mask(image, report=True)
    (choice,) = report["per_line"]
    assert "dx=-" not in choice, choice
    seen = np.abs(image - photo).max(-1) > 0.05
    assert (seen & ~mask).sum() <= 60, (seen & ~mask).sum()
    # ... at no more photo away from the text than the left-moved fit took (> 6 px from any
    # drawn pixel: 1609 px on main, 1329 here; the r = 6 growth takes photo nearer)
    drawn = np.abs(image - photo).max(-1) > 2 / 255
    assert (mask & ~_near(drawn, 6)).sum() <= 0.03 * drawn.sum(), (mask & ~_near(drawn, 6)).sum()
