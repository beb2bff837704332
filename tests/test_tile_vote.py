"""A tiled watermark's text mask keeps only the glyph pixels its copies share
(seamline.ops.text.tile_vote, in the text-mask stage).

Watermarks are drawn by seamline.testing.overlays' "tiled_watermark" style in DejaVu Sans Bold
onto scikit-image photos; a bright spot of the paint's colour beside a few copies stands for a
photo object (a bokeh disc's rim, a highlight) the colour matting takes for text.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import BOLD_FONT, scaled_photo, tiled_watermarked
from seamline.ops.text import TextRegion
from seamline.ops.text.tile_vote import shared_glyphs
from seamline.ops.text.watermark import find_tiled_watermark
from seamline.stages.text_mask import TextMask

pytestmark = pytest.mark.skipif(not Path(BOLD_FONT).is_file(), reason="needs fonts-dejavu-core")


def _spotted(name, seed):
    """The watermarked photo with a spot of the paint's colour just past the end of three
    whole copies: (image, drawn mask, spots mask, tile regions)."""
    photo, marked, drawn, ovs = tiled_watermarked(name, seed)
    wm = find_tiled_watermark(marked)
    assert wm.found, wm.reason
    H, W = marked.shape[:2]
    whole = [p for p in wm.polygons if p.min() >= 0 and p[:, 0].max() < W and p[:, 1].max() < H]
    spots = np.zeros((H, W), np.uint8)
    for p in whole[1:4]:
        e = max((p[1] - p[0], p[2] - p[1]), key=np.linalg.norm)
        h = min(np.linalg.norm(p[1] - p[0]), np.linalg.norm(p[2] - p[1]))
        q = p.mean(0) + e / np.linalg.norm(e) * (np.linalg.norm(e) / 2 + 0.1 * h)
        cv2.circle(spots, (int(q[0]), int(q[1])), int(0.3 * h), 1, -1)
    spots = (spots > 0) & (cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 3)
    img = marked.copy()
    paint = np.float32(ovs[0].color) / 255
    img[spots] = 0.6 * img[spots] + 0.4 * paint
    return img, drawn, spots, [TextRegion(p, "", 1.0) for p in wm.polygons]


def test_a_bright_spot_beside_one_copy_is_not_the_watermark():
    img, drawn, spots, regions = _spotted("retina", 2)
    res = TextMask().run(None, img, regions)
    mask = res.outputs["mask"] >= 0.5
    # the colour matting alone took part of the spots for paint (main 407162c: 243 of
    # 1074 px); the copies do not share them
    assert not (mask & spots).any(), int((mask & spots).sum())
    assert res.report["tile_vote"]["copies"] >= 10
    # the word's own pixels stay: the drawn pixels masked are as many as the matting found
    raw = res.report["tile_vote"]["dropped_px"]
    assert raw > 0
    plain = TextMask().run(None, img, regions[:0] + [TextRegion(r.polygon, "x", 1.0)
                                                   for r in regions])
    before = plain.outputs["mask"] >= 0.5  # regions with text are not tiles: no vote
    assert (mask & drawn).sum() >= 0.99 * (before & drawn).sum()


def test_no_tiles_or_too_few_copies_leave_the_mask_as_it_is():
    img = scaled_photo("coffee")
    mask = np.zeros(img.shape[:2], bool)
    mask[100:120, 100:300] = True
    box = np.float32([[100, 100], [300, 100], [300, 120], [100, 120]])
    out, rep = shared_glyphs(mask, img, [TextRegion(box, "a caption", 0.9)])
    assert out is mask and rep["copies"] == 0
    out, rep = shared_glyphs(mask, img, [TextRegion(box + (300 * k, 0), "", 1.0)
                                         for k in range(3)])
    assert np.array_equal(out, mask)
