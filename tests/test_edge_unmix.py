"""The text's anti-aliased rim the glyph matte's cut leaves just outside the mask: after the
fill it is 1-2 px specks of the text's colour round the hole; fill_text unmixes it back to
the photo (ops.text.edge_unmix), and a band of clean photo stays as it is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.io import as_image
from seamline.ops.text import TextRegion
from seamline.ops.text.edge_unmix import BAND_PX, unmix_edge
from seamline.ops.text.removal import fill_text
from seamline.testing.overlays import Overlay, line_polygons, render

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
#: (photo, caption position, ink): a green caption over the coffee's dark table (train
#: shadow_hard6's specks), a yellow one over the coffee's light wall, a pink one over the
#: astronaut's creased suit (texture: fewer rim pixels told from it)
CASES = [("coffee", (40, 330), (60, 220, 45)), ("coffee", (300, 40), (235, 235, 60)),
         ("astronaut", (30, 440), (250, 60, 200))]
#: Per case, the share of main's specks that may stay (measured: 0.32, 0.35, 0.72).
SPECKS_LEFT = (0.45, 0.45, 0.8)


def _caption(name, xy, ink):
    """The photo, the captioned photo, its coverage, the matte's cut (coverage >= 0.65: the
    glyph mask's core) and the caption's region."""
    photo = as_image(getattr(data, name)())
    ov = Overlay(text="GOOD DESIGN", xy=xy, size_px=30, font=FONT, color=ink)
    image, alpha, _ = render(photo, [ov])
    image = image.astype(np.float32)
    return photo, image, alpha, alpha >= 0.65, TextRegion(line_polygons(ov)[0], "GOOD DESIGN",
                                                          1.0)


def _dist_out(mask):
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


@pytest.mark.parametrize("name, xy, ink, left", [(*c, s) for c, s in zip(CASES, SPECKS_LEFT)])
def test_the_rim_left_outside_the_mask_is_given_back_to_the_photo(name, xy, ink, left):
    photo, image, alpha, cut, region = _caption(name, xy, ink)
    d = _dist_out(cut)
    band = (d > 0) & (d <= BAND_PX)
    assert ((alpha > 0.05) & band).sum() > 250  # the case is what it says: a rim outside

    def specks(out):
        return int((band & (np.abs(out - photo).max(-1) > 8 / 255)).sum())

    plain, plain_mask, _ = fill_text(image, cut.astype(np.float32), [region], backend="telea",
                                     judge=False)
    out, final, report = fill_text(image, cut.astype(np.float32), [region], backend="telea",
                                   judge=False, inks=[[np.float32(ink) / 255]])
    unmixed = (np.abs(out - image).max(-1) > 0) & ~cut
    # the rim's mixed pixels unmixed before the fill, named in the mask, none farther out
    assert unmixed.any() and not (unmixed & (d > BAND_PX)).any()
    assert np.array_equal(final > 0, (plain_mask > 0) | unmixed)
    assert report["regions"][0]["edge_unmix"]["unmixed_px"] == unmixed.sum()
    assert report["edge_unmixed_px"] == unmixed.sum()
    # main left 490-531 px of the text's colour (> 8/255) within 2 px of the hole; most go,
    # and the unmixed pixels are nearer the photo
    assert specks(out) <= left * specks(plain), (specks(plain), specks(out))
    err = np.abs(out - photo).max(-1)
    err_plain = np.abs(plain - photo).max(-1)
    assert err[unmixed].mean() < 0.5 * err_plain[unmixed].mean()
    # the fill reads the photo round the hole, not the text's colour: the hole is nearer the
    # photo too (main's Telea carried the rim's colour in: a tinted ghost of the letters)
    assert err[cut].mean() < 0.9 * err_plain[cut].mean(), (err_plain[cut].mean(),
                                                          err[cut].mean())


@pytest.mark.parametrize("name, xy, ink", CASES)
def test_a_band_of_clean_photo_is_left_as_it_is(name, xy, ink):
    # a perfect removal: the mask took all of the text, so the band round it is photo
    photo, image, _, cut, _ = _caption(name, xy, ink)
    hole = cv2.dilate(cut.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    clean = np.where(hole[..., None], image, photo)
    band = (_dist_out(hole) > 0) & (_dist_out(hole) <= BAND_PX)
    restored, changed, figures = unmix_edge(clean, hole, [np.float32(ink) / 255])
    assert changed.sum() <= 0.005 * band.sum(), changed.sum()
    assert np.array_equal(restored[~changed], clean[~changed])


def test_no_inks_no_change():
    photo, image, _, cut, region = _caption(*CASES[0])
    restored, changed, figures = unmix_edge(image, cut, [])
    assert not changed.any() and figures["unmixed_px"] == 0
    out, final, report = fill_text(image, cut.astype(np.float32), [region], backend="telea",
                                   judge=False)
    assert "edge_unmixed_px" not in report and np.array_equal(final > 0, cut)
