"""A caption the detector broke into single-letter pieces, read again round the pieces.

Over a busy pattern the whole-image detector can lose a line's shape and box only a few of
its letters (train outline1: an outlined red "Happy" over a pink/blue checkerboard boxed as
"H", "0", "0", its "ppy" left out and left whole in the cleaned image). The same detector on
a crop round those pieces, at the whole image's detection scale, reads the whole word
(``"Happy"``, 1.00). :func:`reread_fragments` re-reads the neighbourhood of every read of at
most two letters and puts a longer read that covers such pieces and adds text area the
detected boxes lacked in their place.
"""

from __future__ import annotations

import numpy as np

from seamline.ops.polygons import polygon_mask

__all__ = ["reread_fragments"]

_SHORT = 2  # a fragment: a read of at most this many letters or digits
_ALONG = 4.0  # the crop reaches this x the piece's height past it along the line
_ACROSS = 0.5  # ... and this x its height above and below it
_MIN_CHARS = 3  # a re-read replaces pieces only with at least this many letters or digits
_COVER = 0.5  # a piece it replaces lies at least this share inside it
_NEW = 0.25  # ... and at least this share of its box lies outside every detected box
_OTHER = 0.25  # it may cover at most this share of a line that is not a piece


def _alnum(text: str) -> int:
    return sum(c.isalnum() for c in text)


def reread_fragments(image: np.ndarray, regions: list, *, min_score: float = 0.5
                     ) -> tuple[list, list[dict]]:
    """Replace the one- or two-letter pieces of a line by the line, read again round them.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) float32 RGB in [0, 1], the photo the regions were detected on.
    regions : list of TextRegion
        The detector's lines, in its order; a read of at most two letters or digits is a
        piece.
    min_score : float
        The re-read's detection threshold (the detector's own).

    Returns
    -------
    regions : list of TextRegion
        ``regions`` with the pieces a longer re-read covers replaced by it (at the first
        piece's place); unchanged when nothing qualifies.
    notes : list of dict
        One per replacement: ``text`` (the re-read line's) and ``replaced`` (the pieces'
        texts).

    Every piece triggers a detection on a crop reaching 4 heights along it (one batched
    call for all pieces): a photo with many short reads pays for one more detection over
    their crops.
    """
    from seamline.ops.text.detect import detect_text_in_boxes

    short = [i for i, r in enumerate(regions) if _alnum(r.text) <= _SHORT]
    if not short:
        return list(regions), []
    H, W = image.shape[:2]
    boxes = []
    for i in short:
        p = np.asarray(regions[i].polygon, np.float32).reshape(-1, 2)
        (x0, y0), (x1, y1) = p.min(0), p.max(0)
        h = max(float(y1 - y0), 4.0)
        boxes.append((x0 - _ALONG * h, y0 - _ACROSS * h, x1 + _ALONG * h, y1 + _ACROSS * h))
    found = detect_text_in_boxes(image, boxes, min_score=min_score, margin_px=0)
    if not found:
        return list(regions), []
    # every box on one canvas of the union of all polygons' bounding boxes
    polys = [np.asarray(r.polygon, np.float32).reshape(-1, 2) for r in regions]
    allp = np.concatenate(polys + [np.asarray(f.polygon, np.float32).reshape(-1, 2)
                                   for f in found])
    ox, oy = np.floor(np.maximum(allp.min(0), 0)).astype(int)
    ex = min(int(np.ceil(allp[:, 0].max())) + 2, W)
    ey = min(int(np.ceil(allp[:, 1].max())) + 2, H)
    shape, off = (max(ey - oy, 1), max(ex - ox, 1)), np.float32([ox, oy])
    masks = [polygon_mask(p, shape, off) > 0 for p in polys]
    detected = np.logical_or.reduce(masks)
    taken: set[int] = set()
    place: dict[int, object] = {}
    notes = []
    for f in sorted(found, key=lambda f: -_alnum(f.text)):
        if _alnum(f.text) < _MIN_CHARS:
            continue
        fm = polygon_mask(f.polygon, shape, off) > 0
        area = int(fm.sum())
        if area == 0 or (fm & ~detected).sum() < _NEW * area:
            continue  # no text area the detected boxes lack
        covered, clash = [], False
        for j, m in enumerate(masks):
            share = (m & fm).sum() / max(int(m.sum()), 1)
            if j in short and share >= _COVER:
                covered.append(j)
            elif share > _OTHER:
                clash = True  # a detected line (or a piece already replaced) it overlaps
        if clash or not covered or taken.intersection(covered):
            continue
        taken.update(covered)
        place[min(covered)] = f
        notes.append({"text": f.text, "score": round(float(f.score), 3),
                      "replaced": [regions[j].text for j in covered]})
    if not place:
        return list(regions), []
    out = []
    for i, r in enumerate(regions):
        if i in place:
            out.append(place[i])
        elif i not in taken:
            out.append(r)
    return out, notes
