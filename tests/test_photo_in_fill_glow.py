"""ops.text.outline.photo_in_fill: a dark glow's blend over a light bokeh disc is text, a
light highlight the matte took beside the letters is photo (PHOTO_DARKER; train glow5)."""

from __future__ import annotations

import numpy as np

from seamline.ops.text import TextRegion, glyph_mask
from seamline.ops.text.outline import photo_in_fill
from seamline.testing import overlays

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
H, W = 240, 640


def _grid():
    return np.mgrid[0:H, 0:W].astype(np.float32)


def test_dark_glow_over_a_light_disc_is_not_photo():
    # train glow5's line: a light grey caption with an opaque dark 8 px glow over a dark
    # ground with light bokeh discs; the glyph mask takes the glow, and its blend over the
    # discs is mid-tone, off the fill-to-glow blend
    yy, xx = _grid()
    photo = np.empty((H, W, 3), np.float32)
    photo[:] = (0.22, 0.24, 0.08)
    for cx, cy, r, col in [(230, 60, 70, (0.95, 0.95, 0.55)), (420, 185, 55, (0.85, 0.8, 0.75))]:
        a = np.clip((r - np.hypot(xx - cx, yy - cy)) / 3, 0, 1)[..., None]
        photo = photo * (1 - a) + np.float32(col) * a
    ov = overlays.Overlay(text="weather", xy=(60, 80), size_px=69, font=FONT,
                          color=(167, 168, 180), glow_px=8.0, glow_color=(28, 28, 28),
                          glow_opacity=0.99)
    img, _, _ = overlays.render(photo, [ov])
    img = img.astype(np.float32)
    polys = overlays.line_polygons(ov)
    gm = glyph_mask(img, [TextRegion(np.float32(p), "weather", 0.9) for p in polys])
    assert (gm.mask > 0).sum() > 5000  # the matte took the glow with the letters
    assert photo_in_fill(gm.mask > 0, img, polys).sum() == 0  # main: 413 px, all drawn


def test_a_highlight_beside_the_letters_stays_photo():
    # a white caption with a black outline over warm photo; a bright yellow band (a cup's
    # lit rim) runs through the line's box and the glyph mask took it: lighter than the photo
    # round it, it is photo
    yy, xx = _grid()
    photo = np.empty((H, W, 3), np.float32)
    photo[:] = (0.75, 0.6, 0.3)
    a = np.clip((6 - np.abs(yy - (140 + 0.05 * (xx - 300)))) / 2, 0, 1) * ((xx > 150) & (xx < 520))
    photo = photo * (1 - a[..., None]) + np.float32((1.0, 0.88, 0.5)) * a[..., None]
    ov = overlays.Overlay(text="weather", xy=(60, 80), size_px=69, font=FONT,
                          color=(250, 250, 250), outline_px=2, outline_color=(0, 0, 0))
    img, _, layers = overlays.render(photo, [ov])
    img = img.astype(np.float32)
    drawn = overlays.drawn_mask(photo, img)
    highlight = (a > 0.5) & ~drawn
    glyphs = (layers["fill"] + layers["outline"] > 0.5) | highlight
    got = photo_in_fill(glyphs, img, overlays.line_polygons(ov))
    assert (got & highlight).sum() > 0.5 * highlight.sum()
    assert (got & drawn).sum() < 0.02 * got.sum()
