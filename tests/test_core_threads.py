"""core.threads: the helper threads of remove-text keep to the process's share of the cores."""

import threading

import cv2
import pytest

from seamline.core.threads import each, share, soon


@pytest.fixture
def cores():
    """``cores(n)``: the process's share as a batch/serve worker sets it
    (``cv2.setNumThreads``); the machine's own count is given back afterwards."""
    before = cv2.getNumThreads()
    yield cv2.setNumThreads
    cv2.setNumThreads(before)


def _where(x):
    return threading.current_thread().name, x * x


def test_a_one_core_worker_runs_each_and_soon_in_place(cores):
    """A worker given one core (cv2.setNumThreads(1), as batch/serve workers do) starts no
    helper thread: each's items and soon's call run on the caller's thread, with the same
    results, and soon's error still comes from its future. Two cores: two threads."""
    cores(1)
    me = threading.current_thread().name
    assert share() == 1 and share(3) == 1
    assert each(_where, range(4), name="test") == [(me, v) for v in (0, 1, 4, 9)]
    assert soon(_where, 5).result() == (me, 25)
    failed = soon(lambda: 1 / 0)  # raised where the result is read, as from a thread
    with pytest.raises(ZeroDivisionError):
        failed.result()
    cores(2)
    assert share() == 2 and share(3) == 2 and share(1) == 1
    assert {n for n, _ in each(_where, range(4), name="test")} <= {
        f"seamline-test_{i}" for i in range(2)}
    assert soon(_where, 5).result()[0].startswith("seamline-soon")


def _settled() -> int:
    """Threads alive once every helper started before has ended (soon's thread ends once
    its call has returned, a moment after its result is read)."""
    for t in threading.enumerate():
        if t.name.startswith("seamline-"):
            t.join(timeout=10)
    return threading.active_count()


def test_helper_threads_end_with_the_call(cores):
    """Neither helper leaves a thread behind: a server calls remove-text's steps thousands
    of times."""
    cores(2)
    before = _settled()
    for _ in range(20):
        each(_where, range(3))
        soon(_where, 2).result()
    assert _settled() == before


def test_remove_text_in_a_one_core_worker_starts_no_each_or_soon_thread(captioned, cores,
                                                                         monkeypatch):
    """remove-text in a worker given one core: text-mask's lines, glyph regions and
    segmenter, and detect-text's periodicity, run on the caller's thread, with the pixels
    and mask of the two-core run."""
    import numpy as np

    import seamline as sl

    started = []
    real = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda self: started.append(self.name) or real(self))
    image = captioned[0]
    runs = {}
    for n in (2, 1):
        cores(n)
        del started[:]
        res = sl.remove_text(image)
        runs[n] = res.image, res.mask, [t for t in started if t.startswith("seamline-")
                                        and not t.startswith("seamline-digest")]  # the memo's
    assert runs[2][2] and not runs[1][2]  # two cores: each/soon threads; one: none
    assert np.array_equal(runs[1][0], runs[2][0]) and np.array_equal(runs[1][1], runs[2][1])
