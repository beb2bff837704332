"""Tiled watermarks: the same faint word repeated on a lattice across the whole photo.

A stock-photo watermark tiled diagonally over the frame at 30-60 % opacity gives rapidocr's
detector no box (its contrast is too low), so nothing downstream would ever mask it. What it
does have is periodicity: the photo does not repeat, the watermark does. This module finds it
without a detector box, in four steps on a downscaled copy (long side :data:`WORK_SIDE`):

1. **Periodicity.** The whitened autocorrelation of a band-passed lightness image (edges of
   strokes, not shading; the power spectrum divided by its smooth envelope, so a faint
   lattice's sharp spectral peaks are not buried under the photo's own 1/f energy) has peaks
   at the lattice vectors of anything tiled. Pairs of its strongest
   peaks (farther than :data:`MIN_PERIOD`, not collinear) are candidate lattices, ranked by
   how well every lattice point ``i v1 + j v2`` is a peak too (a word's letter-to-letter
   shifts and a photo's own repetition are peaks, but their multiples run out); both vectors
   must reach :data:`MIN_CORR`.
2. **Template.** The band-passed image, median over the 3 x 3 lattice translations around the
   frame centre, keeps what repeats (the watermark) and drops the photo; its stroke energy,
   smoothed to word scale and thresholded, outlines the tile: its minimum-area rectangle must
   be word-shaped (:data:`MIN_ASPECT`, within :data:`MAX_ANGLE` of horizontal) and the lattice
   must repeat it along its long side, in rows, as tiled watermarks are laid out. Copies of it
   moved by the lattice vectors give every tile in the frame (partly outside ones included).
3. **Confirmation.** Periodic textures that pass steps 1 and 2 are rare but not impossible;
   the seamline-textseg model reads a dozen tiles spread over the frame, away from the lines
   the detector found (crops like a detected line's), and must mark at least
   :data:`MIN_TEXT_SHARE` of three quarters of them and at most :data:`MAX_TEXT_SHARE` of the
   median tile's box.
4. **Regions.** The tiles become text-line polygons (full-resolution pixels) for the mask
   stage, which treats them like detected lines.

Up to :data:`MAX_CANDIDATES` lattices are tried; the first that passes wins. If none does, a
second pass serves a fine texture (gravel, tissue), whose floor in the template is half the
word's energy (step 2's blob then fills the window): each lattice once (:func:`distinct_lattices`),
the blob read over that floor, a lattice the photo itself repeats on refused (:data:`MAX_FLOOR`).
The detector's readings are another cue: it boxes some tiles of a watermark too faint or
busy-backed to repeat clearly (:mod:`seamline.ops.text.watermark_lines`). Last, a third pass
serves a busy photo, whose strongest edges survive the median of the nine nearest copies
where only five or six lie in the frame: the template from every copy up to
:data:`WIDE_SHIFTS` steps away on the best :data:`WIDE_CANDIDATES` lattices, its word-shaped
blob turned to the lattice's row and cut to the strokes (:func:`_along_row`). Where all three
find nothing, they run once more on the frame with its strong texture scaled down
(:func:`evened`): a watermark over the smooth half of a photo half sharp texture. In the
first two passes, a blob whose angle the detector's reads of its copies contradict is turned
to the lattice's row along them and cut to the strokes the same way (:data:`TURN_DEG`).

(This module is over 600 lines because the three passes share the template, blob and
segmenter steps of :func:`_try_lattice` and the autocorrelation's candidates; split, each
half would import the other's private steps.)

Thresholds were set on the train split only (``seamline.testing.backgrounds("train")`` with
``overlays`` "tiled_watermark" cases in train fonts, and those photos untouched); the held-out
wallpapers are for reporting.

Cost: one FFT of the padded 512-px copy (about 0.1 s); on a photo that repeats, up to
:data:`MAX_CANDIDATES` templates (9 warps and a median each) and a dozen segmenter crops.

History on the train split (``training/eval_watermark.py``: one tiled case, the photo
untouched and one captioned per train photo, and the 16 ``text_photo_cases`` as they are and
at 768x512; false positives 0 everywhere at every step): segmenter confirmation on tiles
away from the detected lines 13/30 found (reading the first dozen tiles by their median took
two captioned photos for watermarks); up to 8 candidate lattices and word blobs from 2.2 x
as long as tall 13/30 (seed-21 set 15 -> 20/30: sparse watermarks whose lattice ranked 5th-8th,
"DRAFT" over the rocket); whitened autocorrelation (``MIN_CORR`` 0.05 -> 0.02 on the new
scale, where the plain one at 0.035 / 0.025 found 15 / 16 with 2 / 4 false positives) and at
most 120 tiles (a captioned stripes photo was read as 218 tiles; found watermarks have
10-51) 18/30. Second pass: sized tiled cases 10 -> 12 of 16, the eval's photos without their
lines 18 -> 19 of 30, false positives 0 of 182 (a captioned stripes photo before MAX_FLOOR).

Known limits: a faint watermark over a busy photo (grass, gravel, noise) repeats too weakly to
pass :data:`MIN_CORR`; where the photo's own repetition (a gantry, a facade) outranks the
tiles' second lattice vector, the tiles found drift off the text away from the centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from seamline.errors import InputError
from seamline.ops.text.detect import order_clockwise
from seamline.ops.text.segment import (Segmenter, crop_geometry, extract_crop,
                                       load_segmenter)

#: Long side of the working copy (px). A tiled watermark's text is 4-8 % of the frame width:
#: 20-40 px here, plenty for its edges.
WORK_SIDE = 512
#: Shortest lattice vector considered (work px): tiles are whole words of text >= 16 px
#: tall; shorter periods are texture (brick courses, blinds, fabric).
MIN_PERIOD = 28.0
#: Whitened autocorrelation (normalised to 1 at zero shift) both lattice vectors must reach.
MIN_CORR = 0.02
#: Width (frequency bins) of the Gaussian that gives the power spectrum's smooth envelope.
WHITEN_SIGMA = 4.0
#: Share of a tile's pixels the segmenter marks as text: at least (strokes are there), at most
#: (a texture the model half-fills is not lettering).
MIN_TEXT_SHARE = 0.2
MAX_TEXT_SHARE = 0.85
#: More copies than this is a texture, not a watermark someone tiled over a photo (train
#: split: found watermarks had 10-51 tiles; periodic photos read as word-shaped tiles 131-218).
MAX_TILES = 120
#: A tile is a word: its blob is at least this many times longer than tall (a watermark
#: word is 4-6 x, a short capitalised one like "DRAFT" 2.3 once the blob is smoothed; a grid
#: of coins, windows or tiles is not) and its text within this many degrees of horizontal ...
MIN_ASPECT = 2.2
MAX_ANGLE = 60.0
#: ... and the lattice repeats it along its long side (within ~8 deg) every 1-3 lengths.
ROW_LENGTH = (1.0, 3.0)
ROW_COS = math.cos(math.radians(8))
#: Levels (x the template energy's 99th percentile) at which the tile's blob is read.
BLOB_LEVELS = (0.5, 0.35, 0.25)
#: Candidate lattices tried (best supported first) before giving up: on a sparse watermark
#: ("(c) PhotoCo" over a retina) the best-supported pairs join a letter-to-letter shift with
#: a row vector and fail the row check; the right pair came 5th-6th on the train split.
MAX_CANDIDATES = 8
#: Reduced lattice bases this close (work px, each coordinate) are one lattice.
SAME_LATTICE_PX = 3.0
#: The second pass takes a lattice only where the template's floor is at most this share of
#: the photo's energy (:func:`_photo_repeats`; train tiled 0.33-0.58, captioned stripes 1.0).
MAX_FLOOR = 0.7
#: Lattice translations averaged into the template: (2 N + 1)^2.
N_SHIFTS = 1
#: The third pass's template takes every lattice translation up to this many steps along
#: each vector (:func:`_template`): over a busy photo the median of the nine nearest copies
#: keeps the photo's strongest edges where only five or six of them are in the frame, and
#: they outshine the word; over up to 25 copies they cancel (train stereo_motorcycle).
WIDE_SHIFTS = 2
#: ... tried on this many of :func:`distinct_lattices` (best supported first).
WIDE_CANDIDATES = 3
#: The evened pass (:func:`evened`): the band-passed frame's local stroke energy is read over
#: a Gaussian of this sigma (work px, about a word's height) ...
EVEN_SIGMA = 16.0
#: ... and scaled down, by (t / energy) ** 2, to the level ``t`` this percentile of the
#: frame has, where it is higher.
EVEN_PERCENTILE = 30
#: ... where the frame's median local energy is at least this many times that level (a part
#: much busier than the rest). Train: the half-textured analogues 1.13-4.28 (the two the
#: evened pass finds 1.39, 4.28); grass, gravel, brick, noise, gradients, coins 1.02-1.21;
#: the profile's captioned stripes 1.00-1.01 (evened, their search cost 0.11 -> 0.31 CPU s).
EVEN_SPREAD = 1.3
#: A tile's blob whose long side is more than this many degrees off the text direction of
#: the detector's reads of its copies, at least :data:`MIN_READS` of them agreeing to this,
#: is turned to the lattice's row nearest the reads and cut to the strokes (:func:`_reads_angle`,
#: :func:`_along_row`). Train half-textured h1 (grey DejaVu "shutterpix" at -25 deg over
#: grass beside a blurred chelsea): the evened pass's blob 167 x 57 work px at -13 deg on
#: the right lattice, the reads -18 to -27 deg; the segmenter refused those tiles (lower
#: quartile 0.20) and a wrong lattice's came through, 92 px off the copies (IoU 0.17);
#: turned, -25.0 deg, 7.6 px off (IoU 0.58).
TURN_DEG = 5.0
MIN_READS = 3


@dataclass(frozen=True)
class TiledWatermark:
    """What :func:`find_tiled_watermark` found.

    Attributes
    ----------
    found : bool
        A tiled watermark is there; ``polygons`` lists its tiles.
    polygons : list of ndarray, each (4, 2) float32
        One rotated rectangle (x, y image pixels, clockwise from top-left) per tile whose
        centre is within the frame grown by half a tile; empty when ``found`` is False.
    lattice_px : tuple
        The two lattice vectors ``((dx, dy), (dx, dy))`` in image pixels; ``()`` when no
        periodicity was found.
    angle_deg : float
        Text direction of the tiles (degrees, counter-clockwise from the x axis); 0 if none.
    periodicity : float
        The weaker of the two lattice vectors' normalised autocorrelation (0-1).
    text_share : float
        Median share of tile pixels the segmenter marked (-1 when it was not run).
    reason : str
        One line: why it was or was not found.
    """

    found: bool
    polygons: list = field(default_factory=list)
    lattice_px: tuple = ()
    angle_deg: float = 0.0
    periodicity: float = 0.0
    text_share: float = -1.0
    reason: str = ""

    def to_dict(self) -> dict:
        """JSON-serialisable summary (no polygons: the regions carry them)."""
        return {"found": self.found, "tiles": len(self.polygons),
                "lattice_px": [[round(float(a), 1) for a in v] for v in self.lattice_px],
                "angle_deg": round(float(self.angle_deg), 1),
                "periodicity": round(float(self.periodicity), 4),
                "text_share": round(float(self.text_share), 4), "reason": self.reason}


def bandpass(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Band-passed lightness at work scale (stroke edges, not shading) and the scale factor."""
    g = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    H, W = g.shape
    f = min(1.0, WORK_SIDE / max(H, W))
    if f < 1.0:
        g = cv2.resize(g, (max(8, round(W * f)), max(8, round(H * f))),
                       interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(g, (0, 0), 0.8) - cv2.GaussianBlur(g, (0, 0), 3.0), f


def autocorrelation(h: np.ndarray) -> np.ndarray:
    """Normalised (1 at zero shift) whitened autocorrelation for shifts ``dy`` in [0, 0.6 H],
    ``dx`` in [-0.6 W, 0.6 W] (R(-v) = R(v): half the plane says all); zero shift at
    index ``(0, X)`` with ``X = int(0.6 W)``."""
    H, W = h.shape
    win = np.outer(np.hanning(H), np.hanning(W)).astype(np.float32)
    x = (h - h.mean()) * win  # the window keeps the frame's edges from correlating
    # zero-padded to at least 1.6 x (shifts up to 0.6 x never wrap), at a size DFT likes
    ph, pw = cv2.getOptimalDFTSize(int(1.6 * H) + 1), cv2.getOptimalDFTSize(int(1.6 * W) + 1)
    pad = np.zeros((ph, pw), np.float32)
    pad[:H, :W] = x
    F = cv2.dft(pad, flags=cv2.DFT_COMPLEX_OUTPUT)
    P = F[..., 0] ** 2 + F[..., 1] ** 2
    # Whitened: the power spectrum over its own smooth envelope. A photo's spectrum is a
    # smooth 1/f slope and dominates the plain autocorrelation; a lattice's is a grid of
    # sharp peaks, which stand out over the envelope however faint the watermark is.
    env = np.fft.ifftshift(cv2.GaussianBlur(np.fft.fftshift(P), (0, 0), WHITEN_SIGMA))
    Pw = (P / np.maximum(env, 1e-12)).astype(np.float32)
    R = cv2.dft(np.ascontiguousarray(np.stack([Pw, np.zeros_like(Pw)], -1)),
                flags=cv2.DFT_INVERSE | cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    R /= max(float(R[0, 0]), 1e-12)
    Y, X = int(0.6 * H), int(0.6 * W)
    # rows 0..Y; columns -X..X (negative shifts wrap to the end of the padded array)
    return np.concatenate([R[:Y + 1, pw - X:], R[:Y + 1, :X + 1]], axis=1)


def evened(h: np.ndarray) -> np.ndarray | None:
    """:func:`bandpass`'s output (work px, float32) with its strong texture scaled down to the
    level of the frame's quiet part: each pixel times ``min(1, t / e) ** 2``, ``e`` the local
    stroke energy (RMS over a Gaussian of :data:`EVEN_SIGMA`), ``t`` its
    :data:`EVEN_PERCENTILE`-th percentile over the frame; None where the frame is even
    already (``e``'s median under :data:`EVEN_SPREAD` x ``t``) or its quiet part is flat
    (``t`` = 0: a plain background over that share of the frame; evened, all of it is 0).

    A photo half sharp texture (bark, gravel, grass), half smooth (bokeh) buries a faint
    watermark's lattice under the texture's own edges: the whitened autocorrelation is
    normalised by the whole frame's energy, so the copies over the smooth half correlate at
    a fraction of :data:`MIN_CORR`. Evened, the texture weighs what the smooth half does, and
    the copies there carry the lattice (train half-textured analogues,
    ``benchmarks/dark_tiled_ghost_eval.py --set half``: the lattice's correlation 0.005 ->
    0.058 over grass beside a blurred photo, 0.018 -> 0.025, 0.020 -> 0.065; text-free train
    photos at 768 and 1600 px stay at or under 0.018 but for the stripes, as plain)."""
    e = np.sqrt(cv2.GaussianBlur(h * h, (0, 0), EVEN_SIGMA))
    t, mid = np.percentile(e, [EVEN_PERCENTILE, 50]).astype(np.float32)
    if not t > 0 or mid < EVEN_SPREAD * t:
        return None
    return (h * np.minimum(np.float32(1), t / np.maximum(e, np.float32(1e-9))) ** 2
            ).astype(np.float32)


def periodicity(image: np.ndarray) -> tuple[np.ndarray, float, np.ndarray | None]:
    """What :func:`find_tiled_watermark` reads of the photo before it looks for a lattice:
    :func:`bandpass` of ``image`` (HxWx3 float32), its scale factor and the band-passed
    frame's :func:`autocorrelation` (None where the frame is too small for a tiled pattern).

    Made once per photo and handed to each pass of the search (``periodic=``).
    Raises InputError where ``image`` is not HxWx3 float32.
    """
    h, f = bandpass(_frame(image))
    return h, f, (autocorrelation(h) if min(h.shape) >= 3 * MIN_PERIOD else None)


def _frame(image) -> np.ndarray:
    """``image`` as an array, refused in one line unless HxWx3 float32."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.float32:
        raise InputError(f"image must be HxWx3 float32 in [0, 1], got shape {img.shape} "
                         f"dtype {img.dtype}")
    return img


def lattice_peaks(R: np.ndarray, k: int = 12) -> list[tuple[float, np.ndarray]]:
    """The ``k`` strongest local maxima (value, (dx, dy)) of :func:`autocorrelation`'s
    output with ``|shift| >= MIN_PERIOD``, one of each +-pair."""
    X = (R.shape[1] - 1) // 2
    yy, xx = np.mgrid[0:R.shape[0], -X:X + 1]
    ok = (np.hypot(yy, xx) >= MIN_PERIOD) & ((yy > 0) | (xx > 0))
    Rm = np.where(ok, R, -1.0).astype(np.float32)
    loc = (Rm >= cv2.dilate(Rm, np.ones((5, 5), np.uint8))) & (Rm > 0)
    ys, xs = np.nonzero(loc)
    order = np.argsort(-Rm[ys, xs])[:k]
    return [(float(Rm[ys[i], xs[i]]), np.array([xs[i] - X, ys[i]], np.float64))
            for i in order]


def lattice_support(R: np.ndarray, v1, v2, *, dilated: np.ndarray | None = None) -> float:
    """Mean autocorrelation (best of a 3x3 neighbourhood) over the lattice points
    ``i v1 + j v2``, ``|i|, |j| <= 3``, inside the searched shifts.

    Tiles repeat without end, so every lattice point is a peak; shifting a word by one or two
    letters is a peak too, but three or four such shifts run past the end of the word.
    ``dilated``: :func:`support_map` of ``R`` when the caller scores many lattices on one
    ``R`` (the same numbers, without one 3x3 dilation of ``R`` per lattice)."""
    Y = R.shape[0] - 1
    X = (R.shape[1] - 1) // 2
    Rd = support_map(R) if dilated is None else dilated
    # the 48 points i v1 + j v2 (_LATTICE_IJ: i, j in -3..3, not both 0, j fastest) at once:
    # the same products and sums in the vectors' own dtypes, rounded half to even as round()
    a1, a2 = np.asarray(v1), np.asarray(v2)
    d = _LATTICE_IJ[0].astype(a1.dtype) * a1 + _LATTICE_IJ[1].astype(a2.dtype) * a2
    d[d[:, 1] < 0] *= -1  # R(-v) = R(v)
    x, y = np.rint(d[:, 0]).astype(np.int64) + X, np.rint(d[:, 1]).astype(np.int64)
    inside = (y >= 0) & (y <= Y) & (x >= 0) & (x <= 2 * X)
    vals = Rd[y[inside], x[inside]].astype(np.float64)
    return float(np.mean(vals)) if len(vals) >= 4 else 0.0


_LATTICE_IJ = np.array([(i, j) for i in range(-3, 4) for j in range(-3, 4) if i or j]).T[..., None]


def support_map(R: np.ndarray) -> np.ndarray:
    """``R``'s best value in each 3x3 neighbourhood: what :func:`lattice_support` reads."""
    return cv2.dilate(R, np.ones((3, 3), np.uint8))


def candidate_lattices(R: np.ndarray, peaks, k: int = MAX_CANDIDATES):
    """Up to ``k`` candidate lattices (v1, v2, weaker correlation), best supported first
    (:func:`lattice_support`): pairs of peaks that are not collinear. The top peak is often
    a word's letter-to-letter shift or the photo's own repetition (a building's floors)."""
    Rd = support_map(R)  # once: every pair below is scored on the same R
    out = [(lattice_support(R, v1, v2, dilated=Rd), v1, v2, min(c1, c2))
           for (c1, v1), (c2, v2) in _independent_pairs(peaks)]
    out.sort(key=lambda t: -t[0])
    return [(v1, v2, c) for _, v1, v2, c in out[:k]]


def _independent_pairs(peaks):
    """The pairs ``((c1, v1), (c2, v2))`` of ``peaks`` not collinear (angle's sine > 0.3)."""
    for a in range(len(peaks)):
        for b in range(a + 1, len(peaks)):
            (c1, v1), (c2, v2) = peaks[a], peaks[b]
            sin = abs(v1[0] * v2[1] - v1[1] * v2[0]) / (np.linalg.norm(v1) * np.linalg.norm(v2))
            if sin > 0.3:
                yield (c1, v1), (c2, v2)


def shortest_basis(v1, v2) -> tuple[np.ndarray, np.ndarray]:
    """The lattice's two shortest independent vectors (Lagrange-Gauss reduction), shorter
    first, signs as the reduction leaves them. ``v1``, ``v2``: (2,) float, not collinear."""
    a, b = np.asarray(v1, np.float64), np.asarray(v2, np.float64)
    if a @ a > b @ b:
        a, b = b, a
    for _ in range(32):
        k = round(float(a @ b) / max(float(a @ a), 1e-12))
        if k == 0:
            break
        b = b - k * a
        if b @ b >= a @ a:
            break
        a, b = b, a
    return a, b


def reduced_basis(v1, v2) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shortest_basis`, pointing down (or right): one basis per lattice, so
    ``(a, b)`` and ``(a, a + b)`` read as one."""
    return tuple(v if (v[1] > 0 or (v[1] == 0 and v[0] > 0)) else -v
                 for v in shortest_basis(v1, v2))


def _at(Rd: np.ndarray, v) -> float:
    """``Rd`` (an :func:`autocorrelation` or its :func:`support_map`) at shift ``v``; 0 outside."""
    dx, dy = (float(v[0]), float(v[1])) if v[1] >= 0 else (-float(v[0]), -float(v[1]))
    X = (Rd.shape[1] - 1) // 2
    x, y = int(round(dx)) + X, int(round(dy))
    return float(Rd[y, x]) if 0 <= y < Rd.shape[0] and 0 <= x < Rd.shape[1] else 0.0


def _same_basis(a, b) -> bool:
    """Whether bases ``a`` and ``b`` (in either order) agree to :data:`SAME_LATTICE_PX`."""
    x = np.concatenate(a)
    return any(np.abs(x - np.concatenate(y)).max() <= SAME_LATTICE_PX for y in (b, b[::-1]))


def distinct_lattices(R: np.ndarray, peaks, k: int = MAX_CANDIDATES):
    """:func:`candidate_lattices`, each pair reduced (:func:`reduced_basis`) and each lattice
    once, by its reduced basis's support: other bases of one strong lattice fill the plain cap
    (immunohistochemistry's came 9th, behind other bases of two lattices)."""
    out = []
    Rd = support_map(R)
    for (_, v1), (_, v2) in _independent_pairs(peaks):
        r1, r2 = reduced_basis(v1, v2)
        if min(np.linalg.norm(r1), np.linalg.norm(r2)) < MIN_PERIOD:
            continue
        out.append((lattice_support(R, r1, r2, dilated=Rd), r1, r2,
                    min(_at(Rd, r1), _at(Rd, r2))))
    out.sort(key=lambda t: -t[0])
    kept: list = []
    for t in out:
        if not any(_same_basis(t[1:3], u[1:3]) for u in kept):
            kept.append(t)
        if len(kept) == k:
            break
    return [(v1, v2, c) for _, v1, v2, c in kept]


def _template(h: np.ndarray, v1, v2, shifts: int = N_SHIFTS
              ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Median of ``h`` over lattice translations ``i v1 + j v2`` (``|i|, |j| <= shifts``) in
    a window around the frame centre (where the tile is read), how many translations covered
    each pixel, and the window's origin.

    The median, not the mean: the watermark is in every translated copy, a strong edge of the
    photo in one or two of them, so the median keeps the first and drops the second (a mean
    leaves 1/9 of every photo edge, which on a busy photo outweighs a faint watermark).
    """
    H, W = h.shape
    r = np.abs(v1) + np.abs(v2)  # one lattice cell each side of the centre holds a whole tile
    x0, x1 = max(0, int(W / 2 - r[0])), min(W, int(math.ceil(W / 2 + r[0])))
    y0, y1 = max(0, int(H / 2 - r[1])), min(H, int(math.ceil(H / 2 + r[1])))
    stack = []
    for i in range(-shifts, shifts + 1):
        for j in range(-shifts, shifts + 1):
            d = i * v1 + j * v2
            if abs(d[0]) >= W or abs(d[1]) >= H:
                continue
            # window pixel (x, y) <- h(x + x0 - dx, y + y0 - dy)
            M = np.float32([[1, 0, d[0] - x0], [0, 1, d[1] - y0]])
            stack.append(cv2.warpAffine(h, M, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=np.nan))
    S = np.stack(stack)
    valid = np.isfinite(S)
    cnt = np.sum(valid, axis=0).astype(np.float32)
    # The median of the valid copies only (np.nanmedian is ~50x slower): missing copies are
    # set alternately far above and far below every value, so they cancel in pairs and leave
    # the middle of the valid ones (off by half a rank when their number is odd). The
    # alternation is the parity of the missing copies so far (an xor running down the stack,
    # plane by plane: numpy's accumulate and cumsum along a leading axis are ~100x slower).
    inv = ~valid
    odd = inv.copy()
    for k in range(1, len(odd)):
        np.logical_xor(odd[k], odd[k - 1], out=odd[k])
    np.copyto(S, np.float32(1e6), where=inv & odd)
    np.copyto(S, np.float32(-1e6), where=inv & ~odd)
    T = _stack_median(S)
    T[cnt < 4] = 0.0  # too few copies to tell the watermark from the photo
    return T.astype(np.float32), cnt, (x0, y0)


def _stack_median(S: np.ndarray) -> np.ndarray:
    """``np.median(S, axis=0)`` of a finite float32 stack (K, H, W), the same values: the
    middle plane of the sorted stack, or the float32 mean of the middle two as numpy takes
    it. For K <= 9 (the first two passes' 3 x 3 copies) the K planes are sorted with
    elementwise min/max (~10x faster than a median over a short leading axis); more (the
    third pass's 5 x 5) are partitioned at the middle only (np.median also places the
    largest, to look for NaNs: ~2x the time)."""
    K = len(S)
    mid = [K // 2] if K % 2 else [K // 2 - 1, K // 2]
    if K > 9:
        x = np.partition(S, mid, axis=0)
    else:
        x = list(S)
        for i in range(1, K):  # insertion sort: every pair compared once, planes stay whole
            for j in range(i, 0, -1):
                x[j - 1], x[j] = np.minimum(x[j - 1], x[j]), np.maximum(x[j - 1], x[j])
    if K % 2:
        return x[K // 2]
    return (x[K // 2 - 1] + x[K // 2]) / np.float32(2)


def _photo_repeats(h, T, cnt, origin, v1, v2) -> float:
    """The template's median (smoothed) stroke energy over the photo's in its window: ~0.4-0.6
    where the photo does not repeat (a median of nine unrelated patches keeps ~0.42 of their
    level), ~1 where it repeats on the lattice (a fine periodic texture: captioned stripes)."""
    period = min(np.linalg.norm(v1), np.linalg.norm(v2))
    s = max(1.5, 0.04 * period)
    ox, oy = origin
    e = cv2.GaussianBlur(np.abs(T), (0, 0), s)
    eh = cv2.GaussianBlur(np.abs(h), (0, 0), s)[oy:oy + T.shape[0], ox:ox + T.shape[1]]
    valid = cnt >= 0.5 * cnt.max()
    if not valid.any():
        return 1.0
    return float(np.median(e[valid]) / max(float(np.median(eh[valid])), 1e-12))


def _tile_rects(T: np.ndarray, cnt: np.ndarray, v1, v2, origin, shape_hw, *,
                relative: bool = False):
    """Rotated rectangles ((cx, cy), (w, h), angle), in work-image pixels, of the tile nearest
    the frame centre, read from the template's stroke energy at a few levels (high to low:
    on a quiet photo the lowest level joins neighbouring tiles, on a busy one the highest
    splits a word into letters; the caller keeps the first word-shaped one).

    ``relative``: levels between the energy's median (a fine texture's floor, half the word's
    over gravel or tissue: every plain level is under it) and its 99th percentile."""
    H, W = shape_hw
    ox, oy = origin
    period = min(np.linalg.norm(v1), np.linalg.norm(v2))
    e = cv2.GaussianBlur(np.abs(T), (0, 0), max(1.5, 0.04 * period))
    valid = cnt >= 0.5 * cnt.max()
    if not valid.any():
        return []
    hi = float(np.percentile(e[valid], 99))
    lo = float(np.median(e[valid])) if relative else 0.0
    rects = []
    for level in BLOB_LEVELS:
        blob = ((e >= lo + level * (hi - lo)) & valid).astype(np.uint8)
        n, lab, stats, cents = cv2.connectedComponentsWithStats(blob, connectivity=8)
        best, best_d = None, np.inf
        for k in range(1, n):
            if stats[k, cv2.CC_STAT_AREA] < 0.02 * period * period:
                continue
            d = math.hypot(cents[k][0] + ox - W / 2, cents[k][1] + oy - H / 2)
            if d < best_d:
                best, best_d = k, d
        if best is not None:
            # the rectangle of the blob's rim pixels: the same hull (every pixel on it has a
            # 4-neighbour outside the blob), without the interior's points (a blob can fill
            # the window: 200k points, 7 ms a call)
            comp = (lab == best).astype(np.uint8)
            rim = comp > cv2.erode(comp, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)
            ys, xs = np.nonzero(rim)
            rects.append(cv2.minAreaRect(np.stack([xs + ox, ys + oy], 1).astype(np.float32)))
    return rects


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def lattice_tiles(rect, v1, v2, shape_hw, f) -> list[np.ndarray]:
    """Every lattice copy of ``rect`` whose centre is in the frame grown by half a tile,
    as image-pixel polygons."""
    (cx, cy), (w, h), ang = rect
    H, W = shape_hw  # work scale
    base = cv2.boxPoints(((0.0, 0.0), (w, h), ang))
    grow = 0.5 * max(w, h)
    # lattice coordinates of the frame corners bound the copies to try
    B = np.stack([v1, v2], 1)
    Binv = np.linalg.inv(B)
    corners = np.array([[0, 0], [W, 0], [0, H], [W, H]], np.float64) - [cx, cy]
    ij = corners @ Binv.T
    lo, hi = np.floor(ij.min(0)) - 1, np.ceil(ij.max(0)) + 1
    # every (i, j) at once, i slower (the order of the copies), in the vectors' own dtypes
    a1, a2 = np.asarray(v1), np.asarray(v2)
    i, j = np.meshgrid(np.arange(int(lo[0]), int(hi[0]) + 1),
                       np.arange(int(lo[1]), int(hi[1]) + 1), indexing="ij")
    c = (np.array([cx, cy]) + i.reshape(-1, 1).astype(a1.dtype) * a1
         + j.reshape(-1, 1).astype(a2.dtype) * a2)
    keep = ((-grow <= c[:, 0]) & (c[:, 0] <= W + grow)
            & (-grow <= c[:, 1]) & (c[:, 1] <= H + grow))
    return list(((base + c[keep][:, None, :]) / f).astype(np.float32))


def _rows_along_text(rect, v1, v2) -> bool:
    """Whether the lattice has a vector along the word's long side, 1-3 words long: tiles
    are laid in rows of the text's direction (a grid of round or square things is not), and
    none shorter than the blob: a blob longer than the step between copies along it spans
    several copies (two neighbouring coins of a coin grid joined at a low level read as one
    "word" 2.4 x as long as tall), not one word."""
    pts = cv2.boxPoints(rect)
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    e = e1 if np.linalg.norm(e1) >= np.linalg.norm(e2) else e2
    L = float(np.linalg.norm(e))
    u = e / max(L, 1e-9)
    row = False
    for i in range(-2, 3):
        for j in range(-2, 3):
            s = i * v1 + j * v2
            n = float(np.linalg.norm(s))
            if n < 1e-9 or abs(float(s @ u)) / n < ROW_COS:
                continue
            if n < ROW_LENGTH[0] * L:
                return False
            row = row or n <= ROW_LENGTH[1] * L
    return row


def _along_row(rect, T, origin, v1, v2, toward=None):
    """``rect`` (a word-shaped blob the third pass read at a low level: fat, its angle off by
    the blob's tails) turned to the shortest lattice vector within 8 degrees of its long side
    (of ``toward`` where given: a text direction, degrees as :func:`text_angle`'s, that the
    detector's reads of the copies give: :func:`_reads_angle`)
    (tiles are laid in rows along the text) and cut to the template's strokes: their
    lightly smoothed energy over half its top inside the blob's rectangle grown by half (a
    "(c)" a gap before the word included); across the row the run of their profile over half
    its peak (photo residue above or below the line left out), along it their 1st-99th
    percentile; padded by a sixth of the line's height. Train stereo_motorcycle's frame
    (tests/test_watermark.py): the blob read 22 degrees for text drawn at 31 and left the
    "(c)" out (tiles over 79 % of the drawn pixels); turned and cut, 92 %. The cuts below
    were set once on that frame (2993f59, tiled6: --pipeline 22.13 -> 22.95 dB, ghost 4/54
    -> 0/54), not swept; the 36-case mix's search results were identical with and without
    the third pass."""
    pts = cv2.boxPoints(rect)
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    e = e1 if np.linalg.norm(e1) >= np.linalg.norm(e2) else e2
    if toward is not None:  # image y points down
        e = np.array([math.cos(math.radians(toward)), -math.sin(math.radians(toward))])
    u0 = e / max(float(np.linalg.norm(e)), 1e-9)
    best = None
    for i in range(-2, 3):
        for j in range(-2, 3):
            v = i * np.asarray(v1, np.float64) + j * np.asarray(v2, np.float64)
            n = float(np.linalg.norm(v))
            if n > 1e-9 and float(v @ u0) / n >= ROW_COS and (best is None or n < best[0]):
                best = (n, v / n)
    if best is None:
        return rect
    u = best[1]
    w_ = np.array([-u[1], u[0]])
    ox, oy = origin
    period = min(np.linalg.norm(v1), np.linalg.norm(v2))
    # lightly smoothed: a stroke's two edges one ridge, not the word's blob (1 px at a 100 px
    # period)
    en = cv2.GaussianBlur(np.abs(T), (0, 0), max(1.0, 0.01 * period))
    # grown by half: the blob read at a low level can miss a "(c)" a gap before the word
    grown = (rect[0], (rect[1][0] * 1.5, rect[1][1] * 1.5), rect[2])
    inside = np.zeros(T.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(cv2.boxPoints(grown) - [ox, oy]).astype(np.int32)], 1)
    if not inside.any():
        return rect
    top = float(en[inside > 0].max())
    # the strokes: energy at half the strongest (the photo residue the template keeps is
    # weaker there)
    ys, xs = np.nonzero((inside > 0) & (en >= 0.5 * top))
    if len(xs) < 8:
        return rect
    P = np.stack([xs + ox, ys + oy], 1).astype(np.float64)
    a, b = P @ u, P @ w_
    # the text line across the row: the run of the strokes' profile over half its peak
    bi = np.round(b - b.min()).astype(int)
    prof = np.bincount(bi, weights=en[ys, xs])
    k = int(np.argmax(prof))
    lo_, hi_ = k, k
    while lo_ > 0 and prof[lo_ - 1] >= 0.5 * prof[k]:
        lo_ -= 1
    while hi_ < len(prof) - 1 and prof[hi_ + 1] >= 0.5 * prof[k]:
        hi_ += 1
    band = (bi >= lo_) & (bi <= hi_)
    if band.sum() < 8:
        return rect
    # along the row the 1st-99th percentile, so a few stray pixels do not stretch the tile;
    # the half-peak run is the letters' core, a sixth of its height each side gives back
    # what lies under half the peak (ascenders, descenders, rims)
    a0, a1 = np.percentile(a[band], [1, 99])
    b0, b1 = float(b.min() + lo_), float(b.min() + hi_)
    pad = (b1 - b0) / 6
    c = u * (a0 + a1) / 2 + w_ * (b0 + b1) / 2
    return ((float(c[0]), float(c[1])), (float(a1 - a0 + 2 * pad), float(b1 - b0 + 2 * pad)),
            float(np.degrees(np.arctan2(u[1], u[0]))))


def _reads_angle(polys, lines) -> float | None:
    """The text direction (degrees, as :func:`text_angle`) of the detector's lines ``lines``
    (polygons, image px) that read copies of the tiles ``polys`` (each (4, 2) image px), or
    None where fewer than :data:`MIN_READS` tiles agree on one.

    A line reads a copy when it is word-shaped (:data:`MIN_ASPECT`) and its centre lies in a
    tile within a third of the tile's height of its middle line (a copy is read along the
    tile; train: 0-12 px off it in tiles 31-59 px tall). A tile's reads give it one angle,
    their median (a copy read in pieces, or a caption's stacked lines over one tile, count
    once); the direction is the median over the tiles, kept where at least :data:`MIN_READS`
    tiles lie within :data:`TURN_DEG` of it. A caption of three or four lines over one tile
    is then one vote, not a row of agreeing reads (train: four horizontal lines over a rocket
    photo's faint "PREVIEW" at -28 deg outvoted its one read copy, 0.0 deg)."""
    per_tile: dict[int, list[float]] = {}
    tiles = [(k, np.asarray(p, np.float32), cv2.minAreaRect(np.asarray(p, np.float32)))
             for k, p in enumerate(polys)]
    for q in lines:
        rect = cv2.minAreaRect(np.asarray(q, np.float32).reshape(-1, 2))
        if min(rect[1]) <= 0 or max(rect[1]) < MIN_ASPECT * min(rect[1]):
            continue
        c = tuple(float(v) for v in rect[0])
        for k, p, tr in tiles:
            if cv2.pointPolygonTest(p, c, False) < 0:
                continue
            t = math.radians(text_angle(tr))  # across the tile: image y points down
            across = (c[0] - tr[0][0]) * math.sin(t) + (c[1] - tr[0][1]) * math.cos(t)
            if abs(across) <= min(tr[1]) / 3:
                per_tile.setdefault(k, []).append(text_angle(rect))
            break
    if len(per_tile) < MIN_READS:
        return None
    a = np.asarray([np.median(v) for v in per_tile.values()])
    mid = float(np.median(a))
    return mid if (np.abs((a - mid + 90) % 180 - 90) <= TURN_DEG).sum() >= MIN_READS else None


def text_angle(rect) -> float:
    """Direction of the rectangle's long side, degrees counter-clockwise from +x, in (-90, 90]."""
    pts = cv2.boxPoints(rect)
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    e = e1 if np.linalg.norm(e1) >= np.linalg.norm(e2) else e2
    a = -math.degrees(math.atan2(e[1], e[0]))  # image y points down
    while a <= -90:
        a += 180
    while a > 90:
        a -= 180
    return a


def _text_share(img: np.ndarray, poly: np.ndarray, seg) -> float:
    """Share of the tile's box (in the segmenter's crop, margins left out) marked as text."""
    g = crop_geometry(poly, seg.height)
    prob = seg.predict(extract_crop(img, g))
    s = float(np.hypot(*g.M[0, :2]))
    bh, bw = g.box_hw[0] * s / 2, g.box_hw[1] * s / 2
    r0, r1 = int(round(g.height / 2 - bh)), int(round(g.height / 2 + bh))
    c0, c1 = int(round(g.width / 2 - bw)), int(round(g.width / 2 + bw))
    box = prob[max(r0, 0):max(r1, r0 + 1), max(c0, 0):max(c1, c0 + 1)]
    return float(np.mean(box >= seg.threshold)) if box.size else 0.0


def centre_in_lines(poly, lines) -> bool:
    """Whether the centre of ``poly`` (a tile, (4, 2) x, y) lies inside any of ``lines``
    (polygons, each (N, 2) x, y image pixels): a tile on a line the detector found."""
    c = tuple(float(v) for v in np.asarray(poly, np.float64).mean(0))
    return any(cv2.pointPolygonTest(np.asarray(q, np.float32), c, False) >= 0 for q in lines)


def find_tiled_watermark(image, *, model=None, exclude=(), wide=True, periodic=None,
                         even=True) -> TiledWatermark:
    """Find a watermark tiled across the photo (no detector box needed).

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        sRGB photo.
    exclude : sequence of ndarray, each (N, 2), optional
        Polygons (x, y image pixels) of lines the detector already found. The segmenter's
        confirmation reads only tiles whose centre is outside them, spread over the frame: a
        caption of repeated capitals is periodic along its line and a few stacked captions
        look like rows, so tiles on the captions read as text although the lattice is not a
        watermark (the astronaut photo with three captions gave 352 "tiles" over the whole
        frame when the confirmation read the first dozen tiles, those on its captions).
    model : Segmenter or str or Path, optional
        The text segmenter that confirms the tiles are lettering (default: the packaged
        seamline-textseg model).
    wide : bool or "only", optional
        Whether the third pass (the template from more copies, :data:`WIDE_SHIFTS`) runs
        where the first two found nothing; ``"only"``: that pass alone (the caller ran the
        first two: :func:`seamline.ops.text.watermark_lines.find_watermark` asks the
        detector's readings before it).
    periodic : tuple, optional
        :func:`periodicity` of this ``image``, made before (default: made here).
    even : bool or "only", optional
        Where the passes find nothing, run them again on the :func:`evened` frame (a
        watermark over the smooth part of a half-textured photo; not on an even frame, nor
        with ``wide="only"``); ``"only"``: those alone (the caller ran the plain ones:
        :func:`seamline.ops.text.watermark_lines.find_watermark` asks the detector's
        readings before them).

    Returns
    -------
    TiledWatermark
        ``found`` with one polygon per tile, or not found with the reason.

    Raises
    ------
    InputError
        ``image`` is not HxWx3 float32, or ``wide`` or ``even`` is none of True, False,
        "only".
    StageError
        The segmentation model is missing or corrupt (only read when the photo is periodic).
    """
    img = _frame(image)
    if not (wide is True or wide is False or wide == "only"):
        raise InputError(f"wide must be True, False or 'only', got {wide!r}")
    if even not in (True, False, "only"):
        raise InputError(f"even must be True, False or 'only', got {even!r}")
    h, f, R = periodicity(img) if periodic is None else periodic
    res = (TiledWatermark(False, reason="only the evened frame searched") if even == "only"
           else _passes(img, h, f, R, model, exclude, wide))
    if res.found or not even or wide == "only" or R is None:
        return res
    # last, the passes again on the frame with its texture evened out: a watermark over the
    # smooth half of a half-textured photo (what they found on the plain frame stays as it was)
    he = evened(h)
    if he is None:
        return res
    ev = _passes(img, he, f, autocorrelation(he), model, exclude, wide)
    return replace(ev, reason=f"{ev.reason} (the texture evened)") if ev.found else res


def _passes(img, h, f, R, model, exclude, wide) -> TiledWatermark:
    """:func:`find_tiled_watermark`'s three passes over one band-passed frame ``h`` (work px,
    scale ``f``) and its :func:`autocorrelation` ``R`` (None: too small)."""
    if R is None:
        return TiledWatermark(False, reason="frame too small for a tiled pattern")
    peaks = lattice_peaks(R)  # once: every pass below reads the same R (not modified)
    cands = candidate_lattices(R, peaks)
    if not cands:
        return TiledWatermark(False, reason="no two-dimensional repetition")
    strong = [c for c in cands if c[2] >= MIN_CORR]
    if not strong:
        v1, v2, corr = max(cands, key=lambda c: c[2])
        return TiledWatermark(False, lattice_px=(tuple(v1 / f), tuple(v2 / f)), periodicity=corr,
                              reason=f"repetition too weak ({corr:.3f} < {MIN_CORR})")
    seg = None
    best = None
    for v1, v2, corr in ([] if wide == "only" else strong):
        res, seg = _try_lattice(img, h, f, v1, v2, corr, seg, model, exclude)
        if res.found:
            return res
        best = best or res  # the strongest candidate's reason is the one reported
    # second pass, only where the first found nothing (what that finds stays as it was)
    for v1, v2, corr in ([] if wide == "only" else distinct_lattices(R, peaks)):
        if corr < MIN_CORR:
            continue
        res, seg = _try_lattice(img, h, f, v1, v2, corr, seg, model, exclude, relative=True)
        if res.found:
            return res
    # third pass, only where neither found anything: the template from more copies
    for v1, v2, corr in (distinct_lattices(R, peaks, WIDE_CANDIDATES) if wide else []):
        if corr < MIN_CORR:
            continue
        res, seg = _try_lattice(img, h, f, v1, v2, corr, seg, model, exclude,
                                shifts=WIDE_SHIFTS)
        if res.found:
            return res
        best = best or res
    return best or TiledWatermark(False, reason="no lattice repeats enough for the third pass")


def _word_shaped(rect, v1, v2, period, n_tiles) -> bool:
    """A blob's rectangle is a tiled word: long, thin, not steep, rows along it, few copies."""
    long_, short = max(rect[1]), min(rect[1])
    return bool(short >= 4 and long_ >= MIN_ASPECT * short and long_ >= 0.25 * period
                and abs(text_angle(rect)) <= MAX_ANGLE and n_tiles <= MAX_TILES
                and _rows_along_text(rect, v1, v2))


def _try_lattice(img, h, f, v1, v2, corr, seg, model, exclude=(), *, relative=False,
                 shifts=N_SHIFTS):
    """One candidate lattice through the template, shape and segmenter checks. ``relative``:
    the second pass's blob (:func:`_tile_rects`), the longest word-shaped one; ``shifts``:
    the template's lattice translations (:func:`_template`)."""
    Hs, Ws = h.shape
    lattice_px = (tuple(v1 / f), tuple(v2 / f))
    T, cnt, origin = _template(h, v1, v2, shifts)
    if relative and (rep := _photo_repeats(h, T, cnt, origin, v1, v2)) > MAX_FLOOR:
        return TiledWatermark(False, lattice_px=lattice_px, periodicity=corr,
                              reason=f"periodic, but the photo itself repeats on the lattice "
                                     f"(template floor {rep:.2f})"), seg
    rects = _tile_rects(T, cnt, v1, v2, origin, h.shape, relative=relative)
    if not rects:
        return TiledWatermark(False, lattice_px=lattice_px, periodicity=corr,
                              reason="periodic, but no tile-shaped repeated content"), seg
    period = min(np.linalg.norm(v1), np.linalg.norm(v2))
    why = ""
    if relative:
        ok = [r for r in rects if _word_shaped(r, v1, v2, period,
                                               len(lattice_tiles(r, v1, v2, (Hs, Ws), f)))]
        rects = [max(ok, key=lambda r: max(r[1]))] if ok else rects
    for rect in rects:
        polys = lattice_tiles(rect, v1, v2, (Hs, Ws), f)
        angle = text_angle(rect)
        long_, short = max(rect[1]), min(rect[1])
        if _word_shaped(rect, v1, v2, period, len(polys)):
            if shifts > N_SHIFTS:
                # not re-checked with _word_shaped: the cut turns the blob by at most 8 deg to
                # a lattice row and trims it to the strokes; on the train split it stayed
                # word-shaped every time it ran (sized tiled6 and test_watermark's motorcycle:
                # aspect 10.4 / 7.4, 31 deg, rows along, 20 tiles), and the tiles it gives
                # still face the segmenter's text-share check below
                rect = _along_row(rect, T, origin, v1, v2)
                polys = lattice_tiles(rect, v1, v2, (Hs, Ws), f)
                angle = text_angle(rect)
            elif (toward := _reads_angle(polys, exclude)) is not None and abs(
                    (toward - angle + 90) % 180 - 90) > TURN_DEG:
                # the detector read copies at another angle than the blob's (a fat blob over
                # a half-textured photo, its long side along the lattice's diagonal): the
                # tile turned to the lattice's row along the reads and cut to the strokes
                # (sized as the reads' boxes instead, h1's unblend frame took in more grass:
                # 30.64 -> 27.77 dB, 2 -> 4 copies read)
                turned = _along_row(rect, T, origin, v1, v2, toward)
                tp = lattice_tiles(turned, v1, v2, (Hs, Ws), f)
                if turned is not rect and _word_shaped(turned, v1, v2, period, len(tp)):
                    rect, polys, angle = turned, tp, text_angle(turned)
            break
        why = why or (f"periodic, but the repeated blob is not a tiled word ({long_ / f:.0f} x "
                      f"{short / f:.0f} px at {angle:.0f} deg, {len(polys)} copies)")
    else:
        return TiledWatermark(False, lattice_px=lattice_px, periodicity=corr, reason=why), seg
    polys = [order_clockwise(p) for p in polys]  # corners ordered like the detector's
    if seg is None:
        seg = model if isinstance(model, Segmenter) else load_segmenter(model)
    H, W = img.shape[:2]
    inside = [p for p in polys if p[:, 0].min() >= 0 and p[:, 1].min() >= 0
              and p[:, 0].max() < W and p[:, 1].max() < H] or polys
    free = [p for p in inside if not centre_in_lines(p, exclude)]
    # a dozen whole tiles away from the detected lines, spread over the frame, say enough
    # (a real watermark is everywhere; a caption's rows are not); cost stays bounded
    sample = free or inside
    sample = [sample[i] for i in np.unique(np.linspace(0, len(sample) - 1, 12).round()
                                           .astype(int))]
    shares = [_text_share(img, p, seg) for p in sample]
    share, low = float(np.median(shares)), float(np.percentile(shares, 25))
    kw = dict(lattice_px=lattice_px, angle_deg=angle, periodicity=corr, text_share=share)
    # most tiles, not just half, must read as text: on the train split every sampled tile of a
    # found watermark read >= 0.40; the captioned astronaut's spread tiles read 0.05-0.33
    if not (MIN_TEXT_SHARE <= low and share <= MAX_TEXT_SHARE):
        return TiledWatermark(False, **kw, reason=f"periodic, but the segmenter does not read "
                                                 f"the tiles as text (share {share:.2f}, "
                                                 f"lower quartile {low:.2f})"), seg
    return TiledWatermark(True, polygons=polys, **kw,
                          reason=f"{len(polys)} tiles, periodicity {corr:.2f}, text share "
                                 f"{share:.2f}"), seg
