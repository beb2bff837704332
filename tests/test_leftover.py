"""The ghost judge's leftover look (seamline.ops.text.leftover): a semi-transparent letter the
mask missed, next to a masked word, is flagged and its pixels found; a clean removal is not;
the fill loop masks and fills the letter it found; QA names the look."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from conftest import BOLD_FONT
from seamline.io import as_image
from seamline.ops.text import TextRegion
from seamline.ops.text.ghost import judge_regions
from seamline.ops.text.leftover import LEFTOVER_REASON

pytestmark = pytest.mark.skipif(not Path(BOLD_FONT).is_file(), reason="needs fonts-dejavu-core")


def _no_reads(strip):
    return "", 0.0


def _case(photo: np.ndarray, word: str, xy, size: int, opacity: float, colour=(1.0, 1.0, 1.0)):
    """``photo`` with ``word`` drawn at ``opacity``; the drawn coverage; the word's polygon;
    and the coverage of its last letter alone."""
    h, w = photo.shape[:2]
    cov = Image.new("L", (w, h), 0)
    font = ImageFont.truetype(BOLD_FONT, size)
    ImageDraw.Draw(cov).text(xy, word, font=font, fill=255)
    a = np.asarray(cov, np.float32) / 255
    last = Image.new("L", (w, h), 0)
    x_last = xy[0] + ImageDraw.Draw(cov).textlength(word[:-1], font=font)
    ImageDraw.Draw(last).text((x_last, xy[1]), word[-1], font=font, fill=255)
    a_last = np.asarray(last, np.float32) / 255
    k = (opacity * a)[..., None]
    marked = (photo * (1 - k) + np.float32(colour) * k).astype(np.float32)
    x0, y0, x1, y1 = ImageDraw.Draw(cov).textbbox(xy, word, font=font)
    poly = np.float64([[x0 - 3, y0 - 3], [x1 + 3, y0 - 3], [x1 + 3, y1 + 3], [x0 - 3, y1 + 3]])
    return marked, a, poly, a_last


@pytest.fixture(scope="module")
def cat():
    return np.ascontiguousarray(as_image(data.chelsea())[20:260, 20:420])


@pytest.fixture(scope="module")
def stamp(cat):
    # a semi-transparent white watermark word over the cat's fur
    marked, a, poly, a_last = _case(cat, "STAMP", (60, 80), 56, 0.55)
    grow = np.ones((3, 3), np.uint8)
    full = cv2.dilate((a > 0).astype(np.uint8), grow) > 0          # every letter
    left = cv2.dilate((a_last > 0).astype(np.uint8), grow) > 0      # the "P"
    missed = full & ~left                                           # the mask missed the "P"
    return {"marked": marked, "a": a, "poly": poly, "a_last": a_last, "full": full,
            "missed": missed, "region": TextRegion(poly, "STAMP", 0.9)}


def test_a_letter_the_mask_missed_is_flagged_with_its_pixels(cat, stamp):
    m = stamp["missed"]
    cleaned = np.where(m[..., None], cat, stamp["marked"]).astype(np.float32)  # perfect fill
    before = cleaned.copy()
    (v,) = judge_regions(stamp["marked"], cleaned, [stamp["region"]], mask=m.astype(np.float32),
                         ocr=_no_reads, high_pass=False)
    assert np.array_equal(cleaned, before)  # inputs untouched
    left = v.stats["leftover"]
    assert v.flagged and left["flagged"], v.to_dict()
    assert any(r.startswith(LEFTOVER_REASON) for r in v.reasons)
    # the pixels found are the "P" (its ink and rim), and most of it
    res = v.residue_full(cat.shape)
    p_ink = stamp["a_last"] > 0.5
    near_p = cv2.dilate((stamp["a_last"] > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (res & near_p).sum() / res.sum() > 0.9
    assert (res & p_ink).sum() / p_ink.sum() > 0.6


def test_a_clean_removal_is_not_flagged(cat, stamp):
    full = stamp["full"].astype(np.float32)
    # the clean photo (a perfect removal) and an exact-mask Telea fill
    u8 = np.rint(stamp["marked"] * 255).astype(np.uint8)
    telea = cv2.inpaint(u8, stamp["full"].astype(np.uint8) * 255, 3,
                        cv2.INPAINT_TELEA).astype(np.float32) / 255
    for cleaned in (cat, telea):
        (v,) = judge_regions(stamp["marked"], cleaned, [stamp["region"]], mask=full,
                             ocr=_no_reads, high_pass=False)
        assert not v.stats["leftover"]["flagged"], v.stats["leftover"]
        assert not v.flagged, v.to_dict()
    # an untouched photo with nothing removed: nothing to model, nothing flagged
    (v,) = judge_regions(cat, cat, [stamp["region"]], ocr=_no_reads, high_pass=False)
    assert not v.flagged and not v.stats["leftover"]["judged"]


@pytest.mark.parametrize("name", ["coffee", "astronaut", "rocket"])
def test_untouched_photos_under_a_filled_word_mask_are_not_flagged(name, stamp):
    # another photo, "cleaned" by Telea under the word's mask: what was removed is the photo's
    # own texture, and the photo around it is not ink the mask missed
    p = np.ascontiguousarray(as_image(getattr(data, name)())[100:340, 60:460])
    u8 = np.rint(p * 255).astype(np.uint8)
    filled = cv2.inpaint(u8, stamp["missed"].astype(np.uint8) * 255, 3,
                         cv2.INPAINT_TELEA).astype(np.float32) / 255
    (v,) = judge_regions(p, filled, [stamp["region"]], mask=stamp["missed"].astype(np.float32),
                         ocr=_no_reads, high_pass=False)
    assert not v.stats["leftover"]["flagged"], v.stats["leftover"]


def test_the_fill_loop_masks_and_fills_the_letter_it_found(cat, stamp):
    from seamline.ops.text.removal import fill_text

    m = stamp["missed"].astype(np.float32)
    out, final, report = fill_text(stamp["marked"], m, [stamp["region"]], backend="telea",
                                   ocr=_no_reads)
    p_ink = stamp["a_last"] > 0.5
    assert final[p_ink].mean() > 0.9  # the "P" is in the final mask ...
    # ... and filled: far closer to the fur under it than the letter was (Telea on fur is
    # smoother than fur, so not equal)
    err = np.abs(out - cat).max(-1)[p_ink].mean()
    assert err < 0.5 * np.abs(stamp["marked"] - cat).max(-1)[p_ink].mean(), err
    passes = report["regions"][0]["passes"]
    assert len(passes) >= 2 and "ghost" in passes[1]["because"]
    # the ghost judge (and its leftover look) passes the refill (the smear judge may not: a
    # Telea fill on fur, and the caller named the backend)
    assert not report["verdicts"][0]["flagged"], report["verdicts"][0]
    # pixels outside the final mask are the input's
    assert np.array_equal(out[final == 0], stamp["marked"][final == 0])


def test_qa_names_the_look_in_failed_regions(cat, stamp):
    from seamline.ops.text.removal import fill_text
    from seamline.stages.qa import EditQA

    m = stamp["missed"].astype(np.float32)
    # one pass: no refill, so the letter stays and QA must name it
    out, final, report = fill_text(stamp["marked"], m, [stamp["region"]], backend="telea",
                                   max_passes=1, ocr=_no_reads)
    res = EditQA(EditQA.Params(ocr=False)).run(None, stamp["marked"], out, final,
                                              [stamp["region"]], report)
    qa = res.report
    assert qa["leftover_regions"] == 1 and qa["leftover_flagged"] == 1
    assert qa["leftover"][0]["left_px"] > 0
    (f,) = qa["failed_regions"]
    # named as the leftover look, not as a read (the smear judge may flag the Telea fill too)
    assert "leftover" in f["judges"] and "ghost" not in f["judges"], f
    assert any("letters the mask missed" in w for w in res.warnings), res.warnings
