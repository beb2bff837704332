"""Text-overlay segmentation on crops of detected text lines (the seamline-textseg model).

For each detected line polygon, a rotated crop around it (grown by a margin so outlines,
drop shadows and glows are inside) is resampled to the model's fixed height, the small U-Net
in ``seamline/models/seamline-textseg.onnx`` predicts per pixel the probability that a text
overlay changed it (fill, outline, shadow and glow alike), and the prediction is warped back
into the image. Work and memory follow the text, not the frame: pixels outside every crop are
0 and never touched.

The crop geometry (:func:`crop_geometry`, :func:`extract_crop`) is shared with
``training/train_textseg.py``, so the model sees at run time exactly the crops it was trained
on.

Runtime dependencies: onnxruntime, numpy, cv2. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seamline.core.hashing import file_stamp
from seamline.errors import InputError, StageError

MODEL_FILE = "seamline-textseg.onnx"
# Crop margin around the detector's box, as a share of the box height plus a constant: drop
# shadows reach 8 px + 3 sigma of blur (4 px) beyond the ink, glows a few px more, whatever the
# text size; big text has proportionally bigger effects.
MARGIN_REL = 0.25
MARGIN_PX = 10.0
# Network downsamples by 8: crop widths are padded up to a multiple of this.
WIDTH_MULTIPLE = 8
MIN_WIDTH = 32


def default_model_path() -> Path:
    """Path of the packaged model file (``seamline/models/seamline-textseg.onnx``)."""
    return Path(__file__).resolve().parents[2] / "models" / MODEL_FILE


@dataclass(frozen=True)
class Segmenter:
    """A loaded segmentation model and the settings stored in its metadata."""

    session: object
    path: str
    height: int
    channels: int
    threshold: float
    version: str
    input_name: str

    def predict(self, crop: np.ndarray) -> np.ndarray:
        """(h, w, 3) float32 crop at the model's height -> (h, w) float32 probability."""
        x = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32)
        (logits,) = self.session.run(None, {self.input_name: x})
        return _sigmoid(logits[0, 0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)  # no overflow for large |z|


@functools.lru_cache(maxsize=4)
def _load(path: str, stamp) -> Segmenter:
    """The model at ``path``; ``stamp`` (its size and mtime, or None) keys the cache, so a
    file replaced in place is loaded again."""
    import onnxruntime as ort

    p = Path(path)
    if not p.is_file():
        raise StageError(f"text segmentation model not found: {p}")
    opts = ort.SessionOptions()
    # One thread: crops are small, and the pipeline around it runs on the other cores.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        meta = sess.get_modelmeta().custom_metadata_map
        seg = Segmenter(session=sess, path=str(p), height=int(meta["textseg_height"]),
                        channels=int(meta["textseg_channels"]),
                        threshold=float(meta["textseg_threshold"]),
                        version=str(meta.get("textseg_version", "?")),
                        input_name=sess.get_inputs()[0].name)
    except Exception as e:  # noqa: BLE001 - any failure to read it is a corrupt file
        raise StageError(f"text segmentation model is unreadable or corrupt: {p} "
                         f"({type(e).__name__})") from None
    _check_layout(p, seg.channels, seg.height)
    return seg


def _check_layout(p: Path, channels: int, height: int) -> None:
    if channels != 3 or height < 16:
        raise StageError(f"text segmentation model has unexpected metadata: {p} "
                         f"(channels {channels}, height {height})")


def segmenter_path(path=None) -> Path:
    """The resolved path of the segmentation model ``path`` names (``~`` expanded); default
    the packaged ``seamline-textseg.onnx``."""
    return (Path(path).expanduser() if path is not None else default_model_path()).resolve()


def load_segmenter(path=None) -> Segmenter:
    """Load (once; cached per path, size and mtime) the text segmentation model.

    Parameters
    ----------
    path : str or Path, optional
        An ONNX file written by ``training/train_textseg.py``; default the packaged
        ``seamline-textseg.onnx``.

    Returns
    -------
    Segmenter

    Raises
    ------
    StageError
        The file is missing, unreadable, corrupt or lacks the ``textseg_*`` metadata; the
        one-line message names the file.
    """
    p = segmenter_path(path)
    try:
        stamp = file_stamp(p)
    except OSError:
        stamp = None  # _load says what is wrong with it
    return _load(str(p), stamp)


def check_segmenter(path=None) -> Path:
    """The cheap check of a segmentation model before a run: an existing, readable ONNX file
    with the ``textseg_*`` metadata :func:`load_segmenter` needs, read from its header
    (:func:`seamline.ops.checkpoints.onnx_metadata`: no session built, no weights read).

    Parameters
    ----------
    path : str or Path, optional
        As for :func:`load_segmenter`.

    Returns
    -------
    Path
        The resolved file.

    Raises
    ------
    StageError
        The same one-line errors :func:`load_segmenter` raises, naming the file.
    """
    from seamline.ops.checkpoints import onnx_metadata

    p = segmenter_path(path)
    if not p.is_file():
        raise StageError(f"text segmentation model not found: {p}")
    try:
        meta = onnx_metadata(p)
        channels, height = int(meta["textseg_channels"]), int(meta["textseg_height"])
        float(meta["textseg_threshold"])
    except (OSError, ValueError, KeyError) as e:
        raise StageError(f"text segmentation model is unreadable or corrupt: {p} "
                         f"({type(e).__name__}: {e})") from None
    _check_layout(p, channels, height)
    return p


# --------------------------------------------------------------------------------------------
# Crop geometry (shared with training)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CropGeometry:
    """A rotated crop: ``M`` maps image (x, y) to crop (u, v); crop is ``height`` x ``width``."""

    M: np.ndarray  # (2, 3) float64
    width: int
    height: int
    box_hw: tuple[float, float]  # the detector box's (height, width) in image pixels


def crop_geometry(polygon, height: int) -> CropGeometry:
    """The crop around one text-line polygon, resampled to ``height`` rows.

    The minimum-area rectangle of the polygon, read as a line (its rotation taken within
    +-45 deg of horizontal), grown by ``MARGIN_REL * box height + MARGIN_PX`` on every side,
    scaled so that it is ``height`` px tall; its width is padded (with more image context) up to
    a multiple of 8 and at least 32 px.
    """
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    (cx, cy), (w, h), ang = cv2.minAreaRect(pts)
    # OpenCV's angle convention varies across versions: fold to the reading closest to
    # horizontal, swapping the sides with each 90 deg turn.
    ang = float(ang)
    while ang > 45:
        ang -= 90
        w, h = h, w
    while ang <= -45:
        ang += 90
        w, h = h, w
    h = max(float(h), 2.0)
    w = max(float(w), 2.0)
    m = MARGIN_REL * h + MARGIN_PX
    ch, cw = h + 2 * m, w + 2 * m
    s = height / ch
    width = max(MIN_WIDTH, int(math.ceil(cw * s / WIDTH_MULTIPLE)) * WIDTH_MULTIPLE)
    # image -> crop: translate centre to origin, rotate by -ang, scale, move to crop centre.
    a = math.radians(ang)
    ca, sa = math.cos(a), math.sin(a)
    R = np.array([[ca, sa], [-sa, ca]]) * s
    t = np.array([width / 2, height / 2]) - R @ np.array([cx, cy])
    # Pixel centres at integer coordinates on both sides (OpenCV's convention, and how
    # rapidocr's polygons read): the continuous crop rectangle maps onto the grown box.
    t -= 0.5
    M = np.hstack([R, t[:, None]])
    return CropGeometry(M=M, width=width, height=height, box_hw=(h, w))


def extract_crop(image: np.ndarray, geom: CropGeometry) -> np.ndarray:
    """Resample the crop (``height`` x ``width`` x C float32) from ``image``; edges replicated.

    Downscaling by more than 2x is done on a Gaussian-smoothed copy of the crop's region
    so small text does not alias.
    """
    s = float(np.hypot(*geom.M[0, :2]))
    src, M = image, geom.M
    if s < 0.5:
        # Pre-blur only the region that feeds the crop (cost follows the text).
        x0, y0, x1, y1 = _image_bbox(geom, image.shape[:2], pad=int(3 / s) + 2)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((geom.height, geom.width) + image.shape[2:], np.float32)
        sigma = 0.45 / s
        src = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), sigma)
        M = M.copy()
        M[:, 2] += M[:, :2] @ np.array([x0, y0], np.float64)
    elif not image.flags.c_contiguous:
        # a view (a grey page shown as RGB): OpenCV would copy the whole frame per line;
        # the region that feeds the crop is enough
        x0, y0, x1, y1 = _image_bbox(geom, image.shape[:2], pad=2)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((geom.height, geom.width) + image.shape[2:], np.float32)
        src, M = image[y0:y1, x0:x1], M.copy()
        M[:, 2] += M[:, :2] @ np.array([x0, y0], np.float64)
    return cv2.warpAffine(np.ascontiguousarray(src, np.float32), M, (geom.width, geom.height),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _image_bbox(geom: CropGeometry, shape_hw, pad: int = 1):
    """Integer bounding box (x0, y0, x1, y1) of the crop in the image, clipped to it."""
    Minv = cv2.invertAffineTransform(geom.M)
    c = np.array([[0, 0, 1], [geom.width, 0, 1], [0, geom.height, 1],
                  [geom.width, geom.height, 1]], np.float64) @ Minv.T
    H, W = shape_hw
    x0 = max(int(math.floor(c[:, 0].min())) - pad, 0)
    y0 = max(int(math.floor(c[:, 1].min())) - pad, 0)
    x1 = min(int(math.ceil(c[:, 0].max())) + pad + 1, W)
    y1 = min(int(math.ceil(c[:, 1].max())) + pad + 1, H)
    return x0, y0, x1, y1


def paste_back(prob: np.ndarray, geom: CropGeometry, out: np.ndarray) -> None:
    """Warp a crop-space map back into ``out`` (HxW float32) in place, combining with max."""
    x0, y0, x1, y1 = _image_bbox(geom, out.shape[:2])
    if x1 <= x0 or y1 <= y0:
        return
    M = geom.M.copy()
    M[:, 2] += M[:, :2] @ np.array([x0, y0], np.float64)  # ROI coords -> crop coords
    back = cv2.warpAffine(prob, M, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = out[y0:y1, x0:x1]
    np.maximum(roi, back, out=roi)


# --------------------------------------------------------------------------------------------

def _check(image, polygons):
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"image must be HxWx3, got shape {img.shape}")
    if img.dtype != np.float32:
        raise InputError(f"image must be float32 in [0, 1], got dtype {img.dtype}")
    polys = []
    for i, p in enumerate(polygons):
        a = np.asarray(p, np.float32)
        if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] < 3 or not np.isfinite(a).all():
            raise InputError(f"polygons[{i}] must be an (N >= 3, 2) array of finite (x, y), "
                             f"got shape {a.shape}")
        polys.append(a)
    return img, polys


def segment_text(image, polygons, *, model=None, threshold=None) -> np.ndarray:
    """Per-pixel probability that a text overlay changed the pixel, around given text lines.

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        sRGB image.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        Text-line polygons in image pixels, as rapidocr's detector gives them (N = 4 there).
    model : Segmenter or str or Path, optional
        A loaded model, or a path to one; default the packaged model.
    threshold : float, optional
        If given, the result is binarised: 1.0 where the probability is at least
        ``threshold``, else 0.0. The model's own operating point is ``model.threshold``.

    Returns
    -------
    ndarray, HxW float32 in [0, 1]
        The probability map (or its binarisation): fill, outline, drop shadow and glow
        pixels of the overlay alike. Exactly 0 outside the crops (each line's rotated box
        grown by ``MARGIN_REL`` x its height + ``MARGIN_PX``); overlapping crops combine with
        max.

    Raises
    ------
    InputError
        Bad image or polygon shape/dtype.
    StageError
        The model file is missing or corrupt (names the file).
    """
    img, polys = _check(image, polygons)
    seg = model if isinstance(model, Segmenter) else load_segmenter(model)
    out = np.zeros(img.shape[:2], np.float32)
    for p in polys:
        g = crop_geometry(p, seg.height)
        crop = extract_crop(img, g)
        paste_back(seg.predict(crop), g, out)
    if threshold is not None:
        out = (out >= float(threshold)).astype(np.float32)
    return out
