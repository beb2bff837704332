"""What was cut from remove-text's time changes none of its results (issue 10, time target).

Each cut is checked against the code path it replaced, on a real photo with drawn text: same
polygons, texts and scores, same pixels. No timing asserts (the machine is shared); the
times are in ``benchmarks/results/profile_remove_text.txt``.
"""

from __future__ import annotations

import numpy as np
import pytest

from seamline.ops.text import detect as D


def _plain_engine():
    """A rapidocr engine as rapidocr builds it by itself (spinning ONNX Runtime threads)."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "warning", "Det.box_thresh": D._BOX_THRESH,
                            "Det.unclip_ratio": D._UNCLIP_RATIO})


def test_engine_threads_sleep_instead_of_spinning():
    eng = D.get_engine()
    for part in (eng.text_det, eng.text_rec):
        opts = part.session.session.get_session_options()
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert eng.text_cls is None  # never used (use_cls=False): never loaded
    # the patch of rapidocr's options builder is scoped to our engine's creation
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    assert OrtInferSession._init_sess_opts.__name__ == "_init_sess_opts"


def test_warm_up_caps_the_threads_of_a_new_engine(monkeypatch):
    monkeypatch.setattr(D, "_ENGINE", None)  # a fresh engine, as in a new worker process
    D.warm_up(threads=1)
    for part in (D._ENGINE.text_det, D._ENGINE.text_rec):
        opts = part.session.session.get_session_options()
        assert opts.intra_op_num_threads == 1
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_sleeping_threads_read_what_spinning_ones_read(captioned, monkeypatch):
    image = captioned[0]
    ours = D.detect_text(image)
    assert ours, "the demo photo's text must be found"
    monkeypatch.setattr(D, "_ENGINE", _plain_engine())
    theirs = D.detect_text(image)
    assert ours == theirs  # polygons, texts and scores exactly

