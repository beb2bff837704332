"""The compiled Telea fill (seamline.ops.inpaint.telea_kernel) against OpenCV's cv2.inpaint,
pixel for pixel."""

import cv2
import numpy as np
import pytest
from skimage import data

from conftest import text_like_hole
from seamline.errors import InputError
from seamline.ops.inpaint.telea_kernel import telea_inpaint


def _hole(h, w, seed, grow=0):
    """A text-like hole (255 inside), optionally grown (a text mask's estimate region)."""
    hole = text_like_hole(h, w, seed)
    if grow:
        hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    return hole


CASES = [(data.astronaut(), 40, 30, 90, 201, 1, 0),
         (data.coffee(), 200, 100, 77, 150, 2, 6),   # grown: a thick hole, deep marching
         (data.chelsea(), 10, 200, 64, 96, 3, 0),
         (np.dstack([data.brick()] * 3), 100, 120, 120, 130, 4, 3)]


@pytest.mark.parametrize("photo, y0, x0, h, w, seed, grow", CASES)
def test_the_same_pixels_as_opencv_3_channel_8_bit(photo, y0, x0, h, w, seed, grow):
    src = np.ascontiguousarray(photo[y0:y0 + h, x0:x0 + w])
    hole = _hole(h, w, seed, grow)
    assert (hole > 0).sum() > 300
    ref = cv2.inpaint(src, hole, 3, cv2.INPAINT_TELEA)
    out = telea_inpaint(src, hole)
    assert out.dtype == np.uint8 and np.array_equal(out, ref)
    # the input is left as it was
    assert np.array_equal(src, photo[y0:y0 + h, x0:x0 + w])


@pytest.mark.parametrize("radius", [2, 3, 5])
def test_three_16_bit_channels_as_three_one_channel_fills(radius):
    # OpenCV takes 16 bits in one channel only: the kernel fills all three in one march,
    # each as its own call would
    photo = data.astronaut()[100:180, 150:290].astype(np.float32) / 255
    src = np.ascontiguousarray(cv2.GaussianBlur(photo, (0, 0), 1.5) * 65535).astype(np.uint16)
    hole = _hole(80, 140, 7, 2)
    ref = np.stack([cv2.inpaint(np.ascontiguousarray(src[..., c]), hole, radius,
                                cv2.INPAINT_TELEA) for c in range(3)], axis=-1)
    out = telea_inpaint(src, hole, radius)
    assert out.dtype == np.uint16 and np.array_equal(out, ref)


def test_holes_at_the_frame_edges_and_noise():
    # OpenCV's quirks at the frame (its gradients read the border rows one pixel inwards)
    # and on noise (large gradient terms) are kept: random holes touching every edge
    rng = np.random.default_rng(0)
    for it in range(40):
        h, w = (int(v) for v in rng.integers(4, 50, 2))
        noise = rng.random((h, w, 3))
        if it % 2:
            noise = cv2.GaussianBlur(noise, (0, 0), 2)
        hole = ((rng.random((h, w)) < rng.uniform(0.05, 0.7)) * 255).astype(np.uint8)
        hole[0, : w // 2] = hole[-1, w // 3:] = hole[:, 0] = hole[h // 2:, -1] = 255
        src8 = (noise * 255).astype(np.uint8)
        assert np.array_equal(telea_inpaint(src8, hole),
                              cv2.inpaint(src8, hole, 3, cv2.INPAINT_TELEA)), it
        src16 = (noise * 65535).astype(np.uint16)
        ref = np.stack([cv2.inpaint(np.ascontiguousarray(src16[..., c]), hole, 3,
                                    cv2.INPAINT_TELEA) for c in range(3)], axis=-1)
        assert np.array_equal(telea_inpaint(src16, hole), ref), it


def test_rounds_as_opencv_where_the_value_is_just_under_one():
    # OpenCV rounds sat + 0.5 with the 0.5 added in double (round_cast); added in float32,
    # sat = 0.99999994 (a flat dark patch's 2 less a gradient term of ~1) became 1.5 and
    # rounded to 2 where OpenCV gives 1, and the march carried it on (astronaut's dark
    # suit at radius 1: 11 of 25x20 pixels differed; 14.5k in a 430x470 hole)
    src = np.ascontiguousarray(data.astronaut()[470:490, 290:315])
    hole = np.zeros((20, 25), np.uint8)
    hole[2:10, 2:-2] = 255
    assert np.array_equal(telea_inpaint(src, hole, 1), cv2.inpaint(src, hole, 1, cv2.INPAINT_TELEA))
    src16 = src.astype(np.uint16)  # the same values at 16 bits: each channel OpenCV's own call
    ref = np.stack([cv2.inpaint(np.ascontiguousarray(src16[..., c]), hole, 1, cv2.INPAINT_TELEA)
                    for c in range(3)], axis=-1)
    assert np.array_equal(telea_inpaint(src16, hole, 1), ref)


def test_a_frame_one_pixel_high_or_wide_is_filled_inside_the_image():
    # OpenCV's gradient reads a border row one pixel inwards: a 1-row frame has none, and
    # OpenCV and the kernel read past the image (the public inpaint(backend="telea") reaches
    # it on a 1-row image). Filled as the frame doubled, the same image and hole, instead
    rng = np.random.default_rng(3)
    for it in range(20):
        w = int(rng.integers(3, 40))
        src = (cv2.GaussianBlur(rng.random((1, w, 3)), (0, 0), 1) * 255).astype(np.uint8)
        if it % 2:
            src = src.astype(np.uint16) * 257
        hole = ((rng.random((1, w)) < 0.4) * 255).astype(np.uint8)
        hole[0, it % w] = 255
        for s, hl in ((src, hole), (src.transpose(1, 0, 2), hole.T)):
            ax = 0 if hl.shape[0] == 1 else 1
            two = telea_inpaint(np.concatenate([s, s], ax), np.concatenate([hl, hl], ax))
            assert np.array_equal(telea_inpaint(s, hl), two[:hl.shape[0], :hl.shape[1]]), it
            if s.dtype == np.uint16:  # one channel (OpenCV's own call) doubled the same way
                assert np.array_equal(telea_inpaint(s[..., 0], hl), two[:hl.shape[0],
                                                                        :hl.shape[1], 0]), it
    assert telea_inpaint(np.full((1, 1, 3), 9, np.uint8), np.full((1, 1), 255, np.uint8)).shape \
        == (1, 1, 3)


def test_one_channel_no_hole_and_bad_input():
    src = (data.camera()[:60, :80]).copy()
    hole = _hole(60, 80, 9)
    # one channel: OpenCV's own call
    assert np.array_equal(telea_inpaint(src, hole), cv2.inpaint(src, hole, 3, cv2.INPAINT_TELEA))
    rgb = np.dstack([src] * 3)
    assert np.array_equal(telea_inpaint(rgb, np.zeros((60, 80), np.uint8)), rgb)
    with pytest.raises(InputError, match="hole"):
        telea_inpaint(rgb, hole[:50])
    with pytest.raises(InputError, match="src"):
        telea_inpaint(rgb.astype(np.float32), hole)


@pytest.mark.parametrize("radius", [float("nan"), float("inf"), -float("inf"), 0, -3, True,
                                    None, "3"])
def test_a_radius_that_is_not_a_finite_positive_number_is_an_input_error(radius):
    # a NaN or infinite radius raised ValueError / OverflowError on three channels, and one
    # channel (OpenCV's own call) filled with whatever OpenCV made of it
    src = np.ascontiguousarray(data.coffee()[:40, :60])
    hole = _hole(40, 60, 12)
    for s in (src, src[..., 0]):
        with pytest.raises(InputError, match=r"^radius: expected a positive number, got "):
            telea_inpaint(s, hole, radius)


def test_any_non_zero_hole_value_is_the_hole_on_both_paths():
    # a non-uint8 hole was cast to uint8 on the one-channel path: 256 wrapped to 0 and 0.5
    # truncated to 0 (nothing filled) while three channels took every non-zero pixel
    src = np.ascontiguousarray(data.coffee()[:40, :60])
    hole = _hole(40, 60, 13)
    for s in (src, src[..., :1], src[..., 0], src.astype(np.uint16) * 257):
        ref = telea_inpaint(s, hole)
        assert not np.array_equal(ref, s)
        for other in (hole > 0, (hole > 0) * np.uint16(256), (hole > 0) * np.float32(0.5)):
            assert np.array_equal(telea_inpaint(s, other), ref), (s.shape, other.dtype)


def test_a_huge_radius_is_the_widest_on_both_paths():
    # OpenCV clamps the radius to 100 px, but rounds 2**31 and more to 1 px: the kernel
    # (three channels) took 100, OpenCV's one-channel call 1
    src = np.ascontiguousarray(data.coffee()[100:220, 200:360])
    hole = _hole(120, 160, 14, grow=4)
    for s in (src, src[..., 0]):
        widest = telea_inpaint(s, hole, 100)
        assert not np.array_equal(widest, telea_inpaint(s, hole, 1))
        for radius in (101, 2.0**31, 1e300):
            assert np.array_equal(telea_inpaint(s, hole, radius), widest), (s.ndim, radius)


def test_a_source_of_another_dtype_is_an_input_error_on_one_channel_too():
    # one channel went to OpenCV unchecked: int8 or float64 raised cv2.error, float32 was
    # filled (OpenCV takes it) although the kernel takes uint8 or uint16 only
    hole = _hole(40, 60, 15)
    for dtype in (np.int8, np.float32, np.float64):
        for shape in ((40, 60), (40, 60, 1)):
            with pytest.raises(InputError, match=r"^src: "):
                telea_inpaint(np.zeros(shape, dtype), hole)


def test_the_first_fill_loads_the_kernels_once(monkeypatch):
    # a process that never called warm_up (the benchmark's warm-up image reaches the text
    # mask's estimates first) loads them on its first fill, through jit_cache's child
    from seamline.ops.inpaint import jit_cache
    from seamline.ops.inpaint import telea_kernel as tk

    calls = []
    monkeypatch.setattr(tk, "_loaded", False)
    monkeypatch.setattr(jit_cache, "compile_aside", lambda m, f: calls.append((m.__name__, f)))
    src = np.ascontiguousarray(data.coffee()[:40, :60])
    hole = _hole(40, 60, 11)
    for _ in range(2):
        ref = cv2.inpaint(src, hole, 3, cv2.INPAINT_TELEA)
        assert np.array_equal(telea_inpaint(src, hole), ref)
    assert calls == [("seamline.ops.inpaint.telea_kernel", "_load_kernels")] and tk._loaded
