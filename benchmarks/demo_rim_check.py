"""The demo's cup-rim band under "MORNING" (issue 10): how far off it is, and where from.

Runs ``make demo``'s case (``seamline.demo``) once with the edge-first fill
(``seamline.ops.inpaint.edge_first.edge_fill``) watched, then prints:

* PSNR against the photo before the text was drawn (``skimage.data.coffee()``) in the rim
  area (the text region inside x 190-330, y 30-45) and in the whole text region;
* for every edge path the fill drew across the title: where along the fitted curve the
  photo's own edge lies (the luminance gradient's peak along the curve's normal, +-6 px):
  a path drawn off the rim leaves a sharp edge in the wrong place;
* the rim area's squared error split by what wrote each pixel: the band drawn along a path
  (by signed distance ``t`` from the curve) or the frequency-selective fill of the rest
  (by distance from the band).

Findings on main 03622a9 (session 8): rim area 19.05 dB (text region 24.87 dB); the title
hole's pixels in the rim box 17.79 dB. 60 % of their squared error lies within ``t`` -1..+4
px of the left path (image (269, 18) -> (185, 66)): the cubic through the two 14 px strand
windows runs up to 3.5 px (mean 1.7) inside the photo's rim across "MOR", where no rim pixel
between the letters pins it (the right path: 0.5 px at most). Longer windows (up to 60 px of
strand), quartic/quintic fits, a rational quadratic (conic) through the ends' tangents and
OpenCV's ellipse fits to both windows were all tried on this crop: none came closer. A
quarter of the error is FSR 2-8 px inside the band: the pink band a person sees is the rim
lip's inner edge (lip white -> coffee cream, a soft step of ~0.2 in luminance) that FSR
continues 3-4 px too far inward, blending white into cream; no path is found for that edge
even with ``MIN_STEP`` 0.1 and half the Canny levels (its pieces near the hole are on its
bottom side: a U inside the hole, which a path, a graph over the chord between two entries
turning at most 80 degrees, does not represent).

Session 9 (ellipses, ``edge_first``): one ellipse fitted to the edge pixels of the strands
the two paths enter from (top of the rim, its left and right sides below the title) fits
them within 0.15 px RMS and the photo's hidden rim within 0.5 px (the polynomial: 3.5 px);
with the lip drawn 20 px wide, the top's unseen offsets taken from the sides' profiles and
each side of the rim filled by FSR from its own side: rim area 19.05 -> 24.14 dB, text
region 24.87 -> 27.23 dB (main 99517d8 vs the branch, same session).

Usage::

    PYTHONPATH=src python benchmarks/demo_rim_check.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

#: The rim area (image x0, y0, x1, y1) where the band shows at 2x.
RIM_BOX = (190, 30, 330, 46)


def main(argv: list[str]) -> int:
    from skimage import data

    import seamline.ops.inpaint.edge_first as edge_first
    from seamline.core.arrays import LUMA
    import seamline.ops.inpaint.structure as structure
    from seamline.demo import main as demo
    from seamline.io import as_image, load_image
    from seamline.testing.demo_image import demo_image, psnr_in_text_region, text_region

    calls = []
    fill = edge_first.edge_fill

    def watched(crop, hole, **kw):
        out = fill(crop, hole, **kw)
        calls.append((np.array(crop, np.float32), np.array(hole, bool), out))
        return out

    edge_first.edge_fill = watched
    out_dir = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="demo-rim-"))
    try:
        if demo([str(out_dir)]) != 0:
            return 2
    finally:
        edge_first.edge_fill = fill
    photo = as_image(data.coffee()).astype(np.float64)
    clean = load_image(out_dir / "clean.png").astype(np.float64)
    _, alpha = demo_image()
    region = text_region(alpha)
    x0, y0, x1, y1 = RIM_BOX
    rim = np.zeros_like(region)
    rim[y0:y1, x0:x1] = region[y0:y1, x0:x1]
    err = float(np.mean((clean[rim] - photo[rim]) ** 2))
    print(f"\nrim area {x0}-{x1} x {y0}-{y1}: {10 * np.log10(1 / err):.2f} dB "
          f"({int(rim.sum())} px); text region {psnr_in_text_region(clean, photo, alpha):.2f} dB")
    if not calls:
        print("the edge-first fill did not run")
        return 0
    def kind(p):
        if isinstance(p, edge_first.EllipsePath):
            return f"ellipse (semi-axes {p.semi[0]:.0f}, {p.semi[1]:.0f} px, rms {p.rms:.2f} px)"
        return f"degree {len(p.coef) - 1}"

    for crop, hole, out in calls:
        # where the crop sits in the image (the fill's crops are exact copies of the input)
        inp = load_image(out_dir / "input.png")
        res = cv2.matchTemplate(inp, crop, cv2.TM_SQDIFF)
        cy, cx = np.unravel_index(int(res.argmin()), res.shape)
        h, w = hole.shape
        ref = photo[cy:cy + h, cx:cx + w]
        luma = ref.astype(np.float32) @ LUMA
        # the curves the fill draws (an ellipse where one fits, else the polynomial)
        paths = edge_first.curves(crop, hole)
        t = np.arange(-6, 6.01, 0.25, dtype=np.float32)
        band = np.zeros(hole.shape, bool)
        tt = np.full(hole.shape, np.nan)
        ys, xs = np.nonzero(hole)
        xy = np.stack([xs, ys], 1).astype(np.float64)
        for p in paths:
            pts, n = p.points(np.arange(0.0, p.length, 4.0))
            grad = np.abs(np.gradient(structure.sample_across(luma, pts, n, t), axis=1))
            off = t[grad.argmax(1)]
            a, b = p.origin + (cx, cy), p.origin + p.length * p.axis + (cx, cy)
            print(f"path ({a[0]:.0f}, {a[1]:.0f}) -> ({b[0]:.0f}, {b[1]:.0f}), "
                  f"{p.length:.0f} px, {kind(p)}: photo's edge off the curve "
                  f"max {np.abs(off).max():.2f} px, mean {np.abs(off).mean():.2f} px")
            x, d = p.local(xy)
            wide = (edge_first.SMOOTH_BAND_PX if isinstance(p, edge_first.EllipsePath)
                    else structure.BAND_PX)
            on = (x >= -1) & (x <= p.length + 1) & (np.abs(d) <= wide)
            band[ys[on], xs[on]] = True
            tt[ys[on], xs[on]] = d[on]
        box = np.zeros(hole.shape, bool)
        bx0, by0, bx1, by1 = x0 - cx, y0 - cy, x1 - cx, y1 - cy
        box[max(by0, 0):max(by1, 0), max(bx0, 0):max(bx1, 0)] = True
        box &= hole
        if not box.any():
            continue
        se = ((out - ref) ** 2).sum(2)
        total = float(se[box].sum())
        print(f"hole pixels in the rim area {int(box.sum())}: "
              f"{10 * np.log10(3 * box.sum() / total):.2f} dB")
        for lo, hi in ((-20, -12), (-12, -4), (-4, -1), (-1, 4), (4, 12), (12, 20)):
            m = box & band & (tt >= lo) & (tt < hi)
            print(f"  band, t {lo:+d}..{hi:+d} px: {int(m.sum()):5d} px, "
                  f"{100 * se[m].sum() / total:5.1f} % of the squared error")
        dist = cv2.distanceTransform((~band).astype(np.uint8), cv2.DIST_L2, 3)
        for lo, hi in ((0, 2), (2, 8), (8, 99)):
            m = box & ~band & (dist > lo) & (dist <= hi)
            print(f"  FSR, {lo}-{hi} px from the band: {int(m.sum()):5d} px, "
                  f"{100 * se[m].sum() / total:5.1f} % of the squared error")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
