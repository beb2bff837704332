"""The structure judge (strong edges crossing a fill) and the edge-first fill it steers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from seamline.ops.inpaint import inpaint
import seamline.ops.inpaint.edge_first as edge_first
from seamline.ops.inpaint.edge_first import EllipsePath, edge_fill, ellipse_paths
from seamline.ops.inpaint.structure import find_edge_paths, judge_structure
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


def _texture(seed=1, h=200, w=360):
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.5)
    return np.stack([0.45 + 0.05 * tex, 0.30 + 0.04 * tex, 0.18 + 0.03 * tex], -1)


def _title(photo, text, org):
    image, alpha = draw_text(photo, [TextItem(text, org, 44, stroke_px=2,
                                              stroke_color=(30, 20, 10))])
    return image, cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


@pytest.fixture(scope="module")
def cup():
    """A cup seen from above (the demo's, drawn): a white lip 12 px wide whose soft inner edge
    meets the cream inside, an ellipse centred at (180, 150) with semi-axes (120, 100), on a
    textured brown table; a title across the rim's top hides the part that bends most.

    Returns (photo, image with the title, hole: the title's pixels grown by 2 px).
    """
    h, w, k = 200, 360, 4
    outer, inner = np.zeros((k * h, k * w), np.uint8), np.zeros((k * h, k * w), np.uint8)
    cv2.ellipse(outer, (k * 180, k * 150), (k * 120, k * 100), 0, 0, 360, 255, -1)
    cv2.ellipse(inner, (k * 180, k * 152), (k * 108, k * 88), 0, 0, 360, 255, -1)
    o = cv2.resize(outer, (w, h), interpolation=cv2.INTER_AREA)[..., None] / np.float32(255)
    i = cv2.GaussianBlur(cv2.resize(inner, (w, h), interpolation=cv2.INTER_AREA), (0, 0),
                         2.0)[..., None] / np.float32(255)
    white, cream = np.float32([0.94, 0.93, 0.90]), np.float32([0.80, 0.72, 0.60])
    photo = np.clip(_texture() * (1 - o) + o * (white * (1 - i) + cream * i), 0, 1)
    return (photo.astype(np.float32), *_title(photo.astype(np.float32), "MORNING", (60, 58)))


def _edge_off(photo, path):
    """Where the photo's own edge lies off ``path``'s curve (px, every 2 px along it)."""
    from seamline.ops.inpaint.structure import sample_across

    luma = np.ascontiguousarray(photo @ np.float32([0.2126, 0.7152, 0.0722]))
    t = np.arange(-6, 6.01, 0.25, dtype=np.float32)
    pts, n = path.points(np.arange(0.0, path.length, 2.0))
    return np.abs(t[np.abs(np.gradient(sample_across(luma, pts, n, t), axis=1)).argmax(1)])


def test_a_cup_rim_under_a_title_is_drawn_along_one_ellipse(cup):
    photo, image, hole = cup
    paths = ellipse_paths(image, hole, find_edge_paths(image, hole))
    # both halves of the rim (the top peeks out between the title's ends) on the one ellipse
    # the rim's visible strands draw, fitted to them within CONIC_RMS_PX
    assert len(paths) == 2 and all(isinstance(p, EllipsePath) for p in paths), paths
    for p in paths:
        assert p.rms <= edge_first.CONIC_RMS_PX
        assert np.abs(p.centre - (180, 150)).max() < 1.5 and np.abs(np.sort(p.semi)
                                                                   - (100, 120)).max() < 1.5
        assert _edge_off(photo, p).max() <= 0.5


def test_the_edge_first_fill_draws_the_lip_along_the_ellipse(cup, monkeypatch):
    photo, image, hole = cup
    out = edge_fill(image, hole)
    assert np.array_equal(out[~hole], image[~hole])
    psnr = lambda x: 10 * np.log10(1 / float(np.mean((x[hole] - photo[hole]) ** 2)))  # noqa: E731
    # the polynomial through the strands' ends: a grey band inside the lip where FSR carried
    # the white past its soft inner edge (27.1 dB when written); along the ellipse, the lip
    # drawn 20 px wide from the sides' profiles and each side of the rim filled apart: 34.0
    monkeypatch.setattr(edge_first, "ellipse_paths", lambda image, hole, paths, **kw:
                        paths)
    poly = edge_fill(image, hole)
    assert psnr(out) > 31.0 and psnr(out) > psnr(poly) + 4.0, (psnr(out), psnr(poly))
    # the judge, along the same curves, passes it
    paths = ellipse_paths(out, hole, find_edge_paths(out, hole))
    assert not judge_structure(out, hole, paths=paths)["flagged"]


def test_an_ellipse_the_photo_does_not_show_is_not_used(rim):
    # the thin ring's outer edge seen over ~80 px: the ellipse through its strands alone is
    # not the ring's (semi-axes ~118 x 55 for 155 x 95) and crosses untouched photo with no
    # edge there (29 % of its points near one); the polynomial is drawn
    _, image, hole, _ = rim
    found = find_edge_paths(image, hole)
    assert found and ellipse_paths(image, hole, found) == found


def test_an_edge_no_ellipse_fits_is_drawn_as_before(monkeypatch):
    # a wavy edge (a sine, 10 px over 250 px) crossing a word: one path, no ellipse fits
    # its strands; the fill is the polynomial's, bit for bit
    yy, xx = np.mgrid[:800, :1440] / np.float32(4)
    below = cv2.resize((yy > 75 + 10 * np.sin(xx / 40)).astype(np.float32), (360, 200),
                       interpolation=cv2.INTER_AREA)[..., None]
    photo = np.clip(_texture() * (1 - below) + below * np.float32([0.94, 0.93, 0.90]), 0, 1)
    image, hole = _title(photo.astype(np.float32), "RIM", (130, 58))
    found = find_edge_paths(image, hole)
    assert len(found) == 1 and ellipse_paths(image, hole, found) == found
    out = edge_fill(image, hole)
    monkeypatch.setattr(edge_first, "ellipse_paths", lambda image, hole, paths, **kw:
                        paths)
    assert np.array_equal(out, edge_fill(image, hole))


def test_a_thin_highlight_line_crossing_a_hole_is_drawn_along_its_curve():
    # a saucer's rim highlight: a 3 px bright arc on a smooth dark glaze (no Canny step: both
    # sides alike), a word's hole across it; the edge paths miss it, the ridge paths pair it
    from seamline.ops.inpaint.fsr import fsr_fill
    from seamline.core.arrays import LUMA

    h, w = 120, 240
    rng = np.random.default_rng(3)
    tex = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 2.0)
    base = np.stack([0.40 + 0.02 * tex, 0.10 + 0.01 * tex, 0.05 + 0.01 * tex], -1)
    big = np.zeros((4 * h, 4 * w), np.uint8)
    cv2.ellipse(big, (4 * 120, 4 * -160), (4 * 260, 4 * 220), 0, 0, 180, 255, 4 * 3)
    line = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)[..., None] / np.float32(255)
    photo = np.clip(base * (1 - line) + 0.95 * line, 0, 1).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[45:75, 100:135] = True  # a word 35 px wide: the arc crosses it near y 58-60
    paths = find_edge_paths(photo, hole)
    ridges = [p for p in paths if p.ridge]
    assert len(ridges) == 1
    # the curve follows the arc: its points inside the hole lie on the line's brightest px
    pts, _ = ridges[0].points(np.arange(0.0, ridges[0].length, 1.0))
    xi, yi = np.rint(pts).astype(int).T
    assert (photo[yi, xi] @ LUMA).min() > 0.5

    def err(fill):
        return float(np.sqrt(np.mean((fill[hole] - photo[hole]) ** 2)))

    image = photo.copy()
    image[hole] = (0.9, 0.9, 0.2)  # the word
    plain, drawn = fsr_fill(image, hole), edge_fill(image, hole)
    assert err(drawn) < 0.6 * err(plain)
    # the judge sees the plain fill break the line, not the drawn one
    assert judge_structure(plain, hole)["flagged"]
    assert not judge_structure(drawn, hole)["flagged"]
    assert not judge_structure(photo, hole)["flagged"]


def test_the_band_along_an_ellipse_is_looked_for_near_its_curve_only(cup, monkeypatch):
    """path_mask measures an ellipse path's distance by a Newton search per point (~40 ms
    over a line's judge crop when every pixel was searched, issue 10): only the pixels near
    the curve are searched now, and the band is the one searching every pixel gives."""
    from seamline.ops.inpaint.structure import BAND_PX, path_mask

    _, image, hole = cup
    paths = ellipse_paths(image, hole, find_edge_paths(image, hole))
    assert paths and all(isinstance(p, EllipsePath) for p in paths)
    h, w = hole.shape
    ys, xs = np.mgrid[:h, :w]
    xy = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    whole = np.zeros(h * w, bool)
    for p in paths:  # every pixel searched, as path_mask did
        x, t = p.local(xy)
        whole |= (x >= -1) & (x <= p.length + 1) & (np.abs(t) <= BAND_PX)
    searched = []
    real = EllipsePath.local

    def local(self, pts):
        searched.append(len(pts))
        return real(self, pts)

    monkeypatch.setattr(EllipsePath, "local", local)
    band = path_mask(paths, (h, w), half_width=BAND_PX)
    assert np.array_equal(band, whole.reshape(h, w)) and band.sum() > 1000
    assert len(searched) == len(paths) and max(searched) < 0.5 * h * w  # all of them before
