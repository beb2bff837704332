"""Train seamline-textseg, the text-overlay segmentation network, and export it to ONNX.

Run by hand (never at import or test time), from the repository root::

    .venv/bin/python training/train_textseg.py                 # release run, seed 20261204
    .venv/bin/python training/train_textseg.py --iters 150 --images 300 --out /tmp/ts  # smoke

Needs the ``train`` extra (torch, onnx; matplotlib for its sample photo) and Debian font
packages (nothing is downloaded)::

    apt-get install -y fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 \\
        fonts-freefont-ttf fonts-roboto fonts-open-sans fonts-lato fonts-crosextra-carlito \\
        fonts-crosextra-caladea fonts-cantarell fonts-firacode fonts-league-spartan \\
        fonts-bebas-neue fonts-urw-base35 fonts-ebgaramond fonts-linuxlibertine \\
        fonts-inconsolata fonts-dseg fonts-croscore fonts-comic-neue fonts-lobstertwo

What it learns: given a crop around ONE detected text line (the crop ``seamline.ops.text.
segment`` cuts at run time: the line's rotated box grown by 0.25 x its height + 10 px,
resampled to 64 rows), the probability per pixel that a text overlay changed it by more than
2/255: fill, outline, drop shadow and glow alike.

Data (all made here, in memory, deterministic for the seed):

* backgrounds: ``seamline.testing.backgrounds.backgrounds("train")`` only (scikit-image and
  matplotlib sample photos, procedural gradients / noise / stripes / bokeh), rescaled so the
  long side is 640-1400 px. The held-out wallpaper set is never read (asserted).
* overlays: ``seamline.testing.overlays.sample_overlays`` for every style in ``STYLES``, with
  ``font_paths("train")`` (the held-out font families are used for validation only);
* crops: each line's true ink box, distorted like rapidocr's boxes (grown by 0-45 % of the
  height, corners jittered, slightly rotated; sometimes cut to part of the line, or shifted
  off the text so part of a shadow falls outside); plus negative crops of text-free photo and
  texture (stripes, brick, gravel...) with random boxes;
* v3: negative crops along bright thin structure (the photo's own, found with a white top-hat,
  or drawn: cup rims, specular streaks, thin highlights), the same structure drawn under a
  fifth of the text (not in the target), and hard drop shadows / huge text drawn more often.

Validation (logged, never used to choose weights or steps): train-split backgrounds with the
held-out font families, per style. The decision threshold is chosen on a separate "tune" set
(train fonts, train backgrounds, other seed): best F2 at mean precision >= 0.8.

Network: a small U-Net (3 scales + a dilated bottleneck), BCE + soft-Dice loss, pixels of
outlines, shadows and glows and the rim around the strokes weighted x3 so thin effects are
not traded away. Adam, warm-up then cosine decay, fixed iteration count. v3 starts from the v2
candidate's weights (``--init``; ``--init none`` trains from scratch).
"""

from __future__ import annotations

import os

# Shared, oversubscribed CPUs: spinning OpenMP workers starve each other, so idle threads
# sleep. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seamline.ops.text.segment import (crop_geometry, extract_crop,  # noqa: E402
                                       paste_back, CropGeometry)
from seamline.testing import overlays as ov  # noqa: E402
from seamline.testing.backgrounds import backgrounds  # noqa: E402

MODELS = ROOT / "src" / "seamline" / "models"
VERSION = "3"
# v2: 64 rows instead of v1's 48, so big text (crop 1.5 h + 20 px tall) is resampled less and
# its edges land closer to the ink (v1's precision on huge/plain text was 0.42-0.45).
HEIGHT = 64
WIN = 128  # training window width (crops are cut to / widened to this)
# v3: the v2 candidate fine-tuned (``init``; BatchNorm frozen at identity, since v2's file has
# it folded into the convs) on a pool with more hard-shadow and huge-text windows and with
# bright thin structure that is not text: ``edge_neg_share`` of the images give negative crops
# along cup rims / specular streaks / thin highlights (mined from the photo or drawn), and
# ``rim_share`` of the text images get such structure drawn under the text (not in the target).
# A fine-tune, not a 2000-iteration run from scratch: one CPU thread on a shared machine gives
# ~1.5 s per iteration, and v2 already fits the tune split as well as v1 does.
CONFIG = dict(widths=(8, 16, 32, 64), batch=16, iters=1000, lr=6e-4, images=1200,
              neg_share=0.10, edge_neg_share=0.10, rim_share=0.2, edge_weight=3.0,
              dice_weight=0.5, init="training/candidates/seamline-textseg-v2.onnx")
# How often each style's image is drawn. Styles with one line per image (date stamps, huge,
# watermark) gave v1 ~30 windows each against 310 for the tiled watermark (6 lines an image):
# the weights roughly even out the windows per style, thin / faint effects a bit more.
STYLE_WEIGHT = {s: 1.0 for s in ov.STYLES}
STYLE_WEIGHT.update(outline=1.5, shadow_hard=3.0, shadow_blur=2.0, glow=2.0, watermark=2.5,
                    rotated=1.4, tiled_watermark=0.6, datestamp=4.0, tiny=1.2, subtitle=1.5,
                    huge=4.5, meme=1.0)
# Operating point: the threshold with the best F2 (recall weighted 4x precision) among those
# whose mean tune precision reaches this; the best F2 overall if none does. v3: v1's mean tune
# precision at its shipped cut 0.25 (recall 0.864 / precision 0.652 on this tune set, through
# the ONNX runtime), so the new model is compared at equal precision. v2's 0.8 picked 0.5,
# trading recall (validation 0.77) for precision.
MIN_PRECISION = 0.652


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

def _block(i, o, dil=1):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=dil, dilation=dil), nn.BatchNorm2d(o),
                         nn.ReLU(inplace=True))


class TextSegNet(nn.Module):
    """Small U-Net: full, 1/2, 1/4 and 1/8 resolution; logits at full resolution.

    Downsampling by strided convs, upsampling bilinear + concat skip + conv. The 1/8 stage has
    two dilated convs (dilation 2, 4) so each output pixel sees ~ 100 px of crop (the whole
    line height and several letters: what colour is the text, is this a shadow of it).
    BatchNorm is folded into the convs at export.
    """

    def __init__(self, widths=(16, 32, 48, 64)):
        super().__init__()
        self.frozen_bn = False  # set by load_init: BatchNorm stays the identity
        c1, c2, c3, c4 = widths
        self.e1 = nn.Sequential(_block(3, c1), _block(c1, c1))
        self.d2 = nn.Sequential(nn.Conv2d(c1, c2, 3, 2, 1), nn.BatchNorm2d(c2), nn.ReLU(True),
                                _block(c2, c2))
        self.d3 = nn.Sequential(nn.Conv2d(c2, c3, 3, 2, 1), nn.BatchNorm2d(c3), nn.ReLU(True),
                                _block(c3, c3))
        self.d4 = nn.Sequential(nn.Conv2d(c3, c4, 3, 2, 1), nn.BatchNorm2d(c4), nn.ReLU(True),
                                _block(c4, c4, 2), _block(c4, c4, 4))
        self.u3 = _block(c4 + c3, c3)
        self.u2 = _block(c3 + c2, c2)
        self.u1 = _block(c2 + c1, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen_bn:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x):
        x = x - 0.5
        f1 = self.e1(x)
        f2 = self.d2(f1)
        f3 = self.d3(f2)
        f4 = self.d4(f3)
        up = lambda a, ref: F.interpolate(a, size=ref.shape[-2:], mode="bilinear",  # noqa: E731
                                          align_corners=False)
        g = self.u3(torch.cat([up(f4, f3), f3], 1))
        g = self.u2(torch.cat([up(g, f2), f2], 1))
        g = self.u1(torch.cat([up(g, f1), f1], 1))
        return self.head(g)


def load_init(model: TextSegNet, path: Path) -> str:
    """Start from the weights of an exported model (BatchNorm folded into its convs).

    The ONNX file's Conv nodes, in graph order, are the network's Conv2d modules in
    registration order (shapes checked); every BatchNorm is set to the identity and frozen, so
    the network computes what the file does. Reads tensors with ``onnx.numpy_helper`` (no
    pickle). Returns the file's sha256.
    """
    import hashlib

    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in g.graph.initializer}
    nodes = [n for n in g.graph.node if n.op_type == "Conv"]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(nodes) == len(convs), f"{path}: {len(nodes)} convs, the network has {len(convs)}"
    with torch.no_grad():
        for n, m in zip(nodes, convs):
            w, b = inits[n.input[1]], inits[n.input[2]]
            assert tuple(w.shape) == tuple(m.weight.shape), f"{path}: {w.shape} vs {m.weight.shape}"
            m.weight.copy_(torch.from_numpy(w.copy()))
            m.bias.copy_(torch.from_numpy(b.copy()))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)  # folds to a scale of exactly 1
                m.weight.requires_grad_(False)
                m.bias.requires_grad_(False)
    model.frozen_bn = True
    model.train()
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def train_backgrounds():
    bgs = backgrounds("train")
    # The held-out wallpapers must never reach training.
    assert bgs and all(not n.startswith("heldout:") for n, _ in bgs), "held-out photo in train"
    return bgs


def _scaled_bg(rng, bgs):
    name, img = bgs[int(rng.integers(len(bgs)))]
    h, w = img.shape[:2]
    f = rng.uniform(640, 1400) / max(h, w)
    img = cv2.resize(img, (max(64, round(w * f)), max(64, round(h * f))),
                     interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    # a window at most 1024 x 768 (either orientation): rendering cost stays bounded
    H, W = img.shape[:2]
    wh, ww = (768, 1024) if W >= H else (1024, 768)
    y = int(rng.integers(0, max(1, H - wh + 1)))
    x = int(rng.integers(0, max(1, W - ww + 1)))
    img = img[y:y + wh, x:x + ww]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.3:  # channel permutation: more colour combinations
        img = img[..., rng.permutation(3)]
    return name, np.ascontiguousarray(img, np.float32)


def detector_polygon(rng, quad: np.ndarray) -> np.ndarray:
    """Distort a true ink quad (TL, TR, BR, BL) the way rapidocr's boxes differ from ink."""
    tl, tr, br, bl = quad.astype(np.float64)
    ex = (tr - tl) / max(np.linalg.norm(tr - tl), 1e-6)
    ey = (bl - tl) / max(np.linalg.norm(bl - tl), 1e-6)
    w, h = np.linalg.norm(tr - tl), np.linalg.norm(bl - tl)
    l, r = 0.0, w
    if rng.random() < 0.12:  # the detector split the line: part of it only
        frac = rng.uniform(0.3, 0.9)
        l = rng.uniform(0, w * (1 - frac))
        r = l + w * frac
    top, bot = -h * rng.uniform(0.0, 0.45), h + h * rng.uniform(0.0, 0.45)
    l -= h * rng.uniform(-0.1, 0.5)
    r += h * rng.uniform(-0.1, 0.5)
    if rng.random() < 0.1:  # box off the text: part of a shadow/glow outside the crop
        d = h * rng.uniform(0.15, 0.35) * rng.choice([-1, 1])
        top, bot = top + d, bot + d
    pts = np.array([tl + ex * l + ey * top, tl + ex * r + ey * top, tl + ex * r + ey * bot,
                    tl + ex * l + ey * bot])
    pts += rng.normal(0, 0.04 * h, pts.shape)
    c = pts.mean(0)
    a = math.radians(rng.normal(0, 1.5))
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return ((pts - c) @ R.T + c).astype(np.float32)


def _tint(rng) -> np.ndarray:
    """Colour of a highlight: near white, sometimes tinted."""
    if rng.random() < 0.7:
        return np.full(3, rng.uniform(0.85, 1.0), np.float32)
    return rng.uniform(0.6, 1.0, 3).astype(np.float32)


def draw_rims(rng, img: np.ndarray):
    """Bright thin structure that is not text, drawn on ``img`` (a copy is returned).

    Cup and glass rims (elliptic arcs 1-4 px wide, half of them with a darker inner edge),
    specular streaks (short blurred strokes) and thin straight highlights (shelf edges, rails):
    what the v1/v2 models marked on the coffee photo's cup. Returns the image and points on the
    structures, ``(x, y, tangent angle in radians)``, to put detector-like boxes on.
    """
    H, W = img.shape[:2]
    out = img.copy()
    anchors = []
    for _ in range(int(rng.integers(1, 4))):
        kind = ("rim", "rim", "streak", "line")[int(rng.integers(4))]
        canvas = np.zeros((H, W), np.uint8)
        t = int(rng.integers(1, 5))
        if kind == "rim":
            cx, cy = rng.uniform(0.1, 0.9) * W, rng.uniform(0.1, 0.9) * H
            a = rng.uniform(60, 0.6 * max(H, W))
            b = a * rng.uniform(0.12, 0.6)
            rot = rng.uniform(-20, 20)
            start, span = rng.uniform(0, 360), rng.uniform(60, 300)
            cv2.ellipse(canvas, (int(cx * 16), int(cy * 16)), (int(a * 16), int(b * 16)), rot,
                        start, start + span, 255, t, cv2.LINE_AA, 4)
            if rng.random() < 0.5:  # the darker inside edge of a rim
                dark = np.zeros((H, W), np.uint8)
                d = t + 1.5
                cv2.ellipse(dark, (int(cx * 16), int(cy * 16)), (int((a - d) * 16),
                            int(max(b - d, 2) * 16)), rot, start, start + span, 255,
                            int(rng.integers(1, 4)), cv2.LINE_AA, 4)
                al = dark.astype(np.float32) / 255 * rng.uniform(0.3, 0.7)
                out = out * (1 - al[..., None]) + rng.uniform(0, 0.3) * al[..., None]
            r = math.radians(rot)
            for th in np.radians(rng.uniform(start, start + span, 4)):
                p = np.array([a * math.cos(th), b * math.sin(th)])
                dp = np.array([-a * math.sin(th), b * math.cos(th)])
                R = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
                (x, y), (tx, ty) = R @ p + [cx, cy], R @ dp
                anchors.append((x, y, math.atan2(ty, tx)))
        else:
            L = rng.uniform(10, 80) if kind == "streak" else rng.uniform(100, 600)
            x, y = rng.uniform(0, W), rng.uniform(0, H)
            ang = rng.uniform(-math.pi, math.pi) if rng.random() < 0.5 else rng.normal(0, 0.3)
            d = np.array([math.cos(ang), math.sin(ang)]) * L / 2
            p0, p1 = np.array([x, y]) - d, np.array([x, y]) + d
            cv2.line(canvas, (int(p0[0] * 16), int(p0[1] * 16)), (int(p1[0] * 16), int(p1[1] * 16)),
                     255, t, cv2.LINE_AA, 4)
            for s in rng.uniform(-0.4, 0.4, 2):
                anchors.append((x + 2 * s * d[0], y + 2 * s * d[1], ang))
        al = canvas.astype(np.float32) / 255
        sig = rng.uniform(0, 1.2) if kind != "streak" else rng.uniform(1, 2.5)
        if sig > 0.3:
            al = cv2.GaussianBlur(al, (0, 0), sig)
            al /= max(float(al.max()), 1e-6)
        al *= rng.uniform(0.6, 1.0)
        out = out * (1 - al[..., None]) + _tint(rng) * al[..., None]
    inside = [a for a in anchors if 0 <= a[0] < W and 0 <= a[1] < H]
    return np.clip(out, 0, 1).astype(np.float32), inside


def bright_thin_anchors(rng, img: np.ndarray, n: int = 3):
    """Points on a photo's own bright thin structure (white top-hat, 9 px), with the local
    edge direction; ``[]`` on flat images."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    th = cv2.morphologyEx(g, cv2.MORPH_TOPHAT,
                          cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    lim = max(float(np.percentile(th, 99.5)), 0.08)
    ys, xs = np.nonzero(th >= lim)
    if len(xs) == 0:
        return []
    gb = cv2.GaussianBlur(g, (0, 0), 2.0)
    gx, gy = cv2.Sobel(gb, cv2.CV_32F, 1, 0), cv2.Sobel(gb, cv2.CV_32F, 0, 1)
    out = []
    for k in rng.integers(0, len(xs), n):
        x, y = int(xs[k]), int(ys[k])
        out.append((float(x), float(y), math.atan2(float(gy[y, x]), float(gx[y, x])) + math.pi / 2))
    return out


def box_along(rng, anchor) -> np.ndarray:
    """A line-shaped box (4, 2) a detector might put on structure at ``anchor``."""
    x, y, ang = anchor
    h = float(np.exp(rng.uniform(np.log(14), np.log(90))))
    w = h * rng.uniform(2, 10)
    a = ang + math.radians(rng.normal(0, 8))
    q = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    q[:, 1] += h * rng.uniform(-0.4, 0.4)
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (q @ R.T + [x, y]).astype(np.float32)


def widen(g: CropGeometry, width: int) -> CropGeometry:
    """The same crop with more image context left and right, ``width`` px wide."""
    if g.width >= width:
        return g
    M = g.M.copy()
    M[0, 2] += (width - g.width) / 2
    return CropGeometry(M=M, width=width, height=g.height, box_hw=g.box_hw)


def _weight_map(layers_crop, fill_crop, drawn_crop, edge_w):
    """Per-pixel loss weight: effects (outline, shadow, glow) and the stroke rim count more."""
    eff = (layers_crop > 0.02) & (fill_crop < 0.5)
    rim = cv2.dilate(drawn_crop.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rim &= ~(cv2.erode(drawn_crop.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    return 1 + (edge_w - 1) * (eff | rim).astype(np.float32)


def make_pool(n_images: int, seed: int, fonts, bgs, *, edge_w: float, neg_share: float,
              edge_neg_share: float, rim_share: float):
    """Pre-generated training windows: uint8 images (N,3,64,WIN), targets and weights (N,64,WIN)."""
    rng = np.random.default_rng(seed)
    styles = list(STYLE_WEIGHT)
    p = np.array([STYLE_WEIGHT[s] for s in styles])
    p /= p.sum()
    X, Y, Wt, tags = [], [], [], []

    def add(img, drawn, eff, fill, poly, tag):
        g = widen(crop_geometry(poly, HEIGHT), WIN)
        x = extract_crop(img, g)
        aux = extract_crop(np.dstack([drawn, eff, fill]).astype(np.float32), g)
        # random WIN-wide windows of wide crops (two when it is much wider)
        for _ in range(1 if g.width < 1.5 * WIN else 2):
            u0 = int(rng.integers(0, g.width - WIN + 1))
            xw, aw = x[:, u0:u0 + WIN], aux[:, u0:u0 + WIN]
            y = np.clip(aw[..., 0], 0, 1)
            w = _weight_map(aw[..., 1], aw[..., 2], y > 0.5, edge_w)
            X.append(np.round(np.clip(xw, 0, 1) * 255).astype(np.uint8).transpose(2, 0, 1))
            Y.append(np.round(y * 255).astype(np.uint8))
            Wt.append(w.astype(np.float16))
            tags.append(tag)

    t0 = time.perf_counter()
    for i in range(n_images):
        name, img = _scaled_bg(rng, bgs)
        H, W = img.shape[:2]
        zero = np.zeros((H, W), np.float32)
        r = rng.random()
        if neg_share <= r < neg_share + edge_neg_share:
            # Negatives on bright thin structure: the photo's own (not the coffee photo, whose
            # cup-rim boxes are the FP check of tests/test_textseg.py) or drawn rims/highlights.
            anchors = bright_thin_anchors(rng, img) if (rng.random() < 0.5
                                                         and "coffee" not in name) else []
            if not anchors:
                img, anchors = draw_rims(rng, img)
            for k in rng.permutation(len(anchors))[:3]:
                add(img, zero, zero, zero, box_along(rng, anchors[k]), "negative_edge")
            continue
        if r < neg_share:
            # Negatives: text-free photo/texture under random line-like boxes.
            for _ in range(3):
                h = float(np.exp(rng.uniform(np.log(12), np.log(140))))
                w = h * rng.uniform(1.5, 12)
                c = rng.uniform([0, 0], [W, H])
                a = math.radians(rng.uniform(-30, 30) if rng.random() < 0.3 else 0)
                q = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
                R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
                add(img, zero, zero, zero, (q @ R.T + c).astype(np.float32), "negative")
            continue
        style = str(rng.choice(styles, p=p))
        if rng.random() < rim_share:  # rims and highlights under the text: not in the target
            img, _ = draw_rims(rng, img)
        ovs = ov.sample_overlays(rng, style, (H, W), fonts)
        out, _, layers = ov.render(img, ovs)
        drawn = ov.drawn_mask(img, out).astype(np.float32)
        eff = layers["outline"] + layers["shadow"] + layers["glow"]
        quads = [q for o in ovs for q in ov.line_polygons(o)]
        # inside the image only, at most 6 lines per image (tiled watermarks have dozens)
        quads = [q for q in quads if (q[:, 0].mean() > 0 and q[:, 0].mean() < W
                                      and q[:, 1].mean() > 0 and q[:, 1].mean() < H)]
        for k in rng.permutation(len(quads))[:6]:
            add(out, drawn, eff, layers["fill"], detector_polygon(rng, quads[k]), style)
        if (i + 1) % 500 == 0:
            print(f"  pool {i + 1}/{n_images} images, {len(X)} windows, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    return np.stack(X), np.stack(Y), np.stack(Wt), tags


def augment(rng, x, y, w):
    """Flips and colour inversion; the changed-pixel target is unchanged by all of them."""
    if rng.random() < 0.5:
        x, y, w = x[..., ::-1], y[..., ::-1], w[..., ::-1]
    if rng.random() < 0.15:
        x = 255 - x
    return x, y, w


# --------------------------------------------------------------------------------------------
# Evaluation (image space, through the same crop / paste code as the runtime)
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def predict_image(model, img, polys) -> np.ndarray:
    out = np.zeros(img.shape[:2], np.float32)
    for p in polys:
        g = crop_geometry(p, HEIGHT)
        x = torch.from_numpy(extract_crop(img, g).transpose(2, 0, 1)[None].copy())
        prob = torch.sigmoid(model(x))[0, 0].numpy()
        paste_back(prob, g, out)
    return out


def eval_set(seed: int, fonts, bgs, per_style: int):
    """[(style, image, drawn bool, detector-like polygons)] made once, reused at each eval."""
    rng = np.random.default_rng(seed)
    cases = []
    for style in ov.STYLES:
        for _ in range(per_style):
            _, img = _scaled_bg(rng, bgs)
            ovs = ov.sample_overlays(rng, style, img.shape[:2], fonts)
            out, _, _ = ov.render(img, ovs)
            drawn = ov.drawn_mask(img, out)
            H, W = img.shape[:2]
            # every line with a part inside the image (a detector would see it)
            polys = [detector_polygon(rng, q) for o in ovs for q in ov.line_polygons(o)
                     if q[:, 0].max() > 0 and q[:, 0].min() < W and q[:, 1].max() > 0
                     and q[:, 1].min() < H]
            cases.append((style, out, drawn, polys))
    return cases


def score(model, cases, thresholds=(0.5,)):
    """Per style and threshold: recall, precision, IoU of drawn pixels (summed over images)."""
    model.eval()
    acc = {}
    for style, img, drawn, polys in cases:
        prob = predict_image(model, img, polys)
        for t in thresholds:
            pred = prob >= t
            a = acc.setdefault((style, t), np.zeros(3))
            a += [np.sum(pred & drawn), np.sum(pred), np.sum(drawn)]
    model.train()
    res = {}
    for (style, t), (tp, np_, nd) in acc.items():
        res.setdefault(t, {})[style] = dict(recall=tp / max(nd, 1), precision=tp / max(np_, 1),
                                            iou=tp / max(nd + np_ - tp, 1))
    return res


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def fold_bn(model: TextSegNet) -> nn.Module:
    """A copy with every BatchNorm folded into the conv before it (no BN nodes in the ONNX)."""
    import copy

    m = copy.deepcopy(model).eval()

    def fold(seq):
        mods = list(seq)
        out, i = [], 0
        while i < len(mods):
            a = mods[i]
            if isinstance(a, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                bn = mods[i + 1]
                s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                conv = nn.Conv2d(a.in_channels, a.out_channels, a.kernel_size, a.stride,
                                 a.padding, a.dilation, bias=True)
                conv.weight.data = a.weight.data * s[:, None, None, None]
                b = a.bias.data if a.bias is not None else torch.zeros_like(bn.running_mean)
                conv.bias.data = (b - bn.running_mean) * s + bn.bias
                out.append(conv)
                i += 2
            elif isinstance(a, nn.Sequential):
                out.append(fold(a))
                i += 1
            else:
                out.append(a)
                i += 1
        return nn.Sequential(*out)

    for name in ("e1", "d2", "d3", "d4", "u3", "u2", "u1"):
        setattr(m, name, fold(getattr(m, name)))
    return m


def export_onnx(model: TextSegNet, path: Path, meta: dict) -> None:
    """ONNX opset 17, dynamic batch and width (height fixed); metadata read by the runtime."""
    import onnx

    m = fold_bn(model)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, torch.rand(1, 3, HEIGHT, 96), str(tmp), opset_version=17,
                          dynamo=False, input_names=["crop"], output_names=["logits"],
                          dynamic_axes={"crop": {0: "n", 3: "w"}, "logits": {0: "n", 3: "w"}})
    g = onnx.load(str(tmp))
    tmp.unlink()
    onnx.checker.check_model(g)
    g.producer_name = "seamline training/train_textseg.py"
    g.doc_string = ("seamline-textseg: NCHW float32 sRGB [0, 1] crop of one text line, height "
                    "textseg_height -> NCHW logits (sigmoid = P(text overlay changed the pixel))")
    for k, v in meta.items():
        p = g.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(g, str(path))


# --------------------------------------------------------------------------------------------

def train(*, seed: int, iters: int, images: int, threads: int, out: Path,
          eval_per_style: int, init: str | None = CONFIG["init"]) -> dict:
    cfg = dict(CONFIG, iters=iters, images=images, init=init)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    t_start = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]  # the machine is shared: say how busy
    load_samples = []
    fonts_train, fonts_val = ov.font_paths("train"), ov.font_paths("heldout")
    bgs = train_backgrounds()
    print(f"{len(fonts_train)} train fonts, {len(fonts_val)} validation fonts, "
          f"{len(bgs)} train backgrounds", flush=True)

    X, Y, Wt, tags = make_pool(images, seed, fonts_train, bgs, edge_w=cfg["edge_weight"],
                               neg_share=cfg["neg_share"], edge_neg_share=cfg["edge_neg_share"],
                               rim_share=cfg["rim_share"])
    t_pool = time.perf_counter() - t_start
    print(f"pool: {len(X)} windows ({X.nbytes / 1e6:.0f} MB) in {t_pool:.0f} s", flush=True)

    model = TextSegNet(cfg["widths"])
    n_params = sum(p.numel() for p in model.parameters())
    init_sha = load_init(model, ROOT / init) if init else None
    if init:
        print(f"initialised from {init} (sha256 {init_sha[:12]}), BatchNorm frozen", flush=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg["lr"],
                            weight_decay=1e-4)
    warm = min(200, iters // 10)

    def lr_at(i):
        if i < warm:
            return cfg["lr"] * (i + 1) / warm
        t = (i - warm) / max(1, iters - warm)
        return cfg["lr"] * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    print(f"model: {n_params} parameters, config {cfg}", flush=True)
    rng = np.random.default_rng(seed + 1)
    t0, sums = time.perf_counter(), np.zeros(3)
    for i in range(iters):
        for gr in opt.param_groups:
            gr["lr"] = lr_at(i)
        idx = rng.integers(0, len(X), cfg["batch"])
        xs, ys, ws = zip(*(augment(rng, X[k], Y[k], Wt[k]) for k in idx))
        x = torch.from_numpy(np.stack(xs).astype(np.float32) / 255)
        y = torch.from_numpy(np.stack(ys).astype(np.float32) / 255)[:, None]
        w = torch.from_numpy(np.stack(ws).astype(np.float32))[:, None]
        logit = model(x)
        bce = (F.binary_cross_entropy_with_logits(logit, y, reduction="none") * w).sum() / w.sum()
        p = torch.sigmoid(logit)
        # soft Dice over the batch (crops without text would make a per-crop Dice undefined)
        dice = 1 - (2 * (p * y * w).sum() + 1) / ((p * w).sum() + (y * w).sum() + 1)
        loss = bce + cfg["dice_weight"] * dice
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums += [loss.item(), bce.item(), dice.item()]
        if (i + 1) % 100 == 0:
            el = time.perf_counter() - t0
            print(f"  it {i + 1:5d}  loss {sums[0] / 100:.4f}  bce {sums[1] / 100:.4f}  "
                  f"dice {sums[2] / 100:.4f}  lr {lr_at(i):.2e}  {el:6.0f} s  "
                  f"(eta {el / (i + 1) * (iters - i - 1):.0f} s)  load {os.getloadavg()[0]:.1f}",
                  flush=True)
            load_samples.append(round(os.getloadavg()[0], 2))
            sums[:] = 0
        if (i + 1) % 200 == 0 and i + 1 < iters:
            # A usable model even if a long run is interrupted (threshold not tuned yet).
            out.mkdir(parents=True, exist_ok=True)
            export_onnx(model, out / "seamline-textseg.partial.onnx",
                        {"textseg_height": HEIGHT, "textseg_channels": 3,
                         "textseg_threshold": 0.5, "textseg_version": VERSION + "-partial"})
            model.train()
    t_train = time.perf_counter() - t0

    # Threshold: chosen on a tune set (train fonts, train backgrounds, another seed): the
    # highest F2 (recall weighted 4x precision: a missed pixel costs a visible ghost, an
    # extra one a little inpainting) averaged over styles, among the thresholds that keep the
    # mean precision at MIN_PRECISION (v1's unconstrained F2 picked 0.25 at precision ~0.5).
    model.eval()
    ths = tuple(np.round(np.arange(0.05, 0.91, 0.05), 2))
    tune = score(model, eval_set(seed + 7, fonts_train, bgs, eval_per_style), ths)

    def f2(r):
        return float(np.mean([5 * v["precision"] * v["recall"] /
                              max(4 * v["precision"] + v["recall"], 1e-9) for v in r.values()]))

    def mean_of(r, k):
        return float(np.mean([v[k] for v in r.values()]))

    ok = [t for t in ths if mean_of(tune[t], "precision") >= MIN_PRECISION] or list(ths)
    thr = float(max(ok, key=lambda t: f2(tune[t])))
    val = score(model, eval_set(seed + 13, fonts_val, bgs, eval_per_style), (thr,))[thr]
    for s, v in val.items():
        print(f"  val {s:16s} recall {v['recall']:.3f}  precision {v['precision']:.3f}  "
              f"IoU {v['iou']:.3f}")
    print(f"  threshold {thr} (tune F2 {f2(tune[thr]):.3f}); train {t_train:.0f} s", flush=True)

    out.mkdir(parents=True, exist_ok=True)
    path = out / "seamline-textseg.onnx"
    meta = {"textseg_height": HEIGHT, "textseg_channels": 3, "textseg_threshold": thr,
            "textseg_version": VERSION, "textseg_params": n_params,
            "textseg_arch": f"unet widths {cfg['widths']} dilated bottleneck 2,4",
            "textseg_margin": "0.25*h+10px"}
    export_onnx(model, path, meta)
    log = dict(version=VERSION, seed=seed, threads=threads, params=n_params, config=cfg,
               init_sha256=init_sha, height=HEIGHT, window=WIN, threshold=thr,
               style_weight=STYLE_WEIGHT,
               fonts_train=sorted({ov._family(Path(f)) for f in fonts_train}),
               fonts_validation=sorted({ov._family(Path(f)) for f in fonts_val}),
               font_files_train=len(fonts_train), font_files_validation=len(fonts_val),
               backgrounds=[n for n, _ in bgs], pool_windows=len(X),
               pool_by_style={s: tags.count(s) for s in sorted(set(tags))},
               pool_s=round(t_pool, 1), train_s=round(t_train, 1),
               total_s=round(time.perf_counter() - t_start, 1),
               tune_f2_by_threshold={str(t): round(f2(tune[t]), 4) for t in ths},
               tune_by_threshold={str(t): dict(recall=round(mean_of(tune[t], "recall"), 4),
                                               precision=round(mean_of(tune[t], "precision"), 4))
                                  for t in ths},
               threshold_rule=f"best tune F2 among thresholds with mean precision >= "
                              f"{MIN_PRECISION} (best F2 overall if none)",
               loadavg=dict(start=load_start, during_training=load_samples,
                            end=[round(x, 2) for x in os.getloadavg()]),
               validation=dict(note="train-split backgrounds, held-out font families, "
                                    "detector-like jittered boxes; pixels changed > 2/255",
                               per_style={s: {k: round(float(x), 4) for k, x in v.items()}
                                          for s, v in val.items()}),
               onnx=str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
               onnx_bytes=path.stat().st_size, torch=torch.__version__)
    log_dir = Path(__file__).parent if out.resolve() == MODELS.resolve() else out
    (log_dir / "train_textseg.log.json").write_text(json.dumps(log, indent=2))
    print(f"  wrote {path} ({path.stat().st_size} bytes)", flush=True)
    return log


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--iters", type=int, default=CONFIG["iters"])
    ap.add_argument("--images", type=int, default=CONFIG["images"],
                    help="background images rendered for the training pool")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-per-style", type=int, default=6)
    ap.add_argument("--out", type=Path, default=MODELS)
    ap.add_argument("--init", default=CONFIG["init"],
                    help="exported model to start from (relative to the repository root); "
                         "'none': from scratch")
    args = ap.parse_args(argv)
    train(seed=args.seed, iters=args.iters, images=args.images, threads=args.threads,
          out=args.out, eval_per_style=args.eval_per_style,
          init=None if args.init in ("", "none") else args.init)


if __name__ == "__main__":
    main()
