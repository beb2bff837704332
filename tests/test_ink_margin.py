"""Tiny text's 1 px margin keeps only the pixels its text changed (ops.text.ink_margin).

A line of 11 px DejaVu Sans has 1-2 px strokes; the blind 1 px ring normalize-mask grew round
its glyph matte was about as large as the letters, and over a textured photo (scikit-image's
brick) most of it was untouched photo the fill then had to guess (precision 0.53-0.54).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import detector_box, mask_stages
from skimage import data

from seamline.ops.text import TextRegion
from seamline.ops.text.ink_margin import ink_margin
from seamline.stages.normalize_mask import _tiny_ink
from seamline.testing import overlays

DEJAVU_SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _telea(image, mask):
    u8 = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    out = cv2.inpaint(u8, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
    return np.where(mask[..., None], out, image)


def _psnr(a, b, where):
    return float(10 * np.log10(1.0 / np.mean((a[where].astype(np.float64) - b[where]) ** 2)))


@pytest.mark.parametrize("color", [(255, 255, 255), (20, 20, 20)])
def test_a_tiny_line_over_brick_gets_only_the_margin_its_ink_shows_in(color):
    photo = np.repeat(data.brick()[..., None], 3, -1).astype(np.float32) / 255
    photo = np.clip(cv2.resize(photo, (1024, 768), interpolation=cv2.INTER_CUBIC), 0, 1)
    ov = overlays.Overlay(text="Spring fair 2024 doors open at nine", xy=(380, 500), size_px=11,
                          font=DEJAVU_SANS, color=color)
    image, alpha, _ = overlays.render(photo, [ov])
    image = image.astype(np.float32)
    drawn = overlays.drawn_mask(photo, image)
    regions = [TextRegion(detector_box(p), "", 1.0) for p in overlays.line_polygons(ov)]
    tm, nm = mask_stages(image, regions)
    mask = nm.outputs["mask"] >= 0.5
    precision = (mask & drawn).sum() / mask.sum()
    # the blind 1 px ring: 0.542 (white), 0.531 (dark); the ink margin 0.769 / 0.773
    assert precision >= 0.7, precision
    assert nm.report["ink_margin_lines"] == 1, nm.report
    # every drawn pixel that is more ink than photo is still in the hole
    assert not (~mask & (alpha > 0.5)).any(), int((~mask & (alpha > 0.5)).sum())
    # and the fill is no worse for it: Telea in the text region on the blind ring round the
    # same matte vs on this mask (white 35.24 -> 35.07 dB: the margin round the thick pieces
    # of the white matte stays whole; dark 34.07 -> 35.27)
    blind = cv2.dilate((tm.outputs["mask"] >= 0.5).astype(np.uint8),
                       cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))) > 0
    region = cv2.dilate(drawn.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    ours = _psnr(_telea(image, mask), photo, region)
    theirs = _psnr(_telea(image, blind), photo, region)
    assert ours > theirs - 0.25, (ours, theirs)


def test_the_margin_keeps_an_anti_aliased_pixel_and_drops_untouched_photo():
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + rng.normal(0, 0.01, (40, 40, 3)), 0, 1).astype(np.float32)
    core = np.zeros((40, 40), bool)
    core[18:22, 10:30] = True  # a stroke of ink (0.1, 0.1, 0.1)
    ink = np.float32([0.1, 0.1, 0.1])
    image[core] = ink
    ring = (cv2.dilate(core.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_CROSS, (3, 3))) > 0) & ~core
    image[17, 12:20] = 0.3 * ink + 0.7 * image[17, 12:20]  # its anti-aliased edge, alpha 0.3
    keep = ink_margin(image, core, ring, ink)
    assert keep[17, 12:20].all()
    assert not keep[22, :].any() and not keep[17, 20:30].any()


def test_the_margin_is_blind_where_no_photo_shows():
    core = np.ones((10, 10), bool)
    core[4:6, 4:6] = False
    ring = ~core
    image = np.full((10, 10, 3), 0.5, np.float32)
    assert (ink_margin(image, core, ring, (0.0, 0.0, 0.0)) == ring).all()


def test_a_line_masked_by_the_segmenter_alone_keeps_its_blind_margin():
    ink = [[0.2, 0.3, 0.4]]
    assert _tiny_ink(1, 12.0, ink, True) is not None
    assert _tiny_ink(1, 12.0, ink, False) is None   # the segmenter's blur: no letter's edge
    assert _tiny_ink(2, 12.0, ink, True) is None    # a wider margin
    assert _tiny_ink(1, 26.0, ink, True) is None    # no tiny text
    assert _tiny_ink(1, 12.0, [], True) is None     # no ink colour
