"""Lines whose glyph matte is photo (ops.text.line_trust) and what text-mask keeps of them."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from seamline.core.stage import StageContext, get_stage
from seamline.ops.text.detect import TextRegion
from seamline.ops.text.line_trust import own_area, stroke_outliers, unsure_lines


def _box(x0, y0, x1, y1):
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _coins():
    """scikit-image's coins (grey, rows of bright coins on dark cloth) at 768 x 606, RGB."""
    grey = cv2.resize(data.coins().astype(np.float32) / 255, (768, 606))
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, -1))


def _text_mask(image, regions):
    stage = get_stage("text-mask")
    return stage(stage.Params()).run(StageContext(name="mask", seed=0, policy="reconcile"),
                                     image, regions)


def test_a_row_of_coins_boxed_at_a_low_score_does_not_take_the_segmenters_mask_whole():
    # the detector boxing a row of coins, no text: the matte finds a few highlights (3% of
    # the box); trusted, the line takes the segmenter's mask as it is (whole coins);
    # unsure, it keeps its glyphs and the segmenter's pixels confirmed as text only
    image, box = _coins(), _box(20, 0, 740, 110)
    unsure = _text_mask(image, [TextRegion(box, "OO", 0.55)])
    trusted = _text_mask(image, [TextRegion(box, "OO", 0.9)])
    assert unsure.report["unsure_lines"] == [0] and trusted.report["unsure_lines"] == []
    assert trusted.report["per_line"] == ["segmenter"]
    assert unsure.report["per_line"][0].startswith("glyphs")
    assert "effect(" not in unsure.report["per_line"][0]
    assert unsure.report["regions"][0]["coverage_of_polygon"] < 0.1
    n_unsure = int((unsure.outputs["mask"] >= 0.5).sum())
    n_trusted = int((trusted.outputs["mask"] >= 0.5).sum())
    assert n_unsure < 0.5 * n_trusted, (n_unsure, n_trusted)


def test_a_low_score_line_whose_matte_covers_its_box_is_not_unsure():
    assert unsure_lines([0.55, 0.55, 0.9], [{"coverage_of_polygon": 0.3},
                                           {"coverage_of_polygon": 0.05},
                                           {"coverage_of_polygon": 0.05}]) == [False, True, False]
    assert unsure_lines([0.6], [None]) == [True]  # nothing found at all


def test_a_stroke_over_three_times_its_blocks_median_gets_the_median():
    # four stacked lines of one block, the third's matte took a disc (32.5 px "strokes")
    polys = [_box(290, 20 + 34 * i, 456, 52 + 34 * i) for i in range(4)]
    assert stroke_outliers([3.8, 3.8, 32.5, 4.0], polys) == [None, None, 3.8, None]
    # a bold title over a thin caption: 3x is not reached
    assert stroke_outliers([9.0, 3.5, 3.5], polys[:3]) == [None, None, None]
    # two lines are no block (one found outlined measures its fill + outline, the other
    # its ring alone)
    assert stroke_outliers([2.1, 7.6], polys[:2]) == [None, None]
    # side by side (one line split in two boxes) or far apart: no block
    side = [_box(20, 20, 200, 52), _box(210, 20, 400, 52), _box(410, 20, 600, 52)]
    far = [_box(20, 20, 200, 52), _box(20, 500, 200, 532), _box(20, 540, 200, 572)]
    assert stroke_outliers([30.0, 3.0, 3.0], side) == [None, None, None]
    assert stroke_outliers([30.0, 3.0, 3.0], far) == [None, None, None]
    # a stroke not measured is no block member and no outlier
    assert stroke_outliers([np.nan, 3.0, 3.2, 30.0], polys) == [None, None, None, 3.1]
    # a huge title (120 px) over its 30 px captions is no block, however thick its strokes
    assert stroke_outliers([30.0, 3.0, 3.0], [_box(20, 20, 700, 140), _box(20, 150, 400, 180),
                                              _box(20, 184, 400, 214)]) == [None, None, None]


def test_own_area_is_the_grown_polygon_less_the_other_lines():
    polys = [_box(10, 10, 60, 30), _box(10, 32, 60, 52)]
    area = own_area((80, 80), polys, 0, 0.3)
    assert area[20, 30] and area[6, 30]    # inside, and 4 px above (0.3 x 20 px grown)
    assert not area[40, 30]                # the line below's polygon
    assert not area[2, 30]                 # past the margin
