"""Pages with many text lines: no OCR call where there is nothing to read (issue 14 item 8).

A fax page's lines are cleaned to blank paper: the ghost judge's strips and the QA's re-read
boxes are then one colour, and the recogniser or detector is not run on them (~0.25 CPU s per
line read on the shared machine). The result is what the reads would have given: the real
recogniser reads no word on a blank strip. Pages and strips are made here (Pillow's bundled
font); the engine is the real rapidocr one, its calls counted.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import seamline as sl
from seamline.core.arrays import rgb_view
from seamline.ops.text import detect
from seamline.ops.text.ghost import MIN_READ_SCORE, judge_regions

pytest.importorskip("onnxruntime")

WORDS = "the quick brown fox jumps over lazy dog invoice total amount date page fax".split()


def _page(lines: int, width: int = 760) -> np.ndarray:
    """A 1-bit-style page, (H, W) float32 in {0, 1}: ``lines`` lines of black words, 32 px
    letters (a fax page's 44 px text at 3307 px wide, a little smaller)."""
    im = Image.new("L", (width, 30 + 52 * lines), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(32)
    rng = np.random.default_rng(lines)
    for i in range(lines):
        draw.text((20, 16 + 52 * i), " ".join(rng.choice(WORDS, 4)), font=font, fill=0)
    return (np.asarray(im) > 127).astype(np.float32)


@pytest.fixture
def counted(monkeypatch):
    """The real engine with its calls counted: a list of (use_det, use_rec) per call."""
    eng = detect.get_engine()
    calls = []
    real = type(eng).__call__

    def call(self, img, **kw):
        calls.append((kw.get("use_det"), kw.get("use_rec")))
        return real(self, img, **kw)

    monkeypatch.setattr(type(eng), "__call__", call)
    return calls


@pytest.mark.parametrize("value", [0, 128, 255])
def test_the_recogniser_reads_no_word_on_a_one_colour_strip(value):
    """What lets the judge skip the read: on a blank strip the real recogniser gives no text
    (or none it trusts), so no word could have matched."""
    eng = detect.get_engine()
    for width in (64, 480, 1400):
        strip = np.full((48, width, 3), value, np.uint8)
        res = eng(strip, use_det=False, use_cls=False, use_rec=True)
        txt = str((getattr(res, "txts", None) or ("",))[0])
        score = float((getattr(res, "scores", None) or (0.0,))[0])
        assert not any(c.isalnum() for c in txt) or score < MIN_READ_SCORE, (value, width, txt)


def test_the_judge_reads_no_blank_line_and_still_reads_a_left_one(counted):
    page = rgb_view(_page(6))
    regions = detect.detect_text(page)
    assert len(regions) == 6
    counted.clear()
    blank = np.ones_like(page)
    verdicts = judge_regions(page, blank, regions, high_pass=False)
    assert counted == []  # 12 reads of blank paper before
    assert not any(v.flagged for v in verdicts)
    assert all(v.read_plain == "" and v.words_plain == [] for v in verdicts)
    # one line left on the page: it is read and named (as is; the boosted re-read is
    # skipped once the plain read matched a word: the line is flagged either way)
    left = np.array(blank)
    y0, y1 = int(regions[2].polygon[:, 1].min()) - 2, int(regions[2].polygon[:, 1].max()) + 2
    left[y0:y1] = page[y0:y1]
    verdicts = judge_regions(page, left, regions, high_pass=False)
    assert len(counted) >= 1
    assert verdicts[2].flagged and verdicts[2].words_plain
    assert not any(v.flagged for i, v in enumerate(verdicts) if abs(i - 2) > 1)


def test_qa_rereads_no_blank_box(counted):
    page = rgb_view(_page(4))
    regions = detect.detect_text(page)
    boxes = [(*r.polygon.min(0), *r.polygon.max(0)) for r in regions]
    counted.clear()
    assert detect.detect_text_in_boxes(np.ones_like(page), boxes) == []
    assert counted == []
    again = detect.detect_text_in_boxes(np.ascontiguousarray(page), boxes)
    assert counted and {r.text for r in again} == {r.text for r in regions}


def test_remove_text_on_a_page_runs_the_ocr_once(counted, tmp_path):
    """Detection reads the page once; the cleaned lines are blank paper, so the judge and
    QA read nothing more, and every word is gone."""
    from seamline.io import write_image

    page = _page(6)
    write_image(tmp_path / "page.png", page)
    res = sl.remove_text(str(tmp_path / "page.png"))
    assert res.image.ndim == 2  # the page stayed grey
    assert res.qa["words_before"] == 24 and res.qa["residual_words"] == 0
    assert not res.qa.get("failed_regions")
    assert counted == [(True, True)], counted  # was 1 + 2 per line + 1
    assert res.image[res.mask > 0].min() == 1.0  # paper where the text was


def test_a_two_colour_page_tries_no_effect_fit_and_gets_the_mask_the_fits_gave(monkeypatch):
    """On paper and ink alone every pixel past the glyphs has one colour, so no effect
    (shadow, glow) can pass the text mask's colour test: no fit is tried. One paper pixel
    off by 1/255 makes the fits run again; they are rejected and the mask is the same."""
    from conftest import mask_inputs

    from seamline.ops.text import effects

    page = np.ascontiguousarray(np.repeat(_page(5)[..., None], 3, axis=2))
    polys, gm, seg, prob = mask_inputs(page)
    fits = []
    real = effects._fit_effect
    monkeypatch.setattr(effects, "_fit_effect", lambda *a: fits.append(1) or real(*a))

    def text_mask(image):
        return effects.combine_masks(prob >= max(seg.threshold, 0.5), gm.mask > 0, polys,
                                     gm.text_height_px, image=image,
                                     support=prob >= seg.threshold)

    mask, choices = text_mask(page)
    assert fits == [] and mask.sum() > 0.9 * (gm.mask > 0).sum()
    off = page.copy()
    x1, yc = polys[0][:, 0].max(), polys[0][:, 1].mean()
    off[int(yc), int(x1) + 20] = 254 / 255  # paper past the end of the first line
    assert (np.abs(off - page) > 0).sum() == 3
    again, choices_again = text_mask(off)
    assert fits  # the fits ran, and changed nothing
    assert np.array_equal(again, mask) and choices_again == choices
