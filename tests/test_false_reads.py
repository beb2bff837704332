"""Photo structure read as weak text is dropped by detect-text (ops.text.false_reads)."""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.text import TextRegion


def _camera_1024():
    """The train crop of scikit-image's cameraman at 1024x768 (detect_miss_check's text-free
    crop): no text, but rapidocr reads the four buttons on his sleeve as "C000" (0.63)."""
    from seamline.testing.backgrounds import backgrounds

    photo = dict(backgrounds("train", min_side=768))["skimage:camera"][82:82 + 576]
    return np.clip(cv2.resize(photo, (1024, 768), interpolation=cv2.INTER_CUBIC), 0, 1
                   ).astype(np.float32)


def _detect(image):
    from seamline.core.stage import StageContext
    from seamline.stages import get_stage

    stage = get_stage("detect-text")
    return stage(stage.Params(tiled="off", passes="first")).run(
        StageContext("detect", 0, "reconcile"), image=image)


def test_buttons_read_as_text_leave_a_text_free_photo_untouched():
    res = _detect(_camera_1024())
    assert res.outputs["regions"] == [], [r.text for r in res.outputs["regions"]]
    assert [t.upper().replace("O", "0") for t in res.report["false_reads"]] == ["C000"]


def test_a_two_letter_caption_is_a_weak_read_and_is_kept():
    from seamline.testing import overlays

    photo = _camera_1024()
    # 120 px: boxed over 8% of the frame's side, so the segmenter is asked (and sees ink)
    ov = overlays.Overlay(text="on", xy=(700, 60), size_px=120, font=overlays.DEJAVU_SANS_BOLD,
                          color=(255, 255, 255), outline_px=3, outline_color=(0, 0, 0))
    image = overlays.render(photo, [ov])[0].astype(np.float32)
    res = _detect(image)
    texts = [r.text for r in res.outputs["regions"]]
    assert "on" in texts, (texts, res.report["false_reads"])
    assert "on" not in res.report["false_reads"]


def test_reads_not_shaped_like_structure_are_not_checked(monkeypatch):
    from seamline.ops.text import false_reads as fr

    def boom(*a, **k):
        raise AssertionError("only large short reads and unsure rows of discs are checked")

    monkeypatch.setattr(fr, "overlay_share", boom)
    box = np.float32([[10, 10], [90, 10], [90, 40], [10, 40]])
    small = np.float32([[10, 10], [20, 10], [20, 14], [10, 14]])  # 4 px: under 8% of 64
    image = np.full((64, 128, 3), 0.5, np.float32)
    assert fr.false_reads(image, [TextRegion(box, "SALE", 0.95),
                                  TextRegion(box, "2024", fr.SURE_SCORE),
                                  TextRegion(box, "2007 Lk2n", 0.69),
                                  TextRegion(small, "6", 0.99)]) == [False] * 4
    monkeypatch.undo()
    # a weak read over a flat grey frame: nothing the segmenter calls overlay ink
    assert fr.false_reads(image, [TextRegion(box, "2", 0.92)]) == [True]
