"""Pipelines as data: a YAML spec, validated up front, with errors that name the line and key.

A pipeline file::

    pipeline: remove-text          # name
    description: detect text, build a glyph mask, inpaint, QA
    policy: reconcile              # strict | reconcile | off  (what a failed handoff check does)
    seed: 0
    inputs: {image: image}         # pipeline inputs by name -> kind; `image` comes from -i
    stages:
      - name: detect               # unique within the pipeline
        stage: detect-text         # registry id (``seamline stages`` lists them)
        inputs: {image: input.image}
        params: {min_score: 0.5}
      - name: inpaint
        stage: inpaint
        inputs: {image: input.image, mask: detect.mask}
        policy: strict             # optional per-stage override
    output: inpaint.image          # what the run returns and writes

A domain can add top-level keys and rewrite the stage list with a registered
:class:`SpecTransform` (:func:`register_spec_transform`): ``consistency: true`` is one,
registered by :mod:`seamline.translate.consistency`, which inserts an ``encode-prompt``
stage before every stage with a ``prompt_embedding`` port.

Everything is checked when the file is loaded: unknown keys, unknown stage ids, parameter
types, wiring (each input refers to ``input.NAME`` or an output port of an earlier stage, with
a matching kind) and required ports. Stages run in the order listed.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

from seamline.core.stage import get_stage, parse_params
from seamline.core.stage import short_repr as _short
from seamline.errors import ConfigError, InputError

POLICIES = ("strict", "reconcile", "off")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_CORE_KEYS = ("pipeline", "description", "policy", "seed", "inputs", "stages", "output")
_STAGE_KEYS = ("name", "stage", "inputs", "params", "policy")


@dataclass(frozen=True)
class StageDecl:
    """One stage of a pipeline, resolved: its registry class, typed params and wiring."""

    name: str
    stage_id: str
    params: Any
    inputs: dict[str, str]
    policy: str | None = None
    line: int = 0

    def params_dict(self) -> dict:
        return dataclasses.asdict(self.params)


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline. ``raw`` is the document as written, for the manifest."""

    name: str
    description: str
    policy: str
    seed: int
    inputs: dict[str, str]
    stages: tuple[StageDecl, ...]
    output: str
    source: str
    raw: dict
    #: What registered spec transforms resolved (``consistency``, ``prompt_encoder``,
    #: ``translation_maps``...), also readable as attributes: ``spec.consistency``.
    extensions: dict = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        ext = self.__dict__.get("extensions") or {}
        if name in ext:
            return ext[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def stage(self, name: str) -> StageDecl:
        for s in self.stages:
            if s.name == name:
                return s
        raise ConfigError(f"{self.source}: no stage named {name!r}; stages: "
                          f"{', '.join(s.name for s in self.stages)}")

    def index(self, name: str) -> int:
        return self.stages.index(self.stage(name))


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class _LineMap(dict):
    """A dict that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict


class _Refused(yaml.MarkedYAMLError):
    """A YAML feature pipeline files do not allow (reported like a syntax error, with a line)."""


class _LineLoader(yaml.SafeLoader):
    """SafeLoader with line numbers, YAML 1.2 booleans (only true/false), and no aliases.

    YAML 1.1 reads ``policy: off`` as ``False`` and ``yes``/``no``/``on`` as booleans too,
    which would turn a policy name into a type error.

    Anchors and aliases are refused where the composer meets them, before anything is
    expanded: nested aliases ("billion laughs") turn a few hundred bytes into gigabytes of
    parameters, description and error text. A pipeline has no need to repeat a value by
    reference.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            raise _Refused(problem=f"YAML {kind}{_short(event.anchor, 40)[1:-1]}: anchors and "
                                   "aliases are not allowed in pipeline files (write the value "
                                   "out)", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                  re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineMap:
    loader.flatten_mapping(node)
    m = _LineMap()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:  # `? [a, b]: 1`: a list or mapping as a key
            what = "mapping" if isinstance(key, dict) else type(key).__name__
            raise ConfigError(f"line {key_node.start_mark.line + 1}: a key must be a plain "
                              f"value, got a {what}") from None
        if key in m:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {_short(key)}")
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[key] = key_node.start_mark.line + 1
    return m


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def key_line(m: Any, key: str | None = None) -> int:
    """Line (1-based) of ``key`` in a mapping parsed by :func:`parse_yaml_text` (of the mapping
    itself without ``key``); 0 when unknown (a document built in code)."""
    if isinstance(m, _LineMap):
        return m.key_lines.get(key, m.line) if key is not None else m.line
    return 0


def parse_yaml_text(text: str, *, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)
    except ConfigError as e:
        msg = str(e)
        if msg.startswith("line "):  # "line N: ..." -> "source:N: ..."
            msg = msg[len("line "):]
            raise ConfigError(f"{source}:{msg}") from None
        raise ConfigError(f"{source}: {msg}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


# ---------------------------------------------------------------------------------------------
# Spec transforms: how a domain adds top-level keys and stages without the core knowing it


class SpecTransform:
    """A pipeline-file extension: top-level keys and a rewrite of the stage list.

    A subclass is registered once (:func:`register_spec_transform`) and instantiated for each
    document :func:`spec_from_dict` validates, after the core keys and before the stages:
    ``__init__`` checks its own keys (raising ``err(line, message)``), then :meth:`stage`
    sees each stage once its parameters and wiring are valid and may change them and insert
    stages before it; :meth:`finish` checks the whole and returns what the
    :class:`PipelineSpec` exposes (``spec.NAME``).

    Parameters
    ----------
    doc : dict
        The document as parsed (:func:`key_line` finds a key's line in it).
    err : callable
        ``err(line, message) -> ConfigError``, prefixed with the file and line.
    """

    #: Top-level keys this transform owns (the core rejects keys nobody owns).
    keys: tuple[str, ...] = ()

    def __init__(self, doc: dict, err: Callable[[int, str], ConfigError]):
        self.doc, self.err = doc, err

    def claims(self, name: str) -> str | None:
        """Why a stage may not be called ``name`` (a name this transform gave a stage it
        inserted), completing "stage 'x' ..."; None when it may."""
        return None

    def stage(self, name: str, cls: type, params: Any, wiring: dict[str, str],
              available: dict[str, dict[str, str]], line: int
              ) -> tuple[Any, dict[str, str], list[StageDecl]]:
        """``(params, wiring, stages to insert before this one)`` for stage ``name``.

        ``available`` maps earlier stage names to ``{port: kind}`` (read-only); the core adds
        the inserted stages' outputs to it.
        """
        return params, wiring, []

    def finish(self, decls: list[StageDecl]) -> dict[str, Any]:
        """Check the resolved stage list; return ``{attribute: value}`` for the spec."""
        return {}

    @classmethod
    def override_hint(cls, name: str, names: list[str], raw: dict) -> str | None:
        """Why an override ``NAME.key=...`` cannot work when ``NAME`` is not a stage of ``raw``
        (it is one this transform inserts); completes "sets: KEY: 'NAME' ..."."""
        return None


#: Registered spec transforms by name, in registration order.
SPEC_TRANSFORMS: dict[str, type[SpecTransform]] = {}


def register_spec_transform(name: str, transform: type[SpecTransform]) -> None:
    """Register a :class:`SpecTransform` subclass; its keys must be new.

    Raises
    ------
    ValueError
        A key is already a core key or another transform's.
    """
    if SPEC_TRANSFORMS.get(name) is transform:
        return
    taken = set(_CORE_KEYS) | {k for t in SPEC_TRANSFORMS.values() for k in t.keys}
    clash = sorted(taken & set(transform.keys))
    if name in SPEC_TRANSFORMS or clash:
        raise ValueError(f"spec transform {name!r}: name or keys already taken "
                         f"({', '.join(clash) or name})")
    SPEC_TRANSFORMS[name] = transform


# ---------------------------------------------------------------------------------------------
# Validation


def load_spec(path: str | Path) -> PipelineSpec:
    """Read and validate a pipeline YAML file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: pipeline file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a pipeline YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read pipeline file ({e.__class__.__name__})") from None
    return spec_from_text(text, source=str(p))


def builtin_names() -> list[str]:
    return sorted(f.name[:-5] for f in resources.files("seamline.pipelines").iterdir()
                  if f.name.endswith(".yaml"))


def builtin_spec(name: str) -> PipelineSpec:
    """A pipeline shipped with seamline (``remove-text``...)."""
    if name not in builtin_names():
        raise ConfigError(f"unknown built-in pipeline {_short(name)}; built-ins: "
                          f"{', '.join(builtin_names())}")
    text = resources.files("seamline.pipelines").joinpath(f"{name}.yaml").read_text()
    # parsed once per text (~9 ms of YAML a call: every seamline.remove_text() asks), then
    # validated afresh on a copy, so no two specs share a mutable document
    return spec_from_dict(copy.deepcopy(_parsed_builtin(text, f"builtin:{name}")),
                          source=f"builtin:{name}")


@functools.lru_cache(maxsize=16)
def _parsed_builtin(text: str, source: str) -> Any:
    return parse_yaml_text(text, source=source)


def spec_from_text(text: str, *, source: str = "<pipeline>") -> PipelineSpec:
    doc = parse_yaml_text(text, source=source)
    return spec_from_dict(doc, source=source)


def spec_from_dict(doc: Any, *, source: str = "<pipeline>") -> PipelineSpec:
    """Validate a pipeline document (as parsed from YAML) and resolve it."""
    def err(line: int, msg: str) -> ConfigError:
        return ConfigError(f"{source}:{line}: {msg}" if line else f"{source}: {msg}")

    top_keys = _CORE_KEYS + tuple(k for t in SPEC_TRANSFORMS.values() for k in t.keys)
    if not isinstance(doc, dict):
        raise err(0, "a pipeline must be a mapping with keys " + ", ".join(top_keys))
    for key in doc:
        if key not in top_keys:
            raise err(key_line(doc, key), f"unknown key {_short(key)}; allowed: "
                                          f"{', '.join(top_keys)}")
    for key in ("pipeline", "stages", "output"):
        if key not in doc:
            raise err(key_line(doc), f"missing key {_short(key)}")
    name = doc["pipeline"]
    if not isinstance(name, str) or not name:
        raise err(key_line(doc, "pipeline"), f"pipeline: expected a name, got {_short(name)}")
    policy = doc.get("policy", "reconcile")
    if policy not in POLICIES:
        raise err(key_line(doc, "policy"), f"policy: expected one of {', '.join(POLICIES)}, "
                                        f"got {_short(policy)}")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise err(key_line(doc, "seed"), f"seed: expected an integer, got {_short(seed)}")
    inputs = doc.get("inputs", {"image": "image"})
    if not isinstance(inputs, dict):
        raise err(key_line(doc, "inputs"), "inputs: expected a mapping of name: kind ({} for a "
                                        "pipeline that starts from nothing, e.g. generate)")
    for k, kind in inputs.items():
        if kind not in ("image", "mask"):
            raise err(key_line(inputs, k), f"inputs.{k}: pipeline inputs can be 'image' or 'mask', "
                                        f"got {_short(kind)}")
        if kind == "mask" and "image" not in inputs:
            raise err(key_line(inputs, k), f"inputs.{k}: a mask input needs the 'image' input "
                                        "(it is sized and checked against it)")
    stages_doc = doc["stages"]
    if not isinstance(stages_doc, list) or not stages_doc:
        raise err(key_line(doc, "stages"), "stages: expected a non-empty list")
    transforms = [t(doc, err) for t in SPEC_TRANSFORMS.values()]

    # name -> {port: kind}, for wiring checks
    available: dict[str, dict[str, str]] = {"input": dict(inputs)}
    decls = []
    for i, sd in enumerate(stages_doc):
        where = f"stages[{i}]"
        if not isinstance(sd, dict):
            raise err(key_line(stages_doc), f"{where}: expected a mapping with keys "
                                         f"{', '.join(_STAGE_KEYS)}")
        ln = key_line(sd)
        for key in sd:
            if key not in _STAGE_KEYS:
                raise err(key_line(sd, key), f"{where}: unknown key {_short(key)}; allowed: "
                                          f"{', '.join(_STAGE_KEYS)}")
        for key in ("name", "stage"):
            if key not in sd:
                raise err(ln, f"{where}: missing key {_short(key)}")
        sname = sd["name"]
        if not isinstance(sname, str) or not _NAME_RE.match(sname) or sname == "input":
            raise err(key_line(sd, "name"), f"{where}.name: {_short(sname)} is not a valid "
                                            "stage name (lowercase letters, digits, '-', '_'; "
                                            "not 'input')")
        for t in transforms:
            clash = t.claims(sname)
            if clash:
                raise err(key_line(sd, "name"), f"{where}.name: {_short(sname)} {clash}; "
                                                "rename this stage")
        if sname in available:
            raise err(key_line(sd, "name"), f"{where}.name: duplicate stage name {_short(sname)}")
        where = f"stage '{sname}'"
        try:
            cls = get_stage(sd["stage"])
        except ConfigError as e:
            raise err(key_line(sd, "stage"), f"{where}: {e}") from None
        params_doc = sd.get("params") or {}
        if not isinstance(params_doc, dict):
            raise err(key_line(sd, "params"), f"{where}.params: expected a mapping")
        try:
            params = parse_params(cls.Params, params_doc, where=where)
        except ConfigError as e:
            bad = next((k for k in params_doc if repr(k) in str(e)), None)
            raise err(key_line(params_doc, bad) or key_line(sd, "params"), str(e)) from None
        spolicy = sd.get("policy")
        if spolicy is not None and spolicy not in POLICIES:
            raise err(key_line(sd, "policy"), f"{where}.policy: expected one of "
                                           f"{', '.join(POLICIES)}, got {_short(spolicy)}")
        wiring = sd.get("inputs") or {}
        if not isinstance(wiring, dict):
            raise err(key_line(sd, "inputs"), f"{where}.inputs: expected a mapping port: source")
        for port, ref in wiring.items():
            pl = key_line(wiring, port)
            if port not in cls.spec.inputs:
                raise err(pl, f"{where}.inputs: stage {_short(cls.id)} has no input port "
                              f"{_short(port)}; "
                              f"ports: {', '.join(cls.spec.inputs)}")
            kind = _resolve_ref(ref, available, err, pl, f"{where}.inputs.{port}")
            want = cls.spec.inputs[port].kind
            if kind != want:
                raise err(pl, f"{where}.inputs.{port}: {_short(ref)} carries {kind}, port "
                              f"{_short(port)} "
                              f"expects {want}")
        for port, pspec in cls.spec.inputs.items():
            if port not in wiring and not pspec.optional:
                raise err(ln, f"{where}.inputs: required port {_short(port)} is not wired")
        for t in transforms:
            params, wiring, added = t.stage(sname, cls, params, wiring, available, ln)
            for decl in added:
                available[decl.name] = {p: ps.kind for p, ps in
                                        get_stage(decl.stage_id).spec.outputs.items()}
                decls.append(decl)
        available[sname] = {p: ps.kind for p, ps in cls.spec.outputs.items()}
        decls.append(StageDecl(sname, cls.id, params, dict(wiring), spolicy, ln))

    output = doc["output"]
    kind = _resolve_ref(output, available, err, key_line(doc, "output"), "output")
    if kind != "image":
        raise err(key_line(doc, "output"), f"output: {_short(output)} carries {kind}; the pipeline "
                                        "output must be an image")
    extensions = {}
    for t in transforms:
        extensions.update(t.finish(decls))
    return PipelineSpec(name=name, description=str(doc.get("description", "")), policy=policy,
                        seed=seed, inputs=dict(inputs), stages=tuple(decls), output=output,
                        source=source, raw=_plain(doc), extensions=extensions)


def _resolve_ref(ref: Any, available: dict, err, line: int, where: str) -> str:
    if not isinstance(ref, str) or ref.count(".") != 1:
        raise err(line, f"{where}: expected 'stage.port' or 'input.name', got {_short(ref)}")
    src, port = ref.split(".")
    if src not in available:
        raise err(line, f"{where}: {_short(ref)} refers to {_short(src)}, which is not an "
                        "earlier stage "
                        f"(available: {', '.join(available)})")
    if port not in available[src]:
        raise err(line, f"{where}: {_short(src)} has no output {_short(port)}; outputs: "
                        f"{', '.join(available[src])}")
    return available[src][port]


def _plain(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_plain(v) for v in o]
    return o


def apply_overrides(spec: PipelineSpec, sets: list[str] | dict[str, Any]) -> PipelineSpec:
    """Return a new spec with ``stage.key=value`` overrides applied and re-validated.

    Parameters
    ----------
    sets : list of str or dict
        ``["inpaint.radius=5"]`` (values YAML-decoded, so ``5`` is an int and ``ns`` a string)
        or ``{"inpaint.radius": 5}``.

    Raises
    ------
    ConfigError
        ``sets: KEY: ...``, naming this argument (the command line shows it as ``--set KEY``).
    """
    if isinstance(sets, dict):
        items = list(sets.items())
    else:
        items = []
        for s in sets:
            if "=" not in s:
                raise ConfigError(f"sets: {_short(s)}: expected STAGE.KEY=VALUE")
            k, v = s.split("=", 1)
            try:
                items.append((k.strip(), yaml.load(v, Loader=_LineLoader) if v.strip() else ""))
            except yaml.YAMLError:
                items.append((k.strip(), v))
            except ConfigError as e:  # `{[a]: 1}`: a key YAML cannot hash
                raise ConfigError(f"sets: {_short(s)}: {e}") from None
    raw = _plain(spec.raw)
    names = [s["name"] for s in raw["stages"]]
    for key, value in items:
        if key.count(".") != 1:
            raise ConfigError(f"sets: {key}: expected STAGE.KEY=VALUE")
        sname, param = key.split(".")
        if sname not in names:
            for t in SPEC_TRANSFORMS.values():
                hint = t.override_hint(sname, names, raw)
                if hint:
                    raise ConfigError(f"sets: {key}: {_short(sname)} {hint}")
        if sname not in names:
            raise ConfigError(f"sets: {key}: no stage named {_short(sname)}; stages: "
                              f"{', '.join(names)}")
        sd = raw["stages"][names.index(sname)]
        sd.setdefault("params", {})
        if sd["params"] is None:
            sd["params"] = {}
        sd["params"][param] = value
    try:
        return spec_from_dict(raw, source=spec.source)
    except ConfigError as e:
        # line numbers refer to the file, not the overridden document: say it was an override
        raise ConfigError(f"sets: {str(e).removeprefix(spec.source + ': ')}") from None
