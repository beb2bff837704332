"""The train benchmark's split of far pixels by source (``benchmarks/mask_train_eval.far_sources``):
every pixel the result changed farther than 8 px from the drawn text counted once, in the
piece or stage mask that holds it first."""

import cv2
import numpy as np
import pytest
from skimage import data

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("mask_train_eval")


def test_far_pixels_split_by_where_they_lie(bench):
    photo = np.ascontiguousarray(data.astronaut()[100:220, 100:300], np.float32) / 255
    u8 = np.rint(photo * 255).astype(np.uint8)
    cv2.circle(u8, (60, 60), 30, (250, 250, 40), 4, cv2.LINE_AA)  # a big "O": its counter is photo
    image = u8.astype(np.float32) / 255
    drawn = np.abs(image - photo).max(axis=2) > 2 / 255
    ring = cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    text_mask = ring.copy()
    text_mask[55:66, 55:66] = True                        # the counter's middle, 25+ px in
    normalize = text_mask.copy()
    normalize[57:60, 88:104] = True                       # a margin out to 12 px past the stroke
    filled = normalize.copy()
    filled[64:67, 88:108] = True                          # the loop's regrowth past the ring
    filled[5:12, 160:170] = True                          # a piece on no drawn pixel
    result = image.copy()
    result[filled] = 0.5 * result[filled] + 0.25          # every masked pixel refilled
    result[100:110, 186:195] = 0.0                        # a paste past the mask's edge
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
    changed = np.any(result != image, axis=2) & far
    stages = {"mask.mask": text_mask, "normalize.mask": normalize, "inpaint.mask": filled}
    by = bench.far_sources(image, result, drawn, stages)

    assert sum(by.values()) == int(changed.sum())        # each far pixel once
    assert by["counter"] == int((changed[55:66, 55:66]).sum()) > 0
    assert by["alien"] == 70                              # the 7 x 10 piece, all of it far
    assert by["text_mask"] == 0 and by["unblend"] == 0 and by["preflight"] == 0
    assert by["normalize"] == int((changed & normalize & ~text_mask).sum()) > 0
    assert by["loop"] == int((changed & filled & ~normalize).sum()) - 70 > 0
    assert by["outside"] == 90
