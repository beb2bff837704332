"""Camera dates in the frame's bottom-right corner (ops.text.datestamp, detect-text v17, v18)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from seamline.ops.text.datestamp import chroma_view, date_stamps, looks_like_date, redness_view

CONDENSED = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _date_over_golden_grass(with_text=True):
    # orange camera digits over finely textured golden grass at 768 px (the held-out
    # datestamp's kind, train analogue ds12 in DejaVu): every other detect-text pass misses them
    from seamline.testing import overlays
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass((576, 768), 1.9), 0, 1)
    hsv = np.dstack([np.full(g.shape, 41 // 2, np.uint8), np.full(g.shape, 204, np.uint8),
                     np.clip(g * 1.075 * 255, 0, 255).astype(np.uint8)])
    photo = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    if not with_text:
        return photo, None, None
    ov = overlays.Overlay(text="2023 10 04", xy=(0, 0), size_px=22, font=CONDENSED,
                          color=(255, 163, 46), opacity=0.98, glow_px=1.86,
                          glow_color=(255, 163, 46), glow_opacity=0.4)
    w, h = overlays.measure(ov)
    ov = replace(ov, xy=(768 - 0.03 * 768 - w, 576 - 0.05 * 576 - h))
    image = overlays.render(photo, [ov])[0].astype(np.float32)
    return image, np.abs(image - photo).max(-1) > 8 / 255, overlays.line_polygons(ov)[0]


def _detect(image):
    from seamline.core.stage import StageContext
    from seamline.stages import get_stage

    stage = get_stage("detect-text")
    return stage(stage.Params(tiled="off")).run(StageContext("detect", 0, "reconcile"),
                                                 image=image)


def test_a_camera_date_over_golden_grass_is_read_in_the_corners_redness():
    image, drawn, _ = _date_over_golden_grass()
    res = _detect(image)
    regions = res.outputs["regions"]
    assert [r.text.replace(" ", "") for r in regions] == ["20231004"], [r.text for r in regions]
    assert res.report["found_by_corner"] == 1
    boxes = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(boxes, [np.round(regions[0].polygon).astype(np.int32)], 1)
    assert boxes[drawn].mean() >= 0.95
    # the grass alone: no date in its corners, so the photo passes through
    photo, _, _ = _date_over_golden_grass(with_text=False)
    res = _detect(photo)
    assert res.outputs["regions"] == [] and res.report["found_by_corner"] == 0


def test_the_redness_view_shows_orange_digits_light_on_golden_grass():
    image, drawn, _ = _date_over_golden_grass()
    view = redness_view(image)
    assert view.shape == image.shape and view.dtype == np.float32
    assert 0.0 <= view.min() and view.max() <= 1.0
    # the ink's redness sits well above the grass's (in the photo's lightness they overlap)
    ring = cv2.dilate(drawn.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~drawn
    assert np.median(view[..., 0][drawn]) - np.median(view[..., 0][ring]) > 0.3
    lum = image @ np.float32([0.299, 0.587, 0.114])
    assert abs(np.median(lum[drawn]) - np.median(lum[ring])) < 0.25


@pytest.mark.parametrize("text, date", [("2023 10 04", True), ("'92 4 18", True),
                                        ("05/14/01", True), ("8212 25", True),
                                        ("B 17 1", False), ("MAR", False), ("7", False),
                                        ("2019", True), ("ROAD 66", False), ("1O2", False),
                                        ("10 1 1", True), ("'98 3 12", True)])
def test_date_like_reads(text, date):
    assert looks_like_date(text) is date


def test_a_camera_dates_mask_is_its_redness_split_not_the_matte_over_the_grass():
    # text-mask v67 (ops.text.redness_ink): the colour matte took about half the digits'
    # strokes over the grass (main: 54% of the strong ink); the a* split takes them all but
    # their faint edge, and its line is capped at 1 px of normaliser growth
    from seamline.ops.text import TextRegion
    from seamline.stages.text_mask import TextMask

    image, drawn, poly = _date_over_golden_grass()
    photo, _, _ = _date_over_golden_grass(with_text=False)
    strong = np.abs(image - photo).max(-1) > 0.25
    res = TextMask().run(None, image, [TextRegion(np.float32(poly), "2023 10 04", 0.9)])
    mask = res.outputs["mask"] >= 0.5
    assert strong[mask].sum() / strong.sum() >= 0.8
    assert res.report["chroma_lines"] == [0]
    assert res.outputs["geometry"]["dilate_max_px"] == [1]
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert drawn[grown].mean() >= 0.95  # the grass round the digits stays photo
    # a line not read as a date keeps the matte's mask
    res = TextMask().run(None, image, [TextRegion(np.float32(poly), "ROAD", 0.9)])
    assert res.report["chroma_lines"] == []


def _date_over_orange_and_green_grass(with_text=True):
    # yellow camera digits over sunlit grass, green left of x = 560 and orange right of it
    # (the held-out datestamp's kind, train analogues datestamp_check --family mixed): the
    # ground's lightness matched to the ink's and its blades' contrast doubled; the digits
    # are less red than the orange round them, so the redness reads no date
    from seamline.testing import overlays
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass((576, 768), 0.7), 0, 1)
    orange = np.clip((np.arange(768, dtype=np.float32) - 560) / 40, 0, 1)[None].repeat(576, 0)
    hsv = np.dstack([((orange * 24 + (1 - orange) * 90) / 2).astype(np.uint8),
                     np.full(g.shape, 217, np.uint8),
                     np.clip((0.5 + 0.5 * g) * 255, 0, 255).astype(np.uint8)])
    lab = cv2.cvtColor(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255,
                       cv2.COLOR_RGB2LAB)
    color = (255, 185, 30)  # L* 80
    lab[..., 0] = np.clip(80 + 2 * (lab[..., 0] - np.median(lab[490:, 540:, 0])), 0, 100)
    photo = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1).astype(np.float32)
    if not with_text:
        return photo, None, None
    ov = overlays.Overlay(text="2024 07 09", xy=(0, 0), size_px=20, font=MONO, color=color,
                          opacity=0.95)
    w, h = overlays.measure(ov)
    ov = replace(ov, xy=(768 - 0.04 * 768 - w, 576 - 0.05 * 576 - h))
    image = overlays.render(photo, [ov])[0].astype(np.float32)
    return image, np.abs(image - photo).max(-1) > 8 / 255, overlays.line_polygons(ov)[0]


def test_yellow_digits_over_orange_and_green_grass_are_read_in_the_corners_local_chroma():
    # detect-text v18: the redness view (v17) reads no date here; the second view does
    image, drawn, _ = _date_over_orange_and_green_grass()
    dates = date_stamps(image, [])
    assert [r.text.replace(" ", "") for r in dates] == ["20240709"], [r.text for r in dates]
    boxes = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(boxes, [np.round(dates[0].polygon).astype(np.int32)], 1)
    assert boxes[drawn].mean() >= 0.95
    # a date the other passes found already is not read again
    assert date_stamps(image, dates) == []
    # the grass alone: no date
    photo, _, _ = _date_over_orange_and_green_grass(with_text=False)
    assert date_stamps(photo, []) == []


def test_the_chroma_view_lifts_ink_of_a_hue_between_its_grounds():
    image, drawn, _ = _date_over_orange_and_green_grass()
    ring = cv2.dilate(drawn.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~drawn
    view = chroma_view(image)
    assert view.shape == image.shape and view.dtype == np.float32
    assert 0.0 <= view.min() and view.max() <= 1.0
    assert np.median(view[..., 0][drawn]) - np.median(view[..., 0][ring]) > 0.3
    # in the redness the ink is darker than the orange grass round it, not lighter
    red = redness_view(image)[..., 0]
    assert np.median(red[drawn]) < np.median(red[ring])


def test_a_yellow_date_less_red_than_its_ground_is_masked_by_its_b_split():
    # text-mask v69: the box splits best on b* and the ink is less red than the orange grass
    # (main: no chroma line, the matte's mask)
    from seamline.ops.text import TextRegion
    from seamline.stages.text_mask import TextMask

    image, drawn, poly = _date_over_orange_and_green_grass()
    photo, _, _ = _date_over_orange_and_green_grass(with_text=False)
    strong = np.abs(image - photo).max(-1) > 0.25
    res = TextMask().run(None, image, [TextRegion(np.float32(poly), "2024 07 09", 0.9)])
    mask = res.outputs["mask"] >= 0.5
    assert res.report["chroma_lines"] == [0]
    assert strong[mask].sum() / strong.sum() >= 0.8
    assert drawn[mask].mean() >= 0.95  # the orange grass round the digits stays photo
