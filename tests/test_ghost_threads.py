"""The ghost judge's reader thread: an error in the judge's own thread reaches the caller."""

from __future__ import annotations

import threading

import numpy as np

import seamline.ops.text.ghost as ghost
from seamline.ops.text import TextRegion


def test_an_error_after_the_read_is_submitted_is_raised_not_a_hang(monkeypatch):
    """The plain read waits on the residue score; an error between its submit and the score
    (here the line's rasteriser: a MemoryError) used to leave the reader waiting for ever and
    ``judge_regions`` never returned (review of issue 10). It is raised now. (Should the
    hang come back, this test fails after its wait and the pytest process then stays: the
    executor's reader thread is still blocked, and Python joins it at exit.)"""
    img = np.full((80, 300, 3), 0.5, np.float32)
    region = TextRegion(np.array([[20, 20], [280, 20], [280, 60], [20, 60]], np.float32),
                        "HELLO WORLD", 1.0)

    def boom(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(ghost, "polygon_mask", boom)
    raised: list = []

    def judge():
        try:
            ghost.judge_regions(img, img, [region], ocr=lambda strip: ("xyz", 0.9))
        except MemoryError as e:
            raised.append(e)

    t = threading.Thread(target=judge, daemon=True)
    t.start()
    t.join(120)  # a hang is for ever; a loaded CI machine takes well under a second
    assert not t.is_alive() and len(raised) == 1
