"""Text detection with rapidocr's bundled ONNX models (offline): text lines as polygons.

:func:`detect_text` reads a whole image; :func:`detect_text_in_boxes` re-reads boxes of it at
the scale the whole pass would use (the QA's residual-text check); :func:`detect_text_in_saturation`
and :func:`detect_text_in_tiles` read other views of it (detect-text's passes where the photo's
own finds nothing); :func:`get_engine` is the one process-wide engine and :func:`warm_up` loads
it ahead of work. The line these return, :class:`TextRegion`, lives in
:mod:`seamline.ops.text.text_region` (re-exported here with its helpers).
"""

from __future__ import annotations

import contextlib
import logging
import threading

import cv2
import numpy as np

from seamline.core.arrays import row_strips
from seamline.errors import InputError, StageError
from seamline.io import to_uint8
from seamline.ops.text.text_region import TextRegion, check_image, order_clockwise

__all__ = ["TextRegion", "check_image", "detect_text", "detect_text_in_boxes", "detection_scale",
           "get_engine", "looks_like_structure", "merge_boxes", "order_clockwise",
           "saturation_view", "detect_text_in_saturation", "local_contrast_view",
           "detect_text_in_tiles", "warm_up"]


# ----------------------------------------------------------------------------- engine
_ENGINE = None
_ENGINE_LOCK = threading.Lock()
_CALL_LOCK = threading.Lock()  # the engine keeps per-call flags as attributes: one call at a time
#: Detector box threshold (rapidocr's ``Det.box_thresh``, its default 0.5): the mean text
#: probability a box needs. Small or low-contrast lines (10-16 px words over a bright coin,
#: striped or busy photos) score 0.3-0.5 and were dropped whole although the recogniser reads
#: them at 0.8-1.0 (train ``--styles tiny``); the recogniser's ``min_score`` and
#: :func:`looks_like_structure` keep photo structure out.
_BOX_THRESH = 0.3
_UNCLIP_RATIO = 1.6


class _DropEmptyResult(logging.Filter):
    """rapidocr warns "The text detection result is empty" for every image without text."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "result is empty" not in record.getMessage()


def get_engine(*, threads: int | None = None):
    """The process-wide rapidocr engine, its detector and recogniser loaded (~0.7 s, once).

    Its models ship in the rapidocr wheel: nothing is downloaded. Language and model type
    stay at the defaults on purpose (changing them makes rapidocr download other models).
    The models' ONNX Runtime threads sleep between operators instead of spin-waiting
    (:func:`_sleeping_threads`); the angle classifier is never loaded (every call passes
    ``use_cls=False``).

    Parameters
    ----------
    threads : int, optional, keyword-only
        Cap on ONNX Runtime's intra-op threads (default: one per core). Used only by the call
        that creates the engine; see :func:`warm_up`.
    """
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                try:
                    from rapidocr import RapidOCR
                except ImportError as e:  # pragma: no cover - a dependency of the package
                    raise StageError(f"text detection needs rapidocr==3.10.0: {e}") from None
                log = logging.getLogger("RapidOCR")  # rapidocr's own logger, INFO by default
                log.setLevel(logging.WARNING)
                if not any(isinstance(f, _DropEmptyResult) for f in log.filters):
                    log.addFilter(_DropEmptyResult())
                params = {"Global.log_level": "warning", "Det.box_thresh": _BOX_THRESH,
                          "Det.unclip_ratio": _UNCLIP_RATIO}
                if threads is not None:
                    params.update({"EngineConfig.onnxruntime.intra_op_num_threads": int(threads),
                                   "EngineConfig.onnxruntime.inter_op_num_threads": 1})
                eng = RapidOCR(params=params)
                # rapidocr 3.10 (pinned) loads a model on its first use through these private
                # methods; loading both here, under _sleeping_threads, makes every session ours
                with _sleeping_threads():
                    eng._load_det_model()
                    eng._load_rec_model()
                _float32_det_input(eng.text_det)
                _ENGINE = eng
    return _ENGINE


@contextlib.contextmanager
def _sleeping_threads():
    """Within the block, rapidocr builds its ONNX Runtime sessions with intra-op threads that
    sleep when idle (``session.intra_op.allow_spinning = 0``) instead of spin-waiting.

    Spinning threads burn a core between operators: on a shared 2-core machine a 1024x768
    detection cost 2.0-2.3 CPU s with spinning and 1.3-1.5 without (same boxes, texts and
    scores: the arithmetic is the same, only idle threads wait differently;
    ``benchmarks/results/profile_remove_text.txt``). Patches rapidocr 3.10's (pinned) session
    options builder for the duration only.
    """
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    base = OrtInferSession.__dict__["_init_sess_opts"]

    def opts(cfg):
        o = base.__func__(cfg)
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return o

    OrtInferSession._init_sess_opts = staticmethod(opts)
    try:
        yield
    finally:
        OrtInferSession._init_sess_opts = base


def _float32_det_input(det) -> None:
    """Give rapidocr's detector its normalisation constants as float32 arrays.

    rapidocr 3.10 (pinned) normalises the resized uint8 frame as ``(x * (1 / 255) - mean) / std``
    with ``mean`` and ``std`` float64 arrays built from its config lists: the whole frame goes
    through float64 before its cast back to float32 (~10 of ~22 ms per 1024x768 call). With its
    constants 0.5 and 0.5 (powers of two) the float32 arithmetic rounds once where the float64
    path's final cast does, so the detector's input is the same bits (tested over all 256 values).
    Any other constant is left as it is.
    """
    f32 = [np.asarray(v, np.float32) for v in (det.mean, det.std)]
    if all(np.array_equal(v, np.full(3, 0.5, np.float32)) for v in f32):
        det.mean, det.std = f32


def warm_up(*, threads: int | None = None) -> None:
    """Create the OCR engine and load its detector and recogniser models now.

    A batch worker calls this before its first item so the item does not pay ~0.7 s for it.

    Parameters
    ----------
    threads : int, optional
        Cap on ONNX Runtime's intra-op threads for the models (the default is one per core in
        every process, which makes two workers on two cores fight). Applied only when the
        engine does not exist yet: its sessions are built when it is created.
    """
    get_engine(threads=threads)


def detect_text(image, *, min_score=0.5, recognize=True, box_thresh=None) -> list[TextRegion]:
    """Find text lines with rapidocr's bundled detector (and recogniser).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    min_score : float, keyword-only
        Regions scoring below this are dropped (recogniser score with ``recognize=True``,
        detector box score otherwise).
    recognize : bool, keyword-only
        Also read the text (``TextRegion.text``). Detection only is faster.
    box_thresh : float, optional, keyword-only
        Detector box threshold in (0, 1) (rapidocr's ``Det.box_thresh``; default
        :data:`_BOX_THRESH`, 0.3). Lower finds fainter text (watermarks) at the cost of more
        false boxes.

    Returns
    -------
    list of TextRegion
        In reading order (top to bottom, left to right), possibly empty.
    """
    check_image(image)
    if not 0.0 <= float(min_score) <= 1.0:
        raise InputError(f"min_score must be in [0, 1], got {min_score!r}")
    bt = _BOX_THRESH if box_thresh is None else float(box_thresh)
    if not 0.0 < bt < 1.0:
        raise InputError(f"box_thresh must be in (0, 1), got {box_thresh!r}")
    # rapidocr itself shrinks the frame to a 2000 px long side for the detector
    bgr = _bgr_u8(image)
    if _is_flat(bgr):
        return []  # one colour after quantisation: nothing the detector could find (tested)
    eng = get_engine()
    with _CALL_LOCK:
        # Every flag on every call: rapidocr keeps them between calls otherwise.
        res = eng(
            bgr,
            use_det=True,
            use_cls=False,
            use_rec=bool(recognize),
            text_score=float(min_score),
            box_thresh=bt,
            unclip_ratio=_UNCLIP_RATIO,
        )
    boxes = getattr(res, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return []
    scores = getattr(res, "scores", None)
    txts = getattr(res, "txts", None) if recognize else None
    out = []
    for i, b in enumerate(boxes):
        s = float(scores[i]) if scores is not None and i < len(scores) else 1.0
        if s < min_score:
            continue
        t = str(txts[i]) if txts is not None and i < len(txts) else ""
        if recognize and looks_like_structure(t, s):
            continue
        out.append(TextRegion(order_clockwise(b), t, float(np.clip(s, 0.0, 1.0))))
    return out


#: :func:`local_contrast_view`'s window (px) and :func:`detect_text_in_tiles`' tiles: on the
#: 19 train analogues the photo's passes miss (glow, datestamp, tiny of the background's hue,
#: 768-1600 px), 384 px tiles at 1.5x found 7, as 512 px tiles at 2x of this view and the
#: photo together did at about a sixth of the detector's input; the whole view at the photo's
#: scale found 4; a 32 px overlap with a bilinear enlargement (instead of bicubic) 5.
_LCN_SIGMA = 10.0
_TILE_PX = 384
_TILE_SCALE = 1.5
_TILE_OVERLAP_PX = 48
#: Largest frame :func:`detect_text_in_tiles` reads (the held-out photos are 768-1600 px wide).
_TILES_MAX_PIXELS = 2000 * 1500


def saturation_view(image) -> np.ndarray:
    """The image's HSV saturation ``(max - min) / max`` over its channels, as a grey image.

    Text that differs from the photo in colour but hardly in lightness (orange date digits
    over golden grass, a white watermark over bright green grass) has next to no contrast in
    the detector's input; in saturation it is as plain as black on white (train datestamp
    digits over golden grass: the detector's text probability on them 0.02 in the photo,
    1.0 here).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]
        The saturation (0 where the pixel is black), one (H, W) plane seen as three
        channels (a read-only view: a third of the memory), same geometry as ``image``:
        polygons found in it are the image's.
    """
    check_image(image)
    hi = image.max(axis=2)
    s = hi - image.min(axis=2)
    np.divide(s, hi, out=s, where=hi > 0)  # hi == 0 leaves s = 0
    np.clip(s, 0.0, 1.0, out=s)
    return np.broadcast_to(s[..., None], s.shape + (3,))


def detect_text_in_saturation(image, *, min_score=0.5, recognize=True) -> list[TextRegion]:
    """:func:`detect_text` on :func:`saturation_view`, keeping only confident word-like reads.

    For text of another colour than the photo but of its lightness, which the photo's own
    pass misses. The photo's colour edges read as text there too, so a line needs a score of
    at least :data:`_VIEW_MIN_SCORE` and, when read, three letters or digits: on the
    120 untouched train crops (30 photos at 768-1600 px) its false reads were "Lxod" (0.57),
    "2302P2" (0.54), "y" (0.99) and "7" (0.91); its true reads of date digits and watermarks
    over grass scored 0.94-1.0.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    min_score, recognize
        As :func:`detect_text` (``min_score`` raised to :data:`_VIEW_MIN_SCORE`).

    Returns
    -------
    list of TextRegion
        Polygons in the image's coordinates, reading order; possibly empty.
    """
    found = detect_text(saturation_view(image), recognize=recognize,
                        min_score=max(float(min_score), _VIEW_MIN_SCORE))
    return _word_like(found) if recognize else found


#: Score a line read in another view than the photo needs (:func:`detect_text_in_saturation`,
#: :func:`detect_text_in_tiles`).
_VIEW_MIN_SCORE = 0.8


def _word_like(found: list[TextRegion]) -> list[TextRegion]:
    """Reads of three letters or digits or more (a view's structure reads as "y", "7", "X1")."""
    return [r for r in found if sum(c.isalnum() for c in r.text) >= 3]


def local_contrast_view(image, *, sigma_px: float = _LCN_SIGMA) -> np.ndarray:
    """The image's lightness (CIE L* in 8-bit levels, 0-255) as its local z-score: ``(L -
    mean) / sqrt(var + 25)`` over a Gaussian of ``sigma_px``, mapped to ``128 + 50 z`` levels.

    Text of the background's own hue and a lightness close to it (dark green glow text on a
    green leaf, a faint 12 px word on grass) has a few grey levels of contrast in the photo,
    too little for the detector; normalised by the spread round it, its strokes stand out
    as far as the texture's (train analogues the photo's passes miss, a 512 px tile round the
    line enlarged 2x: the detector's text probability on the line, 90th percentile, 0.01-0.07
    in the photo, 0.8-1.0 here for a datestamp on a dark photo and a tiny word on grass).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    sigma_px : float, keyword-only
        Gaussian sigma (px, > 0) of the local mean and spread.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
        BGR (three equal channels), the detector's input format; same geometry as ``image``.
    """
    check_image(image)
    if not float(sigma_px) > 0:
        raise InputError(f"sigma_px must be > 0, got {sigma_px!r}")
    light = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    mean = cv2.GaussianBlur(light, (0, 0), float(sigma_px))
    light -= mean
    var = cv2.GaussianBlur(light * light, (0, 0), float(sigma_px))
    # 25: a floor on the variance (5 grey levels of spread), so flat sky is not noise x 50
    z = np.clip(128 + 50 * light / np.sqrt(var + 25), 0, 255).astype(np.uint8)
    return cv2.merge([z, z, z])


def detect_text_in_tiles(image, *, min_score=0.5, tile_px=_TILE_PX, scale=_TILE_SCALE,
                         max_pixels=_TILES_MAX_PIXELS) -> list[TextRegion]:
    """Text lines read in :func:`local_contrast_view`, tile by tile, each tile enlarged.

    For text the whole-image pass cannot see: of the photo's own hue and nearly its
    lightness, or 10-14 px type on a large photo (rapidocr shrinks a frame to a 2000 px long
    side and does not enlarge one that is large enough). Tiles of about ``tile_px`` a side
    (overlapping by :data:`_TILE_OVERLAP_PX`) are enlarged ``scale`` times; the view's
    texture reads as text too, so only confident word-like reads are kept (the saturation
    pass's rule: score >= :data:`_VIEW_MIN_SCORE`, three letters or digits), and of two
    reads whose boxes mostly overlap (the same line in two tiles) the better one.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    min_score : float, keyword-only
        As :func:`detect_text` (raised to :data:`_VIEW_MIN_SCORE`).
    tile_px : int, keyword-only
        Target tile side (px, >= 32) before enlargement.
    scale : float, keyword-only
        Enlargement of each tile for the detector (> 0).
    max_pixels : int, keyword-only
        Larger frames are not read (``[]``): the cost grows with the area (4000x3000 text-free:
        detect-text 6.2 -> 33.5 CPU s), the whole-image pass's does not (2000 px long side).

    Returns
    -------
    list of TextRegion
        Polygons in the image's coordinates, top to bottom; possibly empty.
    """
    check_image(image)
    if int(tile_px) < 32:
        raise InputError(f"tile_px must be >= 32, got {tile_px!r}")
    if not float(scale) > 0:
        raise InputError(f"scale must be > 0, got {scale!r}")
    if image.shape[0] * image.shape[1] > int(max_pixels):
        return []
    h, w = image.shape[:2]
    view = local_contrast_view(image)
    nx, ny = max(1, round(w / int(tile_px))), max(1, round(h / int(tile_px)))
    tw, th = -(-w // nx), -(-h // ny)
    o = _TILE_OVERLAP_PX
    tiles = [(max(0, ix * tw - o), max(0, iy * th - o), min(w, (ix + 1) * tw + o),
              min(h, (iy + 1) * th + o)) for iy in range(ny) for ix in range(nx)]
    found = _read_crops(view, tiles, scale=float(scale), interpolation=cv2.INTER_CUBIC,
                        min_score=max(float(min_score), _VIEW_MIN_SCORE))
    kept: list[TextRegion] = []
    for r in sorted(_word_like(found), key=lambda r: -r.score):
        kept += [] if any(_box_inside(r.polygon, k.polygon) for k in kept) else [r]
    return sorted(kept, key=lambda r: (float(r.polygon[:, 1].min()), float(r.polygon[:, 0].min())))


def _box_inside(a, b, share: float = 0.5) -> bool:
    """Whether at least ``share`` of polygon ``a``'s bounding box lies in ``b``'s."""
    (ax0, ay0), (ax1, ay1) = np.min(a, 0), np.max(a, 0)
    (bx0, by0), (bx1, by1) = np.min(b, 0), np.max(b, 0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return inter >= share * max(1e-6, float((ax1 - ax0) * (ay1 - ay0)))


def _bgr_u8(image: np.ndarray) -> np.ndarray:
    """The (H, W, 3) uint8 BGR frame the engine reads, of an (H, W, 3) float32 RGB image in
    [0, 1]: :func:`~seamline.io.to_uint8`'s values, strip by strip (no full-frame float
    temporaries). Each strip is converted as it lies in memory and its channels swapped in
    uint8: the same bytes as converting the reversed view (the rounding is per value, the
    swap only moves them), ~11 ms less CPU at 1024x768 (strided reads were the cost)."""
    out = np.empty(image.shape, np.uint8)
    for s in row_strips(image):
        out[s] = cv2.cvtColor(to_uint8(image[s]), cv2.COLOR_RGB2BGR)
    return out


def _is_flat(bgr: np.ndarray) -> bool:
    """True when every pixel of an (H, W, 3) uint8 image has the first pixel's colour.

    A blank frame (a 100 MP grey PNG, an empty scan page) then costs a pass over its bytes,
    not the detector's 2000 px forward pass; ``tests/test_text_detect_memory.py`` checks that
    the detector finds nothing on such frames.
    """
    flat = bgr.reshape(-1, 3)
    step = 1 << 20
    for i in range(0, len(flat), step):
        if not (flat[i:i + step] == flat[0]).all():
            return False
    return True


#: rapidocr's detector input rule (config ``Det.limit_type: min``, ``limit_side_len: 736``):
#: an image whose shorter side is under 736 px is enlarged to it before detection.
_DET_MIN_SIDE = 736


@contextlib.contextmanager
def _detector_keeps_size(eng):
    """Within the block the engine's detector takes its input at the size it is given (up
    to 4096 px a side) instead of enlarging it to a 736 px short side: for crops the caller
    has already scaled. Attributes of rapidocr 3.10's ``TextDetector`` (pinned)."""
    det = eng._load_det_model()
    saved = det.limit_type, det.limit_side_len
    det.limit_type, det.limit_side_len = "max", 4096
    try:
        yield
    finally:
        det.limit_type, det.limit_side_len = saved


def merge_boxes(boxes, shape, margin_px: int = 0) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` grown by ``margin_px``, clipped to ``shape`` (H, W) and
    merged until none overlap (so no pixel is read twice)."""
    h, w = shape[:2]
    out = [(max(0, int(x0) - margin_px), max(0, int(y0) - margin_px),
            min(w, int(np.ceil(x1)) + margin_px), min(h, int(np.ceil(y1)) + margin_px))
           for x0, y0, x1, y1 in boxes]
    out = [b for b in out if b[2] > b[0] and b[3] > b[1]]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                              max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(out, key=lambda b: (b[1], b[0]))


def detection_scale(shape) -> float:
    """The factor by which :func:`detect_text` resizes a ``shape`` (H, W, ...) frame before
    its detector sees it (rapidocr 3.10's rules, pinned: the long side shrunk to at most
    2000 px, then the short side enlarged to at least 736 px; rounding to multiples of 32
    left out)."""
    h, w = shape[:2]
    s = min(1.0, _MAX_SIDE / max(h, w))
    return s * max(1.0, _DET_MIN_SIDE / (min(h, w) * s))


#: rapidocr's whole-image preprocessing (config ``Global.max_side_len``).
_MAX_SIDE = 2000


def detect_text_in_boxes(image, boxes, *, min_score=0.5, margin_px=16, scale=None
                         ) -> list[TextRegion]:
    """:func:`detect_text` (with recognition) restricted to boxes of the image.

    The detector sees each (merged, ``margin_px``-grown) box at the scale :func:`detect_text`
    used on the whole image (:func:`detection_scale`), so text found there is found here
    again unless it was removed, at the cost of the boxes' area only.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
    boxes : iterable of (x0, y0, x1, y1)
        Pixel boxes (e.g. the bounding boxes of earlier detections).
    min_score : float
        As :func:`detect_text`.
    margin_px : int
        Context added around each box before merging.
    scale : float, optional
        Resize factor (> 0) of the boxes for the detector instead of the whole image's.
        (Until issue 10's time work it was the scale of one crop spanning all boxes, its short
        side enlarged to 736 px: up to 5x for one caption line of a 1024x768 photo, a 4096 px
        detector input, three times the cost of the whole-image pass.)

    Returns
    -------
    list of TextRegion
        Polygons in the image's coordinates.
    """
    check_image(image)
    h, w = image.shape[:2]
    merged = merge_boxes(boxes, (h, w), margin_px)
    if not merged:
        return []
    if scale is None:
        scale = detection_scale(image.shape)
    elif not float(scale) > 0:
        raise InputError(f"scale must be > 0, got {scale!r}")
    return _read_crops(image, merged, scale=float(scale), min_score=min_score)


def _read_crops(image, boxes, *, scale: float, min_score: float,
                interpolation: int = cv2.INTER_LINEAR) -> list[TextRegion]:
    """Detection and recognition on each box ``(x0, y0, x1, y1)`` of ``image`` (HxWx3 float32
    RGB in [0, 1], or uint8 BGR: a view made for the detector) resized ``scale`` times with
    ``interpolation`` (rapidocr's own resize is bilinear), polygons mapped back to the
    image's coordinates; one-colour boxes are skipped."""
    eng = get_engine()
    found = []
    with _CALL_LOCK, _detector_keeps_size(eng):
        for x0, y0, x1, y1 in boxes:
            crop = image[y0:y1, x0:x1]
            crop = crop if crop.dtype == np.uint8 else to_uint8(crop)[..., ::-1]
            if _is_flat(crop):
                continue  # one colour: nothing to find (detect_text's rule; a blank page's
                # cleaned lines cost a pass over their bytes, not a detector pass)
            if scale != 1.0:
                crop = cv2.resize(crop, (max(1, round((x1 - x0) * scale)),
                                         max(1, round((y1 - y0) * scale))),
                                  interpolation=interpolation)
            res = eng(np.ascontiguousarray(crop), use_det=True, use_cls=False, use_rec=True,
                      text_score=float(min_score), box_thresh=_BOX_THRESH,
                      unclip_ratio=_UNCLIP_RATIO)
            if getattr(res, "boxes", None) is None or len(res.boxes) == 0:
                continue
            for i, b in enumerate(res.boxes):
                sc = float(res.scores[i])
                t = str(res.txts[i])
                if sc < min_score or looks_like_structure(t, sc):
                    continue
                poly = np.asarray(b, np.float32) / scale + np.float32([x0, y0])
                found.append(TextRegion(order_clockwise(poly), t, float(np.clip(sc, 0, 1))))
    return found


def looks_like_structure(text: str, score: float) -> bool:
    """One or two unconfident characters are usually photo structure read as text (a cat's
    eye read as "0", a spoon as "8", an insignia as "X1"), not a caption: dropped unless the
    recogniser is sure. A read without any letter or digit ("***" on a uniform, "\u2022" on a
    bokeh disc) is never a caption."""
    n = sum(c.isalnum() for c in text)
    return n == 0 or (n < 3 and score < _SINGLE_CHAR_MIN_SCORE)


#: Confidence a one- or two-character detection needs to count as text (see
#: looks_like_structure).
_SINGLE_CHAR_MIN_SCORE = 0.9
