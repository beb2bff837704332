"""The ghost judge on real photos: today's demo output is flagged, clean fills and untouched
photos are not, and a faint copy of the strokes is found where the strokes were."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.text.ghost import (GhostVerdict, judge_regions, match_words, residue_mask,
                                     resembles)


@pytest.fixture(scope="module")
def demo_case():
    """The demo's photo and text, and the release's remove-text recipe run on it.

    The release (before the judge existed): the colour-matting glyph mask, normalised, and one
    Telea fill with no judge. Its output still shows the caption's shadow, which the judge
    must see."""
    import seamline as sl
    from seamline.testing.demo_image import demo_image

    image, alpha = demo_image()
    run = sl.Pipeline.builtin("remove-text").with_params(
        {"mask.method": "matting", "inpaint.backend": "telea", "inpaint.max_passes": 1,
         "inpaint.judge": False}).run(image)
    return image, alpha, run


def _no_reads(strip):
    return "", 0.0


def test_demo_output_is_flagged_and_the_shadow_caption_named(demo_case):
    image, _, run = demo_case
    regions = run.stage("detect").output
    verdicts = judge_regions(image, run.output, regions, mask=run.stage("inpaint").outputs["mask"])
    assert all(isinstance(v, GhostVerdict) for v in verdicts)
    flagged = {v.text: v for v in verdicts if v.flagged}
    assert "fresh roast every day" in flagged, [v.to_dict() for v in verdicts]
    v = flagged["fresh roast every day"]
    assert v.reasons and (v.words_plain or v.words_boosted or v.residue_score > 0.15)
    assert v.residue_full(image.shape).shape == image.shape[:2]


def test_exact_mask_fill_is_not_flagged(demo_case):
    from seamline.ops.inpaint import inpaint

    image, alpha, run = demo_case
    oracle = inpaint(image, (alpha > 0).astype(np.float32), backend="telea", radius=3)
    verdicts = judge_regions(image, oracle, run.stage("detect").output)
    assert not [v.to_dict() for v in verdicts if v.flagged]


def test_true_clean_photo_and_untouched_photos_are_not_flagged(demo_case):
    image, _, run = demo_case
    regions = run.stage("detect").output
    clean = as_image(data.coffee())  # the demo's photo before the text was drawn
    assert not [v.to_dict() for v in judge_regions(image, clean, regions) if v.flagged]
    # untouched text-free photos, judged on the demo's regions (same photo in and out)
    for photo in (data.chelsea(), data.coffee(), data.rocket()):
        p = as_image(photo)
        verdicts = judge_regions(p, p, regions)
        assert not [v.to_dict() for v in verdicts if v.flagged]
        assert all(v.residue_score == 0.0 and not v.residue.any() for v in verdicts)


def test_faint_copy_of_the_strokes_is_flagged_with_its_pixels(demo_case):
    image, alpha, run = demo_case
    clean = as_image(data.coffee())
    faint = (clean + 0.03 * (image - clean)).astype(np.float32)  # 3 % of the text left
    regions = run.stage("detect").output
    verdicts = judge_regions(image, faint, regions, mask=(alpha > 0).astype(np.float32),
                             ocr=_no_reads)  # residue alone: no OCR
    v = next(v for v in verdicts if v.text == "fresh roast every day")
    assert v.flagged and "residue" in " ".join(v.reasons)
    res = residue_mask(verdicts, image.shape)
    glyphs = alpha > 0.05
    import cv2

    near = cv2.dilate(glyphs.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert res.sum() > 200
    assert (res & near).sum() / res.sum() > 0.8  # the residue sits on the strokes


def test_match_words_is_fuzzy_but_not_loose():
    assert match_words(["fresh", "roast", "every", "day"], "fr esh rosst overy d") == \
        ["fresh", "roast", "every"]
    assert match_words(["MORNING", "COFFEE"], "") == []
    assert match_words(["ok", "it"], "ok it") == []  # too short to count


def test_a_read_shaped_like_the_line_resembles_it_and_noise_does_not():
    # grey shadow copies on train (benchmarks/huge_shadow_check.py, the shadow tail off)
    assert resembles("Summer", "Satar", 0.57) and resembles("Journey", "Joumay", 0.84)
    assert resembles("Friends", "pronds", 0.74) and resembles("Moments", "Monems", 0.71)
    # what perfect removals of train captions read
    assert not resembles("BUENVOO", "LEVICEY", 0.55) and not resembles("9296", "SHS", 0.67)
    assert not resembles("Summer", "Satar", 0.45)  # a read the recogniser is unsure of
    assert not resembles("Summer", "Sia", 0.9) and not resembles("day", "dai", 0.9)


@pytest.fixture(scope="module")
def grey_shadow_case():
    """A 160 px title with a blurred drop shadow over the sky of scikit-image's camera, filled
    as the loop did before the shadow tail was taken into the hole (1deb03d): Telea carried the
    tail across the word, a grey 'Friends' readable at 2x (6.79/255 blurred error) that the
    recogniser reads as 'pronds' (0.74) and 'Frands' (0.76): no word matched (issue 10)."""
    import seamline as sl
    import seamline.ops.text.removal as removal

    from conftest import shadowed_friends_over_sky

    photo, image = shadowed_friends_over_sky()
    mp = pytest.MonkeyPatch()
    mp.setattr(removal, "shadow_tail", lambda image, hole, support: np.zeros(support.shape, bool))
    try:
        run = sl.Pipeline.builtin("remove-text").with_params({"inpaint.judge": False}).run(image)
    finally:
        mp.undo()
    return image, photo, run


def test_a_grey_shadow_copy_read_as_nonsense_is_flagged(grey_shadow_case):
    image, _, run = grey_shadow_case
    regions = run.stage("detect").output
    mask = run.stage("inpaint").outputs["mask"]
    (v,) = [v for v in judge_regions(image, np.asarray(run.output, np.float32), regions,
                                     mask=mask, high_pass=False) if v.text]
    assert v.flagged and v.stats.get("shape_read"), v.to_dict()
    assert not (v.words_plain or v.words_boosted)  # no word matched: the shape did it
    (off,) = [v for v in judge_regions(image, np.asarray(run.output, np.float32), regions,
                                       mask=mask, high_pass=False, shape=False) if v.text]
    assert not off.flagged, off.to_dict()  # the judge before this rule passed it


def test_a_perfect_removal_of_the_shadowed_title_is_not_flagged(grey_shadow_case):
    image, photo, run = grey_shadow_case
    regions = run.stage("detect").output
    mask = run.stage("inpaint").outputs["mask"]
    verdicts = judge_regions(image, photo, regions, mask=mask, high_pass=False)
    assert not [v.to_dict() for v in verdicts if v.flagged]


def test_bad_input_names_the_argument():
    img = np.zeros((20, 20, 3), np.float32)
    with pytest.raises(InputError, match="cleaned"):
        judge_regions(img, np.zeros((10, 20, 3), np.float32), [])
    with pytest.raises(InputError, match="regions\\[0\\]"):
        judge_regions(img, img, [object()], ocr=_no_reads)
    assert judge_regions(img, img, []) == []


def test_no_boosted_reads_once_the_plain_read_finds_a_word(demo_case):
    # the region is flagged by the plain read either way: its contrast-boosted reads (one
    # recogniser call each) would add nothing to the verdict
    image, alpha, run = demo_case
    regions = run.stage("detect").output
    mask = (alpha > 0).astype(np.float32)
    strips = []

    def reads_the_words(strip):
        strips.append(strip.shape)
        return regions[0].text, 0.95

    v = judge_regions(image, image, regions[:1], mask=mask, ocr=reads_the_words)[0]
    assert v.flagged and v.words_plain and v.read_boosted == [] and len(strips) == 1
    strips.clear()
    quiet = judge_regions(image, image, regions[:1], mask=mask, ocr=_no_reads)[0]
    assert quiet.read_boosted == ["", ""]  # nothing read plainly: CLAHE and high-pass reads
    # the reads run beside the residue look: its figures are those of a judge without reads
    assert quiet.residue_score == v.residue_score and np.array_equal(quiet.residue, v.residue)


def test_no_boosted_reads_where_the_residue_flags_the_region(demo_case, monkeypatch):
    # issue 10 (speed): a region whose glyph-shaped residue flags it is flagged with the
    # same residue to refill whatever the contrast-boosted reads say (they could only add a
    # reason), so those recogniser calls (~20 ms each) are skipped; a region the residue
    # does not flag still gets them. The contract: flagged, the residue score and mask are
    # those of a judge with every read; its reasons and words_boosted lack what the skipped
    # reads would have added (here the words they read)
    import seamline.ops.text.ghost as ghost

    image, alpha, run = demo_case
    clean = as_image(data.coffee())
    faint = (clean + 0.03 * (image - clean)).astype(np.float32)  # 3 % of the text left
    regions = run.stage("detect").output
    mask = (alpha > 0).astype(np.float32)
    every_word = " ".join(r.text for r in regions)
    boosted, calls = set(), []

    def tagged(fn):
        def variant(*a):
            out = fn(*a)
            boosted.add(id(out))
            return out
        return variant

    monkeypatch.setattr(ghost, "_clahe_lightness", tagged(ghost._clahe_lightness))
    monkeypatch.setattr(ghost, "_high_pass", tagged(ghost._high_pass))

    def boosted_reads_the_words(strip):
        # nothing plainly (3 % of the text), every region's words once contrast-boosted
        calls.append(strip.shape)
        if id(strip) in boosted:
            boosted.discard(id(strip))
            return every_word, 0.95
        return "", 0.0

    skipped = judge_regions(image, faint, regions, mask=mask, ocr=boosted_reads_the_words)
    n_skipped = len(calls)
    calls.clear()
    real = ghost._reads
    monkeypatch.setattr(ghost, "_reads", lambda *a: real(*a[:6]))  # every read, as before
    every = judge_regions(image, faint, regions, mask=mask, ocr=boosted_reads_the_words)
    flagged = [v for v in every if v.residue_score > ghost.RESIDUE_THRESHOLD]
    assert flagged and any(v not in flagged for v in every)  # both kinds of region here
    for a, b in zip(skipped, every):
        assert (a.flagged, a.residue_score) == (b.flagged, b.residue_score)
        assert np.array_equal(a.residue, b.residue)
        assert b.words_boosted and any(r.startswith("contrast-boosted") for r in b.reasons)
        if b in flagged:
            assert a.read_boosted == [] and len(b.read_boosted) == 2
            assert a.stats["boosted_reads"].startswith("skipped")
            # the boosted read's reason is the one thing the verdict loses
            assert a.words_boosted == []
            assert a.reasons == [r for r in b.reasons if not r.startswith("contrast-boosted")]
        else:
            assert (a.read_boosted, a.words_boosted, a.reasons) == (
                b.read_boosted, b.words_boosted, b.reasons)
    assert n_skipped == len(calls) - 2 * len(flagged)


def _half_ghost_line(frac):
    """An outlined white DejaVu Sans Bold line over the cat's fur, removed perfectly but for
    ``frac`` of its strokes left over its first 40 % (a ghost of 'Home'): (photo with text,
    cleaned, the line as a region, the fill's mask, the ghost's columns)."""
    import cv2

    from seamline.testing import overlays

    photo = np.ascontiguousarray(as_image(data.chelsea())[:, :512])
    ov = overlays.Overlay(text="Home welcome food", xy=(40, photo.shape[0] - 80), size_px=30,
                          font="/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                          outline_px=2, outline_color=(0, 0, 0))
    image = np.asarray(overlays.render(photo, [ov])[0], np.float32)
    drawn = overlays.drawn_mask(photo, image)
    ghost = np.zeros(drawn.shape, bool)
    ghost[:, :int(40 + 0.4 * overlays.measure(ov)[0])] = True
    cleaned = photo.copy()
    cleaned[ghost] = (photo + frac * (image - photo))[ghost]
    mask = cv2.dilate(drawn.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0

    class Line:
        polygon, text = np.float32(overlays.line_polygons(ov)[0]), ov.text

    return image, cleaned.astype(np.float32), Line(), mask, ghost


def test_a_residue_only_flag_grows_over_the_ghost_not_the_fur_beside_it():
    # issue 10 (grow22): a line flagged by its residue score that the plain read does not
    # see is refilled over the stretches that score on their own. The fur's edges beside
    # the perfectly removed words run every way; on main about a third of them counted as
    # residue (228 px outside the mask, more than beside the ghost's 177) and the loop's
    # re-mask took them: over a busy photo a borderline flag doubled the hole (held-out
    # subtitle, 5156 -> 10402 px). Every aligned edge's residue stays on the verdict
    # (residue_all), for the loop's later pass if the narrow one does not clear the line.
    image, cleaned, line, mask, ghost = _half_ghost_line(0.1)
    v, = judge_regions(image, cleaned, [line], mask=mask.astype(np.float32), ocr=_no_reads)
    assert v.flagged and v.reasons == [r for r in v.reasons if "residue" in r]
    grow = v.residue_full(image.shape) & ~mask  # what the loop would grow over
    assert (grow & ghost).sum() > 100  # the ghost's rim is still there to grow over
    assert (grow & ~ghost).sum() < 0.5 * (grow & ghost).sum()
    assert v.stats["residue_px_all"] == v.residue_all.sum() > v.residue.sum()
    wide = v.residue_full(image.shape, wide=True)
    assert not (v.residue_full(image.shape) & ~wide).any()  # the narrow is part of the wide
    # with a read of the line the text is there: every aligned edge near it stays residue
    r, = judge_regions(image, cleaned, [line], mask=mask.astype(np.float32),
                       ocr=lambda strip: ("Home welcome food", 0.99))
    assert r.flagged and r.words_plain and r.residue_all is None
    assert (r.residue_full(image.shape) & ~mask & ~ghost).sum() > 2 * (grow & ~ghost).sum()


def test_a_hollow_outline_ghost_of_a_huge_word_counts_as_the_word_seen():
    # the grey outline a huge title's fill can leave (its rim's and shadow's edges) reads
    # at a glance; the recogniser reads it 'Jaumey', shaped like the word (flagged), and the
    # benchmarks' count took only reads and glyph-shaped residue: 0 words
    import cv2

    from seamline.ops.text.ghost import seen_words
    from seamline.testing import overlays

    H, W = 960, 1280  # a smooth blue sky with a little sensor noise
    y = np.linspace(0, 1, H)[:, None, None]
    x = np.linspace(0, 1, W)[None, :, None]
    photo = np.float32([0.25, 0.45, 0.80]) * (1 - y) + np.float32([0.60, 0.75, 0.95]) * y
    photo = photo + 0.03 * x + np.random.default_rng(0).normal(0, 0.004, (H, W, 3))
    photo = np.clip(photo, 0, 1).astype(np.float32)
    ov = overlays.Overlay("Journey", (256.0, 336.0), 130,
                          "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                          color=(170, 235, 150), shadow_offset=(6, 6), shadow_blur=2.0,
                          shadow_color=(20, 30, 20), shadow_opacity=0.8)
    image = np.asarray(overlays.render(photo, [ov])[0], np.float32)
    mask = cv2.dilate(overlays.drawn_mask(photo, image).astype(np.uint8), np.ones((5, 5))) > 0
    rim = mask & ~(cv2.erode(mask.astype(np.uint8), np.ones((3, 3))) > 0)
    cleaned = photo.copy()
    cleaned[rim] -= 0.12

    class Line:
        polygon, text = np.float32(overlays.line_polygons(ov)[0]), ov.text

    (v,) = judge_regions(image, cleaned, [Line()], mask=mask.astype(np.float32))
    assert v.flagged
    assert seen_words(v, ["Journey"]) == ["Journey"]
    # the same line removed perfectly: no word seen
    (v,) = judge_regions(image, photo, [Line()], mask=mask.astype(np.float32))
    assert not v.flagged and seen_words(v, ["Journey"]) == []
