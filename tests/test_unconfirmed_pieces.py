"""The demo spoon's highlights under the light watermark: ops.text.unconfirmed (small glyph
pieces at a line's box edge the segmenter does not see as text are photo: the lit neck) and
ops.text.outline.highlight_rim (the glyph pixels that are only the rim of a highlight the
text mask found to be photo)."""

from __future__ import annotations

import numpy as np

from seamline.ops.text.outline import highlight_rim
from seamline.ops.text.unconfirmed import CONFIRM, MIN_PX, PIECE_SHARE, edge_pieces


def _case():
    glyphs = np.zeros((60, 120), bool)
    prob = np.zeros((60, 120), np.float32)
    poly = np.float32([[10, 10], [110, 10], [110, 50], [10, 50]])
    # a letter: 4 px strokes, 30 px tall, the segmenter sure of it
    glyphs[15:45, 20:24] = True
    glyphs[15:19, 20:34] = True
    prob[12:48, 17:37] = 0.95
    # photo running in across the top edge: small, the segmenter unsure
    glyphs[8:16, 60:63] = True
    prob[6:18, 58:65] = CONFIRM - 0.15
    # the same shape at the edge, confirmed (a letter's piece the box cut)
    glyphs[44:52, 80:83] = True
    prob[42:54, 78:85] = CONFIRM + 0.2
    # an unconfirmed piece away from every edge (left alone: not photo running in)
    glyphs[28:34, 95:98] = True
    prob[26:36, 93:100] = 0.1
    return glyphs, prob, poly


def test_only_the_unconfirmed_small_piece_at_the_edge_is_photo():
    glyphs, prob, poly = _case()
    out = edge_pieces(glyphs, prob, [poly], [4.0], [30.0])
    assert out[8:16, 60:63].all()
    assert out.sum() == glyphs[8:16, 60:63].sum()


def test_a_piece_the_size_of_a_letter_is_kept():
    glyphs, prob, poly = _case()
    # the line's letters are small (stroke x height under the piece's area / PIECE_SHARE)
    area = int(glyphs[8:16, 60:63].sum())
    out = edge_pieces(glyphs, prob, [poly], [1.0], [area / PIECE_SHARE - 1])
    assert not out.any()


def test_nothing_without_glyphs_or_lines():
    glyphs, prob, poly = _case()
    assert not edge_pieces(np.zeros_like(glyphs), prob, [poly], [4.0], [30.0]).any()
    assert not edge_pieces(glyphs, prob, [], [], []).any()



def test_an_edge_speck_is_left_alone():
    glyphs, prob, poly = _case()
    glyphs[8:12, 40:42] = True  # under MIN_PX, at the top edge, unconfirmed
    assert glyphs[8:12, 40:42].sum() < MIN_PX
    assert not edge_pieces(glyphs, prob, [poly], [4.0], [30.0])[8:12, 40:42].any()


def _highlight():
    yy, xx = np.mgrid[0:80, 0:80]
    r = np.hypot(yy - 40, xx - 40)
    photo = r <= 6  # the highlight's clipped core the text mask found to be photo
    glyphs = photo | ((r > 6) & (r <= 9))  # ... and its rim the matte took
    # its light: white falling off to a brown photo
    t = np.clip((12 - r) / 6, 0, 1)[..., None]
    image = (t * np.float32([1, 1, 1]) + (1 - t) * np.float32([0.45, 0.3, 0.2])).astype(np.float32)
    return yy, r, photo, glyphs, image


def test_a_highlights_rim_is_photo_and_a_stroke_crossing_its_slope_is_not():
    yy, r, photo, glyphs, image = _highlight()
    stroke = (np.abs(yy - 30) <= 2) & (r > 0) & (np.abs(np.mgrid[0:80, 0:80][1] - 40) <= 30)
    glyphs = glyphs | stroke
    image[stroke] = 0.55 * image[stroke] + 0.45  # a 45 % white paint over it
    rim = highlight_rim(glyphs, photo, image)
    assert rim[(r > 6) & (r <= 9) & (yy >= 40)].all()
    assert not (rim & stroke).any() and not (rim & photo).any()


def test_a_letters_edge_in_the_paints_colour_is_not_a_rim():
    yy, r, photo, glyphs, image = _highlight()
    image[(r > 6) & (r <= 9)] = [0.25, 0.95, 0.18]  # green paint beside the light, not a blend
    assert not highlight_rim(glyphs, photo, image).any()


def test_no_rim_without_photo():
    glyphs = np.ones((10, 10), bool)
    assert not highlight_rim(glyphs, np.zeros_like(glyphs), np.ones((10, 10, 3), np.float32)).any()
