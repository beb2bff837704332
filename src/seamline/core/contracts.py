"""Stage contracts: what a stage declares about the artifacts it accepts and produces.

A stage declares a frozen :class:`StageSpec`: one :class:`PortSpec` per input and output port.
The runner measures every artifact it hands to a stage (:func:`seamline.core.artifacts.measure`),
turns the receiving port's spec into a list of checks (:func:`port_checks`) and evaluates them.
What happens to a failed check is the pipeline policy's business (see
:func:`seamline.engine.runner.handoff`).

Example
-------
>>> from seamline.core.contracts import PortSpec, Expect
>>> PortSpec("mask", binary=True, max_coverage=0.35, min_component_px=4)   # doctest: +ELLIPSIS
PortSpec(kind='mask', ...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

#: Artifact kinds a port can carry. ``report`` is a JSON-serialisable dict (QA numbers etc.).
KINDS = ("image", "mask", "text-regions", "latents", "embedding", "report")


@dataclass(frozen=True)
class Expect:
    """An expected statistic of an artifact, with its tolerance.

    Parameters
    ----------
    stat : str
        Name of a statistic that :func:`seamline.core.artifacts.measure` reports for the port's kind
        (for example ``"mean"``, ``"coverage"``, ``"noise_sigma"``).
    min, max : float, optional
        Inclusive bounds.
    target, tol : float, optional
        ``abs(value - target) <= tol``. Use either bounds or target/tol.
    severity : {"error", "warn"}
        ``warn`` checks never stop a run, whatever the policy.
    adapter : str, optional
        Id of the adapter (``seamline.core.adapters``) that can bring the statistic into range.
    """

    stat: str
    min: float | None = None
    max: float | None = None
    target: float | None = None
    tol: float | None = None
    severity: str = "error"
    adapter: str | None = None

    def ok(self, value: Any) -> bool:
        if value is None:
            return False
        v = float(value)
        if math.isnan(v):
            return False
        if self.min is not None and v < self.min:
            return False
        if self.max is not None and v > self.max:
            return False
        if self.target is not None and abs(v - self.target) > (self.tol or 0.0):
            return False
        return True

    def describe(self) -> str:
        if self.target is not None:
            return f"{self.target:g} ± {self.tol or 0:g}"
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        return "any"


@dataclass(frozen=True)
class LatentTarget:
    """Per-channel latent statistics a receiving port expects, with tolerances.

    Built from a calibration profile (``seamline calibrate``: the receiving model's VAE
    encodings of real images) by the stage's ``spec_for``. All tuples have one entry per latent
    channel, in the model's scaled latent space (see :class:`seamline.core.artifacts.Latents`).

    Parameters
    ----------
    mean, std : tuple of float
        Target per-channel mean and (population) standard deviation.
    tol_mean, tol_std : tuple of float
        Accepted ``abs(measured - target)`` per channel.
    source : str
        Where the target came from (profile path), for messages.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    tol_mean: tuple[float, ...]
    tol_std: tuple[float, ...]
    source: str = ""

    def __post_init__(self):
        n = len(self.mean)
        if not (len(self.std) == len(self.tol_mean) == len(self.tol_std) == n):
            raise ValueError("LatentTarget: mean, std, tol_mean and tol_std need one entry per "
                             "channel")

    def ok(self, channel_mean, channel_std) -> bool:
        if len(channel_mean) != len(self.mean) or len(channel_std) != len(self.std):
            return False
        return all(abs(m - t) <= tol for m, t, tol in zip(channel_mean, self.mean, self.tol_mean)) \
            and all(abs(v - t) <= tol for v, t, tol in zip(channel_std, self.std, self.tol_std))

    def describe(self) -> str:
        src = f" (profile {self.source})" if self.source else ""
        return (f"per-channel mean {_fmt(self.mean)} ± {_fmt(self.tol_mean)}, std "
                f"{_fmt(self.std)} ± {_fmt(self.tol_std)}{src}")


def _fmt(values) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


class EmbeddingTarget(Protocol):
    """What an embedding port's ``encoder`` must provide: the receiving text-encoder space.

    The core only reads these two methods; the domain that knows encoders builds the object
    (:class:`seamline.translate.target.EncoderTarget`, from a diffusion model's own text
    encoder), as :class:`LatentTarget` is built by the stage from a calibration profile. The
    ``translate`` adapter the rule names reads the rest of it.
    """

    def describe(self) -> str:
        """Expected encoder and shape, as a check's ``expected`` shows them."""
        ...

    def ok(self, stats: dict) -> bool:
        """Whether an embedding's statistics (``encoder`` fingerprint, ``shape``) fit."""
        ...


def _shape(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


def describe_embedding(stats: dict) -> str:
    """How a check shows an incoming embedding: encoder name, id and shape."""
    return (f"encoder {stats.get('encoder_name') or '?'} (id {stats.get('encoder') or 'none'}), "
            f"{_shape(stats.get('shape', ()))}")


#: Producer settings a latent port can expect (``PortSpec.provenance``): the statistic name and
#: the provenance entry it is compared with. ``model`` compares weights hashes when both sides
#: have one, else model ids.
PROVENANCE_KEYS = ("guidance_scale", "scheduler", "model")


@dataclass(frozen=True)
class PortSpec:
    """What a port carries and what it promises or requires.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    size_multiple : int
        Height and width must be multiples of this (8 for latent-grid stages). 1 = any size.
    value_range : (float, float) or None
        Inclusive range of values (images and masks: ``(0, 1)``).
    binary : bool or None
        Masks only. ``True``: values must be exactly 0 or 1. ``False`` or ``None``: soft accepted.
    min_component_px : int or None
        Masks only. Smallest connected component allowed (specks below it confuse inpainters).
    max_coverage : float or None
        Masks only. Largest fraction of the image the mask may cover.
    same_size_as : str or None
        Name of another input port of the same stage whose height and width this one must match.
    expects : tuple of Expect
        Further expected statistics with tolerances.
    optional : bool
        Input ports only: the stage runs without it.
    doc : str
        One line for the docs and the report.
    channels : int or None
        Latents only: the channel count the receiving model works in (rule ``channels``; an
        error no adapter can fix).
    profile : LatentTarget or None
        Latents only: per-channel mean/std the receiver expects (rule ``latent_profile``;
        adapter ``recenter``).
    provenance : tuple of (str, object)
        Latents only: the receiving stage's own settings, compared with what produced the
        latents: ``("guidance_scale", 7.5)``, ``("scheduler", "DDIMScheduler")``,
        ``("model", {"id": ..., "sha256": ...})``. A mismatch is a check of severity
        ``provenance_severity`` with both values in its message.
    provenance_severity : {"warn", "error"}
    encoder : EmbeddingTarget or None
        Embeddings only: the text-encoder space (identity and per-token shape) the receiver
        conditions on (rule ``encoder``; adapter ``translate``, registered by
        ``seamline.translate``, which needs a map in ``encoder.maps``).
    grey : bool
        Images only: the stage also takes a grey image, ``(H, W)`` float32 (layout ``HxW``),
        and works on its one channel (a grey page costs a third of the memory). A grey image
        at a port without it is expanded by the ``to_rgb`` adapter: lossless, so it is applied
        under every policy and recorded like the others.
    measure : tuple of str
        Further statistics (:data:`seamline.core.artifacts.EXTRA_STATS`) measured at the
        handoff and handed to the stage (``ctx.stats``) without a check, so the stage need not
        compute them again (``graphic``).
    """

    kind: str
    size_multiple: int = 1
    value_range: tuple[float, float] | None = None
    binary: bool | None = None
    min_component_px: int | None = None
    max_coverage: float | None = None
    same_size_as: str | None = None
    expects: tuple[Expect, ...] = ()
    optional: bool = False
    doc: str = ""
    channels: int | None = None
    profile: LatentTarget | None = None
    provenance: tuple[tuple[str, Any], ...] = ()
    provenance_severity: str = "warn"
    encoder: EmbeddingTarget | None = None
    grey: bool = False
    measure: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"PortSpec kind {self.kind!r} is not one of {', '.join(KINDS)}")
        for key, _ in self.provenance:
            if key not in PROVENANCE_KEYS:
                raise ValueError(f"PortSpec provenance key {key!r} is not one of "
                                 f"{', '.join(PROVENANCE_KEYS)}")
        if self.provenance_severity not in ("warn", "error"):
            raise ValueError("PortSpec provenance_severity must be 'warn' or 'error'")
        if self.value_range is None and self.kind in ("image", "mask"):
            object.__setattr__(self, "value_range", (0.0, 1.0))


@dataclass(frozen=True)
class StageSpec:
    """A stage's declared ports and needs.

    Parameters
    ----------
    inputs, outputs : dict of str to PortSpec
    requires : tuple of str
        Importable module names the stage needs (checked before the run starts, so a missing
        optional extra is reported up front, not half-way through a pipeline).
    doc : str
    """

    inputs: dict[str, PortSpec]
    outputs: dict[str, PortSpec]
    requires: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Check:
    """One evaluated contract check. ``found``/``expected`` are what a person reads."""

    stat: str
    expected: str
    found: Any
    ok: bool
    severity: str = "error"
    adapter: str | None = None
    lossless: bool = False  #: the adapter only changes the representation (grey -> RGB)

    def to_dict(self) -> dict:
        d = {
            "stat": self.stat,
            "expected": self.expected,
            "found": self.found,
            "ok": self.ok,
            "severity": self.severity,
            "adapter": self.adapter,
        }
        if self.lossless:
            d["lossless"] = True
        return d


@dataclass(frozen=True)
class _Rule:
    stat: str
    expected: str
    ok: Callable[[dict], bool]
    found: Callable[[dict], Any]
    severity: str = "error"
    adapter: str | None = None
    lossless: bool = False


def _rules(port: PortSpec, sizes: dict[str, tuple[int, int]] | None) -> list[_Rule]:
    rules: list[_Rule] = []
    if port.kind in ("image", "mask"):
        rules.append(_Rule("dtype", "float32", lambda s: s["dtype"] == "float32",
                           lambda s: s["dtype"], adapter="to_float32"))
        channels = "HxWx3" if port.kind == "image" else "HxW"
        if port.kind == "image" and port.grey:
            rules.append(_Rule("layout", "HxWx3 or HxW (grey)",
                               lambda s: s["layout"] in ("HxWx3", "HxW"),
                               lambda s: s["layout"]))
        elif port.kind == "image":  # grey is RGB with R = G = B: expanding loses nothing
            rules.append(_Rule("layout", channels, lambda s: s["layout"] == channels,
                               lambda s: s["layout"], adapter="to_rgb",
                               lossless=True))
        else:
            rules.append(_Rule("layout", channels, lambda s: s["layout"] == channels,
                               lambda s: s["layout"]))
        rules.append(_Rule("finite", "no NaN/inf", lambda s: s["nonfinite"] == 0,
                           lambda s: f"{s['nonfinite']} non-finite values"))
        lo, hi = port.value_range
        rules.append(_Rule("range", f"in [{lo:g}, {hi:g}]",
                           lambda s: s["min"] >= lo and s["max"] <= hi,
                           lambda s: f"[{s['min']:.4g}, {s['max']:.4g}]", adapter="clip"))
    if port.kind == "latents":
        rules += _latent_rules(port)
    if port.kind == "embedding":
        rules.append(_Rule("finite", "no NaN/inf", lambda s: s["nonfinite"] == 0,
                           lambda s: f"{s['nonfinite']} non-finite values"))
        if port.encoder is not None:
            t = port.encoder
            rules.append(_Rule("encoder", t.describe(), t.ok, describe_embedding,
                               adapter="translate"))
    if port.size_multiple > 1:
        m = port.size_multiple
        rules.append(_Rule("size_multiple", f"height and width multiples of {m}",
                           lambda s: s["height"] % m == 0 and s["width"] % m == 0,
                           lambda s: f"{s['width']}x{s['height']}", adapter="pad_to_multiple"))
    if port.same_size_as and sizes and port.same_size_as in sizes:
        ref_h, ref_w = sizes[port.same_size_as]
        rules.append(_Rule("size", f"{ref_w}x{ref_h} (same as '{port.same_size_as}')",
                           lambda s: (s["height"], s["width"]) == (ref_h, ref_w),
                           lambda s: f"{s['width']}x{s['height']}"))
    if port.kind == "mask":
        if port.binary:
            rules.append(_Rule("binary", "values exactly 0 or 1", lambda s: s["soft_fraction"] == 0,
                               lambda s: f"{s['soft_fraction']:.4f} of pixels soft",
                               adapter="binarize"))
        if port.min_component_px:
            n = port.min_component_px
            rules.append(_Rule("min_component_px", f">= {n}",
                               lambda s: s["n_components"] == 0 or s["min_component_px"] >= n,
                               lambda s: s["min_component_px"], adapter="remove_specks"))
        if port.max_coverage is not None:
            c = port.max_coverage
            rules.append(_Rule("coverage", f"<= {c:g}", lambda s: s["coverage"] <= c,
                               lambda s: round(s["coverage"], 4)))
    for e in port.expects:
        rules.append(_Rule(e.stat, e.describe(), lambda s, e=e: e.ok(s.get(e.stat)),
                           lambda s, e=e: s.get(e.stat), severity=e.severity, adapter=e.adapter))
    return rules


def _latent_rules(port: PortSpec) -> list[_Rule]:
    rules = [_Rule("layout", "CxHxW", lambda s: s["layout"] == "CxHxW", lambda s: s["layout"]),
             _Rule("finite", "no NaN/inf", lambda s: s["nonfinite"] == 0,
                   lambda s: f"{s['nonfinite']} non-finite values")]
    if port.channels is not None:
        c = port.channels
        rules.append(_Rule("channels", f"{c} latent channels", lambda s: s["channels"] == c,
                           lambda s: s["channels"]))
    if port.profile is not None:
        t = port.profile
        rules.append(_Rule("latent_profile", t.describe(),
                           lambda s: t.ok(s["channel_mean"], s["channel_std"]),
                           lambda s: f"mean {_fmt(s['channel_mean'])}, std "
                                     f"{_fmt(s['channel_std'])}",
                           adapter="recenter"))
    for key, want in port.provenance:
        rules.append(_Rule(key, _describe_setting(key, want, "this stage's"),
                           lambda s, k=key, w=want: provenance_matches(k, w, s["provenance"]),
                           lambda s, k=key: _describe_setting(
                               k, _producer_value(k, s["provenance"]), "the producer's"),
                           severity=port.provenance_severity))
    return rules


def _producer_value(key: str, prov: dict) -> Any:
    if key == "model":
        if prov.get("model") is None and prov.get("weights_sha256") is None:
            return None
        return {"id": prov.get("model"), "sha256": prov.get("weights_sha256")}
    return prov.get(key)


def provenance_matches(key: str, expected: Any, prov: dict) -> bool:
    """Whether the producer's recorded ``key`` agrees with the receiving stage's ``expected``.

    Missing provenance never matches: a receiver that declares what it expects cannot vouch for
    latents that do not say where they came from.
    """
    found = _producer_value(key, prov)
    if found is None:
        return False
    if key == "guidance_scale":
        return math.isclose(float(found), float(expected), rel_tol=1e-9, abs_tol=1e-9)
    if key == "model":
        a, b = expected.get("sha256"), found.get("sha256")
        if a and b:
            return a == b
        return expected.get("id") == found.get("id")
    return str(found) == str(expected)


def _describe_setting(key: str, value: Any, whose: str) -> str:
    if value is None:
        return f"not recorded ({whose})"
    if key == "model":
        sha = value.get("sha256")
        return f"{value.get('id')}" + (f" (weights sha256 {sha[:12]})" if sha else "") + \
            f" ({whose})"
    if key == "guidance_scale":
        return f"{float(value):g} ({whose})"
    return f"{value} ({whose})"


def port_checks(port: PortSpec, stats: dict, *, sizes: dict[str, tuple[int, int]] | None = None
                ) -> list[Check]:
    """Evaluate a port's contract against measured statistics.

    Parameters
    ----------
    port : PortSpec
        The receiving port.
    stats : dict
        Output of :func:`seamline.core.artifacts.measure` for the artifact.
    sizes : dict of str to (int, int), optional
        ``(height, width)`` of the stage's other inputs, for ``same_size_as``.

    Returns
    -------
    list of Check
        One per rule, passed or not. Structural failures (wrong layout) short-circuit the
        statistics that would be meaningless after them.
    """
    checks = []
    for rule in _rules(port, sizes):
        try:
            ok = bool(rule.ok(stats))
            found = rule.found(stats)
        except (KeyError, TypeError):
            ok, found = False, "not measurable"
        adapter, lossless = rule.adapter, rule.lossless
        if lossless and found != "HxW":  # to_rgb expands grey; nothing fixes other layouts
            adapter, lossless = None, False
        checks.append(Check(rule.stat, rule.expected, _jsonable(found), ok, rule.severity,
                            adapter, lossless))
        if not ok and rule.stat in ("layout", "finite", "channels"):
            break
    return checks


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value
