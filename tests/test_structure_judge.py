"""The structure judge (strong edges crossing a fill) and the edge-first fill it steers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from seamline.ops.inpaint import inpaint
from seamline.ops.inpaint.structure import edge_fill, find_edge_paths, judge_structure
from seamline.ops.text import TextRegion
from seamline.ops.text.removal import fill_text
from seamline.testing.synth import TextItem, draw_text


@pytest.fixture(scope="module")
def rim():
    """A white elliptic rim (a cup seen from above) on a textured brown background, and an
    outlined title drawn across it: the rim enters and leaves most letters.

    Returns (photo, image with the title, hole: the title's pixels grown by 2 px, the title's
    box as a text region).
    """
    rng = np.random.default_rng(0)
    h, w = 200, 360
    tex = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.5)
    base = np.stack([0.45 + 0.05 * tex, 0.30 + 0.04 * tex, 0.18 + 0.03 * tex], -1)
    big = np.zeros((4 * h, 4 * w), np.uint8)  # anti-aliased: drawn at 4x, shrunk
    cv2.ellipse(big, (4 * 180, 4 * 170), (4 * 150, 4 * 90), 0, 0, 360, 255, 4 * 10)
    ring = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)[..., None] / np.float32(255)
    photo = np.clip(base * (1 - ring) + 0.93 * ring, 0, 1).astype(np.float32)
    item = TextItem("RIM", (130, 62), 44, stroke_px=2, stroke_color=(30, 20, 10))
    image, alpha = draw_text(photo, [item])
    hole = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ys, xs = np.nonzero(hole)
    box = np.float32([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()],
                      [xs.min(), ys.max()]])
    return photo, image, hole, TextRegion(box, "RIM")


def _wobbly(photo, hole):
    """The photo with the rim inside the hole shifted up and down by 2.5 px every 5 px."""
    h, w = hole.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    zigzag = 2.5 * np.sign(np.sin(xx / 1.5)).astype(np.float32)
    warped = cv2.remap(photo, xx, yy + zigzag, cv2.INTER_LINEAR)
    out = photo.copy()
    out[hole] = warped[hole]
    return out


def test_the_rim_is_found_crossing_the_title(rim):
    photo, image, hole, _ = rim
    paths = find_edge_paths(image, hole)
    # the rim across the whole word (one gap: the letters and the photo between them, where
    # the rim shows and pins the curve)
    assert len(paths) >= 1, len(paths)
    assert all(p.rms <= 0.6 and 70 <= p.length <= 90 for p in paths)
    # the fitted curves run along the rim's edges: the photo's luminance steps there
    for p in paths:
        pts, n = p.points(np.arange(0.0, p.length, 1.0))
        luma = photo @ np.float32([0.2126, 0.7152, 0.0722])
        side = [luma[np.rint(q[:, 1]).astype(int), np.rint(q[:, 0]).astype(int)]
                for q in (pts - 3 * n, pts + 3 * n)]
        assert np.median(np.abs(side[0] - side[1])) > 0.4


def test_the_judge_flags_telea_and_a_wobbly_fill_and_not_the_photo(rim):
    photo, image, hole, _ = rim
    truth = judge_structure(photo, hole)
    assert truth["judged"] and not truth["flagged"], truth
    assert truth["edge_error"] < 0.15 and truth["edge_strength"] > 0.85, truth
    telea = judge_structure(inpaint(image, hole.astype(np.float32), backend="telea"), hole)
    assert telea["flagged"] and "edge broken" in telea["reasons"][0], telea
    assert telea["edge_strength"] < truth["edge_strength"] - 0.1
    wobbly = judge_structure(_wobbly(photo, hole), hole)
    assert wobbly["flagged"] and "edge wobbles" in wobbly["reasons"][-1], wobbly
    # what it measures is the rim, not the fill's texture: a flat smooth fill away from any
    # edge is not judged at all
    flat = np.full_like(photo, 0.5)
    v = judge_structure(flat, hole)
    assert not v["judged"] and not v["flagged"]


def test_the_edge_first_fill_continues_the_rim(rim):
    photo, image, hole, _ = rim
    out = edge_fill(image, hole)
    assert np.array_equal(out[~hole], image[~hole])
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    v = judge_structure(out, hole)
    assert v["judged"] and not v["flagged"], v
    # closer to the photo under the title than a diffusion fill along the rim's band
    telea = inpaint(image, hole.astype(np.float32), backend="telea")
    band = hole & (cv2.dilate((np.abs(np.diff(photo[..., 0], axis=0, prepend=0)) > 0.1)
                              .astype(np.uint8), np.ones((7, 7), np.uint8)) > 0)
    err = lambda x: float(np.mean((x[band] - photo[band]) ** 2))  # noqa: E731
    assert err(out) < 0.5 * err(telea)
    # registered as a backend: inpaint(backend="fsr-edge") is the same fill
    assert np.array_equal(inpaint(image, hole.astype(np.float32), backend="fsr-edge",
                                  context_px=400), out)


def test_the_loop_refills_a_broken_edge_and_records_the_pass(rim):
    photo, image, hole, region = rim
    out, final, report = fill_text(image, hole.astype(np.float32), [region], backend="auto",
                                   max_passes=2, ocr=lambda strip: ("", 0.0))
    passes = report["regions"][0]["passes"]
    assert passes[0]["structure"]["flagged"], passes[0]
    assert passes[1]["backend"] == "fsr-edge" and "structure" in passes[1]["because"]
    assert not passes[1]["structure"]["flagged"], passes[1]
    assert report["failed"] == [] and not report["structure"][0]["flagged"]
    assert np.array_equal(out[final == 0], image[final == 0])
