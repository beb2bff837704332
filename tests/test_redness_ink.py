"""A camera date's mask from its redness (ops.text.redness_ink, text-mask v67): review40's
checks of the cases the golden-grass analogues do not reach."""

from __future__ import annotations

import cv2
import numpy as np

BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CONDENSED = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"


def _flat_date(ink_rgb, photo_rgb=(170, 120, 120)):
    # "2024" in a pixel font (no anti-aliasing: a CCTV or screenshot stamp) of one flat colour
    # over a flat photo: the box's a* holds exactly two levels
    canvas = np.zeros((200, 400), np.uint8)
    cv2.putText(canvas, "2024", (60, 140), cv2.FONT_HERSHEY_SIMPLEX, 3, 255, 8, cv2.LINE_8)
    ink = canvas > 127
    image = np.empty((200, 400, 3), np.float32)
    image[:] = np.float32(photo_rgb) / 255
    image[ink] = np.float32(ink_rgb) / 255
    return image, ink, np.float32([[50, 60], [330, 60], [330, 155], [50, 155]])


def test_a_date_less_red_than_its_photo_in_two_flat_levels_keeps_a_mask():
    # the ink is the a* split's lower, smaller class: the core taken strictly below Otsu's
    # threshold (the ink's own level) was empty, chroma_ink handed back an empty mask and
    # chroma_lines emptied the line (main c8f6ea9: 0 of 7117 ink px masked; read "ABCD", the
    # matte masks them all). Same 8-bit L* and b* as the photo, a* 62 levels lower.
    from seamline.ops.text import TextRegion
    from seamline.stages.text_mask import TextMask

    image, ink, poly = _flat_date((0, 150, 117))
    res = TextMask().run(None, image, [TextRegion(poly, "2024", 0.9)])
    mask = res.outputs["mask"] >= 0.5
    assert mask[ink].mean() >= 0.95


def test_a_year_in_white_with_a_red_outline_keeps_its_fill_in_the_mask():
    # looks_like_date reads any line of 4+ digits, not only the corner pass's camera dates: a
    # poster's "2024" in white, ringed in red, over grey grass. Its box splits best on a*
    # (the red ring against grey and white), so the mask became the ring alone and the white
    # fill was left for the fill to smear (main c8f6ea9: text-mask's mask held 42% of the
    # drawn px read "2024", all of them read "ABCD"; remove-text's PSNR in the text region
    # 19.78 dB on be997b5 -> 5.97 dB). A camera date sits in the frame's bottom-right
    # corner: a line elsewhere keeps the matte's mask
    from seamline.ops.text import TextRegion
    from seamline.stages.text_mask import TextMask
    from seamline.testing import overlays
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass((576, 768), 1.5), 0, 1).astype(np.float32)
    photo = np.repeat(g[..., None] * 0.75, 3, -1)
    ov = overlays.Overlay(text="2024", xy=(200, 200), size_px=60, font=BOLD,
                          color=(255, 255, 255), outline_px=3, outline_color=(220, 30, 30))
    image = overlays.render(photo, [ov])[0].astype(np.float32)
    drawn = np.abs(image - photo).max(-1) > 8 / 255
    poly = np.float32([[190, 185], [376, 183], [377, 260], [191, 262]])  # detect-text's box
    for text in ("ABCD", "2024"):
        res = TextMask().run(None, image, [TextRegion(poly, text, 0.9)])
        mask = res.outputs["mask"] >= 0.5
        assert mask[drawn].mean() >= 0.9, (text, res.report["chroma_lines"])
        assert res.report["chroma_lines"] == []


def test_a_dates_margin_leaves_the_line_above_its_shadow():
    # a white title with an outline and a soft shadow, a camera-style date 6 px under it over
    # golden grass. The title's outline and shadow spill below its box, into the date line's
    # matting margin: read as a date, chroma_lines emptied them (main c8f6ea9: 407 of the
    # title's 1663 drawn px outside both boxes masked, 784 with the date read "ABCD EFGH").
    # Now what the title's own matting margin reaches outside the date's box stays (the scene
    # in the bottom-right corner, where a camera prints its date)
    from seamline.ops.text import TextRegion
    from seamline.stages.text_mask import TextMask
    from seamline.testing import overlays
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass((576, 768), 1.5), 0, 1)
    hsv = np.dstack([np.full(g.shape, 20, np.uint8), np.full(g.shape, 120, np.uint8),
                     np.clip(g * 255, 0, 255).astype(np.uint8)])
    photo = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    title = overlays.Overlay(text="HELLO", xy=(450, 380), size_px=50, font=BOLD,
                             outline_px=3, shadow_offset=(3, 4), shadow_blur=3)
    date = overlays.Overlay(text="2023 10 04", xy=(450, 380 + overlays.measure(title)[1] + 6),
                            size_px=22, font=CONDENSED, color=(255, 163, 46), opacity=0.98)
    image = overlays.render(photo, [title, date])[0].astype(np.float32)
    polys = [np.float32(overlays.line_polygons(o)[0]) for o in (title, date)]
    boxes = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(boxes, [np.round(p).astype(np.int32) for p in polys], 1)
    spill = (np.abs(overlays.render(photo, [title])[0] - photo).max(-1) > 8 / 255) & (boxes == 0)
    held = []
    for text in ("ABCD EFGH", "2023 10 04"):
        res = TextMask().run(None, image, [TextRegion(polys[0], "HELLO", 0.9),
                                           TextRegion(polys[1], text, 0.9)])
        held.append(int((res.outputs["mask"] >= 0.5)[spill].sum()))
        assert res.report["chroma_lines"] == ([1] if text[0] == "2" else [])
    assert held[1] >= 0.9 * held[0], held
