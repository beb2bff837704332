"""What the runner knows about each artifact kind: how to measure and fingerprint it.

Only the runner moves artifacts between stages, and it does so through these functions, so a
new kind (latents, embeddings) is added here once and every pipeline can carry it. Writing
artifacts to a run directory and reading them back is :mod:`seamline.engine.store`'s. A domain
adds what only it knows with :func:`register_stat` (costly statistics a contract can ask for)
and :func:`register_codec` (a kind whose value is not plain JSON).

Kinds and their in-memory values
--------------------------------
image         numpy HxWx3 float32 sRGB in [0, 1]; or HxW float32, a grey image (R = G = B),
              where the producing code keeps one channel and the receiving port takes grey
              (``PortSpec(grey=True)``; elsewhere the runner expands it with ``to_rgb``)
mask          numpy HxW float32 in [0, 1], 1 = edit
text-regions  list of :class:`seamline.ops.text.TextRegion` (codec registered by ops)
latents       :class:`Latents`: numpy (C, h, w) float32 in a model's *scaled* latent space, with
              the provenance of whatever produced it (model, weights hash, scheduler...)
embedding     :class:`Embedding`: numpy float32 ``(tokens, dim)`` or ``(dim,)``, with metadata
report        JSON-serialisable dict
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from seamline.core.arrays import row_strips
from seamline.core.atomic import write_text_atomic


@dataclass(frozen=True, eq=False)
class Latents:
    """Latents with their producer attached: what a diffusion stage hands to the next one.

    Parameters
    ----------
    data : (C, h, w) float32 ndarray
        In the producing model's **scaled** latent space, the space the UNet denoises and the
        one diffusers pipelines take as ``latents=`` or as an img2img ``image=``:
        ``z = scaling_factor * (vae_posterior_sample - shift_factor)`` (``shift_factor`` is
        0/None for the Stable Diffusion family). Decode with ``vae.decode(z / scaling_factor
        + shift_factor)``. ``h, w`` are the image size divided by the VAE factor.
    provenance : dict
        JSON-serialisable record of everything that shaped ``data``: ``model``,
        ``weights_sha256``, ``scaling_factor``, ``shift_factor``, ``scheduler`` (class name),
        ``scheduler_config``, ``steps``, ``guidance_scale``, ``seed``, ``height``, ``width``,
        ``task``... (see :func:`seamline.diffusion.latent_provenance`).
    """

    data: np.ndarray
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        a = np.asarray(self.data)
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        object.__setattr__(self, "data", a)
        object.__setattr__(self, "provenance", dict(self.provenance or {}))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def replace(self, data: np.ndarray | None = None, **provenance: Any) -> "Latents":
        """A copy with new data and/or provenance entries added (the original is untouched)."""
        return Latents(self.data if data is None else data, {**self.provenance, **provenance})


@dataclass(frozen=True, eq=False)
class Embedding:
    """A prompt embedding with metadata (which encoder, which prompt, pooled or per token).

    Parameters
    ----------
    data : float32 ndarray, ``(tokens, dim)`` or ``(dim,)``
    metadata : dict
        JSON-serialisable. The keys seamline reads: ``encoder`` (the encoder's fingerprint,
        :attr:`seamline.translate.Encoder.id`), ``encoder_name``, ``pooling``, ``prompt``;
        ``translated_from`` (set by the ``translate`` adapter: the source encoder and map).
    """

    data: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        a = np.asarray(self.data)
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        object.__setattr__(self, "data", a)
        object.__setattr__(self, "metadata", dict(self.metadata or {}))


#: Provenance entries copied into the latents' measured statistics (and so into every handoff
#: record and the manifest's output stats); the full record travels with the artifact.
PROVENANCE_SUMMARY = ("model", "weights_sha256", "task", "scheduler", "steps", "guidance_scale",
                      "seed", "height", "width", "scaling_factor", "shift_factor", "strength")


#: Statistics that cost more than a pass over the pixels: measured only when a receiving
#: port's contract asks for them (``Expect(stat=...)``), then recorded like the others.
#: ``{kind: {stat name: function(value) -> float}}``, filled by :func:`register_stat`
#: (``seamline.ops.handoffs`` registers ``noise_sigma`` and ``blockiness`` for images).
EXTRA_STATS: dict[str, dict[str, Callable[..., Any]]] = {}
#: ``{(kind, name): names}``: the statistics a registered one is computed from (passed to its
#: function after the value, measured first and recorded too), so a costly intermediate such
#: as ``graphic`` is measured once per artifact however many statistics need it.
STAT_USES: dict[tuple[str, str], tuple[str, ...]] = {}


def register_stat(kind: str, name: str, fn: Callable[..., Any], *,
                  uses: tuple[str, ...] = ()) -> None:
    """Register an on-demand statistic ``name`` of artifacts of ``kind`` (see :func:`measure`).

    ``fn(value, *[stats[u] for u in uses])``: the statistics named in ``uses`` (registered
    ones) are measured first, once, and handed over.
    """
    table = EXTRA_STATS.setdefault(kind, {})
    if table.get(name, fn) is not fn or STAT_USES.get((kind, name), tuple(uses)) != tuple(uses):
        raise ValueError(f"statistic {name!r} of {kind} artifacts is already registered")
    table[name] = fn
    STAT_USES[(kind, name)] = tuple(uses)


@dataclass(frozen=True)
class Codec:
    """How a JSON-stored artifact kind turns into JSON and back (``text-regions``: a list of
    :class:`seamline.ops.text.TextRegion` <-> a list of dicts)."""

    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]


#: Codecs of the kinds whose in-memory value is not plain JSON, by kind. Filled by
#: :func:`register_codec` (``seamline.ops.handoffs`` registers ``text-regions``).
CODECS: dict[str, Codec] = {}


def register_codec(kind: str, to_json: Callable[[Any], Any],
                   from_json: Callable[[Any], Any]) -> None:
    """Register how artifacts of ``kind`` are written as JSON and read back."""
    codec = Codec(to_json, from_json)
    if CODECS.get(kind, codec) != codec:
        raise ValueError(f"a codec for {kind} artifacts is already registered")
    CODECS[kind] = codec


def measure(kind: str, value: Any, *, extra: tuple[str, ...] | set[str] = (),
            known: dict | None = None) -> dict:
    """Statistics of an artifact, as the contracts and the manifest use them.

    Parameters
    ----------
    kind : str
        Artifact kind (see module docstring).
    value : object
        The artifact.
    extra : iterable of str
        Names from :data:`EXTRA_STATS` to measure as well (``noise_sigma``, ``blockiness``,
        ``graphic``), with those they use (:data:`STAT_USES`).
    known : dict, optional
        Statistics of this same value measured before (an earlier call's result): only what
        ``extra`` adds is measured.

    Returns
    -------
    dict
        JSON-serialisable. For images and masks: ``dtype``, ``layout`` (``"HxWx3"``, ``"HxW"``
        or the shape found), ``height``, ``width``, ``nonfinite``, ``min``, ``max``, ``mean``.
        Images add ``channel_mean`` (one entry for a grey image) and ``std``. Masks add
        ``coverage`` (fraction of pixels >= 0.5), ``soft_fraction`` (fraction strictly
        between 0 and 1), ``n_components`` and ``min_component_px`` (8-connected components
        of pixels > 0).
    """
    if kind in ("image", "mask"):
        stats = dict(known) if known is not None else _measure_array(kind, value)
        if stats.get("layout") in ("HxWx3", "HxW"):
            for name in sorted(extra):  # sorted: the same record whatever the set's order
                _measure_extra(kind, name, value, stats)
        return stats
    if kind == "text-regions":
        return {"count": len(value)}
    if kind == "report":
        return {"keys": len(value)}
    if kind == "latents":
        return _measure_latents(value)
    if kind == "embedding":
        return _measure_embedding(value)
    return {}


def _measure_extra(kind: str, name: str, value: Any, stats: dict) -> None:
    """``stats[name]``, measuring the statistics it uses first (each once)."""
    fn = EXTRA_STATS.get(kind, {}).get(name)
    if fn is None or name in stats:
        return
    uses = STAT_USES.get((kind, name), ())
    for u in uses:
        _measure_extra(kind, u, value, stats)
    stats[name] = fn(value, *[stats.get(u) for u in uses])


def _measure_latents(value: Any) -> dict:
    """Latent statistics: ``layout`` ("CxHxW" or the shape found), ``channels``, ``height``,
    ``width`` (latent cells), ``dtype``, ``nonfinite``, per-channel ``channel_mean`` and
    ``channel_std`` (population std, lists of float), and ``provenance``: the summary entries
    of :data:`PROVENANCE_SUMMARY` the producer recorded."""
    data = value.data if isinstance(value, Latents) else np.asarray(value)
    prov = value.provenance if isinstance(value, Latents) else {}
    layout = "CxHxW" if data.ndim == 3 else ("x".join(str(s) for s in data.shape) or "scalar")
    stats: dict[str, Any] = {"dtype": str(data.dtype), "layout": layout,
                             "channels": int(data.shape[0]) if data.ndim == 3 else 0,
                             "height": int(data.shape[1]) if data.ndim == 3 else 0,
                             "width": int(data.shape[2]) if data.ndim == 3 else 0}
    if data.ndim != 3 or data.size == 0 or not np.issubdtype(data.dtype, np.floating):
        stats.update(nonfinite=0, channel_mean=[], channel_std=[])
    else:
        flat = data.reshape(data.shape[0], -1).astype(np.float64)
        finite = np.isfinite(flat)
        stats["nonfinite"] = int(flat.size - np.count_nonzero(finite))
        flat = np.where(finite, flat, 0.0)
        stats["channel_mean"] = [round(float(m), 6) for m in flat.mean(axis=1)]
        stats["channel_std"] = [round(float(v), 6) for v in flat.std(axis=1)]
    stats["provenance"] = {k: prov[k] for k in PROVENANCE_SUMMARY if k in prov}
    return stats


def _measure_embedding(value: Any) -> dict:
    data = value.data if isinstance(value, Embedding) else np.asarray(value)
    meta = value.metadata if isinstance(value, Embedding) else {}
    layout = {1: "D", 2: "TxD"}.get(data.ndim, "x".join(str(s) for s in data.shape))
    stats: dict[str, Any] = {"dtype": str(data.dtype), "layout": layout,
                             "tokens": int(data.shape[0]) if data.ndim == 2 else 1,
                             "dim": int(data.shape[-1]) if data.ndim in (1, 2) else 0}
    if data.ndim in (1, 2) and data.size and np.issubdtype(data.dtype, np.floating):
        rows = data.reshape(-1, data.shape[-1]).astype(np.float64)
        finite = np.isfinite(rows)
        stats["nonfinite"] = int(rows.size - np.count_nonzero(finite))
        stats["mean_norm"] = float(np.linalg.norm(np.where(finite, rows, 0.0), axis=1).mean())
    else:
        stats["nonfinite"] = 0
    stats["shape"] = [int(v) for v in data.shape]
    for key in ("encoder", "encoder_name", "pooling"):
        if key in meta:
            stats[key] = meta[key]
    if "translated_from" in meta:
        stats["translated_from"] = meta["translated_from"].get("encoder_name")
    return stats


def _measure_array(kind: str, a: Any) -> dict:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 3:
        layout = "HxWx3"
    elif a.ndim == 2:
        layout = "HxW"
    else:
        layout = "x".join(str(s) for s in a.shape) or "scalar"
    stats: dict[str, Any] = {"dtype": str(a.dtype), "layout": layout,
                             "height": int(a.shape[0]) if a.ndim >= 2 else 0,
                             "width": int(a.shape[1]) if a.ndim >= 2 else 0}
    if a.size == 0 or not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
        stats.update(nonfinite=0, min=float("nan"), max=float("nan"), mean=float("nan"))
        return stats
    nonfinite = 0
    if np.issubdtype(a.dtype, np.floating):  # counted strip by strip: no full-size bool copy
        nonfinite = sum(int(s.size - np.count_nonzero(np.isfinite(s))) for s in _strips(a))
    af = a.astype(np.float32, copy=False)
    if nonfinite:
        af = np.where(np.isfinite(a), af, 0.0)
    stats.update(nonfinite=nonfinite, min=float(af.min()), max=float(af.max()),
                 mean=float(af.mean()))
    if kind == "image" and layout == "HxWx3" and not nonfinite and af.flags.c_contiguous \
            and af.dtype == np.float32:
        # per-channel means and spreads in float64, one pass, no copy (numpy's mean along
        # axis 0 runs a sequential float32 sum: 22 ms at 1024x768 and ~1e-5 off; the float64
        # strips of _std 15 ms); the whole image's spread from the channels' (law of total
        # variance about the image's mean)
        cm, cs = (v.ravel() for v in cv2.meanStdDev(af))
        stats["channel_mean"] = [round(float(m), 6) for m in cm]
        stats["std"] = float(np.sqrt(np.mean(cs ** 2 + (cm - stats["mean"]) ** 2)))
    elif kind == "image" and layout == "HxWx3":  # a view (a grey page shown as RGB), or
        # values to zero first: numpy, float64 sums in its small buffers, strip by strip
        stats["channel_mean"] = [round(float(m), 6)
                                 for m in af.reshape(-1, 3).mean(axis=0, dtype=np.float64)]
        stats["std"] = _std(af, stats["mean"])
    elif kind == "image" and layout == "HxW":  # grey: its one channel
        stats["channel_mean"] = [round(stats["mean"], 6)]
        stats["std"] = _std(af, stats["mean"])
    if kind == "mask" and layout == "HxW":
        # strip by strip, and the components on the crop around the support: a caption on a
        # 100 MP frame costs what it costs on a small one (no full-size label image)
        stats["coverage"] = sum(np.count_nonzero(s >= 0.5) for s in _strips(af)) / af.size
        stats["soft_fraction"] = sum(np.count_nonzero((s > 0) & (s < 1))
                                     for s in _strips(af)) / af.size
        rows = np.flatnonzero(np.concatenate([(s > 0).any(axis=1) for s in _strips(af)])) \
            if stats["max"] > 0 else []
        crop = af[:0, :0]
        if len(rows):
            cols = np.flatnonzero((af[rows[0]:rows[-1] + 1] > 0).any(axis=0))
            crop = af[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        n, _, cc_stats, _ = cv2.connectedComponentsWithStats((crop > 0).astype(np.uint8), 8) \
            if crop.size else (1, None, np.zeros((1, 5), np.int32), None)
        areas = cc_stats[1:, cv2.CC_STAT_AREA]
        stats["n_components"] = int(n - 1)
        stats["min_component_px"] = int(areas.min()) if len(areas) else 0
    return stats


def _strips(a: np.ndarray):
    """Views of ``a`` along its first axis, about ``2**20`` values each (:func:`row_strips`)."""
    return (a[s] for s in row_strips(a))


def _std(a: np.ndarray, mean: float) -> float:
    """Population standard deviation about ``mean``, in float64 strip by strip (numpy's
    ``a.std()`` makes a full-size float copy: 0.6 GB for a 50 MP image)."""
    total = 0.0
    for s in _strips(a):
        d = s.astype(np.float64).ravel() - mean
        total += float(d @ d)
    return float(np.sqrt(total / a.size))


def digest(kind: str, value: Any) -> str:
    """Content hash of an artifact (sha256 hex, 16 chars): the runner's cache key material."""
    h = hashlib.sha256(kind.encode())
    if kind in ("image", "mask"):
        a = np.asarray(value)
        h.update(f"{a.dtype}{a.shape}".encode())
        if a.flags.c_contiguous:
            h.update(a.data)  # the buffer itself: no full-size bytes copy
        else:  # a view (a grey page shown as RGB): the same bytes, a few rows at a time
            step = max(1, (1 << 22) // max(1, a[:1].nbytes))
            for i in range(0, a.shape[0], step):
                h.update(np.ascontiguousarray(a[i:i + step]).data)
    elif kind in ("latents", "embedding"):
        data, meta = array_and_meta(kind, value)
        a = np.ascontiguousarray(data)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.data)
        h.update(json.dumps(meta, sort_keys=True, default=json_default).encode())
    else:
        h.update(json.dumps(to_jsonable(kind, value), sort_keys=True).encode())
    return h.hexdigest()[:16]


def array_and_meta(kind: str, value: Any) -> tuple[np.ndarray, dict]:
    if isinstance(value, Latents):
        return value.data, value.provenance
    if isinstance(value, Embedding):
        return value.data, value.metadata
    return np.asarray(value, dtype=np.float32), {}


def to_jsonable(kind: str, value: Any) -> Any:
    """The JSON form of an artifact of a JSON-stored kind (its registered codec's, if any)."""
    codec = CODECS.get(kind)
    return codec.to_json(value) if codec is not None else value


def from_jsonable(kind: str, data: Any) -> Any:
    """Inverse of :func:`to_jsonable`."""
    codec = CODECS.get(kind)
    return codec.from_json(data) if codec is not None else data


def json_default(o: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars/arrays and paths; anything else raises."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (UTF-8; :mod:`seamline.core.atomic`), numpy values converted."""
    write_text_atomic(path, json.dumps(data, indent=1, default=json_default))
