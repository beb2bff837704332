"""The combined text-mask rule: glyphs plus the effects the segmenter confirms, nothing else."""

from __future__ import annotations

import re

import cv2
import numpy as np

from seamline.ops.text.effects import combine_masks


def _scene(seed=0):
    """A textured photo with a word's strokes drawn (glyphs) and a line polygon."""
    rng = np.random.default_rng(seed)
    # a textured (luminance) photo with a tint, like wood or stone
    base = cv2.GaussianBlur(rng.random((120, 320)).astype(np.float32), (0, 0), 3)
    grain = 0.06 * (base - base.mean()) / base.std()
    photo = np.clip(np.float32([0.45, 0.35, 0.25]) + grain[..., None], 0, 1)
    glyphs = np.zeros((120, 320), np.uint8)
    cv2.putText(glyphs, "MARK", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 1, 4)
    poly = np.float32([[30, 35], [260, 35], [260, 90], [30, 90]])
    return photo.astype(np.float32), glyphs > 0, poly


def _shift(a, dx, dy):
    return np.roll(np.roll(a, dy, axis=0), dx, axis=1)


def test_a_drop_shadow_the_segmenter_confirms_is_added_and_its_blur_is_not():
    photo, glyphs, poly = _scene()
    shadow = _shift(glyphs, 5, 4) & ~glyphs
    image = photo.copy()
    image[shadow] *= 0.3                    # the shadow darkens the photo
    image[glyphs] = (1.0, 1.0, 1.0)
    # the segmenter marks glyphs and shadow, blurred by 1 px
    blur = cv2.dilate((glyphs | shadow).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mask, choices = combine_masks(blur, glyphs, [poly], [40.0], image=image)
    # one shape for the line: the glyphs moved by the shadow's offset (grown by at most
    # the segmenter's blur; its own sharp edges placed it: ", hard")
    assert re.fullmatch(r"glyphs \+ effect\(dx=5, dy=4, r=[01](, hard)?\)", choices[0]), choices
    assert np.all(mask[glyphs]) and mask[shadow].mean() > 0.97
    # the segmenter's blur between and around the letters stays photo: what is added
    # beyond the shadow hugs it
    extra = mask & ~(glyphs | shadow)
    assert extra.sum() < 0.5 * shadow.sum()
    assert not np.any(extra & ~(cv2.dilate(shadow.astype(np.uint8), np.ones((3, 3))) > 0))


def test_an_outline_the_matting_missed_is_fitted_all_round_not_as_a_one_sided_shadow():
    # a subtitle's dark outline, wider across the strokes than along them (vertical strokes
    # dominate): the glyphs moved 4 px one way explain one side of it about as well as a
    # centred growth explains both, and the other side was left out of the mask
    photo, glyphs, poly = _scene(0)
    outline = (cv2.dilate(glyphs.astype(np.uint8), np.ones((3, 9), np.uint8)) > 0) & ~glyphs
    image = photo.copy()
    image[outline] = (0.02, 0.02, 0.02)
    image[glyphs] = (1.0, 1.0, 1.0)
    mask, choices = combine_masks(glyphs | outline, glyphs, [poly], [40.0], image=image)
    assert choices[0].startswith("glyphs + effect(dx=0, dy=0, r=")
    left = outline & ~np.roll(outline, 1, axis=1)    # the outline's left edges
    right = outline & ~np.roll(outline, -1, axis=1)  # and its right edges
    assert mask[left].all() and mask[right].all() and mask[outline].all()


def test_plain_letters_keep_only_the_glyphs_however_wide_the_segmenter_blurs():
    photo, glyphs, poly = _scene(1)
    image = photo.copy()
    image[glyphs] = (1.0, 0.2, 0.8)
    for px in (3, 5, 9):  # the segmenter's blur reaches 1, 2, 4 px past the strokes
        blur = cv2.dilate(glyphs.astype(np.uint8), np.ones((px, px), np.uint8)) > 0
        mask, choices = combine_masks(blur, glyphs, [poly], [40.0], image=image)
        assert choices == ["glyphs"] and np.array_equal(mask, glyphs)


def test_glyph_pixels_the_segmenter_never_saw_are_dropped_and_a_line_matting_missed_uses_it():
    photo, glyphs, poly = _scene(2)
    stray = np.zeros_like(glyphs)
    stray[100:110, 280:300] = True           # matting took a photo edge of the text's colour
    image = photo.copy()
    image[glyphs] = 1.0
    seg = cv2.dilate(glyphs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mask, _ = combine_masks(seg, glyphs | stray, [poly], [40.0], image=image, support=seg)
    assert np.array_equal(mask, glyphs)
    # matting found almost nothing (a date stamp): the segmenter's mask as it is
    few = np.zeros_like(glyphs)
    few[60, 100] = True
    mask, choices = combine_masks(seg, few, [poly], [40.0], image=image)
    assert choices == ["segmenter"] and np.array_equal(mask, seg | few)


def _thin_caption(shade: float):
    """Thin subtitle letters (2 px strokes) with a hard shadow 2 px right, 1 px down, darkened
    to ``shade`` of the photo; the segmenter marks letters and shadow exactly."""
    photo, _, _ = _scene(3)
    glyphs = np.zeros(photo.shape[:2], np.uint8)
    cv2.putText(glyphs, "subtitle", (30, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1, 2, cv2.LINE_8)
    glyphs = glyphs > 0
    shadow = _shift(glyphs, 2, 1) & ~glyphs
    image = photo.copy()
    image[shadow] *= shade
    image[glyphs] = 1.0
    poly = np.float32([[20, 40], [300, 40], [300, 90], [20, 90]])
    return image, glyphs, shadow, poly


def test_a_thin_hard_shadow_mostly_under_its_letters_is_added_when_it_is_strongly_coloured():
    image, glyphs, shadow, poly = _thin_caption(0.15)
    beside = shadow & ~(cv2.dilate(glyphs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    # the case: what shows beside the letters is about a tenth of their pixels (under
    # EFFECT_MIN_SHARE; the normaliser's 1 px covers the rest of the shadow)
    assert 0.08 <= beside.sum() / glyphs.sum() < 0.15
    mask, choices = combine_masks(glyphs | shadow, glyphs, [poly], [30.0], image=image)
    assert choices == ["glyphs + effect(dx=2, dy=1, r=0)"]
    assert mask[shadow].all() and not np.any(mask & ~(glyphs | shadow))
    # the same small shape with a faint change (the segmenter's blur over a slightly darker
    # photo looks like this) is not taken
    image, glyphs, shadow, poly = _thin_caption(0.85)
    mask, choices = combine_masks(glyphs | shadow, glyphs, [poly], [30.0], image=image)
    assert choices == ["glyphs"] and np.array_equal(mask, glyphs)


def test_letters_the_matting_missed_come_from_the_segmenter_and_photo_it_marks_does_not():
    photo, glyphs, poly = _scene(4)
    image = photo.copy()
    image[glyphs] = (1.0, 1.0, 1.0)
    found = glyphs.copy()
    found[:, 120:] = False                     # matting found "MA", not "RK"
    blob = np.zeros(glyphs.shape, np.uint8)
    cv2.circle(blob, (230, 100), 8, 1, -1)     # a dark photo object in the line's crop
    blob = blob > 0
    image[blob] = (0.15, 0.1, 0.05)
    missed = glyphs & ~found
    for blur in (1, 3):  # the segmenter marks letters and object, exactly or 1 px wider
        seg = cv2.dilate((glyphs | blob).astype(np.uint8), np.ones((blur, blur), np.uint8)) > 0
        mask, choices = combine_masks(seg, found, [poly], [40.0], image=image)
        assert choices[0].startswith("glyphs + segmenter(")
        assert mask[missed].mean() > 0.95
        # its blur around the letters and the object (the photo's colours) stay photo
        assert not np.any(mask & ~glyphs)


def test_on_outlined_text_only_pieces_with_fill_and_outline_are_confirmed():
    photo, glyphs, poly = _scene(5)
    k = np.ones((5, 5), np.uint8)
    fill = cv2.erode(glyphs.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    outline = (cv2.dilate(fill.astype(np.uint8), k) > 0) & ~fill   # 2 px black outline
    text = fill | outline
    rim = np.zeros_like(glyphs)
    rim[97:101, 40:200] = True                  # a white rim (the fill's colour, no outline)
    image = photo.copy()
    image[fill | rim] = 1.0
    image[outline] = 0.0
    found = text.copy()
    found[:, 120:] = False                      # matting found "MA" only
    seg = text | rim
    missed = text & ~found
    for outlined in (False, True):
        mask, _ = combine_masks(seg, found, [poly], [40.0], image=image, outlined=[outlined])
        assert mask[missed].mean() > 0.95
        # the rim is white like the letters: only the outline tells them apart
        assert mask[rim].any() != outlined


def test_a_glow_the_segmenter_missed_is_masked_all_round_and_plain_letters_get_no_halo():
    photo, glyphs, poly = _scene(6)
    seg = cv2.dilate(glyphs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # letters only
    # a dark purple glow ~2 px past the letters, blurred 2 px (fades out 6-8 px away)
    glow = cv2.GaussianBlur(cv2.dilate(glyphs.astype(np.float32), np.ones((5, 5), np.uint8)),
                            (0, 0), 2.0)
    a = np.clip(0.9 * glow, 0, 1)[..., None]
    image = (photo * (1 - a) + np.float32([0.25, 0.05, 0.35]) * a).astype(np.float32)
    image[glyphs] = (1.0, 0.5, 0.8)
    visible = (np.abs(image - photo).max(-1) > 8 / 255) & ~glyphs
    mask, choices = combine_masks(seg, glyphs, [poly], [40.0], image=image)
    assert choices[0].startswith("glyphs + halo(")
    assert mask[visible].mean() >= 0.85, mask[visible].mean()
    assert (mask & ~glyphs & ~visible).sum() <= 0.1 * visible.sum()
    # the same letters without a glow end where they end
    plain = photo.copy()
    plain[glyphs] = (1.0, 0.5, 0.8)
    mask, choices = combine_masks(seg, glyphs, [poly], [40.0], image=plain)
    assert choices == ["glyphs"] and np.array_equal(mask, glyphs)


def _bokeh_title(seed: int):
    """Huge letters (22 px strokes) over a soft photo of big discs in many colours (bokeh)."""
    rng = np.random.default_rng(seed)
    H, W = 260, 700
    photo = np.zeros((H, W, 3), np.float32) + rng.uniform(0, 0.3, 3).astype(np.float32)
    for _ in range(14):
        c = rng.uniform(0, 1, 3).astype(np.float32)
        disc = np.zeros((H, W), np.float32)
        cv2.circle(disc, (int(rng.integers(0, W)), int(rng.integers(0, H))),
                   int(rng.integers(40, 110)), 1, -1)
        disc = 0.9 * cv2.GaussianBlur(disc, (0, 0), 4)[..., None]
        photo = photo * (1 - disc) + c * disc
    glyphs = np.zeros((H, W), np.uint8)
    cv2.putText(glyphs, "FAMILY", (20, 190), cv2.FONT_HERSHEY_SIMPLEX, 4.5, 1, 22)
    poly = np.float32([[10, 40], [690, 40], [690, 230], [10, 230]])
    return photo.astype(np.float32), glyphs > 0, poly


def test_the_segmenters_blur_round_a_huge_title_on_a_many_coloured_photo_is_not_a_glow():
    from seamline.ops.masks import ellipse_kernel as _disk

    for seed in (2, 6):
        photo, glyphs, poly = _bokeh_title(seed)
        image = photo.copy()
        image[glyphs] = (0.8, 0.1, 0.8)
        # the segmenter sees a 160 px title at a quarter of its size: its mask reaches 6 px
        # past the strokes all round
        seg = cv2.dilate(glyphs.astype(np.uint8), _disk(6)) > 0
        ring = (cv2.dilate(seg.astype(np.uint8), _disk(5)) > 0) & ~(
            cv2.dilate(seg.astype(np.uint8), _disk(2)) > 0)
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
        shape = seg & ~(cv2.dilate(glyphs.astype(np.uint8), _disk(1)) > 0)
        # the case: the blur's median colour and the ring's differ (the photo's colours
        # split unevenly between them) by more than the ring test's 4 Delta E
        assert np.linalg.norm(np.median(lab[shape], 0) - np.median(lab[ring], 0)) > 5
        mask, choices = combine_masks(seg, glyphs, [poly], [130.0], image=image)
        assert choices == ["glyphs"] and np.array_equal(mask, glyphs)
        # a real glow there, 4 px past the strokes, is still found
        glow = (cv2.dilate(glyphs.astype(np.uint8), _disk(4)) > 0) & ~glyphs
        lit = image.copy()
        lit[glow] = 0.5 * lit[glow] + 0.5 * np.float32([1.0, 1.0, 0.2])
        mask, choices = combine_masks(seg, glyphs, [poly], [130.0], image=lit)
        assert choices[0].startswith("glyphs + effect(dx=0, dy=0, r=")
        assert mask[glow].mean() > 0.95


def _dark_title_with_soft_shadow(seed: int, shadow: bool):
    """A 110 px title (17 px strokes) over a dark, lightly textured photo (coins' ground),
    with a black drop shadow moved (2, 2) px and blurred by 2.3 px at 0.8 opacity."""
    rng = np.random.default_rng(seed)
    H, W = 220, 640
    base = cv2.GaussianBlur(rng.random((H, W)).astype(np.float32), (0, 0), 2)
    photo = np.clip(0.22 + 0.08 * (base - base.mean()) / base.std(), 0, 1)
    photo = np.repeat(photo[..., None], 3, axis=2).astype(np.float32)
    glyphs = np.zeros((H, W), np.uint8)
    cv2.putText(glyphs, "Friends", (20, 160), cv2.FONT_HERSHEY_SIMPLEX, 3.6, 1, 17)
    image = photo.copy()
    if shadow:
        alpha = cv2.GaussianBlur(np.roll(glyphs.astype(np.float32), (2, 2), (0, 1)), (0, 0), 2.3)
        image *= 1 - 0.8 * alpha[..., None]
    image[glyphs > 0] = (0.16, 0.76, 0.31)
    poly = np.float32([[10, 50], [630, 50], [630, 190], [10, 190]])
    return photo, image.astype(np.float32), glyphs > 0, poly


def test_a_huge_titles_soft_shadow_over_a_dark_photo_is_judged_beside_the_glyphs():
    # The segmenter sees a 110 px title at a third of its size, so it marks 6 px round the
    # strokes; the best fit is the glyphs grown by 6 px and moved down, mostly the shadow's
    # faint tail: its median colour matched the ring round it (about 1.5 Delta E) and the
    # shadow was left out, to come back through the fill as a darker ghost of the word.
    from seamline.ops.masks import ellipse_kernel as _disk

    for seed in (0, 1):
        photo, image, glyphs, poly = _dark_title_with_soft_shadow(seed, shadow=True)
        seg = cv2.dilate(glyphs.astype(np.uint8), _disk(6)) > 0
        seg |= np.roll(seg, (3, 3), (0, 1))
        mask, choices = combine_masks(seg, glyphs, [poly], [80.0], image=image)
        assert choices[0].startswith("glyphs + effect(")
        # the shadow a person sees (darker than the photo by 4/255 or more) is masked
        seen = ((photo - image).max(-1) > 4 / 255) & ~glyphs
        assert mask[seen].mean() > 0.95
        # the same title with no shadow keeps only its glyphs
        photo, image, glyphs, poly = _dark_title_with_soft_shadow(seed, shadow=False)
        mask, choices = combine_masks(seg, glyphs, [poly], [80.0], image=image)
        assert choices == ["glyphs"] and np.array_equal(mask, glyphs)


def _title_over_a_hue_band(seed: int, **effects):
    """A white DejaVu Serif Bold title over dark red with fine colour noise and a band of
    another hue (Lab a/b shifted across the text's own colour axis: a cup's rim running out
    of the mask) whose edge crosses the letters; (image, the fill's own pixels, polygon)."""
    from dataclasses import replace

    from seamline.testing import overlays

    rng = np.random.default_rng(seed)
    yy = np.mgrid[0:200, 0:560][0].astype(np.float32)
    band = np.clip((90 - yy) / 2 + 0.5, 0, 1)[..., None]
    lab = np.float32([35, 40, 30]) + band * np.float32([0, 24, -32])
    noise = cv2.GaussianBlur(rng.normal(0, 1, (200, 560, 3)).astype(np.float32), (0, 0), 1.0)
    lab = (lab + 4 * noise / noise.std()).astype(np.float32)
    photo = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1).astype(np.float32)
    ov = overlays.Overlay(text="Shipping", xy=(30, 50), size_px=80, color=(235, 235, 235),
                          font="/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
    fill = overlays.drawn_mask(photo, overlays.render(photo, [ov])[0].astype(np.float32))
    image = overlays.render(photo, [replace(ov, **effects)])[0].astype(np.float32)
    return image, fill, overlays.line_polygons(ov)[0]


def test_a_photo_band_running_out_of_the_mask_is_hard_by_steps_and_a_texts_tail_is_not():
    from seamline.ops.text.geometry import hard_edged
    from seamline.ops.text.rim import hard_by_steps

    for seed in range(3):
        # the band's edge lies in the near ring and past the far one along the letters'
        # tops: the ring medians differ (7-8 Delta E; not hard by the ring test), across the
        # text's colour (along it < 1) and with nothing changing step by step outward
        image, fill, poly = _title_over_a_hue_band(seed)
        assert hard_edged(fill, image, [poly]) == [False]
        assert hard_by_steps(fill, image, [poly]) == [True], seed
        # ... while a blurred drop shadow's, a glow's or a dark outline's tail past the same
        # mask changes every step
        for effect in ({"shadow_offset": (3, 3), "shadow_blur": 3.0, "shadow_opacity": 0.8},
                       {"shadow_offset": (5, 5), "shadow_blur": 2.0, "shadow_opacity": 0.8},
                       {"glow_px": 4.0}, {"outline_px": 2, "outline_color": (0, 0, 0)}):
            image, fill, poly = _title_over_a_hue_band(seed, **effect)
            assert hard_by_steps(fill, image, [poly]) == [False], (seed, effect)


def _stripes_scene(word: str, size_px: int, opacity: float):
    """A light semi-transparent DejaVu Sans Mono word over the train split's diagonal
    stripes (procedural:stripes0, 1024x768): (image, drawn, the word's box 4 px round its
    ink)."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    photo = dict(backgrounds("train"))["procedural:stripes0"]
    ov = overlays.Overlay(word, (234.0, 396.0), size_px,
                          "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                          opacity=opacity)
    image = overlays.render(photo, [ov])[0].astype(np.float32)
    drawn = overlays.drawn_mask(photo, image)
    ys, xs = np.nonzero(drawn)
    x0, y0, x1, y1 = xs.min() - 4, ys.min() - 4, xs.max() + 4, ys.max() + 4
    return image, drawn, np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_a_moved_fit_on_the_search_windows_edge_is_no_drop_shadow():
    # the segmenter marks stripes beside a light watermark without a shadow; the best
    # shift for them lay on the window's edge ((10, -5) grown 4 px): photo in the mask
    # (precision 0.47), which the fill then smeared
    from conftest import mask_stages

    from seamline.ops.text import TextRegion

    image, drawn, box = _stripes_scene("PREVIEW", 100, 0.7)
    tm, _ = mask_stages(image, [TextRegion(box, "PREVIEW", 0.9)])
    mask = tm.outputs["mask"] >= 0.5
    assert not re.search(r"effect\(dx=-?10,|, dy=-?10,", tm.report["per_line"][0])
    assert (mask & drawn).sum() / mask.sum() > 0.9
    assert (mask & drawn).sum() / drawn.sum() > 0.75


def test_a_glyph_mask_along_the_whole_line_is_kept_beside_a_segmenter_blob():
    # a light word over stripes the segmenter takes whole: a blob 4-5x the glyphs, so the
    # glyph mask held under ``fallback`` of it, but it runs along the whole line (every
    # letter found): not the date stamp the fallback is for
    from seamline.ops.text.effects import FALLBACK_ALONG_SHARE

    image, drawn, box = _stripes_scene("PREVIEW", 73, 0.8)
    blob = cv2.dilate(drawn.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (31, 31))) > 0
    assert drawn.sum() < 0.25 * blob.sum()
    mask, choices = combine_masks(blob, drawn, [box], [55.0], image=image, support=blob)
    assert choices[0] != "segmenter" and FALLBACK_ALONG_SHARE <= 0.8
    assert (mask & drawn).sum() / mask.sum() > 0.8 and np.all(mask[drawn])
    # ... where it found only the first letter, the segmenter's mask as it is
    first = drawn & (np.arange(drawn.shape[1]) < box[:, 0].min() + 60)[None, :]
    mask, choices = combine_masks(blob, first, [box], [55.0], image=image, support=blob)
    assert choices == ["segmenter"]
