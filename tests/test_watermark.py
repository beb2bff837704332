"""Tiled watermarks (seamline.ops.text.watermark and detect-text's ``tiled`` parameter).

Watermarks are drawn by seamline.testing.overlays' "tiled_watermark" style (the word repeated
on a rotated lattice at 30-60 % opacity) in DejaVu Sans Bold onto scikit-image photos; the
untouched photos, periodic textures among them (brick, coins, the rocket's gantry), must not
be read as one.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import BOLD_FONT, scaled_photo, tiled_watermarked
from seamline.errors import InputError
from seamline.ops.text.watermark import find_tiled_watermark
from seamline.stages.detect_text import DetectText

pytestmark = pytest.mark.skipif(not Path(BOLD_FONT).is_file(), reason="needs fonts-dejavu-core")


@pytest.mark.parametrize("name,seed", [
    ("retina", 2), ("moon", 3),
    # "DRAFT" (a short word: its smoothed blob is 2.3x as long as tall) and a sparse
    # "COPYRIGHT" over the cell photo, whose right lattice is the 5th-8th candidate (the
    # best-supported ones pair a letter-to-letter shift with a row vector)
    ("retina", 5), ("cell", 2),
    # Known misses (recall on the train split is in the model card): the repetition of a
    # faint watermark over busy fur / tissue is under MIN_CORR; strict, so a fix shows up.
    pytest.param("astronaut", 1, marks=pytest.mark.xfail(strict=True, reason="repetition weak")),
    # found since the autocorrelation weighs long shifts like short ones (flat window)
    ("immunohistochemistry", 4),
    # A faint "PROOF" over the cat's fur: the plain autocorrelation paired the tiles' row
    # vector with a letter-to-letter shift (tiles between the words, coverage 0.17); the
    # whitened one finds the right lattice.
    ("chelsea", 6),
])
def test_tiled_watermark_is_found_and_its_tiles_cover_it(name, seed):
    img, marked, drawn, ovs = tiled_watermarked(name, seed)
    before = marked.copy()
    wm = find_tiled_watermark(marked)
    assert np.array_equal(marked, before)  # input untouched
    assert wm.found, wm.reason
    tiles = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(tiles, [np.round(p).astype(np.int32) for p in wm.polygons], 1)
    # (nearly) every drawn pixel lies in a tile (the mask stage only looks near regions) ...
    assert np.mean(tiles[drawn] > 0) > 0.95
    # ... and the tiles are word-sized boxes around it, not the whole frame
    assert np.mean(tiles > 0) < 0.6
    # the text direction is the one drawn (tiles are rotated rectangles along the words)
    assert abs(((wm.angle_deg - ovs[0].angle_deg) + 90) % 180 - 90) < 6
    assert wm.to_dict()["tiles"] == len(wm.polygons)


def _framed(name, hw):
    """:func:`scaled_photo` ``name`` scaled to cover ``hw`` = (H, W) and centre-cropped."""
    img = scaled_photo(name)
    f = max(hw[0] / img.shape[0], hw[1] / img.shape[1])
    img = cv2.resize(img, (max(hw[1], round(img.shape[1] * f)),
                           max(hw[0], round(img.shape[0] * f))), interpolation=cv2.INTER_CUBIC)
    y0, x0 = (img.shape[0] - hw[0]) // 2, (img.shape[1] - hw[1]) // 2
    return np.ascontiguousarray(img[y0:y0 + hw[0], x0:x0 + hw[1]])


def _tiled(name, text, size, angle, opacity, color, spacing, hw=(768, 1024)):
    """:func:`scaled_photo` ``name`` cover-cropped to ``hw`` with ``text`` tiled over it
    (:func:`seamline.testing.overlays.tile_overlay`, :data:`BOLD_FONT`): (photo, marked,
    drawn mask)."""
    from seamline.testing import overlays as ov

    photo = _framed(name, hw)
    o = ov.Overlay(text=text, xy=(0, 0), size_px=size, font=BOLD_FONT, color=(color,) * 3,
                   opacity=opacity, angle_deg=angle)
    out = np.ascontiguousarray(ov.render(photo, ov.tile_overlay(o, hw, spacing))[0], np.float32)
    return photo, out, ov.drawn_mask(photo, out)


@pytest.mark.parametrize("name,text,size,angle,opacity,spacing", [
    # A large word with its rows 5 x its height apart on a 4:3 frame: the rows' lattice
    # vector is over half the working copy's height, where a Hann window's own
    # autocorrelation is down to 0.07 (periodicity 0.013 < 0.02 before the flat window)
    ("astronaut", "\u00a9 PhotoCo", 60, 37, 0.35, (1.5, 5.0)),
    # ... and the pair of peaks that ranked first spanned a lattice skipping tiles
    ("rocket", "PREVIEW", 70, 30, 0.4, (1.8, 4.8)),
])
def test_large_widely_spaced_watermark_is_found_whole(name, text, size, angle, opacity, spacing):
    photo, marked, drawn = _tiled(name, text, size, angle, opacity, 255, spacing)
    wm = find_tiled_watermark(marked)
    assert wm.found, wm.reason
    tiles = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(tiles, [np.round(p).astype(np.int32) for p in wm.polygons], 1)
    assert np.mean(tiles[drawn] > 0) > 0.95  # every copy, not every other one
    assert np.mean(tiles > 0) < 0.6
    assert abs(((wm.angle_deg - angle) + 90) % 180 - 90) < 6


def test_large_faint_watermark_is_found_and_taken_off():
    # the same word at 1600 px (periodicity 0.018 < 0.02 before): enough whole copies to
    # read its opacity and colour off, so its blend is inverted
    from seamline.ops.text.unblend import unblend_tiles

    photo, marked, drawn = _tiled("astronaut", "\u00a9 PhotoCo", 90, 37, 0.35, 255, (1.5, 5.0),
                                  hw=(1200, 1600))
    wm = find_tiled_watermark(marked)
    assert wm.found, wm.reason
    tiles = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(tiles, [np.round(p).astype(np.int32) for p in wm.polygons], 1)
    assert np.mean(tiles[drawn] > 0) > 0.85  # the box may leave out part of the (c)
    ub = unblend_tiles(marked, wm.polygons, wm.lattice_px, wm.angle_deg)
    assert ub.done, ub.reason
    text_px = cv2.dilate(drawn.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0

    def psnr(a):
        return 10 * np.log10(1 / np.mean((a[text_px].astype(np.float64) - photo[text_px]) ** 2))

    assert psnr(ub.image) > psnr(marked) + 6, (psnr(marked), psnr(ub.image))


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket", "brick", "coins",
                                  "camera", "moon", "cell", "grass", "gravel", "retina"])
def test_untouched_photos_have_no_tiled_watermark(name):
    wm = find_tiled_watermark(scaled_photo(name))
    assert not wm.found, wm.reason
    assert wm.polygons == []


def test_stripes_and_checkers_are_not_watermarks():
    # Diagonal periodic patterns pass the periodicity test; they are not word-shaped tiles.
    yy, xx = np.mgrid[:600, :800].astype(np.float32)
    u = np.cos(0.6) * xx + np.sin(0.6) * yy
    v = -np.sin(0.6) * xx + np.cos(0.6) * yy
    stripes = 0.5 + 0.3 * np.sin(2 * np.pi * u / 40)
    checker = 0.3 + 0.4 * ((np.floor(u / 50) + np.floor(v / 50)) % 2)
    for g in (stripes, checker):
        img = np.repeat(g[..., None], 3, 2).astype(np.float32)
        assert not find_tiled_watermark(img).found


def test_bad_image_is_an_input_error():
    with pytest.raises(InputError, match="HxWx3"):
        find_tiled_watermark(np.zeros((50, 50), np.float32))


def test_detect_text_stage_adds_the_tiles_as_named_regions():
    _, marked, drawn, _ = tiled_watermarked("moon", 3)
    res = DetectText(DetectText.Params(recognize=False)).run(None, marked)
    rec = res.report["tiled_watermark"]
    assert rec["found"] and rec["tiles"] >= 10
    idx = rec["region_indices"]
    assert len(idx) == len(rec["names"]) > 0
    regions = res.outputs["regions"]
    assert all(regions[i].text == "" for i in idx)
    assert any("tiled watermark" in n for n in res.notes)
    off = DetectText(DetectText.Params(recognize=False, tiled="off")).run(None, marked)
    assert "tiled_watermark" not in off.report
    assert len(off.outputs["regions"]) < len(regions)


def test_detect_text_stage_on_an_untouched_photo_adds_nothing():
    res = DetectText(DetectText.Params(recognize=False)).run(None, scaled_photo("chelsea"))
    assert res.report["tiled_watermark"]["found"] is False
    assert res.report["tiled_watermark"]["region_indices"] == []


@pytest.mark.parametrize("index", [0, 3])  # astronaut, rocket: both once read as "tiled"
def test_captions_are_not_a_tiled_watermark(index):
    # A photo with ordinary captions (repeated capitals, a few stacked lines) is periodic
    # along its lines; tiles that sit on the captions read as text. Only tiles away from the
    # detected lines may confirm a watermark: before, the astronaut at 768x512 gave 352 tiles
    # over the whole frame (mask 23 %, a four-minute fill).
    from seamline.testing.synth import text_photo_cases

    case = text_photo_cases(index + 1, seed=0)[index]
    img = cv2.resize(np.ascontiguousarray(case["with_text"], np.float32), (768, 512),
                     interpolation=cv2.INTER_AREA)
    res = DetectText(DetectText.Params(recognize=False)).run(None, img)
    rec = res.report["tiled_watermark"]
    assert rec["found"] is False, rec["reason"]
    assert len(res.outputs["regions"]) <= 8  # the captions' lines only


@pytest.mark.parametrize("name", ["coffee", "brick"])
def test_stacked_captions_at_1024_are_not_a_tiled_watermark(name):
    # meme captions top and bottom, a multi-line block and a subtitle on one 4:3 frame: rows
    # of repeated capitals, now searched up to 0.75 of the frame with long shifts weighed
    # like short ones, must still not read as tiles (a caption read as a tiled mark once
    # cost a 250 s request)
    from seamline.testing import overlays as ov

    photo = _framed(name, (768, 1024))
    rng = np.random.default_rng(3)
    ovs = [o for style in ("meme", "multiline", "subtitle")
           for o in ov.sample_overlays(rng, style, photo.shape[:2], [BOLD_FONT])]
    img = np.ascontiguousarray(ov.render(photo, ovs)[0], np.float32)
    res = DetectText(DetectText.Params(recognize=False)).run(None, img)
    rec = res.report["tiled_watermark"]
    assert rec["found"] is False, rec["reason"]


def test_the_demo_photo_has_no_tiled_watermark():
    # captions and one semi-transparent "SAMPLE": once read as a 7-tile lattice (tiles read
    # 0.21 as text by the segmenter, found watermarks 0.31 and up)
    from seamline.testing.demo_image import demo_image

    im = demo_image()
    img = np.ascontiguousarray(np.asarray(im[0] if isinstance(im, tuple) else im,
                                          np.float32)[..., :3])
    res = DetectText().run(None, img)
    assert res.report["tiled_watermark"]["found"] is False, res.report["tiled_watermark"]
