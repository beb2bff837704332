"""core.threads: remove-text's pools keep to the process's share of the cores, and the steps
that gained nothing from threads run on the caller's."""

import threading

import cv2
import pytest

from seamline.core.threads import share


@pytest.fixture
def cores():
    """``cores(n)``: the process's share as a batch/serve worker sets it
    (``cv2.setNumThreads``); the machine's own count is given back afterwards."""
    before = cv2.getNumThreads()
    yield cv2.setNumThreads
    cv2.setNumThreads(before)


def test_share_is_the_workers_share_of_the_cores(cores):
    """share(most): most, capped by cv2.getNumThreads() (a batch/serve worker's share), and
    at least 1."""
    cores(1)
    assert share() == 1 and share(3) == 1
    cores(2)
    assert share() == 2 and share(3) == 2 and share(1) == 1 and share(0) == 1


def _settled() -> int:
    """Threads alive once every helper started before has ended (a pool's thread ends a
    moment after its pool is shut down)."""
    for t in threading.enumerate():
        if t is not threading.current_thread() and t.name.startswith(("seamline-",
                                                                        "ThreadPoolExecutor")):
            t.join(timeout=10)
    return threading.active_count()


def test_text_mask_and_detect_text_work_on_the_callers_thread(captioned, cores, monkeypatch):
    """With two cores, text-mask's glyph regions, line effects and segmenter and
    detect-text's periodicity run on the caller's thread (on main they ran on
    seamline-glyphs/-effects/-soon threads beside each other: no wall gain at idle), with
    the one-core run's pixels and mask, and remove-text leaves no thread behind."""
    import numpy as np

    import seamline as sl
    from seamline.ops.text import effects, glyph, segment, watermark, watermark_lines

    where = []

    def here(mod, name):
        fn = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, **k: where.append(
            (name, threading.get_ident())) or fn(*a, **k))

    for mod, name in ((glyph, "_region_mask"), (effects, "_line_effects"),
                      (segment, "segment_text"), (watermark, "periodicity"),
                      (watermark_lines, "periodicity")):
        here(mod, name)
    image = captioned[0]
    runs = {}
    for n in (1, 2):
        cores(n)
        before = _settled()
        res = sl.remove_text(image)
        assert _settled() == before
        runs[n] = res.image, res.mask
    assert {n for n, _ in where} == {"_region_mask", "_line_effects", "segment_text",
                                     "periodicity"}
    assert {t for _, t in where} == {threading.get_ident()}
    assert np.array_equal(runs[1][0], runs[2][0]) and np.array_equal(runs[1][1], runs[2][1])
