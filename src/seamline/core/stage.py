"""The stage base class, typed parameters and the context a stage runs in.

A stage implementation is one small class in its own file:

>>> from dataclasses import dataclass
>>> from seamline.core.contracts import PortSpec, StageSpec
>>> class Invert(Stage):
...     id = "invert"
...     spec = StageSpec(inputs={"image": PortSpec("image")},
...                      outputs={"image": PortSpec("image")}, doc="1 - image")
...     @dataclass(frozen=True)
...     class Params:
...         amount: float = 1.0
...     def run(self, ctx, image):
...         return {"image": (1 - self.params.amount * image).clip(0, 1)}

Parameters are a frozen dataclass: their types are checked when a pipeline is loaded (YAML
values and ``--set stage.key=value`` strings alike), and the resolved values go verbatim into
the manifest.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from seamline.core.contracts import StageSpec
from seamline.errors import ConfigError


@dataclass
class StageResult:
    """What a stage returns: its outputs by port, a JSON report, and warnings/notes."""

    outputs: dict[str, Any]
    report: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class StageContext:
    """Run-time context handed to :meth:`Stage.run`.

    Attributes
    ----------
    name : str
        The stage's name in the pipeline (``inpaint``), for messages.
    seed : int
        Per-stage seed derived from the pipeline seed and the stage name, so results do not
        depend on which stages ran before.
    policy : str
        The pipeline policy (``strict``, ``reconcile`` or ``off``); stages that run their own
        checks (preflight) escalate to errors under ``strict``.
    stats : dict
        ``{input port: statistics}`` the runner measured at the handoff (after any adapter),
        including what the port asks for with ``PortSpec(measure=...)``; a stage reads a
        costly one (``graphic``) here instead of computing it again. Empty when a stage is
        called outside the runner.
    """

    name: str
    seed: int
    policy: str
    stats: dict = field(default_factory=dict)

    def stat(self, port: str, name: str):
        """A statistic measured at the handoff of ``port``, or None if it was not."""
        return self.stats.get(port, {}).get(name)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


class Stage:
    """Base class: subclasses set ``id``, ``spec``, ``Params`` and implement :meth:`run`.

    Everything the runner and the batch engine read from a stage class is declared here, with
    a default that does nothing: ``qa``, :meth:`spec_for`, :meth:`check_files`,
    :meth:`cache_token`, :meth:`stand_in` and :meth:`warm_up`. A stage overrides only what it
    needs, and is listed in the registry with :func:`register_stage` (``seamline.stages``
    does it).
    """

    id: ClassVar[str]
    spec: ClassVar[StageSpec]
    version: ClassVar[str] = "1"  # bump when outputs change for the same inputs (cache key)
    #: True for a quality-assurance stage: the runner copies its report into the manifest's
    #: ``qa`` section (and ``Run.qa``).
    qa: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Params:
        pass

    def __init__(self, params: Any = None):
        self.params = params if params is not None else self.Params()

    @classmethod
    def spec_for(cls, params: Any) -> StageSpec:
        """The contract for these parameters. Override when what a stage accepts depends on
        its configuration (an upscaler backend that expects a clean input declares a noise
        limit; a plain resampler does not). Port names and kinds must not change."""
        return cls.spec

    @classmethod
    def check_files(cls, params: Any) -> None:
        """Cheap checks of the files the parameters name (a model: there, readable, of the
        right format by its header), made by the runner's preflight before any stage runs,
        so a missing or corrupt model is a one-line error before the work, not after it.
        Never a full load: that stays in :meth:`run`. Raises a ``SeamlineError`` naming the
        file. Default: nothing."""

    @classmethod
    def cache_token(cls, params: Any) -> str | None:
        """What the cache key must also depend on beyond the parameters and the inputs: the
        identity of files the parameters only name (a model's weights hash, an encoder's
        fingerprint), so a model changed in place is not served from a stale cache."""
        return None

    @classmethod
    def stand_in(cls, params: Any) -> dict[str, Any]:
        """Cheap stand-ins for some of the outputs, made without running the stage.

        The runner's preflight hands each stand-in to the stages wired to it, through the
        same contract checks and adapters as the real output, so a handoff that would fail
        half-way through a run (an embedding from an encoder no map connects) fails before
        anything is written. A stand-in must carry what the checks read (an embedding's
        encoder fingerprint and shape), not real content. Default: none.

        Returns
        -------
        dict of str to object
            ``{output port: artifact}`` for the ports it can stand in for.
        """
        return {}

    @classmethod
    def warm_up(cls, params: Any, *, threads: int | None = None) -> None:
        """Load what the stage needs (models, engines) before the first item, so a batch
        worker's first item does not pay for it. ``threads`` caps the loaded engine's own
        thread pools when it builds them (None: leave its default). Default: nothing."""

    def run(self, ctx: StageContext, **inputs: Any) -> StageResult | dict:
        """Run on the inputs (keyword per wired input port) and return the outputs by port."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# The registry: stage ids -> classes. Filled by ``seamline.stages``; the pipeline loader and
# the runner look stages up here, so the core never imports the stage modules.

#: Registered stage classes by id (``seamline.stages.REGISTRY`` is this same dict).
STAGES: dict[str, type[Stage]] = {}


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Add a stage class to the registry under ``cls.id`` (usable as a class decorator).

    Raises
    ------
    ValueError
        Another class is already registered under the same id.
    """
    known = STAGES.get(cls.id)
    if known is not None and known is not cls:
        raise ValueError(f"stage id {cls.id!r} is already registered ({known.__module__}."
                         f"{known.__qualname__})")
    STAGES[cls.id] = cls
    return cls


def get_stage(stage_id: str) -> type[Stage]:
    """Look a stage class up by id; an unknown id lists the known ones."""
    try:
        return STAGES[stage_id]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown stage {short_repr(stage_id)}; known stages: "
                          f"{', '.join(sorted(STAGES)) or 'none registered'}") from None


def stage_ids() -> list[str]:
    """Ids of the registered stages, sorted."""
    return sorted(STAGES)


# ---------------------------------------------------------------------------------------------
# Parameter parsing


def param_fields(params_cls: type) -> dict[str, tuple[Any, Any]]:
    """``{name: (type, default)}`` for a stage's Params dataclass."""
    hints = typing.get_type_hints(params_cls)
    out = {}
    for f in dataclasses.fields(params_cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out[f.name] = (hints[f.name], default)
    return out


def parse_params(params_cls: type, raw: dict | None, *, where: str) -> Any:
    """Build a stage's Params from a mapping, checking every key and type.

    Parameters
    ----------
    params_cls : type
        The stage's frozen Params dataclass.
    raw : dict or None
        Values from YAML or ``--set`` (already YAML-decoded).
    where : str
        Prefix for error messages, e.g. ``"pipeline.yaml:14: stage 'inpaint'"``.

    Raises
    ------
    ConfigError
        Unknown key (lists the known ones) or a value of the wrong type (shows it).
    """
    raw = dict(raw or {})
    fields = param_fields(params_cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ConfigError(f"{where}: unknown parameter {short_repr(unknown[0])}; known "
                          f"parameters: {known}")
    values = {}
    for key, value in raw.items():
        typ, _ = fields[key]
        values[key] = coerce(value, typ, where=f"{where} parameter {key!r}")
    return params_cls(**values)


def coerce(value: Any, typ: Any, *, where: str) -> Any:
    """Check ``value`` against a type annotation; ints are accepted where floats are expected."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(value, a, where=where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: expected {_type_name(typ)}, got {_show(value)}")
    if origin is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(repr(a) for a in args)
        raise ConfigError(f"{where}: expected one of {choices}, got {_show(value)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {_show(value)}")
        inner = args[0] if args else Any
        return tuple(coerce(v, inner, where=where) for v in value)
    if typ is Any:
        return value
    if typ is bool:
        if isinstance(value, bool):
            return value
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif typ is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{where}: expected {_type_name(typ)}, got {_show(value)}")


def _type_name(typ: Any) -> str:
    args = typing.get_args(typ)
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if typing.get_origin(typ) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    return getattr(typ, "__name__", str(typ))


def _show(value: Any) -> str:
    return f"{type(value).__name__} {short_repr(value)}"


#: Longest value an error message shows: a pipeline file can hold megabytes in one scalar, and
#: an error is one line a person reads.
SHOW_MAX = 80


def short_repr(value: Any, limit: int = SHOW_MAX) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long it was.

    >>> short_repr("x" * 100, limit=10)
    "'xxxxxxxxx... (102 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"
