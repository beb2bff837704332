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
    # the tissue's own repetition once won with a blob longer than its step along the row
    # (two copies joined); such blobs are refused now and the watermark's lattice wins
    ("immunohistochemistry", 4),
    # A faint "PROOF" over the cat's fur: the plain autocorrelation paired the tiles' row
    # vector with a letter-to-letter shift (tiles between the words, coverage 0.17); the
    # whitened one finds the right lattice.
    ("chelsea", 6),
    # "COPYRIGHT" over the tissue's fine texture: the median of nine copies keeps a floor of
    # the photo's energy at half the word's, so every blob level read one blob filling the
    # window; the second pass reads the blob over that floor (and lists each lattice once)
    ("immunohistochemistry", 0),
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


def _busy_motorcycle(marked: bool):
    """The stereo motorcycle (left view, Lanczos to 768 px tall, 1024 px from x = 70: train
    tiled_watermark6's frame) and, when ``marked``, a white "(c) PhotoCo" in DejaVu Sans
    56 px at 59 % opacity tiled at 31 degrees over it (that case's watermark in this font)."""
    from skimage import data

    from seamline.testing import overlays as ov

    a = data.stereo_motorcycle()[0].astype(np.float32) / 255
    a = cv2.resize(a, (round(a.shape[1] * 768 / a.shape[0]), 768),
                   interpolation=cv2.INTER_LANCZOS4)
    img = np.ascontiguousarray(np.clip(a[:, 70:1094, :3], 0, 1), np.float32)
    if not marked:
        return img, None
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    word = ov.Overlay(text="\u00a9 PhotoCo", xy=(0, 0), size_px=56, font=font,
                      color=(255, 255, 255), opacity=0.5916, angle_deg=30.654,
                      shadow_offset=(1, 1), shadow_opacity=0.5, shadow_blur=1.0)
    out, _, _ = ov.render(img, ov.tile_overlay(word, img.shape[:2], (1.6487, 4.4255)))
    return out.astype(np.float32), ov.drawn_mask(img, out)


def test_a_watermark_over_a_busy_photo_is_found_from_more_copies():
    # Over the motorcycle's engine the median of the nine nearest lattice copies keeps the
    # photo's strongest edges where only five or six of them lie in the frame; their energy
    # outshone the word's and every blob level read a shapeless blob ("51 x 44 px" on the
    # train split). The third pass's template takes up to 25 copies, the edges cancel and
    # the word's blob is read (fat and turned by its tails at that level: it is turned to the
    # lattice's row and cut to the strokes); the untouched photo stays untouched.
    marked, drawn = _busy_motorcycle(True)
    wm = find_tiled_watermark(marked)
    assert wm.found, wm.reason
    tiles = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(tiles, [np.round(p).astype(np.int32) for p in wm.polygons], 1)
    assert np.mean(tiles[drawn] > 0) > 0.9  # (main: not found; the blob as read: 0.79)
    assert np.mean(tiles > 0) < 0.3  # word-sized boxes (the blob read fat is turned and cut)
    assert abs(((wm.angle_deg - 30.654) + 90) % 180 - 90) < 3
    assert not find_tiled_watermark(_busy_motorcycle(False)[0]).found


def _half_textured(width: int = 768) -> np.ndarray:
    """Grass (sharp texture) on the left, the coffee photo blurred (smooth) on the right,
    joined over a twentieth of the width: float32 RGB (3/4 width, width, 3)."""
    H = width * 3 // 4

    def centre(a):
        y0, x0 = (a.shape[0] - H) // 2, (a.shape[1] - width) // 2
        return a[y0:y0 + H, x0:x0 + width]

    left = centre(scaled_photo("grass", width))
    right = cv2.GaussianBlur(centre(scaled_photo("coffee", width * 4 // 3)), (0, 0), 6)
    ramp = np.clip((np.arange(width) - 0.475 * width) / (0.05 * width), 0, 1)
    return np.ascontiguousarray(left + (right - left) * ramp[None, :, None].astype(np.float32))


def test_a_watermark_over_the_smooth_half_of_a_half_textured_photo_is_found():
    # a white "shutterpix" at 0.4 tiled over grass | a blurred photo: the grass's edges
    # bury the lattice of the copies over the smooth half (its correlation 0.018, under
    # MIN_CORR) until the texture is evened
    from seamline.testing import overlays as ov

    photo = _half_textured()
    word = ov.Overlay(text="shutterpix", xy=(0, 0), size_px=38, font=BOLD_FONT,
                      color=(255, 255, 255), opacity=0.4, angle_deg=28)
    marked = ov.render(photo, ov.tile_overlay(word, photo.shape[:2], (1.6, 3.6)))[0]
    marked = marked.astype(np.float32)
    drawn = ov.drawn_mask(photo, marked)
    wm = find_tiled_watermark(marked)
    assert wm.found, wm.reason
    tiles = np.zeros(drawn.shape, np.uint8)
    cv2.fillPoly(tiles, [np.round(p).astype(np.int32) for p in wm.polygons], 1)
    smooth = drawn.copy()
    smooth[:, :drawn.shape[1] // 2] = False
    assert np.mean(tiles[smooth] > 0) > 0.9  # the copies over the smooth half
    assert np.mean(tiles > 0) < 0.4  # word-sized boxes, not the frame
    assert abs(((wm.angle_deg - 28) + 90) % 180 - 90) < 8
    # the photo itself: no lattice, evened or not
    assert not find_tiled_watermark(photo).found


def _half_textured_shutterpix():
    """A grey DejaVu Sans "shutterpix" at -25 deg over grass | the cat blurred (benchmarks'
    dark_tiled_ghost_eval h1), 768 x 576: the frame, its copies (Overlays) and their boxes."""
    from seamline.testing import overlays as ov
    from seamline.testing.backgrounds import backgrounds

    H, W = 576, 768
    photos = dict(backgrounds("train"))

    def framed(name):  # the centre 4:3 crop, resized
        a = photos[name]
        h, w = a.shape[:2]
        ch, cw = (h, h * 4 // 3) if w * 3 >= h * 4 else (w * 3 // 4, w)
        a = a[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
        return cv2.resize(a, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)

    left, right = framed("skimage:grass"), cv2.GaussianBlur(framed("skimage:chelsea"), (0, 0), 6)
    ramp = np.clip((np.arange(W) - 0.475 * W) / (0.05 * W), 0, 1).astype(np.float32)
    photo = np.clip(left + (right - left) * ramp[None, :, None], 0, 1).astype(np.float32)
    word = ov.Overlay(text="shutterpix", xy=(0, 0), size_px=36,
                      font=BOLD_FONT.replace("-Bold", ""), color=(160,) * 3, opacity=0.4,
                      angle_deg=-25)
    copies = ov.tile_overlay(word, (H, W), (1.5, 4.0))
    marked = ov.render(photo, copies)[0].astype(np.float32)
    return marked, copies, [np.float32(q) for o in copies for q in ov.line_polygons(o)]


def _smooth_half_reads(boxes, shape_hw):
    """The copies' boxes wholly inside the frame on its smooth (right) half: stand-ins for
    the detector's reads there."""
    H, W = shape_hw
    return [q for q in boxes if q[:, 0].mean() > 0.55 * W and (q >= 0).all()
            and q[:, 0].max() < W and q[:, 1].max() < H]


def _tiles_on_copies(wm, boxes, shape_hw):
    """The largest distance (px) from a tile in the frame to its nearest drawn copy."""
    H, W = shape_hw
    centres = np.array([q.mean(0) for q in boxes])
    tiles = np.array([np.asarray(p).mean(0) for p in wm.polygons])
    tiles = tiles[(tiles >= 0).all(1) & (tiles[:, 0] < W) & (tiles[:, 1] < H)]
    return np.hypot(*(tiles[:, None] - centres[None]).transpose(2, 0, 1)).min(1).max()


def test_a_fat_blob_is_turned_to_the_row_the_detectors_reads_give():
    # the evened pass's blob over the right lattice is fat and its long side 12 deg off the
    # words (-13 deg); the detector read copies on the smooth half (stand-ins here: three
    # drawn copies' boxes), and the tiles are turned to the lattice's row along them and cut
    # to the strokes
    marked, _, boxes = _half_textured_shutterpix()
    reads = _smooth_half_reads(boxes, marked.shape[:2])
    assert len(reads) >= 3
    wm = find_tiled_watermark(marked, exclude=reads)
    assert wm.found, wm.reason
    assert abs(((wm.angle_deg + 25) + 90) % 180 - 90) < 3  # (main: -13.2 deg)
    assert _tiles_on_copies(wm, boxes, marked.shape[:2]) < 12


def test_a_caption_over_one_tile_does_not_vote_the_tiles_turn():
    # the same frame with a three-line horizontal caption over one copy on the grass half: its
    # three lines lie in one tile, one vote against the three read copies' (59556d3 counted
    # every line: reads -25, -25, -25, 0, 0, 0 agreed on no angle, the blob was not turned and
    # a wrong lattice's tiles came through, 90 px off the copies)
    from dataclasses import replace

    from seamline.testing import overlays as ov

    marked, copies, boxes = _half_textured_shutterpix()
    H, W = marked.shape[:2]
    reads = _smooth_half_reads(boxes, (H, W))
    under = min(boxes, key=lambda q: np.hypot(*(q.mean(0) - (0.25 * W, 0.5 * H))))
    cap = ov.Overlay(text="fresh coffee\nevery day\nopen sunday", xy=(0, 0), size_px=13,
                     font=BOLD_FONT, color=(255, 255, 255), align="center")
    w, h = ov.measure(cap)
    cx, cy = under.mean(0)
    cap = replace(cap, xy=(float(cx - w / 2), float(cy - h / 2)))
    lines = ov.line_polygons(cap)
    assert len(lines) == 3
    marked = ov.render(marked, [cap])[0].astype(np.float32)
    wm = find_tiled_watermark(marked, exclude=reads + [np.float32(q) for q in lines])
    assert wm.found, wm.reason
    assert abs(((wm.angle_deg + 25) + 90) % 180 - 90) < 3
    assert _tiles_on_copies(wm, boxes, (H, W)) < 12


def test_a_frame_half_flat_is_not_evened_to_nothing():
    # grass beside a plain background over half the frame (a graphic's, a letterbox): the
    # local energy's 30th percentile is 0, and evened every pixel was scaled to 0 (main
    # searched that all-zero frame for a lattice)
    from seamline.ops.text.watermark import evened, periodicity

    photo = scaled_photo("grass", 1024)[:768].copy()
    photo[:, 512:] = np.float32([0.5, 0.55, 0.6])
    h, _, _ = periodicity(photo)
    assert evened(h) is None
    assert evened(h[:, :300]) is None  # the grass alone is even already


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


def test_an_unknown_wide_pass_is_an_input_error():
    """``wide`` takes True, False or "only"; a misspelt "Only" ran all three passes."""
    with pytest.raises(InputError, match="wide"):
        find_tiled_watermark(np.zeros((64, 64, 3), np.float32), wide="Only")


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


def test_a_blob_spanning_two_copies_along_its_row_is_not_one_word():
    # The coins photo with a caption (train case shadow_hard7, 1280x960): the lattice of the
    # coin grid (83 and 96 work px) passed every check once two neighbouring coins, joined
    # at the lowest blob level, made a 149 x 61 "word" with a row vector twice the step;
    # 44 coin "tiles" were masked and filled. A word's copies never overlap along its row.
    from seamline.ops.text.watermark import _rows_along_text

    v1, v2 = np.array([1.0, 96.0]), np.array([-83.0, 2.0])
    assert not _rows_along_text(((246.5, 245.5), (61.0, 149.0), -90.0), v1, v2)
    # one coin-grid step longer than the blob: a row of words, as tiled watermarks are laid
    assert _rows_along_text(((246.5, 245.5), (30.0, 70.0), -90.0), v1, v2)


def test_lines_off_the_tiles_middle_line_are_not_read_as_copies():
    # three tiles of a -25 deg lattice, and a horizontal word-shaped line in each: lying on
    # the tile's middle line they read as copies (0 deg), a line 25 px above it (a caption's
    # line over the tile's upper half, its centre still inside the 60 px tall tile) does not
    # (59556d3 counted every line whose centre lay in a tile: 0.0)
    from seamline.ops.text.watermark import _reads_angle

    def box(c, size, deg):
        return cv2.boxPoints((tuple(map(float, c)), size, -deg)).astype(np.float32)

    centres = np.array([[200.0, 200.0], [450.0, 300.0], [300.0, 450.0]])
    tiles = [box(c, (200, 60), -25) for c in centres]
    up = 25 * np.array([np.sin(np.radians(25)), -np.cos(np.radians(25))])  # across, upward
    on = [box(c, (150, 20), 0) for c in centres]
    off = [box(c + up, (150, 20), 0) for c in centres]
    assert _reads_angle(tiles, on) == pytest.approx(0.0, abs=1e-6)
    assert _reads_angle(tiles, off) is None
