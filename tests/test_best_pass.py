"""The fill loop keeps each region's best-judged pass (seamline.ops.text.best_pass): a
refill that left the region flagged and judged worse than an earlier pass is undone, its
pixels, mask and verdicts put back, other regions' holes untouched."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from seamline.ops.text.best_pass import BestPasses, better, pass_key
from seamline.ops.text.region_fill import Hole


def _verdict(flagged, score, box, why="glyph-shaped residue 0.20 > 0.15"):
    return SimpleNamespace(flagged=flagged, residue_score=score, box=box,
                           reasons=[why] if flagged else [])


def _frame():
    rng = np.random.default_rng(0)
    image = rng.random((60, 80, 3), dtype=np.float32)
    hole1 = np.zeros((60, 80), bool)
    hole1[20:30, 10:40] = True
    other = np.zeros((60, 80), bool)
    other[20:30, 42:60] = True  # another region's hole, inside the first one's box
    return image, hole1, other


def _two_passes(last_flagged):
    image, hole1, other = _frame()
    out, final = image.copy(), hole1 | other
    out[hole1], out[other] = 0.5, 0.2
    plan = {1: {"backend": "telea", "passes": [{"pass": 1}]}}
    holes = {1: Hole.of(hole1), 2: Hole.of(other)}
    kept, box = BestPasses(), (5, 10, 65, 40)  # (x0, y0, x1, y1): the judged box
    v1 = _verdict(False, 0.12, box)
    kept.offer(1, out, final, holes[1], v1, ({"flagged": False}, {"flagged": False}, None),
               plan[1])
    first = (out.copy(), final.copy())
    # the loop regrows the region and refills it: a grown hole, other pixels, flagged
    grown = np.zeros_like(hole1)
    grown[17:33, 7:43] = True
    grown &= ~other
    out[grown], out[other] = 0.9, 0.3  # the other region was refilled too
    final |= grown
    holes[1] = Hole.of(grown)
    plan[1]["backend"] = "fsr"
    plan[1]["passes"].append({"pass": 2})
    v2 = _verdict(last_flagged, 0.16, box)
    kept.offer(1, out, final, holes[1], v2, ({"flagged": False}, {"flagged": False}, None),
               plan[1])
    ghosts, smears, structs, surfaces = {1: v2}, {}, {}, {}
    n = kept.restore(out, final, holes, plan, ghosts, (smears, structs, surfaces))
    return image, first, out, final, other, grown, plan, ghosts, v1, v2, n


def test_a_flagged_last_pass_gives_way_to_the_best_judged_one():
    image, (out1, final1), out, final, other, grown, plan, ghosts, v1, _, n = _two_passes(True)
    assert n == 1 and ghosts[1] is v1
    assert plan[1]["backend"] == "telea" and plan[1]["kept_pass"] == 1
    mine = grown & ~other
    np.testing.assert_array_equal(out[mine], out1[mine])  # the first fill, the photo round it
    np.testing.assert_array_equal(final[mine], final1[mine])
    assert (out[other] == np.float32(0.3)).all()  # the other region's refill stays
    assert final[other].all()
    ring = grown & ~final1
    assert ring.any() and not final[ring].any()
    np.testing.assert_array_equal(out[ring], image[ring])


def test_a_last_pass_that_passes_is_kept():
    _, _, out, _, _, grown, plan, ghosts, _, v2, n = _two_passes(False)
    assert n == 0 and ghosts[1] is v2 and "kept_pass" not in plan[1]
    assert (out[grown] == np.float32(0.9)).all()


def test_pass_key_puts_the_ghost_judge_first_then_the_others_then_the_residue():
    assert pass_key(_verdict(False, 0.3, None), {"flagged": True}, None) == (0, 1, 0.3)
    assert pass_key(_verdict(True, 0.1, None), {"flagged": True}, {"flagged": True}) == (1, 2, 0.1)
    # a pass the ghost judge flags is worse than one only the structure judge flags
    assert better(pass_key(_verdict(False, 0.14, None), None, {"flagged": True}),
                  pass_key(_verdict(True, 0.02, None), None, None))
    # the residue ranks passes the residue alone flags ...
    assert better(pass_key(_verdict(True, 0.16, None), None, None),
                  pass_key(_verdict(True, 0.3, None), None, None))
    # ... not passes a look flags (their residue scores say nothing of it)
    tint = "letters still tinted: 2 of 2 letter(s)"
    assert not better(pass_key(_verdict(True, -0.02, None, tint), None, None),
                      pass_key(_verdict(True, 0.01, None, tint), None, None))
