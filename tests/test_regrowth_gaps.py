"""The fill loop's re-mask closes over a gap of ink the mask left, instead of spreading it.

Train analogue (``benchmarks/mask_train_eval.py --styles outline``, outline2): an outlined
white title over a smooth gradient; the mask left a channel of ink between two letters, the
ghost judge flagged the line and its residue round the channel's mouth closed it, leaving the
channel's last pixels enclosed, unmasked; the refill spread their white into a blob. The
judge's residue is stubbed here (its shape is what matters); letters are DejaVu Serif Bold.
"""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from seamline.ops.text import TextRegion

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"


def _no_ocr(strip):
    return "", 0.0


def _enclosed(free):
    """The pixels of ``free`` (bool) not 4-connected to the image's corner."""
    import cv2

    out = free.copy()
    cv2.floodFill(out.view(np.uint8), None, (0, 0), 0)
    return out


@pytest.fixture
def title():
    """White 'HOLE' with a dark outline over a smooth gradient, its drawn pixels, the white
    ink."""
    import os

    if not os.path.exists(FONT):
        pytest.skip("fonts-dejavu-core is not installed")
    h, w = 120, 300
    x = np.linspace(0, 1, w, dtype=np.float32)
    photo = np.stack([0.15 + 0.2 * x, 0.3 + 0.3 * np.sin(3 * x), 0.5 + 0.3 * x], -1)
    photo = photo[None].repeat(h, 0) + np.linspace(-0.05, 0.05, h, dtype=np.float32)[:, None,
                                                                                       None]
    pil = Image.fromarray((photo * 255 + 0.5).astype(np.uint8))
    ImageDraw.Draw(pil).text((20, 25), "HOLE", font=ImageFont.truetype(FONT, 56),
                             fill=(255, 255, 255), stroke_width=3, stroke_fill=(10, 10, 10))
    image = np.asarray(pil, np.float32) / 255
    return image, np.abs(image - photo).max(-1) > 2 / 255, image.min(-1) > 0.9


def test_a_gap_the_re_mask_closes_is_filled_and_a_counter_stays_photo(title, monkeypatch):
    import cv2

    import seamline.ops.text.ghost as ghost
    from seamline.ops.text.removal import fill_text

    image, drawn, white = title
    mask = cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    # the H's left stem: a 5x5 pocket of its white ink the mask left, open to the top of the
    # mask by a 2 px channel (the mask's gap between two letters)
    cols = [c for c in range(20, 60) if white[40:47, c - 2:c + 3].all()]
    cy, cx = 44, cols[len(cols) // 2]
    top = cy - 2
    while mask[top - 1, cx]:
        top -= 1
    mouth = np.zeros_like(mask)
    mouth[top:cy - 2, cx:cx + 2] = True
    mask[cy - 2:cy + 3, cx - 2:cx + 3] = False
    mask &= ~mouth
    counter = ~mask.copy()
    cv2.floodFill(counter.view(np.uint8), None, (0, 0), 0)  # enclosed: the O's counter
    assert counter.sum() > 40 and not (counter & drawn).any()
    region = TextRegion(np.float32([[15, 20], [285, 20], [285, 100], [15, 100]]), "HOLE")
    real = ghost.judge_regions

    def judge(original, cleaned, regs, **kw):
        vs = real(original, cleaned, regs, **kw)
        if kw.get("mask") is not None and not kw["mask"][cy, cx]:
            # the first fill's verdict: the channel's mouth seen as residue
            x0, y0, x1, y1 = vs[0].box
            vs[0].flagged, vs[0].residue = True, mouth[y0:y1, x0:x1]
            vs[0].reasons = list(vs[0].reasons) + ["test: the channel's mouth"]
        return vs

    monkeypatch.setattr(ghost, "judge_regions", judge)
    out, final, report = fill_text(image, mask.astype(np.float32), [region],
                                   backend="telea", max_passes=2, ocr=_no_ocr)
    final = final > 0
    assert "ghost" in report["regions"][0]["passes"][-1]["because"]
    # the pocket's ink is filled, and none of its white is spread into the fill round it
    assert final[cy - 2:cy + 3, cx - 2:cx + 3].all()
    assert float(out[cy - 5:cy + 6, cx - 5:cx + 6].min(-1).max()) < 0.8
    # the counter the mask kept as photo stays photo, bit for bit (but for the 1 px all round
    # the re-mask grows the hole by)
    inside = cv2.erode(counter.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert inside.sum() > 20 and not (final & inside).any()
    assert np.array_equal(out[inside], image[inside])


def test_an_open_counter_the_re_mask_closes_stays_photo():
    # issue 10 (review): where the first mask missed a piece of a stroke, the re-mask grown
    # over it closes the letter's counter; the counter holds photo, not ink, and stays photo
    # (before, up to 16 of the 60 px of this "d"'s counter were filled: photo invented)
    import os

    import cv2
    from skimage import data

    from seamline.ops.text.regrow import close_gaps

    bold = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    if not os.path.exists(bold):
        pytest.skip("fonts-dejavu-core is not installed")
    pil = Image.new("L", (64, 64))
    ImageDraw.Draw(pil).text((16, 8), "d", 255, font=ImageFont.truetype(bold, 32))
    a = np.asarray(pil, np.float32)[..., None] / 255
    photo = data.chelsea()[100:164, 150:214].astype(np.float32) / 255
    image = (photo * (1 - a) + a).astype(np.float32)  # a white "d" over the cat's fur
    ink = a[..., 0] > 100 / 255
    sw = 2 * float(cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3).max())
    n, lab, st, _ = cv2.connectedComponentsWithStats((~ink).astype(np.uint8), connectivity=4)
    counter = np.isin(lab, [i for i in range(1, n) if st[i, 0] > 0 and st[i, 1] > 0])
    k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    mask = cv2.dilate(ink.astype(np.uint8), k3) > 0
    opened = 0
    for y, x in zip(*np.nonzero(ink & (cv2.dilate(counter.astype(np.uint8), k3) > 0))):
        final = mask.copy()
        final[max(0, y - 3):y + 4, max(0, x - 3):x + 4] = False  # a 7x7 piece missed
        grown = cv2.dilate((final | (mask & ~final)).astype(np.uint8), k3) > 0
        opened += bool((_enclosed(~(grown | final)) & counter).any()
                       and not (_enclosed(~final) & counter).any())
        out = close_gaps(image, grown, final, sw)
        assert not (out & counter & ~grown).any(), (y, x)
    assert opened  # the case: a counter the first mask left open, the re-mask closes
    empty = np.zeros_like(ink)
    assert close_gaps(image, empty, mask, sw) is empty  # nothing grown: nothing to close


def test_a_pocket_of_white_ink_is_joined_beside_a_bright_speck_of_photo(title):
    # issue 10 (review): a gap is ink when its colours are unlike the photo round it; the
    # nearest photo colour of a few near-white photo pixels beside a pocket of white ink
    # read the pocket as photo, and it was left for the refill to spread (the white blob of
    # outline2). A colour the photo holds over as many pixels as the gap is the photo's, a
    # speck of it is not.
    import cv2

    from seamline.ops.text.regrow import close_gaps

    image, drawn, white = title
    mask = cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    cols = [c for c in range(20, 60) if white[40:47, c - 2:c + 3].all()]
    cy, cx = 44, cols[len(cols) // 2]
    # a 5x5 pocket of the H's white stem the mask left, open to the top by a 2 px channel;
    # the re-mask closes the channel's mouth
    final = mask.copy()
    final[cy - 2:cy + 3, cx - 2:cx + 3] = False
    top = cy - 2
    while final[top - 1, cx]:
        top -= 1
    final[top:cy - 2, cx:cx + 2] = False
    grown = final.copy()
    grown[top:top + 3, cx:cx + 2] = True
    pocket = np.zeros_like(mask)
    pocket[cy - 2:cy + 3, cx - 2:cx + 3] = True
    assert close_gaps(image, grown, final, 8.0)[pocket].all()  # joined: ink
    # a 2x2 highlight of the photo just outside the mask, above the channel's mouth (4 px
    # from the gap, 1 px would do)
    specked = image.copy()
    specked[top - 2:top, cx:cx + 2] = 0.97
    assert not mask[top - 2:top, cx:cx + 2].any()
    assert close_gaps(specked, grown, final, 8.0)[pocket].all()
    # two such pockets side by side: each judged on its own
    two = close_gaps(np.concatenate([specked, specked], 1), np.concatenate([grown, grown], 1),
                     np.concatenate([final, final], 1), 8.0)
    assert two[np.concatenate([pocket, pocket], 1)].all()
    # a bright patch of photo as large as the pocket beside it is photo's colour: the
    # pocket then reads as photo (the test is of colour, not of where it lies)
    yy, xx = np.mgrid[:mask.shape[0], :mask.shape[1]]
    patch = image.copy()
    near = (np.hypot(yy - cy, xx - cx) < 22) & ~mask
    assert near.sum() >= 25, near.sum()
    patch[near] = 0.97
    assert not close_gaps(patch, grown, final, 8.0)[pocket].any()


def _fill_title(image, drawn, mask, judge=False):
    """fill-text (Telea; no judges unless ``judge``) on the title's line with ``mask``:
    (image, mask, report)."""
    from seamline.core.stage import StageContext
    from seamline.stages.fill_text import FillText

    ys, xs = np.nonzero(drawn)
    region = TextRegion(np.float32([[xs.min() - 4, ys.min() - 4], [xs.max() + 4, ys.min() - 4],
                                    [xs.max() + 4, ys.max() + 4], [xs.min() - 4, ys.max() + 4]]),
                        "HOLE")
    res = FillText(FillText.Params(backend="telea", judge=judge)).run(
        StageContext("fill", 0, "reconcile"), image=image, mask=mask.astype(np.float32),
        regions=[region])
    return res.outputs["image"], res.outputs["mask"] > 0, res.report


def test_the_mask_rim_the_fill_left_at_the_photo_gives_it_back(title, monkeypatch):
    """issue 10 (far26): a fill ends at its hole's edge within a level or two of the photo
    round it; where the mask reached past the text, that last row changed the photo 8-10 px
    from the drawn strokes (held-out: 65 px, 0.1-4.5/255; train outline2, a title over a
    smooth gradient). fill-text gives the photo back there (regrow.rim_back), bit for
    bit, while the text's own rim keeps its fill: the letters (white, 3 px dark outline)
    masked 9 px out, then 2 px out, over a smooth gradient."""
    import cv2

    image, drawn, _ = title
    dist = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5)

    def fill(mask):
        return _fill_title(image, drawn, mask)

    wide = dist <= 9
    out, final, report = fill(wide)
    far = dist > 8  # the benchmark's far pixels: the mask's last row (main: 531, <= 1.5/255)
    assert wide[far].any() and np.array_equal(out[far], image[far])
    assert report["rim_photo_px"] >= np.count_nonzero(wide & far)
    assert np.array_equal(final, wide)  # the mask stays what may differ
    assert np.mean(np.any(out[drawn] != image[drawn], axis=-1)) > 0.9  # the text is filled
    # a mask 2 px past the strokes: its rim lies beside the text's change and keeps the fill
    # a saved image shows (far27: it gives the photo back only where the fill rounds to the
    # input's 8-bit level in every channel); none of the drawn pixels is given back
    import seamline.ops.text.removal as removal

    seen = {}

    def spy(image, out, final):
        seen["filled"] = out.copy()
        return rim_back(image, out, final)

    rim_back = removal.rim_back
    monkeypatch.setattr(removal, "rim_back", spy)
    tight = dist <= 2
    out, _, report = fill(tight)
    back = np.any(out != seen["filled"], axis=-1)
    assert report["rim_photo_px"] == np.count_nonzero(back) > 0
    q = np.rint(seen["filled"] * 255) == np.rint(image * 255)
    assert q[back].all() and np.array_equal(out[back], image[back])
    assert (tight & ~q.all(-1) & np.any(out != image, axis=-1)).sum() > 0.5 * tight.sum()
    assert not (tight & drawn & np.all(out == image, axis=-1)).any()


def test_the_rim_gives_back_its_second_row_and_what_the_fill_left_at_its_8_bit_level(title):
    """issue 10 (far27): the held-out's last far px were the final mask's second row (a huge
    title's grown edge, 1.9 px deep in OpenCV's 3x3 L2: the rim took 1.5) and its edge row
    1-6 px from a change over 8/255, which keeps its fill there (a shadow's faint tail). The
    title masked 10 px out over its smooth gradient: its two outer rows come back bit for bit
    (main: the second row kept changes of up to 2.3/255, 8-10 px from the strokes)."""
    import cv2

    from seamline.ops.text.regrow import rim_back

    image, drawn, _ = title
    dist = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5)
    wide = dist <= 10
    out, _, _ = _fill_title(image, drawn, wide)
    rows = cv2.distanceTransform(np.pad(wide, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    far = (dist > 8) & (rows <= 2)  # main: those at 1.9 kept changes of up to 2.3/255
    assert np.count_nonzero(far & (rows > 1.5)) > 300
    assert np.array_equal(out[far], image[far])
    assert np.mean(np.any(out[drawn] != image[drawn], axis=-1)) > 0.9  # the text is filled

    # beside the change: the rim takes the photo back only where the fill rounds to the
    # input's 8-bit level in every channel; a faint tail of 2/255 keeps its fill
    img = np.repeat(np.linspace(0.2, 0.6, 64, dtype=np.float32)[None, :, None], 40, 0)
    img = np.round(np.repeat(img, 3, 2) * 255) / 255
    final = np.zeros((40, 64), bool)
    final[8:32, 8:56] = True
    filled = img.copy()
    filled[12:28, 12:52] += 0.2                    # the ink the fill took off (4 px in)
    filled[8, 8:32] += 0.3 / 255                   # the edge row beside it: below half a level
    filled[8, 32:56] += 2 / 255                    # ... and a faint tail
    before = filled.copy()
    n = rim_back(img, filled, final)
    assert np.array_equal(filled[8, 8:32], img[8, 8:32])
    assert np.array_equal(filled[8, 32:56], before[8, 32:56])
    assert np.array_equal(filled[12:28, 12:52], before[12:28, 12:52])
    assert n == 24


def test_the_rim_is_given_back_before_the_ghost_judge_reads_it(title):
    """issue 10 (far28): the rim's give-back ran after the fill loop, so the ghost judge had
    read pixels that then changed; QA reuses a verdict's read only where its box's digest
    still matches the output, and re-read the region instead (train, subtitle, huge,
    shadow_blur, outline x6: every case the rim gave pixels back in, 10 of 24). The rim is
    now given back before each of the judge's reads: the title masked 9 px out over its
    smooth gradient, judged, its rim given back and its verdict's digest that of the output."""
    import cv2

    from seamline.ops.text.ghost import crop_digest

    image, drawn, _ = title
    dist = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5)
    wide = dist <= 9
    out, _, report = _fill_title(image, drawn, wide, judge=True)
    assert report["rim_photo_px"] >= np.count_nonzero(wide & (dist > 8)) > 0
    assert np.array_equal(out[dist > 8], image[dist > 8])  # the far rim came back
    (v,) = report["verdicts"]
    x0, y0, x1, y1 = v["box"]
    assert not v["flagged"] and v["digest"]
    assert (wide & (dist > 8))[y0:y1, x0:x1].any()  # the rim given back lies in its box
    assert v["digest"] == crop_digest(out[y0:y1, x0:x1])
