"""Glow text of the photo's own hue: the mask holds the letters, not only their glow
(ops.text.glow_core, text-mask v62)."""

from __future__ import annotations

import cv2
import numpy as np

from seamline.testing import overlays

SERIF = str(overlays.FONT_ROOT / "truetype" / "dejavu" / "DejaVuSerif.ttf")


def _green_grass(shape_hw=(240, 520), hue=117):
    """scikit-image's grass (mirror-tiled, 1.5x) tinted green (hue in degrees)."""
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass(shape_hw, 1.5), 0, 1)
    hsv = np.dstack([np.full(g.shape, hue / 2, np.uint8), np.full(g.shape, 180, np.uint8),
                     np.clip(g * 1.1 * 255, 0, 255).astype(np.uint8)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255


def _rgb255(c):
    return tuple(int(v) for v in np.round(np.clip(c, 0, 1) * 255))


def _glow_line(glow_px=8.0):
    """Dark green letters (the grass's median x 0.5) with a light green glow (x 1.25), DejaVu
    Serif 81 px: (photo, image, overlay, the letters' cores: the fill's visible alpha >= 0.5)."""
    photo = _green_grass()
    c = np.median(photo.reshape(-1, 3), 0)
    ov = overlays.Overlay(text="best today", xy=(40, 70), size_px=81, font=SERIF,
                          color=_rgb255(c * 0.5), glow_px=glow_px, glow_opacity=0.92,
                          glow_color=_rgb255(c * 1.25 + 0.03))
    image, _, layers = overlays.render(photo, [ov])
    return photo, image.astype(np.float32), ov, layers["fill"] >= 0.5


def _text_mask(image, ov, poly=None):
    """The remove-text pipeline's text-mask stage on ``poly`` (default the line's own
    polygon): (mask, report)."""
    from seamline.core.pipeline import builtin_spec
    from seamline.core.stage import StageContext
    from seamline.ops.text import TextRegion
    from seamline.stages import get_stage

    decl = builtin_spec("remove-text").stage("mask")
    poly = overlays.line_polygons(ov)[0] if poly is None else poly
    region = TextRegion(np.float32(poly), ov.text)
    res = get_stage(decl.stage_id)(decl.params).run(StageContext("test", 0, "reconcile"),
                                                    image=image, regions=[region])
    return res.outputs["mask"] >= 0.5, res.report


def test_a_glow_the_matte_took_for_the_letters_gets_the_letters_it_walls_in():
    # the glow differs from the grass more than the dark letters do: the colour matte took the
    # glow round most letters and left their insides out (41% of the cores held before v62);
    # the fill then drew the letters back from the glow's inside
    photo, image, ov, cores = _glow_line()
    mask, report = _text_mask(image, ov)
    assert mask[cores].mean() >= 0.75, mask[cores].mean()
    assert report["glow_core_px"][0] > 0
    drawn = overlays.drawn_mask(photo, image)
    assert (mask & ~drawn).sum() <= 0.03 * drawn.sum(), (mask & ~drawn).sum()


def test_a_mask_that_holds_the_letters_gets_nothing_from_the_glow_rule():
    # the same letters without a glow, their mask their own pixels: what the closed mask
    # walls in is the grass in counters and gaps (its own colour past the line): no cores
    from seamline.ops.text.glow_core import glow_cores

    photo, image, ov, cores = _glow_line(glow_px=0.0)
    report = []
    add = glow_cores(cores, image, overlays.line_polygons(ov), [ov.size_px * 0.72],
                     report=report)
    assert report == [0] and not add.any()


def test_photo_the_matte_walled_in_past_a_lines_ends_is_not_taken_for_its_letters():
    # light letters with a dark glow over light-bladed grass, boxed 20 px past both ends (a
    # detector's box): the matte took grass there, and light blades it walls in have the
    # letters' colour; they are walled by grass, not by the glow, so they stay out (before,
    # the mask held 574 px more than 8 px from the drawn text; 164 now) while the letters go in
    photo = _green_grass(hue=100)
    c = np.median(photo.reshape(-1, 3), 0)
    ov = overlays.Overlay(text="best today", xy=(60, 70), size_px=81, font=SERIF,
                          color=_rgb255(c * 1.25 + 0.03), glow_px=8.0, glow_opacity=0.92,
                          glow_color=_rgb255(c * 0.5))
    image, _, layers = overlays.render(photo, [ov])
    poly = np.float32(overlays.line_polygons(ov)[0])
    poly[:, 0] += np.where(poly[:, 0] > poly[:, 0].mean(), 20, -20)
    mask, report = _text_mask(image.astype(np.float32), ov, poly)
    assert report["glow_core_px"][0] > 0
    assert mask[layers["fill"] >= 0.5].mean() >= 0.75, mask[layers["fill"] >= 0.5].mean()
    drawn = overlays.drawn_mask(photo, image)
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 3) > 8
    assert (mask & far).sum() <= 300, (mask & far).sum()
