"""``make demo``'s case end to end: no word left that the ghost judge or OCR can read."""

from __future__ import annotations

import json

import cv2
import numpy as np
from skimage import data

from seamline.core.arrays import LUMA
from seamline.demo import main
from seamline.io import as_image, load_image
from seamline.ops.text import detect_text
from seamline.testing.demo_image import demo_image, psnr_in_text_region, text_region



def _region_psnr(clean, photo, region, ys, xs) -> float:
    """PSNR (dB, range 1) of ``clean`` against ``photo`` over the text region's pixels inside
    the box (``ys``, ``xs`` slices)."""
    where = np.zeros_like(region)
    where[ys, xs] = region[ys, xs]
    err = float(np.mean((clean[where].astype(np.float64) - photo[where]) ** 2))
    return 10 * np.log10(1 / err)

def test_demo_leaves_no_readable_word_and_improves_the_text_region(tmp_path, capsys):
    assert main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    qa = manifest["qa"]
    # the ghost judge (plain, contrast-boosted and residue reads of every original region)
    # finds nothing left, and the run says so
    assert manifest["status"] == "ok"
    assert qa["ghost_regions"] == 3 and qa["ghost_flagged"] == 0 and qa["failed_regions"] == []
    assert qa["residual_words"] == 0
    assert "ghost judge 3/3 regions clean" in printed
    # the smear judge sees no diffusion seam in any fill: the title over the cup rim is no
    # longer Telea's bumpy white smear (seam ratio 2.93 before this work, flagged) but the
    # frequency-selective fill with the rim drawn first (~0.5)
    assert qa["smear_regions"] == 3 and qa["smear_flagged"] == 0, qa["smear"]
    title = next(s for s in qa["smear"] if s["text"] == "MORNING COFFEE")
    assert title["backend"] == "fsr-edge" and title["seam_ratio"] < 1.2, title
    assert "smear judge 3/3 fills clean" in printed
    # the structure judge follows the cup's rim across the title: the frequency-selective
    # fill alone continued it bumpy, faded and streaked (most of the path off: flagged, as a
    # person sees it), the edge-first fill draws it along the curve the rim draws around the
    # title and the judge passes it
    fill = json.loads((tmp_path / "run" / "stages" / "06-inpaint" / "report.json").read_text())
    passes = next(r for r in fill["regions"] if r["text"] == "MORNING COFFEE")["passes"]
    assert passes[0]["backend"] == "fsr" and passes[0]["structure"]["flagged"], passes[0]
    assert passes[0]["structure"]["edge_broken_share"] > 0.5
    assert passes[1]["backend"] == "fsr-edge" and "structure" in passes[1]["because"]
    rim = next(s for s in qa["structure"] if s["text"] == "MORNING COFFEE")
    assert rim["edge_paths"] >= 1 and not rim["flagged"] and rim["edge_broken_share"] < 0.1, rim
    assert qa["structure_flagged"] == 0
    assert f"structure judge {qa['structure_regions']}/{qa['structure_regions']}" in printed
    # the watermark is semi-transparent: the spoon and the saucer are still under it. Its
    # blend is fitted across the strokes' borders (white, 45 % opaque as drawn) and inverted
    # instead of filled: the frequency-selective fill broke the spoon's handle under "SA"
    # (a grey blob at 2x, every judge passed it)
    wm = next(r for r in fill["regions"] if r["text"] == "SAMPLE")
    sample = wm["passes"]
    assert wm["backend"] == "unblend" and all(p["backend"] == "unblend" for p in sample), wm
    assert abs(wm["blend"]["opacity"] - 0.45) < 0.05 and min(wm["blend"]["color"]) > 0.9, wm
    # the tint look judges every inversion, the first and the ones after the loop grew the
    # hole over a tinted rim: the grown hole's letters merge into one piece, and the look
    # judges the removed ink in it letter by letter (it went silent there before, while
    # the "S" over the spoon's neck was still pale)
    for p in sample:
        tint = p["verdict"]["stats"]["tint"]
        assert tint["judged"] and tint["letters"] >= 3, p["verdict"]
    if sample[0]["verdict"]["stats"]["tint"]["flagged"]:
        assert len(sample) >= 2 and "ghost" in sample[1]["because"]
    assert qa["tint_flagged"] == 0, qa["tint"]
    # the surface look: the frequency-selective fills of all three lines were blurred
    # patches on the wood and the saucer (a person saw "LE" and "COFFEE" as grain-less
    # blotches at 2x, every other judge passed them); each was flagged and got the grain of
    # the surface around it, continued along the grain, and now passes
    from seamline.ops.inpaint.surface import FLAT_SHARE

    assert qa["surface_regions"] == 3 and qa["surface_flagged"] == 0, qa["surface"]
    assert "surface 3/3 fills keep the grain around them" in printed
    for region in fill["regions"]:
        if region["backend"] == "unblend":  # the photo's own grain came back with it
            assert not region["passes"][-1]["surface"]["flagged"], region["passes"][-1]
            continue
        fixed = [p for p in region["passes"] if "texture" in p]
        assert fixed, region["passes"]
        assert fixed[-1]["texture"]["before"]["flat_share"] >= FLAT_SHARE, fixed[-1]
        assert not fixed[-1]["surface"]["flagged"], fixed[-1]
        assert fixed[-1]["surface"]["grain_ratio"] > 1.5 * fixed[-1]["texture"]["before"][
            "grain_ratio"], fixed[-1]
    # the title's bold letters are one ~40 px block over the wood where "FEE" was: its middle,
    # beyond the ring's 6 px window, was a smooth patch at 2x that the look above passed
    # (0.28 of the photo's fine grain kept, benchmarks/demo_wood_check.py); the middle look
    # flags it (the reason in the manifest) and the grain is made up there: 0.66
    final = np.load(tmp_path / "run" / "stages" / "06-inpaint" / "mask.npy") >= 0.5
    fee = np.zeros_like(final)
    fee[0:90, 480:560] = final[0:90, 480:560]
    fee = cv2.erode(fee.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    result, photo = load_image(tmp_path / "clean.png"), as_image(data.coffee())

    def fine(a):
        lum = np.ascontiguousarray(a, np.float32) @ LUMA
        return float(((lum - cv2.GaussianBlur(lum, (0, 0), 2.0))[fee] ** 2).mean())

    assert fine(result) > 0.5 * fine(photo), fine(result) / fine(photo)
    title = next(r for r in fill["regions"] if r["text"] == "MORNING COFFEE")
    fixed = [p for p in title["passes"] if "texture" in p][-1]
    assert any(r.startswith("flat middle") for r in fixed["texture"]["before"]["reasons"])
    # the middle "E"'s upper opening shows the photo's darker wood streak: the glyph matte
    # took that wood as a colour wrapping the letters (a low-lift colour within 2 px of them)
    # beside the title's own outline, the mask closed the opening and the fill drew the
    # lighter wood round it, a pale patch where the streak was (box 505,20,545,45: 30.38 dB,
    # 4.6 levels too light). An outlined line's letters end at their outline
    # (glyph._analyse): 34.26 dB, 1.0 level
    title_mask = next(s for s in manifest["stages"] if s["name"] == "mask")["report"]
    assert title_mask["regions"][0].get("wrap_dropped_px", 0) > 0, title_mask["regions"][0]
    db = _region_psnr(result, photo, text_region(demo_image()[1]), slice(20, 45),
                      slice(505, 545))
    assert db > 33.0, db
    # an independent OCR pass over the whole cleaned image reads none of the drawn words
    clean_out = load_image(tmp_path / "clean.png")
    read = " ".join(r.text for r in detect_text(clean_out)).lower()
    for word in ("morning", "coffee", "fresh", "roast", "every", "sample"):
        assert word not in read, read
    # the text region is closer to the photo before the text was drawn (input: ~10.4 dB;
    # release: 16.25 dB with the caption's shadow still readable; Telea over the cup rim
    # 16.35 dB; the frequency-selective fill there 17.64 dB; with the mask that keeps the
    # cup's white out of the title's outline 19.25 dB, and the caption's shadow tail masked
    # 19.18 dB; with the rim drawn edge first and the surface's grain 22.71 dB; with the
    # watermark's blend inverted instead of filled 24.49 dB; its painted pixels followed
    # along the strokes 24.87 dB; the cup's rim drawn along one ellipse 27.23 dB; the
    # watermark's spoon highlights kept and the paint beside its mask taken 27.92 dB)
    image, alpha = demo_image()
    photo = as_image(data.coffee())
    assert psnr_in_text_region(image, photo, alpha) < 11
    assert psnr_in_text_region(clean_out, photo, alpha) > 27.5
    # the cup's rim under "MORNING" (benchmarks/demo_rim_check.py's box): the polynomial
    # through the strands' ends drew its top-left up to 3.5 px inside the real rim and FSR
    # carried the lip's white past its soft inner edge (a pink band at 2x): 19.05 dB; along
    # the one ellipse the rim's visible strands draw, the lip drawn along it: 24.14 dB
    region = text_region(alpha)
    db = _region_psnr(clean_out, photo, region, slice(30, 46), slice(190, 330))
    assert db > 23.0, db
    # the watermark's text region, the spoon's handle under "SA" in it, and the "S"'s arc
    # over the spoon's neck: FSR 20.08 and 17.93 dB (arc not measured); the blend inverted
    # 25.51, 23.32 and 20.12 dB (the arc's top left pale at 2x: the photo beside the stroke
    # is not the photo under it, so the per-pixel answer said "photo" there); the painted
    # pixels followed along the strokes 27.82, 25.72 and 24.58 dB (the arc's top a bright
    # trace over the cup at 2x: the followed line, 1 px wide there, unmixed as an edge);
    # that thin line inverted whole: 28.00, 25.90 and 25.08 dB; inversions that leave the
    # photo's colours taken as photo (the spoon's highlights were darkened) and the "A" leg's
    # paint the mask left beside the hole taken in: 32.53, 30.95 and 28.19 dB (the "S"'s top
    # over the cup's body pale specks at 2x: its partner is the cup's bright lip, so the
    # stroke there was kept as photo and the edge beside it unmixed against it); the paint
    # map asking the photo round a pixel too, and the edge's coverage read by the photo's
    # colours: 34.9, 33.6 and 31.1 dB
    for (ys, xs), floor in (((slice(110, 310), slice(290, 580)), 34.3),
                            ((slice(180, 300), slice(330, 450)), 33.0),
                            ((slice(215, 251), slice(335, 396)), 30.5)):
        db = _region_psnr(clean_out, photo, region, ys, xs)
        assert db > floor, (ys, xs, db)
    # the spoon's lit neck above the "A" and the light round the bowl's big highlight below
    # the "S": the light paint's matte took them as letter pieces and the fill inverted them,
    # an orange blob on the neck and a hard dark rim round the highlight at 2x (29.43 and
    # 31.48 dB over the boxes, every pixel: they are photo). A small piece at the box's edge
    # the segmenter does not confirm is photo (ops.text.unconfirmed), and the glyph pixels
    # that only rim a highlight found to be photo (ops.text.outline.highlight_rim): 35.97
    # and 31.80 dB
    mask_report = next(s for s in manifest["stages"] if s["name"] == "mask")["report"]
    assert mask_report["unconfirmed_px"] > 0
    for box, floor in (((slice(195, 225), slice(365, 395)), 34.0),
                       ((slice(235, 300), slice(320, 410)), 31.65)):
        err = float(np.mean((clean_out[box].astype(np.float64) - photo[box]) ** 2))
        assert 10 * np.log10(1 / err) > floor, (box, 10 * np.log10(1 / err))
    # the caption over the saucer's shadow, and its stretch under "oast": the half-size FSR
    # fill on one block grid left a grey haze there (26.54 and 26.87 dB, G and B 4.9 levels
    # over the photo's in the stretch); its low frequencies averaged over four grid shifts
    # 27.02 and 30.49 dB (G and B 1.2 levels over)
    for (ys, xs), floor in (((slice(330, 380), slice(160, 440)), 26.8),
                            ((slice(345, 366), slice(275, 330)), 29.5)):
        db = _region_psnr(clean_out, photo, region, ys, xs)
        assert db > floor, (ys, xs, db)
    # beside "fr", where the cup's soft shadow edge crosses the caption down to the saucer's
    # rim: the rim's band, blended linearly between its two ends, lit the shadowed half above
    # the rim (a dark jag at 2x) and FSR smeared the light over the shadow beyond it (a
    # grey-pink smudge): 24.47 and 21.31 dB over "resh" and the jag. The band's levels
    # solved from the photo round it (edge_first._seamless), its smooth side 20 px wide:
    # 26.56 and 23.43 dB; the grain the surface look's fix then added on the rim it drew
    # (its ring below is the saucer's thin lines and specks: a bright smudge and dark specks
    # on the rim under "fre" at 2x) left off the curves the fill drew
    # (surface.off_curves): 26.65 -> 26.95 and 24.09 -> 24.69 dB
    for (ys, xs), floor in (((slice(330, 378), slice(165, 260)), 26.8),
                            ((slice(355, 372), slice(190, 240)), 24.4)):
        db = _region_psnr(clean_out, photo, region, ys, xs)
        assert db > floor, (ys, xs, db)
    # pixels outside the final mask are the input's
    assert qa["outside_change"]["changed_px"] == 0
