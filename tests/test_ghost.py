"""The ghost judge on real photos: today's demo output is flagged, clean fills and untouched
photos are not, and a faint copy of the strokes is found where the strokes were."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.text.ghost import GhostVerdict, judge_regions, match_words, residue_mask


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
