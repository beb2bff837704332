"""The judges a region's fill gets on its crop in the text-removal loop, and their memo.

:func:`judge_fill_crop` runs the smear and structure judges on the crop
(:mod:`seamline.ops.inpaint.smear`, :mod:`seamline.ops.inpaint.structure`); :class:`Seen`
remembers every verdict one :func:`seamline.ops.text.removal.fill_text` call's judges gave,
by what they looked at, so a fill judged again as it is (the loop re-judges a refilled
region after the ghost judge's next read; a stretch fix that found no stretch to fill) is
not looked at again (~60 ms a surface look on a line's crop; a third of the looks on the
train cases were repeats). It keeps the curves the edge-first fill draws across a crop the
same way (:func:`seamline.ops.inpaint.edge_first.curves`, ~20 ms on a line's crop): the
smear and structure judges, then the grain or stretch fix on that very crop, ask for them.
"""

from __future__ import annotations

import copy

import numpy as np

from seamline.ops.text.ghost import crop_digest

__all__ = ["Seen", "judge_fill_crop"]


class Seen:
    """Verdicts by what the judge looked at: its name, the crop's box and pixels, the hole
    and the untouched photo (bool, the crop's shape). The judges are deterministic, so a
    remembered verdict is the one they would give. Keys are digests, not copies: nothing
    crop-sized is held."""

    def __init__(self):
        self._verdicts: dict = {}

    def verdict(self, judge: str, box, crop, here, known, look):
        """``look()``'s result, or the one it gave before on the same inputs (a copy:
        callers keep verdicts in their records).

        Parameters
        ----------
        judge : str
            Which judge (part of the key: two judges on one crop are two verdicts).
        box : tuple of slice
            The crop's place in the image.
        crop : ndarray, HxWx3 float32
            What the judge reads (its bytes are hashed).
        here, known : ndarray, HxW bool
            The hole and the untouched photo in the crop.
        look : callable
            ``look() -> dict``: the judge's verdict, called only on a new key.
        """
        key = (judge, tuple((s.start, s.stop) for s in box), crop_digest(crop),
               np.packbits(here).tobytes(), np.packbits(known).tobytes())
        if key not in self._verdicts:
            self._verdicts[key] = look()
        return copy.deepcopy(self._verdicts[key])

    def curves(self, box, crop, here, known) -> list:
        """:func:`seamline.ops.inpaint.edge_first.curves` of ``crop`` (its ``here`` and
        ``known``, the crop at ``box``: as :meth:`verdict`'s), or the curves found before on
        the same inputs (a copy): the smear and structure judges read them, then the grain
        or stretch fix on that very crop before it changes a pixel (train timing cases: 14
        of 66 searches were of a crop searched before, ~20 ms each)."""
        from seamline.ops.inpaint.edge_first import curves

        return self.verdict("curves", box, crop, here, known,
                            lambda: curves(crop, here, known=known))


def judge_fill_crop(crop, here, known, *, paths=None) -> tuple[dict, dict]:
    """The smear and structure judges' verdicts on a fill's crop (HxWx3 float32 in [0, 1]),
    its hole ``here`` and its untouched photo ``known`` (HxW bool each). The strong edges
    that cross the hole are found once; the smear judge leaves out their band (an edge the
    photo carries across the hole, and the rim's other side drawn with it, is not a seam).
    ``paths`` (keyword-only): :func:`seamline.ops.inpaint.edge_first.curves` of this very
    crop, hole and ``known``, where the caller has them (not modified); default: found here.

    Returns
    -------
    smear, structure : dict
        :func:`~seamline.ops.inpaint.smear.judge_smear`'s and
        :func:`~seamline.ops.inpaint.structure.judge_structure`'s verdicts.
    """
    from seamline.ops.inpaint.edge_first import curves
    from seamline.ops.inpaint.smear import judge_smear
    from seamline.ops.inpaint.structure import BAND_PX, judge_structure, path_mask

    # along the curves the edge-first fill draws (an ellipse where one fits)
    if paths is None:
        paths = curves(crop, here, known=known)
    smear = judge_smear(crop, here, known=known,
                        exclude=path_mask(paths, here.shape, half_width=BAND_PX)
                        if paths else None)
    return smear, judge_structure(crop, here, known=known, paths=paths)
