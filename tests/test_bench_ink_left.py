"""The remove-text benchmark's ink-left measure (``benchmarks/bench_remove_text.ink_left``):
drawn ink a method left untouched, counted without OCR (a tiny word OCR cannot read still
counts when it stays)."""

import cv2
import numpy as np
import pytest
from skimage import data

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_remove_text")


@pytest.fixture(scope="module")
def case():
    photo = np.ascontiguousarray(data.astronaut()[100:260, 40:440], np.float32) / 255
    img = np.rint(photo * 255).astype(np.uint8)
    cv2.putText(img, "SMALL WORDS", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (250, 250, 40), 1,
                cv2.LINE_AA)
    cv2.putText(img, "SECOND LINE", (10, 130), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (250, 250, 40), 1,
                cv2.LINE_AA)
    with_text = img.astype(np.float32) / 255
    drawn = np.abs(with_text - np.rint(photo * 255) / 255).max(axis=2) > 0.5 / 255
    lines = [{"polygon": [[8, 44], [160, 44], [160, 66], [8, 66]]},
             {"polygon": [[8, 114], [160, 114], [160, 136], [8, 136]]}]
    return photo, with_text, drawn, lines


def test_ink_left_counts_untouched_ink(bench, case):
    photo, with_text, drawn, lines = case
    assert drawn.sum() > 200
    left = bench.ink_left(with_text, photo, with_text.copy(), drawn, lines)
    assert left["ink_left_px"] == pytest.approx(left["ink_px"])
    assert left["ink_left_lines"] == pytest.approx([1.0, 1.0])
    gone = bench.ink_left(with_text, photo, photo.copy(), drawn, lines)
    assert gone["ink_left_px"] == 0 and gone["ink_left_lines"] == [0.0, 0.0]


def test_ink_left_per_line_and_partial(bench, case):
    photo, with_text, drawn, lines = case
    out = with_text.copy()
    out[100:] = photo[100:]          # the second line removed, the first left
    out[:, 90:] += 0.02              # a touched (changed) pixel is not ink left
    res = bench.ink_left(with_text, photo, out, drawn, lines)
    first, second = res["ink_left_lines"]
    assert second == 0.0
    assert 0.2 < first < 0.9         # only the first line's left part is untouched
