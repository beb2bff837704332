"""The smear judge and the texture-keeping fill it steers: images the tests make, real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.io import as_image
from seamline.ops.inpaint import inpaint
from seamline.ops.inpaint.fsr import fsr_fill
from seamline.ops.inpaint.smear import judge_smear
from seamline.testing.synth import TextItem, draw_text


@pytest.fixture(scope="module")
def fur_hole():
    """A real textured photo (the cat's fur) and a big hole: a bold title's pixels, grown."""
    photo = as_image(data.chelsea())
    _, alpha = draw_text(photo, [TextItem("SOFT FUR", (40, 110), 72, stroke_px=3)])
    hole = cv2.dilate((alpha > 0.05).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0
    assert hole.sum() > 8000  # larger than the old 6000 px limit of the texture-keeping fill
    return photo, hole


def test_the_judge_flags_a_telea_fill_over_texture_and_not_fsr_or_the_photo(fur_hole):
    photo, hole = fur_hole
    telea = inpaint(photo, hole.astype(np.float32), backend="telea", radius=3)
    fsr = inpaint(photo, hole.astype(np.float32), backend="fsr")
    smeared = judge_smear(telea, hole)
    assert smeared["judged"] and smeared["flagged"], smeared
    assert any("smeared" in r for r in smeared["reasons"])
    kept = judge_smear(fsr, hole)
    assert kept["judged"] and not kept["flagged"], kept
    assert kept["seam_ratio"] < 0.5 * smeared["seam_ratio"]
    # a perfect fill (the photo itself under the hole) is not a smear
    truth = judge_smear(photo, hole)
    assert not truth["flagged"] and 0.6 < truth["detail_ratio"] < 1.5, truth


def test_thin_holes_and_smooth_context_are_not_called_smears():
    flat = np.full((80, 200, 3), 0.6, np.float32)
    flat[:, :, 2] = np.linspace(0.2, 0.8, 200, dtype=np.float32)  # a smooth gradient
    hole = np.zeros((80, 200), bool)
    hole[30:50, 20:180] = True
    filled = inpaint(flat, hole.astype(np.float32), backend="telea", radius=3)
    v = judge_smear(filled, hole)
    assert v["judged"] and not v["flagged"], v      # nothing to keep: no smear
    rng = np.random.default_rng(0)
    noise = np.clip(0.5 + 0.2 * rng.standard_normal((80, 200, 3)), 0, 1).astype(np.float32)
    thin = np.zeros((80, 200), bool)
    thin[39:41, 20:180] = True                        # a 2 px stroke: no interior
    v = judge_smear(inpaint(noise, thin.astype(np.float32), backend="telea"), thin)
    assert not v["judged"] and not v["flagged"]


def test_fsr_fills_every_cluster_and_touches_nothing_else(fur_hole):
    photo, hole = fur_hole
    out = fsr_fill(photo, hole)
    assert out.dtype == np.float32 and out.shape == photo.shape
    assert np.array_equal(out[~hole], photo[~hole])
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    # every cluster was filled: closer to the photo than a flat grey, on every letter
    n, labels = cv2.connectedComponents(hole.astype(np.uint8))
    for i in range(1, n):
        m = labels == i
        err = np.abs(out[m] - photo[m]).mean()
        assert err < np.abs(0.5 - photo[m]).mean(), i
