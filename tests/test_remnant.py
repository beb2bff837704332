"""The ghost judge's outline-remnant look (seamline.ops.text.remnant): a meme's black outline
matted short of its outer edge over saturated bristles leaves a black rim round the hole, a
fill grows it into dark letter shapes a person reads, and the look flags them with the rim
the mask left; it passes a perfect removal and a fill from the whole drawn mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.io import as_image
from seamline.ops.inpaint import inpaint
from seamline.ops.text import TextRegion
from seamline.ops.text.ghost import judge_regions
from seamline.testing.synth import TextItem, bristles, draw_text


def _no_reads(strip):
    return "", 0.0


@pytest.fixture(scope="module")
def meme():
    """(photo, marked, drawn mask, mask matted 3 px short, region)."""
    photo = bristles(7, 1680, [(0.1, 0.2, 0.9), (0.9, 0.2, 0.6), (0.2, 0.8, 0.3),
                               (0.9, 0.8, 0.2), (0.35, 0.1, 0.5)])
    marked, alpha = draw_text(photo, [TextItem("CARES", (20, 30), 90, color=(255, 255, 255),
                                               stroke_px=4, stroke_color=(0, 0, 0))])
    drawn = alpha > 0
    short = cv2.erode(drawn.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (7, 7))) > 0
    poly = np.float32([[10, 20], [330, 20], [330, 140], [10, 140]])
    return photo, marked, drawn, short, TextRegion(poly, "CARES", 1.0)


def _judge(original, cleaned, region, mask):
    (v,) = judge_regions(original, cleaned, [region], mask=mask.astype(np.float32),
                         ocr=_no_reads, high_pass=False)
    return v


def test_dark_letter_shapes_grown_from_the_outlines_rim_are_flagged_with_the_rim(meme):
    from seamline.ops.text.remnant import REMNANT_REASON

    photo, marked, drawn, short, region = meme
    for backend in ("telea", "fsr"):
        v = _judge(marked, inpaint(marked, short.astype(np.float32), backend=backend), region,
                   short)
        assert v.flagged and v.stats["remnant"]["flagged"], (backend, v.stats["remnant"])
        assert any(r.startswith(REMNANT_REASON) for r in v.reasons), v.reasons
        # the residue holds the black rim the mask left: what the loop grows over
        rim = drawn & ~short & (marked.max(-1) < 0.1)
        x0, y0, x1, y1 = v.box
        res = np.zeros_like(drawn)
        res[y0:y1, x0:x1] = v.residue
        assert res[rim].mean() >= 0.5, (backend, res[rim].mean())


def test_a_perfect_removal_and_a_fill_of_the_whole_outline_pass(meme):
    photo, marked, drawn, short, region = meme
    grown = cv2.dilate(drawn.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for cleaned in (photo, inpaint(marked, grown.astype(np.float32), backend="telea")):
        v = _judge(marked, cleaned, region, grown)
        assert v.stats["remnant"]["judged"] and not v.stats["remnant"]["flagged"], \
            v.stats["remnant"]


def test_a_perfect_removal_over_dark_fur_passes():
    # a title's fill pieces as dark as its outline where the photo under it is (the cat's dark
    # fur), with none of that colour in the ring round the line: no outline rim is left
    # beside the mask, the fur's dark runs on past it (RIM_OVER_BEYOND); flagged without it
    photo = as_image(data.chelsea())
    marked, alpha = draw_text(photo, [TextItem("SOFT FUR", (40, 110), 72,
                                               color=(255, 255, 255), stroke_px=3)])
    hole = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ys, xs = np.nonzero(hole)
    region = TextRegion(np.float32([[xs.min(), ys.min()], [xs.max(), ys.min()],
                                    [xs.max(), ys.max()], [xs.min(), ys.max()]]), "SOFT FUR")
    for cleaned in (photo, inpaint(marked, hole.astype(np.float32), backend="fsr")):
        r = _judge(marked, cleaned, region, hole).stats["remnant"]
        assert r["judged"] and not r["flagged"], r
