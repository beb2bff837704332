"""Crop-based mask stages give bit for bit what the full-frame code gave.

The mask operations run on crops around the mask's support so memory and time follow the
text, not the frame (issue 11, item 8). The reference functions below are the full-frame
implementations they replaced, kept verbatim as the oracle; inputs are scikit-image photos
with text drawn on them (``seamline.testing.synth``), plus specks, holes, soft edges and
components at the frame's border.
"""

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage.color import rgb2lab

from seamline.ops.masks import (context_ring, feather, grow, grow_over_halos, mask_components,
                                normalize_mask, preflight_mask, support_boxes)
from seamline.stages.normalize_mask import NormalizeMask
from seamline.testing.synth import text_photo_cases


# ------------------------------------------------------------------ full-frame references
def _disk(px):
    y, x = np.ogrid[-px: px + 1, -px: px + 1]
    return (x * x + y * y <= px * px).astype(np.uint8)


def _components(support, connectivity=8):
    n, labels, stats, _ = cv2.connectedComponentsWithStats(support.astype(np.uint8),
                                                           connectivity=connectivity)
    return n, labels, stats


def ref_grow(mask, px):
    return cv2.dilate(mask, _disk(px)) if px else mask.copy()


def ref_feather(mask, px):
    core = mask >= 0.5
    if px == 0 or not core.any():
        return core.astype(np.float32)
    dist = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    t = np.clip(dist / (px + 1), 0, 1)
    return (1 - t * t * (3 - 2 * t)).astype(np.float32)


def ref_remove_specks(mask, min_area_px):
    n, labels, stats = _components(mask > 0)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area_px
    keep[0] = False
    return np.where(keep[labels], mask, 0).astype(np.float32)


def ref_fill_holes(mask, max_hole_px):
    n, labels, stats = _components(mask == 0, connectivity=4)
    x, y, w, h, area = (stats[:, i] for i in range(5))
    H, W = mask.shape
    on_border = (x == 0) | (y == 0) | (x + w == W) | (y + h == H)
    fill = ~on_border & (area <= max_hole_px)
    fill[0] = False
    return np.where(fill[labels], np.float32(1), mask).astype(np.float32)


def _coverage_and_count(mask):
    support = mask > 0
    return {"coverage": float(support.mean()), "n_components": int(_components(support)[0] - 1)}


def ref_normalize(mask, min_area_px, max_hole_px, dilate_px, feather_px, threshold=0.5):
    soft = (mask > 0) & (mask < 1)
    binary = (mask >= threshold).astype(np.float32)
    before = _coverage_and_count(mask)
    despecked = ref_remove_specks(binary, min_area_px)
    filled = ref_fill_holes(despecked, max_hole_px)
    out = ref_feather(ref_grow(filled, dilate_px), feather_px)
    n_binary, n_despecked = _components(binary > 0)[0], _components(despecked > 0)[0]
    n_holes = _components(filled != despecked, connectivity=4)[0] - 1
    return out, {
        "soft_input": bool(soft.any()), "soft_fraction": float(soft.mean()),
        "specks_removed": int(n_binary - n_despecked),
        "speck_px_removed": int((binary > despecked).sum()),
        "holes_filled": int(n_holes), "hole_px_filled": int((filled > despecked).sum()),
        "before": before, "after": _coverage_and_count(out)}


def ref_component_table(support):
    n, labels, stats = _components(support)
    H, W = support.shape
    padded = np.pad(support, 1).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    index = np.arange(1, n)
    depth = ndimage.maximum(dist, labels, index) if n > 1 else []
    centroids = ndimage.center_of_mass(support, labels, index) if n > 1 else []
    comps = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i, :5])
        cy, cx = centroids[i - 1]
        comps.append({"index": i - 1, "area_px": area, "bbox": [x, y, w, h],
                      "centroid": [float(cx), float(cy)],
                      "touches_border": bool(x == 0 or y == 0 or x + w == W or y + h == H),
                      "max_inscribed_radius": float(depth[i - 1]) - 0.5})
    return labels, comps


def ref_preflight_components(image, mask, ring_px):
    """The old preflight_mask's component list, rings included."""
    support = mask > 0
    labels, comps = ref_component_table(support)
    if not comps or support.all():
        return comps
    dist, (iy, ix) = ndimage.distance_transform_edt(~support, return_indices=True)
    owner = np.where(support | (dist > ring_px), 0, labels[iy, ix])
    textured_owner = np.where(dist > 1, owner, 0)
    n = len(comps) + 1
    ring_idx = np.flatnonzero(owner)
    ring_owner = owner.ravel()[ring_idx]
    count = np.bincount(ring_owner, minlength=n)
    flat = image.reshape(-1, 3)[ring_idx].astype(np.float64)
    sums = np.stack([np.bincount(ring_owner, flat[:, c], n) for c in range(3)], 1)
    sq = np.stack([np.bincount(ring_owner, flat[:, c] ** 2, n) for c in range(3)], 1)
    luma = image @ np.float32([0.2126, 0.7152, 0.0722])
    lap2 = cv2.Laplacian(luma, cv2.CV_32F, ksize=1).astype(np.float64) ** 2
    t_idx = np.flatnonzero(textured_owner)
    t_count = np.bincount(textured_owner.ravel()[t_idx], minlength=n)
    t_sum = np.bincount(textured_owner.ravel()[t_idx], lap2.ravel()[t_idx], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / count[:, None]
        var = (sq / count[:, None] - mean**2).clip(0).mean(1)
        texture = np.where(t_count > 0, t_sum / np.maximum(t_count, 1), 0.0)
    for c in comps:
        i = c["index"] + 1
        has = count[i] > 0
        c["ring"] = {"n_px": int(count[i]),
                     "mean_rgb": [round(float(v), 6) for v in mean[i]] if has else None,
                     "variance": round(float(var[i]), 8) if has else None,
                     "texture_energy": round(float(texture[i]), 8)}
    return comps


def ref_grow_over_halos(image, mask, max_extra_px=4, threshold_l=3.0, ring_px=(1.5, 3.0, 6.0)):
    support = mask >= 0.5
    if not support.any() or support.all():
        return support.astype(np.float32), {"halo_px_added": 0, "halo_steps": 0}
    ys, xs = np.nonzero(support)
    pad = int(ring_px[2]) + max_extra_px + 2
    y0, y1 = max(0, ys.min() - pad), min(support.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(support.shape[1], xs.max() + 1 + pad)
    sub = support[y0:y1, x0:x1].copy()
    light = rgb2lab(image[y0:y1, x0:x1])[..., 0]
    start, steps = int(sub.sum()), 0
    for _ in range(int(max_extra_px)):
        dist, labels = cv2.distanceTransformWithLabels(
            (~sub).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
        inner = (dist > 0) & (dist <= ring_px[0])
        outer = (dist > ring_px[1]) & (dist <= ring_px[2])
        n = int(labels.max()) + 1
        mean_in = np.bincount(labels[inner], light[inner], n) / np.maximum(
            np.bincount(labels[inner], minlength=n), 1)
        count_out = np.bincount(labels[outer], minlength=n)
        mean_out = np.bincount(labels[outer], light[outer], n) / np.maximum(count_out, 1)
        halo = (np.abs(mean_in - mean_out) > threshold_l) & (count_out > 0)
        grow_here = inner & halo[labels]
        if not grow_here.any():
            break
        sub |= grow_here
        steps += 1
    out = support.copy()
    out[y0:y1, x0:x1] = sub
    return out.astype(np.float32), {"halo_px_added": int(sub.sum()) - start, "halo_steps": steps}


def ref_dilate_by_region(mask, boxes, radii):
    n, labels, _, centroids = cv2.connectedComponentsWithStats((mask >= 0.5).astype(np.uint8), 8)
    if n <= 1:
        return mask
    default = int(np.median(radii)) if radii else 1
    comp_radius = np.full(n, default, dtype=int)
    comp_radius[0] = 0
    for c in range(1, n):
        cx, cy = centroids[c]
        inside = [r for (x0, y0, x1, y1), r in zip(boxes, radii)
                  if x0 <= cx <= x1 and y0 <= cy <= y1]
        if inside:
            comp_radius[c] = max(inside)
    out = np.zeros_like(mask, dtype=np.float32)
    for r in np.unique(comp_radius[1:]):
        part = np.isin(labels, np.nonzero(comp_radius == r)[0]).astype(np.float32)
        out = np.maximum(out, ref_grow(part, int(r)) if r > 0 else part)
    return out


# ------------------------------------------------------------------ cases
def _cases():
    """Photos with text (soft coverage masks), specks, holes and masks at the borders."""
    out = []
    for case in text_photo_cases(4, seed=11, n_items=2):
        # the photo tiled 2x2, its text mask in the top-left tile only, so that the mask
        # splits into several crops (a crop is at least 128x128 px)
        image = np.tile(case["with_text"], (2, 2, 1))
        alpha = np.zeros(image.shape[:2], np.float32)
        alpha[: case["text_alpha"].shape[0], : case["text_alpha"].shape[1]] = case["text_alpha"]
        rng = np.random.default_rng(len(out))
        mask = alpha.copy()
        H, W = mask.shape
        mask[rng.integers(0, H, 6), rng.integers(0, W, 6)] = 1  # one-pixel detector noise
        mask[:6, W // 3: W // 3 + 40] = 1     # a component on the top border
        mask[H - 30:, W - 4:] = 0.7            # a soft one in the bottom-right corner
        cv2.circle(mask, (W // 2, H // 2), 14, 1.0, 3)  # a ring with a small hole
        out.append((case["name"], image, mask))
    return out


CASES = _cases()


def test_the_cases_exercise_several_crops():
    # not vacuous: most cases split into several crops (one crop is the full-frame code)
    assert sum(len(support_boxes(mask, 8)) > 1 for _, _, mask in CASES) >= 3


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_support_boxes_are_disjoint_and_hold_every_pixel_near_the_support(name, image, mask):
    margin = 7
    boxes = support_boxes(mask, margin)
    covered = np.zeros(mask.shape, int)
    for y0, y1, x0, x1 in boxes:
        assert y0 % 2 == 0 and x0 % 64 == 0 and (x1 % 64 == 0 or x1 == mask.shape[1])
        covered[y0:y1, x0:x1] += 1
    assert covered.max() == 1
    near = cv2.dilate((mask > 0).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    assert covered[near].all()
    assert support_boxes(np.zeros_like(mask), margin) == []


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_primitives_match_the_full_frame(name, image, mask):
    for px in (0, 1, 3, 8):
        np.testing.assert_array_equal(grow(mask, px), ref_grow(mask, px))
        np.testing.assert_array_equal(feather(mask, px), ref_feather(mask, px))
        support = (mask > 0).astype(np.float32)
        ring = (ref_grow(support, px) > 0) & (support == 0)
        np.testing.assert_array_equal(context_ring(mask, px), ring)


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("params", [dict(min_area_px=4, max_hole_px=200, dilate_px=2, feather_px=0),
                                    dict(min_area_px=12, max_hole_px=40, dilate_px=5, feather_px=3),
                                    dict(min_area_px=1, max_hole_px=0, dilate_px=0, feather_px=0,
                                         threshold=0.3)])
def test_normalize_mask_matches_the_full_frame(name, image, mask, params, ):
    out, report = normalize_mask(mask, **params)
    ref_out, ref_report = ref_normalize(mask, **params)
    np.testing.assert_array_equal(out, ref_out)
    assert out.dtype == np.float32
    assert {k: report[k] for k in ref_report} == ref_report


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_grow_over_halos_matches_the_full_frame(name, image, mask):
    binary = (mask >= 0.5).astype(np.float32)
    for threshold in (3.0, 12.0):
        out, report = grow_over_halos(image, binary, max_extra_px=4, threshold_l=threshold)
        ref_out, ref_report = ref_grow_over_halos(image, binary, 4, threshold)
        np.testing.assert_array_equal(out, ref_out)
        assert report == ref_report


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_preflight_and_components_match_the_full_frame(name, image, mask):
    assert mask_components(mask) == ref_component_table(mask > 0)[1]
    for ring_px in (4, 8):
        report = preflight_mask(image, mask, ring_px=ring_px)
        assert report["components"] == ref_preflight_components(image, mask, ring_px)
        assert report["coverage"] == float((mask > 0).mean())


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_normalize_stage_per_region_dilation_matches_the_full_frame(name, image, mask):
    H, W = mask.shape
    binary = (mask >= 0.5).astype(np.float32)
    # two "text regions" with different radii, one component outside both (median radius)
    boxes = [[0.0, 0.0, W / 2, H / 2], [W / 2, H / 2, float(W), float(H)]]
    geometry = {"boxes_xyxy": boxes, "stroke_width_px": [3.0, 30.0],
                "text_height_px": [20.0, 200.0]}
    stage = NormalizeMask(NormalizeMask.Params(min_area_px=1, max_hole_px=0, halo_px=0))
    got = stage.run(None, binary, geometry=geometry).outputs["mask"]
    from seamline.ops.masks import dilation_for_text
    radii = [dilation_for_text(3.0, 20.0), dilation_for_text(30.0, 200.0)]
    expected = ref_dilate_by_region(ref_normalize(binary, 1, 0, 0, 0)[0], boxes, radii)
    np.testing.assert_array_equal(got, expected)


def test_empty_mask_costs_nothing_and_reports_zeros():
    mask = np.zeros((3000, 3000), np.float32)
    image = np.zeros((3000, 3000, 3), np.float32)
    out, report = normalize_mask(mask)
    assert not out.any() and report["after"] == {"coverage": 0.0, "n_components": 0}
    assert preflight_mask(image, mask)["notes"] == ["mask is empty: coverage 0, nothing to edit"]
    assert grow_over_halos(image, mask)[1] == {"halo_px_added": 0, "halo_steps": 0}


# ------------------------------------------------------------------ QA metrics
_LUMA = np.float32([0.2126, 0.7152, 0.0722])


def _ref_distance_to(region):
    return cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _ref_normal_gradient(image, signed_distance):
    luma = image @ _LUMA
    gx, gy = (cv2.Sobel(luma, cv2.CV_32F, dx, 1 - dx, ksize=3) for dx in (1, 0))
    nx, ny = (cv2.Sobel(signed_distance, cv2.CV_32F, dx, 1 - dx, ksize=3) for dx in (1, 0))
    return np.abs(gx * nx + gy * ny) / (np.hypot(nx, ny) + 1e-12)


def ref_seam_score(result, mask, reference=None, band_px=1, ring_px=8):
    region = mask >= 0.5
    d_out, d_in = _ref_distance_to(region), _ref_distance_to(~region)
    band = (region & (d_in <= band_px)) | (~region & (d_out <= band_px))
    signed = np.where(region, -d_in, d_out).astype(np.float32)
    g = _ref_normal_gradient(result, signed)
    boundary = float(g[band].mean())
    if reference is None:
        ring = ~region & (d_out > band_px) & (d_out <= band_px + ring_px)
        return (boundary + 1e-6) / (float(g[ring].mean()) + 1e-6)
    return (boundary + 1e-6) / (float(_ref_normal_gradient(reference, signed)[band].mean()) + 1e-6)


def ref_outside_change(original, result, mask, dilate_px=0):
    allowed = ref_grow((mask > 0).astype(np.float32), dilate_px) > 0
    outside = ~allowed
    n_outside = int(outside.sum())
    changed = outside & (result != original).any(axis=-1)
    diff = np.abs(result[changed].astype(np.float64) - original[changed])
    return {"dilate_px": dilate_px, "outside_px": n_outside, "changed_px": int(changed.sum()),
            "max_abs_diff": float(diff.max()) if diff.size else 0.0,
            "mean_abs_diff": float(diff.sum() / (3 * n_outside)) if n_outside else 0.0}


def ref_inside_vs_ring_delta_e(result, mask, ring_px=8):
    from skimage.color import deltaE_ciede2000
    region = mask >= 0.5
    ring = ~region & (_ref_distance_to(region) <= ring_px)
    inside = rgb2lab(result[region][:, None]).mean(axis=(0, 1))
    around = rgb2lab(result[ring][:, None]).mean(axis=(0, 1))
    return float(deltaE_ciede2000(inside, around))


def ref_hf_energy(image, mask):
    w = mask.astype(np.float64)
    luma = image @ _LUMA
    hp2 = (luma - cv2.GaussianBlur(luma, (0, 0), 1.5)).astype(np.float64) ** 2
    return float((hp2 * w).sum() / w.sum())


@pytest.mark.parametrize("name,image,mask", CASES, ids=[c[0] for c in CASES])
def test_qa_metrics_match_the_full_frame(name, image, mask):
    from seamline.ops.metrics import hf_energy, inside_vs_ring_delta_e, outside_change, seam_score

    # an "edit": the text replaced by a smooth fill, plus a few pixels changed outside it
    result = image.copy()
    result[mask > 0] = cv2.GaussianBlur(image, (0, 0), 5)[mask > 0]
    result[3, 5:9] = 0.25
    for band_px, ring_px in ((1, 8), (2, 4)):
        assert seam_score(result, mask, band_px=band_px, ring_px=ring_px) == ref_seam_score(
            result, mask, band_px=band_px, ring_px=ring_px)
        assert seam_score(result, mask, reference=image, band_px=band_px) == ref_seam_score(
            result, mask, reference=image, band_px=band_px)
    for dilate_px in (0, 3):
        assert outside_change(image, result, mask, dilate_px=dilate_px) == ref_outside_change(
            image, result, mask, dilate_px)
    assert inside_vs_ring_delta_e(result, mask) == ref_inside_vs_ring_delta_e(result, mask)
    assert hf_energy(result, mask) == ref_hf_energy(result, mask)
    ring = context_ring(mask, 8).astype(np.float32)
    assert hf_energy(result, ring) == ref_hf_energy(result, ring)
