"""Train the seamline-sr x2 / x4 super-resolution networks and export them to ONNX.

Run by hand (never at import or test time), from the repository root::

    .venv/bin/python training/train_sr.py --scale 2 4

Needs the ``train`` extra (torch, onnx; matplotlib for its sample photos). Each run is
deterministic for a given seed and thread count and writes
``src/seamline/models/seamline-sr-x{scale}.onnx`` plus ``training/train_sr_x{scale}.log.json``.

Training data (all offline, nothing is downloaded):

* scikit-image's grayscale photos: camera, moon, coins, page, text, clock, cell;
* matplotlib's sample data: grace_hopper.jpg (colour), the s1045 MRI slice and a hill-shaded
  rendering of the Jacksboro fault elevation model;
* each of these also area-downscaled to 0.8, 0.65 and 0.5 of its size;
* procedural images made here: anti-aliased random shapes, strokes and text on gradients,
  coloured 1/f noise fields, gratings and rotated checkers.

Grayscale photos are colourised on the fly (random colour maps, colour regions whose borders
follow another image, unequal per-channel gammas) so the network sees colour edges without
ever seeing a colour photo from the evaluation set. 30 % of the ground-truth patches are
softened with a small Gaussian first, so soft edges stay soft.

HELD OUT, never trained on (only scored at the end of a run, for the log): scikit-image's
colour photos (astronaut, coffee, chelsea/cat, rocket, stereo_motorcycle, retina,
hubble_deep_field, immunohistochemistry) and textures (brick, grass, gravel).

Degradation: antialiased downscale by the model's factor, cv2 INTER_AREA (80 %) or PIL's
antialiased bicubic (20 %). L1 loss, Adam, warm-up then cosine decay.
"""

from __future__ import annotations

import os

# Shared, oversubscribed CPUs: spinning OpenMP workers starve each other (measured 2-5x slower
# steps), so idle threads sleep instead. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "seamline" / "models"

# Per-scale defaults: width, body convs, colour mode, LR patch side, batch, iterations. Sized
# for <= ~15 min on two shared cores and for inference speed (x2 on 512x512 in < 1 s).
CONFIGS = {
    2: dict(channels=24, body=4, colour="luma", patch=32, batch=16, iters=3000),
    4: dict(channels=24, body=5, colour="luma", patch=32, batch=16, iters=3000),
}
SKIP_KERNEL = 9  # linear skip path (Lanczos-4 at init); 9 taps cover its support at x2, x4


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

def lanczos4(x: np.ndarray) -> np.ndarray:
    """Lanczos kernel with a = 4, as OpenCV's INTER_LANCZOS4 (8 taps)."""
    return np.where(np.abs(x) < 4, np.sinc(x) * np.sinc(x / 4), 0.0)


def phase_taps(scale: int, k: int = SKIP_KERNEL) -> np.ndarray:
    """(scale, k) 1-D Lanczos-4 taps for each output phase of a half-pixel-centred upscale.

    Output pixel ``s*i + p`` samples the input at ``i + (p + 0.5)/s - 0.5``; the taps sit at
    offsets ``-(k//2) .. k//2`` around ``i``, normalised to sum 1 like OpenCV's, so interior
    pixels match ``cv2.resize(..., interpolation=cv2.INTER_LANCZOS4)``.
    """
    offs = np.arange(k) - k // 2
    taps = np.stack([lanczos4(offs - ((p + 0.5) / scale - 0.5)) for p in range(scale)])
    return taps / taps.sum(axis=1, keepdims=True)


class SRNet(nn.Module):
    """ESPCN-style network at input resolution, predicting a residual over a linear upscale.

    ``y = pixel_shuffle(skip(x) + tail(body(head(x))))``: ``skip`` is a learnable 9x9
    polyphase filter initialised to Lanczos-4 (training starts at the stronger classic
    baseline and can learn the best linear inverse of the degradation), the nonlinear branch
    (3x3 convs, ReLU) starts at zero. Everything runs at input resolution until the final
    pixel shuffle, which keeps inference cheap; there is no Resize op (ONNX Runtime's cubic
    Resize alone takes longer than this whole network).

    ``colour="luma"``: the skip filter is shared by R, G and B and the branch predicts one
    residual added to all three, so it adds luminance detail and leaves the differences
    between channels (R-G, B-G) to the linear path: gray stays exactly gray and the network
    cannot invent colour. ``colour="rgb"``: a residual per
    channel.

    Training uses reflect padding: with zero padding a 32 px patch has a dark frame whose
    repair eats capacity and gradients (bicubic alone is ~1.5x worse in L1 on such patches).
    The exported copy uses zero padding, which is cheaper; at run time ``seamline.ops.upscale.sr`` gives
    every tile ``overlap`` >= radius px of real or mirrored context and discards the outputs
    the padding touches, so the choice never shows.
    """

    def __init__(self, scale: int, channels: int, body: int, padding_mode: str = "reflect",
                 colour: str = "luma"):
        super().__init__()
        s2 = scale * scale
        self.scale, self.colour = scale, colour
        conv = lambda i, o, k: nn.Conv2d(i, o, k, padding=k // 2,  # noqa: E731
                                         padding_mode=padding_mode)
        self.skip = conv(1, s2, SKIP_KERNEL) if colour == "luma" else conv(3, 3 * s2, SKIP_KERNEL)
        self.head = conv(3, channels, 3)
        self.body = nn.ModuleList(conv(channels, channels, 3) for _ in range(body))
        self.tail = conv(channels, s2 if colour == "luma" else 3 * s2, 3)
        with torch.no_grad():
            # He init keeps activations at the input's scale through the ReLU stack; PyTorch's
            # default shrinks them ~2.5x per layer and the branch then barely trains.
            for c in (self.head, *self.body):
                nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
                c.bias.zero_()
            taps = torch.from_numpy(phase_taps(scale)).float()
            w = torch.zeros_like(self.skip.weight)
            for c in range(self.skip.in_channels):
                for py in range(scale):
                    for px in range(scale):
                        # pixel_shuffle maps channel c*s*s + py*s + px to out[c, s*i+py, s*j+px]
                        w[c * s2 + py * scale + px, c] = torch.outer(taps[py], taps[px])
            self.skip.weight.copy_(w)
            self.skip.bias.zero_()
            self.tail.weight.zero_()  # starts as exactly Lanczos-4
            self.tail.bias.zero_()

    @property
    def radius(self) -> int:
        """Receptive radius in input pixels: how far a tile border corrupts the output."""
        return max(SKIP_KERNEL // 2, len(self.body) + 2)

    def forward(self, x):
        n, _, h, w = x.shape
        s2 = self.scale * self.scale
        f = F.relu(self.head(x - 0.5))
        for conv in self.body:
            f = F.relu(conv(f))
        res = self.tail(f)
        if self.colour == "luma":
            base = self.skip(x.reshape(n * 3, 1, h, w)).reshape(n, 3, s2, h, w)
            out = (base + res.reshape(n, 1, s2, h, w)).reshape(n, 3 * s2, h, w)
        else:
            out = self.skip(x) + res
        return F.pixel_shuffle(out, self.scale)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def _unit(a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    lo, hi = np.percentile(a, 0.1), np.percentile(a, 99.9)
    return np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1).astype(np.float32)


def training_photos() -> list[tuple[str, np.ndarray]]:
    """Real photos allowed for training: (name, HxW gray or HxWx3 colour float32 [0, 1])."""
    from skimage import data

    photos = [(n, getattr(data, n)().astype(np.float32) / 255)
              for n in ("camera", "moon", "coins", "page", "text", "clock", "cell")]
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            hopper = np.asarray(Image.open(fh).convert("RGB"), np.float32) / 255
        # Area-downscaled by 0.75 so JPEG blocking is not learnt as detail.
        h, w = hopper.shape[:2]
        photos.append(("grace_hopper", cv2.resize(hopper, (w * 3 // 4, h * 3 // 4),
                                                  interpolation=cv2.INTER_AREA)))
        with cbook.get_sample_data("s1045.ima.gz") as fh:
            mri = np.frombuffer(fh.read(), np.uint16).reshape(256, 256)
        photos.append(("s1045_mri", _unit(mri)))
        dem = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)
        gy, gx = np.gradient(dem)
        # Lambertian hill shade, light from the north-west.
        shade = (1 - 0.7 * gx + 0.7 * gy) / np.sqrt(1 + gx ** 2 + gy ** 2)
        photos.append(("jacksboro_hillshade", _unit(shade)))
    except ImportError:  # matplotlib is optional (bench extra)
        pass
    return photos


def _lut(rng, n=None) -> np.ndarray:
    """A random piecewise-linear colour map: (256, 3) float32."""
    n = n or int(rng.integers(2, 6))
    xs = np.concatenate([[0], np.sort(rng.uniform(0, 1, n - 2)), [1]])
    cs = rng.uniform(0, 1, (n, 3))
    if rng.random() < 0.5:  # mostly increasing luminance, like real scenes
        cs = cs[np.argsort(cs @ [0.299, 0.587, 0.114])]
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, xs, cs[:, c]) for c in range(3)], 1).astype(np.float32)


def _apply_lut(g: np.ndarray, lut: np.ndarray) -> np.ndarray:
    idx = g * 255
    i0 = np.clip(idx.astype(np.int32), 0, 254)
    f = (idx - i0)[..., None]
    return lut[i0] * (1 - f) + lut[i0 + 1] * f


def colourise(g: np.ndarray, other: np.ndarray, rng) -> np.ndarray:
    """Turn a gray patch into a colour one; ``other`` is a second gray patch (same shape)."""
    r = rng.random()
    if r < 0.2:
        return np.repeat(g[..., None], 3, 2)
    if r < 0.55:
        out = _apply_lut(g, _lut(rng))
    elif r < 0.85:
        # Colour regions whose borders follow a second image, not this one's edges.
        sigma = rng.uniform(1, 6)
        m = cv2.GaussianBlur(other, (0, 0), sigma)
        m = np.clip((m - np.median(m)) * rng.uniform(3, 15) + 0.5, 0, 1)[..., None]
        out = _apply_lut(g, _lut(rng)) * m + _apply_lut(g, _lut(rng)) * (1 - m)
    else:
        # Per-channel gamma and gain: correlated but unequal channels.
        gam = rng.uniform(0.5, 2.0, 3)
        out = np.stack([g ** gam[c] for c in range(3)], -1) * rng.uniform(0.6, 1, 3)
    sat = rng.uniform(0.3, 1)  # partial desaturation
    return (out * sat + g[..., None] * (1 - sat)).astype(np.float32)


def shapes(n: int, rng) -> np.ndarray:
    """Anti-aliased random shapes, lines and text on a gradient (4x supersampled)."""
    ss = 4
    # uint8 canvas: cv2 blends LINE_AA edges itself there, ~20x faster than float layers; the
    # 4x area downscale then averages 16 levels per pixel, so quantisation is not learnt.
    big = cv2.resize(np.round(gradient(n, rng) * 255).astype(np.uint8), (n * ss, n * ss),
                     interpolation=cv2.INTER_LINEAR)
    for _ in range(int(rng.integers(3, 25))):
        a = 1.0 if rng.random() < 0.7 else float(rng.uniform(0.3, 0.9))
        layer = big if a == 1.0 else big.copy()
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 5)
        c = tuple(int(v) for v in rng.integers(0, n * ss, 2))
        if kind == 0:
            cv2.circle(layer, c, int(rng.integers(2, n * ss // 2)), col, -1, cv2.LINE_AA)
        elif kind == 1:
            axes = tuple(int(v) for v in rng.integers(2, n * ss // 2, 2))
            cv2.ellipse(layer, c, axes, float(rng.uniform(0, 180)), 0, 360, col, -1, cv2.LINE_AA)
        elif kind == 2:
            pts = rng.integers(-n * ss // 4, n * ss * 5 // 4, (int(rng.integers(3, 7)), 2))
            cv2.fillPoly(layer, [pts.astype(np.int32)], col, cv2.LINE_AA)
        elif kind == 3:
            p2 = tuple(int(v) for v in rng.integers(0, n * ss, 2))
            cv2.line(layer, c, p2, col, int(rng.integers(1, 4 * ss)), cv2.LINE_AA)
        else:
            txt = "".join(chr(int(v)) for v in rng.integers(33, 123, int(rng.integers(2, 8))))
            cv2.putText(layer, txt, c, int(rng.integers(0, 8)), float(rng.uniform(0.5, 4)) * ss / 2,
                        col, int(rng.integers(1, 3 * ss)), cv2.LINE_AA)
        if a < 1.0:
            big = cv2.addWeighted(layer, a, big, 1 - a, 0)
    return cv2.resize(big, (n, n), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def gradient(n: int, rng) -> np.ndarray:
    """Linear or radial blend between two random colours."""
    yy, xx = np.mgrid[:n, :n].astype(np.float32) / n
    if rng.random() < 0.5:
        th = rng.uniform(0, 2 * np.pi)
        t = np.cos(th) * xx + np.sin(th) * yy
    else:
        t = np.hypot(xx - rng.uniform(0, 1), yy - rng.uniform(0, 1))
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    a, b = rng.uniform(0, 1, (2, 3)).astype(np.float32)
    return (a * (1 - t[..., None]) + b * t[..., None]).astype(np.float32)


def noise_field(n: int, rng) -> np.ndarray:
    """1/f^beta noise, channels partly correlated, optionally through a colour map."""
    beta = rng.uniform(1.2, 3.0)
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    amp = np.hypot(fy, fx)
    amp[0, 0] = 1
    amp = amp ** (-beta / 2)

    def field():
        spec = (rng.standard_normal((n, n // 2 + 1)) + 1j * rng.standard_normal((n, n // 2 + 1)))
        return np.fft.irfft2(spec * amp, s=(n, n))

    base = field()
    if rng.random() < 0.5:
        return _apply_lut(_unit(base), _lut(rng))
    mix = rng.uniform(0, 0.6)
    return np.stack([_unit(base + mix * field()) for _ in range(3)], -1)


def pattern(n: int, rng) -> np.ndarray:
    """Sums of gratings, or a rotated checker/stripe pattern (4x supersampled)."""
    if rng.random() < 0.5:
        yy, xx = np.mgrid[:n, :n].astype(np.float32)
        g = np.zeros((n, n), np.float32)
        for _ in range(int(rng.integers(1, 4))):
            th, f = rng.uniform(0, np.pi), rng.uniform(0.01, 0.35)
            g += np.sin(2 * np.pi * f * (np.cos(th) * xx + np.sin(th) * yy) + rng.uniform(0, 7))
        g = _unit(g)
    else:
        ss = 4
        yy, xx = np.mgrid[:n * ss, :n * ss].astype(np.float32) / ss
        th, p = rng.uniform(0, np.pi), rng.uniform(2, 16)
        u, v = np.cos(th) * xx + np.sin(th) * yy, -np.sin(th) * xx + np.cos(th) * yy
        g = (np.floor(u / p) % 2).astype(np.float32)
        if rng.random() < 0.5:
            g = (g + np.floor(v / p)) % 2
        g = cv2.resize(g.astype(np.float32), (n, n), interpolation=cv2.INTER_AREA)
    a, b = rng.uniform(0, 1, (2, 3)).astype(np.float32)
    return (a * (1 - g[..., None]) + b * g[..., None]).astype(np.float32)


class PatchSampler:
    """Draws (LR, HR) training pairs; everything from one numpy Generator (deterministic)."""

    # Photos are also used area-downscaled, for more (and sharper) content per pixel.
    RESCALES = (1.0, 0.8, 0.65, 0.5)
    # Share of each content kind, and of each degradation.
    MIX = dict(photo=0.9, shapes=0.05, noise=0.03, pattern=0.02)
    DEGRADE = dict(area=0.8, bicubic=0.2)
    # Share of ground-truth patches softened first: soft edges exist in real photos and must
    # not all be "restored" into hard ones (without it the x2 net lost 1 dB to Lanczos on
    # scikit-image's soft brick texture; with it, it gains 0.6 dB).
    SOFTEN = 0.3

    def __init__(self, scale: int, patch: int, seed: int):
        self.scale, self.lr = scale, patch
        self.hr = patch * scale
        self.rng = np.random.default_rng(seed)
        self.photos = []
        for name, img in training_photos():
            for f in self.RESCALES:
                h, w = img.shape[:2]
                small = img if f == 1 else cv2.resize(img, (round(w * f), round(h * f)),
                                                       interpolation=cv2.INTER_AREA)
                if min(small.shape[:2]) >= self.hr:
                    self.photos.append((name, small))

    def _gray_crop(self):
        while True:
            _, img = self.photos[self.rng.integers(len(self.photos))]
            if img.ndim == 2:
                break
        return self._crop(img)

    def _crop(self, img):
        y = self.rng.integers(0, img.shape[0] - self.hr + 1)
        x = self.rng.integers(0, img.shape[1] - self.hr + 1)
        return img[y:y + self.hr, x:x + self.hr]

    def hr_patch(self) -> np.ndarray:
        rng, n = self.rng, self.hr
        kind = rng.choice(list(self.MIX), p=list(self.MIX.values()))
        if kind == "photo":
            _, img = self.photos[rng.integers(len(self.photos))]
            p = self._crop(img)
            if p.ndim == 2:
                p = colourise(p, self._gray_crop(), rng)
        else:
            p = {"shapes": shapes, "noise": noise_field, "pattern": pattern}[kind](n, rng)
        if rng.random() < self.SOFTEN:
            p = cv2.GaussianBlur(p, (0, 0), rng.uniform(0.3, 1.2) * self.scale / 2)
        p = np.rot90(p, int(rng.integers(4)))
        if rng.random() < 0.5:
            p = p[:, ::-1]
        return np.ascontiguousarray(np.clip(p, 0, 1), dtype=np.float32)

    def degrade(self, hr: np.ndarray) -> np.ndarray:
        n = self.lr
        kind = self.rng.choice(list(self.DEGRADE), p=list(self.DEGRADE.values()))
        if kind == "area":
            return cv2.resize(hr, (n, n), interpolation=cv2.INTER_AREA)
        # PIL's bicubic widens its kernel by the factor: antialiased, sharper than area.
        return np.stack([np.asarray(Image.fromarray(hr[..., c], "F").resize(
            (n, n), Image.Resampling.BICUBIC)) for c in range(3)], -1)

    def batch(self, size: int):
        hrs = [self.hr_patch() for _ in range(size)]
        lrs = [np.clip(self.degrade(h), 0, 1) for h in hrs]
        t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
        return t(lrs), t(hrs)


# --------------------------------------------------------------------------------------------
# Evaluation on the held-out set (reporting only; never used to pick steps or weights)
# --------------------------------------------------------------------------------------------

def held_out() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    out = [(n, getattr(data, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket",
                                             "retina", "hubble_deep_field",
                                             "immunohistochemistry", "brick", "grass", "gravel")]
    out.append(("stereo_motorcycle", data.stereo_motorcycle()[0]))
    res = []
    for name, a in out:
        a = a.astype(np.float32) / 255
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, 2)
        res.append((name, a))
    return res


def psnr(a, b) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2)))


@torch.no_grad()
def evaluate(model: SRNet, scale: int) -> dict:
    """PSNR of model vs Lanczos on area-downscaled held-out photos (centre crops)."""
    model.eval()
    rows = {}
    for name, img in held_out():
        # Centre crop to at most 512 px a side (quick), a multiple of the scale.
        h, w = (min(d, 512) // scale * scale for d in img.shape[:2])
        y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        hr = img[y:y + h, x:x + w]
        lr = cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
        pad = model.radius
        x = torch.from_numpy(np.pad(lr, ((pad, pad), (pad, pad), (0, 0)), mode="reflect"))
        y = model(x.permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        sr = np.clip(y[pad * scale:pad * scale + h, pad * scale:pad * scale + w], 0, 1)
        lz = np.clip(cv2.resize(lr, (w, h), interpolation=cv2.INTER_LANCZOS4), 0, 1)
        rows[name] = (psnr(sr, hr), psnr(lz, hr))
    model.train()
    return rows


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def export_onnx(model: SRNet, path: Path, meta: dict) -> None:
    """ONNX, opset 17, dynamic batch/height/width; metadata read by seamline.ops.upscale.sr."""
    import onnx

    trained = model
    model = SRNet(trained.scale, trained.head.out_channels, len(trained.body), "zeros",
                  trained.colour)
    model.load_state_dict(trained.state_dict())
    model.eval()
    tmp = path.with_suffix(".tmp.onnx")
    # The TorchScript exporter (dynamo=False) needs only the onnx package; the dynamo one would
    # add onnxscript for a graph of plain convs. It warns that it is deprecated: expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, torch.rand(1, 3, 32, 32), str(tmp), opset_version=17,
                          dynamo=False, input_names=["image"], output_names=["upscaled"],
                          dynamic_axes={"image": {0: "n", 2: "h", 3: "w"},
                                        "upscaled": {0: "n", 2: "sh", 3: "sw"}})
    m = onnx.load(str(tmp))
    tmp.unlink()
    onnx.checker.check_model(m)
    m.producer_name = "seamline training/train_sr.py"
    m.doc_string = ("seamline-sr: NCHW float32 sRGB [0, 1] -> NCHW upscaled (not clipped); "
                    "input/output in the model's metadata")
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(m, str(path))


# --------------------------------------------------------------------------------------------

def train(scale: int, *, seed: int, iters: int | None, threads: int, out: Path,
          lr_max: float = 2e-3) -> dict:
    cfg = dict(CONFIGS[scale])
    if iters:
        cfg["iters"] = iters
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = SRNet(scale, cfg["channels"], cfg["body"], colour=cfg["colour"])
    n_params = sum(p.numel() for p in model.parameters())
    sampler = PatchSampler(scale, cfg["patch"], seed)
    # The linear skip starts at Lanczos, a good answer: a 10x smaller step keeps Adam's
    # early, sign-like updates from wrecking it.
    branch = [p for n, p in model.named_parameters() if not n.startswith("skip.")]
    opt = torch.optim.Adam([dict(params=branch, lr=lr_max, mult=1.0),
                            dict(params=model.skip.parameters(), lr=lr_max, mult=0.1)])
    warm = 100

    def lr_at(i):  # linear warm-up, cosine decay to 1 % of the peak
        if i < warm:
            return lr_max * (i + 1) / warm
        t = (i - warm) / max(1, cfg["iters"] - warm)
        return lr_max * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))

    print(f"x{scale}: {n_params} parameters, {len(sampler.photos)} photo sources, {cfg}",
          flush=True)
    t0, cpu0, sums = time.perf_counter(), time.process_time(), np.zeros(2)
    for i in range(cfg["iters"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(i) * g["mult"]
        lr_b, hr_b = sampler.batch(cfg["batch"])
        loss = F.l1_loss(model(lr_b), hr_b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # progress measure: L1 relative to plain bicubic on this batch
            base = F.l1_loss(F.interpolate(lr_b, scale_factor=scale, mode="bicubic",
                                           align_corners=False), hr_b)
        sums += np.array([loss.item(), base.item()])
        if (i + 1) % 100 == 0:
            print(f"  it {i + 1:5d}  L1 {sums[0] / 100:.5f}  vs bicubic {sums[0] / sums[1]:.4f}  "
                  f"lr {lr_at(i):.2e}  {time.perf_counter() - t0:6.0f} s", flush=True)
            sums[:] = 0
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    scores = evaluate(model, scale)
    gain = float(np.mean([a - b for a, b in scores.values()]))
    for name, (a, b) in scores.items():
        print(f"  {name:22s} sr {a:6.2f}  lanczos {b:6.2f}  gain {a - b:+.2f}")
    print(f"  mean gain over Lanczos: {gain:+.3f} dB; train {wall:.0f} s wall, {cpu:.0f} s CPU")

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"seamline-sr-x{scale}.onnx"
    meta = {"seamline_sr_scale": scale, "seamline_sr_radius": model.radius,
            "seamline_sr_min_side": 8, "seamline_sr_params": n_params,
            "seamline_sr_arch": (f"espcn-residual c{cfg['channels']} body{cfg['body']} "
                                 f"{cfg['colour']}")}
    export_onnx(model, path, meta)
    log = dict(scale=scale, seed=seed, threads=threads, params=n_params, config=cfg,
               train_wall_s=round(wall, 1), train_cpu_s=round(cpu, 1),
               heldout_psnr_sr_vs_lanczos={k: [round(a, 3), round(b, 3)]
                                           for k, (a, b) in scores.items()},
               mean_gain_db=round(gain, 3),
               onnx=str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
               onnx_bytes=path.stat().st_size, torch=torch.__version__)
    # The log of a release run sits beside this script; trial runs keep theirs with their model.
    log_dir = Path(__file__).parent if out.resolve() == MODELS.resolve() else out
    (log_dir / f"train_sr_x{scale}.log.json").write_text(json.dumps(log, indent=2))
    print(f"  wrote {path} ({path.stat().st_size} bytes)")
    return log


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, choices=sorted(CONFIGS), nargs="+", default=[2, 4])
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--iters", type=int, default=None, help="override the per-scale default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=MODELS)
    args = ap.parse_args(argv)
    for s in args.scale:
        train(s, seed=args.seed, iters=args.iters, threads=args.threads, out=args.out)


if __name__ == "__main__":
    main()
