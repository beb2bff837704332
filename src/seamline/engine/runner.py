"""The runner: the only code that moves artifacts between stages.

For each stage, in order, the runner

1. takes each wired input artifact, measures it, checks it against the receiving port's
   contract and applies the policy (``strict``: stop with a :class:`ContractError` naming stage,
   port, statistic, expected and found; ``reconcile``: insert the adapter the failed check
   names; ``off``: pass it through) — recording every check and adapter with numbers;
2. computes a content-hash cache key (stage id and version, resolved params, input digests)
   and reuses a stored result from the run directory when the key matches and every stored
   file still hashes to the digest recorded with it (:func:`seamline.engine.store.load_cached`);
3. otherwise runs the stage, saves every output (``stages/NN-name/``) and its cache record.

At the end it writes the output image (alpha from the input put back untouched) and
``manifest.json``: versions, platform, input hash, every stage's resolved config, seed,
timings, handoff checks, adapters, QA and warnings.

It sits above the stages, not in the core: it reads and writes image files
(:mod:`seamline.io`), looks stages up in the registry :mod:`seamline.stages` fills, and writes
the report (:mod:`seamline.reporting`); see :mod:`seamline.engine`. What it knows about
domains comes from what they registered (adapters, statistics, stage hooks such as
:meth:`seamline.core.stage.Stage.stand_in`), never from stage ids. (It is over 600 lines
because the run loop, the handoff checks and the manifest share one record of each artifact.)
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import seamline.stages  # noqa: F401  (fills the stage registry and the domains' adapters)
from seamline._version import __version__
from seamline.engine.progress import progress_bar
from seamline.core import artifacts
from seamline.core.adapters import get_adapter
from seamline.core.arrays import as_image, as_mask
from seamline.core.contracts import PortSpec, port_checks
from seamline.core.heap import bound_heap, trim_heap
from seamline.core.pipeline import PipelineSpec, StageDecl
from seamline.core.stage import StageContext, StageResult, get_stage
from seamline.engine import store
from seamline.engine.memo import ArtifactMemo
from seamline.errors import ConfigError, ContractError, InputError, SeamlineError
from seamline.io import (ImageFile, check_output_path, file_sha256, load_image, load_mask,
                         read_image, write_image)
from seamline.reporting.report import write_report

#: Packages whose versions go into every manifest.
MANIFEST_PACKAGES = ("numpy", "scipy", "scikit-image", "opencv-contrib-python-headless",
                     "opencv-python-headless", "pillow", "onnxruntime", "rapidocr", "pyyaml",
                     "torch", "diffusers", "ray")


@dataclass
class StageRun:
    """What one stage did in a run.

    Attributes
    ----------
    outputs : dict
        Output artifacts by port name (values in the conventions of ``seamline.core.artifacts``).
    report : dict
        The stage's own numbers (mask report, preflight, QA...).
    handoffs : list of dict
        One record per input port: source, statistics, checks, adapters applied.
    cached : bool
        True when the result was reused from the run directory's cache.
    """

    name: str
    stage_id: str
    params: dict
    seed: int
    outputs: dict[str, Any]
    report: dict
    warnings: list[str]
    notes: list[str]
    handoffs: list[dict]
    cached: bool
    seconds: float
    folder: Path | None = None

    @property
    def output(self) -> Any:
        """The stage's first (main) output."""
        return next(iter(self.outputs.values()))


@dataclass
class Run:
    """A finished pipeline run: ``run.output``, ``run.stage("inpaint").output``, ``run.manifest``."""

    spec: PipelineSpec
    stages: dict[str, StageRun]
    output: np.ndarray
    alpha: np.ndarray | None
    manifest: dict
    out: Path | None = None
    output_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def stage(self, name: str) -> StageRun:
        if name not in self.stages:
            raise ConfigError(f"no stage named {name!r} in this run; stages: "
                              f"{', '.join(self.stages)}")
        return self.stages[name]

    @property
    def qa(self) -> dict:
        return self.manifest.get("qa", {})

    @property
    def checks(self) -> list[dict]:
        return [h for s in self.stages.values() for h in s.handoffs]


def stage_seed(seed: int, name: str) -> int:
    """Per-stage seed: independent of which other stages exist or ran first."""
    return int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def run_pipeline(spec: PipelineSpec, image: Any, *, out: str | Path | None = None,
                 inputs: dict[str, Any] | None = None, from_stage: str | None = None,
                 output_path: str | Path | None = None, progress: bool = False,
                 max_pixels: int | None = None, command: list[str] | None = None,
                 report: bool = True) -> Run:
    """Run a pipeline on one image.

    Parameters
    ----------
    spec : PipelineSpec
    image : str, Path, ImageFile, ndarray or None
        The ``image`` input: a file (read colour-managed, alpha kept aside) or an HxWx3 array;
        ``None`` for a pipeline without an ``image`` input (``inputs: {}``, e.g. generate).
    out : str or Path, optional
        Run directory. Without it the run happens in memory: no intermediates, no cache.
    inputs : dict, optional
        Other pipeline inputs by name (``{"mask": "mask.png"}``): a path or an array.
    from_stage : str, optional
        Re-run this stage and everything after it; earlier stages must be in ``out``'s cache.
    output_path : str or Path, optional
        Where to write the output image (default ``out/output.png``; nothing without ``out``).
    progress : bool
        Show a progress bar over stages on stderr.
    report : bool
        With ``out``: also write ``out/report.html`` (:mod:`seamline.reporting.report`).

    Returns
    -------
    Run
    """
    t_start = time.perf_counter()
    bound_heap()  # large blocks unmapped when freed (once per process: core.heap)
    out = Path(out) if out is not None else None
    _check_requirements(spec)
    from_index = None
    if from_stage is not None:
        from_index = spec.index(from_stage)
        if out is None:
            raise ConfigError(f"from_stage: {from_stage}: needs out, the run directory of an "
                              "earlier run (its cache)")
    if "image" not in spec.inputs:  # a pipeline that starts from nothing (generate)
        if image is not None:
            raise InputError(f"image: pipeline {spec.name!r} takes no input image (its inputs: "
                             f"{', '.join(spec.inputs) or 'none'})")
        image_file = None
    elif image is None:
        raise InputError(f"image: pipeline {spec.name!r} needs an input image")
    elif isinstance(image, (str, Path)):
        image_file = read_image(image, max_pixels=max_pixels, grey=takes_grey(spec))
    elif isinstance(image, ImageFile):
        image_file = image
    else:
        arr = as_image(image, name="image")
        image_file = ImageFile(image=arr, alpha=None, bit_depth=8, path=None, info={})
    src_path = Path(image_file.path) if image_file and image_file.path is not None else None
    bit_depth = image_file.bit_depth if image_file else 8
    values = {}
    if image_file is not None:
        values[("input", "image")] = (image_file.image, "image")
    values.update(_pipeline_inputs(spec, inputs or {},
                                   image_file.image.shape[:2] if image_file else None,
                                   max_pixels))
    contracts = preflight(spec)  # before anything is written
    if image_file is not None and image_file.image.ndim == 2 \
            and not takes_grey(spec, contracts):
        # a grey ImageFile for a pipeline that takes no grey: the RGB copy the reader makes
        # without grey=True (the pipeline sees the same array, bit for bit)
        image_file = replace(image_file, image=as_image(image_file.image), info={
            **image_file.info, "conversions": [*image_file.info.get("conversions", []),
                                               "grayscale -> RGB"]})
        values[("input", "image")] = (image_file.image, "image")
    if out is not None:
        _prepare_run_dir(out, src_path)
    if output_path is None and out is not None:
        output_path = out / ("output.tif" if bit_depth == 16 else "output.png")
    if output_path is not None:
        output_path = check_output_path(output_path, inputs=[p for p in [src_path] if p],
                                        alpha=image_file is not None and
                                        image_file.alpha is not None)

    memo = ArtifactMemo()
    # a run in memory hashes its images and masks on a helper thread while the stages run:
    # only its manifest reads the digests, filled in before the run is handed back
    later = out is None
    if later and image_file is not None:
        memo.digest_soon("image", image_file.image)
    manifest = {
        "seamline": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "platform": _platform(),
        "versions": _versions(),
        "input": None if image_file is None else {
            "path": str(src_path) if src_path else None,
            "sha256": file_sha256(src_path) if src_path else None,
            "digest": None if later else memo.digest("image", image_file.image),
            "width": int(image_file.image.shape[1]),
            "height": int(image_file.image.shape[0]),
            "bit_depth": image_file.bit_depth, "alpha": image_file.alpha is not None,
            "info": image_file.info},
        "pipeline": {"name": spec.name, "source": spec.source, "policy": spec.policy,
                     "seed": spec.seed, "spec": spec.raw},
        "from_stage": from_stage, "stages": [], "qa": {}, "warnings": [],
        "notes": list(image_file.info.get("notes", [])) if image_file else [], "status": "running",
    }
    stage_runs: dict[str, StageRun] = {}
    bar = progress_bar(len(spec.stages), enabled=progress, unit="stage", leave=False)
    try:
        for i, decl in enumerate(spec.stages):
            bar.set_description(decl.name)
            try:
                sr = _run_stage(i, decl, spec, values, out, from_index, contracts[decl.name], memo)
            except InputError as e:
                raise _name_the_file(e, image_file, decl.name) from None
            stage_runs[decl.name] = sr
            manifest["stages"].append(_stage_manifest(sr, out, memo, later=later))
            manifest["warnings"] += [f"{sr.name}: {w}" for w in sr.warnings]
            manifest["notes"] += [f"{sr.name}: {n}" for n in sr.notes]
            if get_stage(decl.stage_id).qa:
                manifest["qa"].update(sr.report)
            bar.update(1)
        bar.close()
        if later:
            _fill_digests(manifest, image_file, stage_runs, memo)
        src, port = spec.output.split(".")
        result = values[(src, port)][0]
        alpha = image_file.alpha if image_file else None
        if alpha is not None and alpha.shape != result.shape[:2]:
            alpha = resize_alpha(alpha, result.shape[:2])
            manifest["notes"].append(f"alpha resized separately to {result.shape[1]}x"
                                     f"{result.shape[0]} (bicubic); never colour-matched")
        if output_path is not None:
            write_image(output_path, result, alpha=alpha,
                        bit_depth=bit_depth if output_path.suffix.lower() in
                        (".png", ".tif", ".tiff") else 8)
        manifest["output"] = str(output_path) if output_path else None
        # a QA stage that names regions it could not clean makes the run "qa_failed": the
        # output is written, but nobody should mistake it for a clean result
        manifest["status"] = "qa_failed" if manifest["qa"].get("failed_regions") else "ok"
    except SeamlineError as e:
        bar.close()
        manifest["status"] = "failed"
        manifest["error"] = str(e)
        if out is not None:
            artifacts.write_json(out / "manifest.json", manifest)
        raise
    finally:
        memo.close()
        if len(stage_runs) < len(spec.stages) or any(not r.cached for r in stage_runs.values()):
            # what the stages freed goes back to the system before the next image (helper
            # threads' arenas: core.heap), a failed run's too; once a run, not after every
            # stage: the pages a stage gave back were faulted in again by the next (~4 % CPU)
            trim_heap()
    manifest["seconds"] = round(time.perf_counter() - t_start, 4)
    if out is not None:
        artifacts.write_json(out / "manifest.json", manifest)
        if report:
            write_report(out)
    return Run(spec=spec, stages=stage_runs, output=result, alpha=alpha,
               manifest=manifest, out=out, output_path=output_path,
               warnings=list(manifest["warnings"]))


# ---------------------------------------------------------------------------------------------


def preflight(spec: PipelineSpec) -> dict:
    """Checks that need no stage to have run, made before a run writes anything.

    Checks the files each stage's parameters name (a missing or corrupt model file:
    :meth:`seamline.core.stage.Stage.check_files`), resolves every stage's contract
    (``spec_for``: a missing model or profile fails here) and rehearses each handoff whose
    producing stage offers a stand-in for its output
    (:meth:`seamline.core.stage.Stage.stand_in`): ``encode-prompt`` offers an embedding that
    carries the producing encoder's fingerprint (read from its config and tokenizer, no
    weights), so an encoder mismatch under ``strict``, or a missing, unfitting or mis-sized
    translation map under ``reconcile``, is the same one-line error the real handoff would
    raise, only earlier.

    Returns
    -------
    dict
        ``{stage name: StageSpec}``, the contracts the run then uses.
    """
    for d in spec.stages:
        get_stage(d.stage_id).check_files(d.params)
    contracts = {d.name: get_stage(d.stage_id).spec_for(d.params) for d in spec.stages}
    stand_ins: dict[str, dict] = {}
    for decl in spec.stages:
        for port, ref in decl.inputs.items():
            src_name, src_port = ref.split(".")
            if src_name == "input":
                continue
            if src_name not in stand_ins:
                src = spec.stage(src_name)
                stand_ins[src_name] = get_stage(src.stage_id).stand_in(src.params)
            if src_port not in stand_ins[src_name]:
                continue
            receiving = contracts[decl.name].inputs[port]
            handoff(stand_ins[src_name][src_port], receiving.kind, receiving,
                    policy=decl.policy or spec.policy, stage=decl.name, port=port, source=ref)
    return contracts


def takes_grey(spec: PipelineSpec, contracts: dict | None = None) -> bool:
    """Whether a stage that reads the pipeline's ``image`` input takes it grey
    (``PortSpec.grey``): then a grey file is read as one channel (``read_image(grey=True)``)
    and the ``to_rgb`` adapter expands it only for the stages that need RGB; otherwise it is
    read as RGB, as it always was.

    ``contracts``: the resolved ones (:func:`preflight`); without them each stage's
    ``spec_for`` is asked, and a stage whose contract cannot be resolved yet counts as RGB
    (:func:`preflight` reports why, later, as before).
    """
    for d in spec.stages:
        ports = [port for port, ref in d.inputs.items() if ref == "input.image"]
        if not ports:
            continue
        try:
            contract = contracts[d.name] if contracts else get_stage(d.stage_id).spec_for(
                d.params)
        except SeamlineError:
            continue
        if any(contract.inputs[port].grey for port in ports):
            return True
    return False


def _name_the_file(e: InputError, image_file, stage: str) -> InputError:
    """A stage's "image: ..." refusal, said about the user's file: its path, WxH, the stage."""
    if image_file is None or image_file.path is None or not str(e).startswith("image: "):
        return e
    h, w = image_file.image.shape[:2]
    return type(e)(f"{image_file.path} ({w}x{h}): stage '{stage}': {str(e)[7:]}")


def _run_stage(i: int, decl: StageDecl, spec: PipelineSpec, values: dict,
               out: Path | None, from_index: int | None, contract=None,
               memo: ArtifactMemo | None = None) -> StageRun:
    cls = get_stage(decl.stage_id)
    contract = contract if contract is not None else cls.spec_for(decl.params)
    policy = decl.policy or spec.policy
    sizes = {}
    for port, ref in decl.inputs.items():
        value, kind = values[tuple(ref.split("."))]
        if kind in ("image", "mask") and np.ndim(value) >= 2:
            sizes[port] = tuple(np.shape(value)[:2])
    stage_inputs, handoffs, warnings = {}, [], []
    for port, ref in decl.inputs.items():
        value, kind = values[tuple(ref.split("."))]
        value, record, warns = handoff(value, kind, contract.inputs[port], policy=policy,
                                       stage=decl.name, port=port, source=ref, sizes=sizes,
                                       memo=memo)
        stage_inputs[port] = value
        handoffs.append(record)
        warnings += warns

    params = decl.params_dict()
    seed = stage_seed(spec.seed, decl.name)
    folder = out / "stages" / f"{i + 1:02d}-{decl.name}" if out is not None else None
    # the cache key, only where there is a cache (a run directory): an in-memory run would
    # wait here for digests its helper thread is still making (ArtifactMemo.digest_soon)
    digest = memo.digest if memo is not None else artifacts.digest
    key = (store.cache_key(cls, params, seed, {p: digest(cls.spec.inputs[p].kind, v)
                                         for p, v in stage_inputs.items()},
                           cls.cache_token(decl.params)) if folder is not None else None)
    reuse_allowed = from_index is None or i < from_index
    cached = (store.load_cached(cls, folder, key, memo) if folder is not None and reuse_allowed
              else None)
    if from_index is not None and i < from_index and cached is None:
        raise ConfigError(f"from_stage: {spec.stages[from_index].name}: stage {decl.name!r} "
                          f"has no cached result in {out} for this input and config; run the "
                          "whole pipeline first")
    if cached is not None:
        result, seconds = cached
    else:
        ctx = StageContext(name=decl.name, seed=seed, policy=policy, stats={
            port: rec.get("stats_after", rec["stats"])
            for port, rec in zip(decl.inputs, handoffs)})
        t0 = time.perf_counter()
        raw = cls(decl.params).run(ctx, **stage_inputs)
        seconds = time.perf_counter() - t0
        result = raw if isinstance(raw, StageResult) else StageResult(outputs=dict(raw))
        missing = set(cls.spec.outputs) - set(result.outputs)
        if missing:  # a bug in the stage, not a user mistake: keep the traceback
            raise RuntimeError(f"stage {cls.id!r} did not return outputs {sorted(missing)}")
        if folder is not None:
            store.store_cached(cls, folder, key, result, seconds, memo)
    for port, value in result.outputs.items():
        values[(decl.name, port)] = (value, cls.spec.outputs[port].kind)
    return StageRun(name=decl.name, stage_id=cls.id, params=params, seed=seed,
                    outputs=dict(result.outputs), report=result.report,
                    warnings=warnings + list(result.warnings), notes=list(result.notes),
                    handoffs=handoffs, cached=cached is not None, seconds=seconds,
                    folder=folder)


def handoff(value: Any, kind: str, contract: PortSpec, *, policy: str, stage: str, port: str,
            source: str = "", sizes: dict | None = None,
            memo: ArtifactMemo | None = None) -> tuple[Any, dict, list[str]]:
    """Check one artifact against a receiving port and apply the policy.

    Parameters
    ----------
    value : object
        The artifact.
    kind : str
        Its kind.
    contract : PortSpec
        The receiving port's contract.
    policy : {"strict", "reconcile", "off"}
    stage, port, source : str
        Receiving stage and port names, and the source reference, for messages and the record.
    sizes : dict, optional
        ``{port: (height, width)}`` of the stage's inputs, for ``same_size_as`` checks.
    memo : ArtifactMemo, optional
        The run's memo: an artifact already measured is not measured again.

    Returns
    -------
    value : object
        The artifact, adapted under ``reconcile``.
    record : dict
        ``{"to", "from", "kind", "policy", "stats", "checks", "adapters"}`` with numbers.
    warnings : list of str

    Raises
    ------
    ContractError
        Under ``strict`` for any failed error-severity check; under ``reconcile`` for one that
        has no adapter.
    """
    where = f"stage '{stage}' input '{port}'"
    extra = {e.stat for e in contract.expects} | set(contract.measure)

    def measured(v):
        return (memo.measure(kind, v, extra) if memo is not None
                else artifacts.measure(kind, v, extra=extra))

    stats = measured(value)
    checks = port_checks(contract, stats, sizes=sizes)
    conversions = []
    lossless = next((c for c in checks if not c.ok and c.lossless), None)
    if lossless is not None:
        # a change of representation only (grey -> RGB): under every policy, once per
        # artifact, recorded; the checks are then those of what the stage receives
        value, params = (memo.adapt(lossless.adapter, value, contract) if memo is not None
                         else get_adapter(lossless.adapter)(value, contract))
        stats = measured(value)
        checks = port_checks(contract, stats, sizes=sizes)
        conversions.append({"adapter": lossless.adapter, "stat": lossless.stat,
                            "before": lossless.found, "after": stats.get(lossless.stat),
                            "ok_after": True, "lossless": True, "params": params})
    record = {"to": f"{stage}.{port}", "from": source, "kind": kind, "policy": policy,
              "stats": stats, "checks": [c.to_dict() for c in checks],
              "adapters": conversions}
    warnings = []
    for check in checks:
        if check.ok:
            continue
        msg = f"{where} (from {source}): {check.stat} expected {check.expected}, found {check.found}"
        if policy == "off":
            warnings.append(msg + " (policy off: passed through)")
            continue
        if check.severity == "warn":
            warnings.append(msg)
            continue
        if policy == "strict" or check.adapter is None:
            hint = (f"; policy 'reconcile' would apply adapter '{check.adapter}'"
                    if check.adapter and policy == "strict" else
                    "; no adapter can reconcile this" if policy == "reconcile" else "")
            raise ContractError(msg + hint)
        try:
            value, params = get_adapter(check.adapter)(value, contract)
        except SeamlineError as e:  # say where: the adapter knows only the artifact
            raise type(e)(f"{where} (from {source}): adapter '{check.adapter}': {e}") from None
        after_stats = artifacts.measure(kind, value, extra=extra)
        after = next((c for c in port_checks(contract, after_stats, sizes=sizes)
                      if c.stat == check.stat), None)
        record["adapters"].append({"adapter": check.adapter, "stat": check.stat,
                                   "before": check.found,
                                   "after": after.found if after else None,
                                   "ok_after": after.ok if after else True, "params": params})
        if after is not None and not after.ok:  # the adapter failed its own check: say so
            warnings.append(f"{msg}; adapter '{check.adapter}' did not reconcile it")
        stats = after_stats
    if record["adapters"]:
        record["stats_after"] = stats
    return value, record, warnings


def resize_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize an alpha channel (its own integer dtype kept) to ``(height, width)``.

    Alpha goes around the pipeline, not through it: a stage that changes the image size (an
    upscaler) never sees it, so it is resampled here, bicubic, clipped to the dtype's range.
    """
    import cv2

    info = np.iinfo(alpha.dtype) if np.issubdtype(alpha.dtype, np.integer) else None
    a = cv2.resize(alpha.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    if info is None:
        return np.clip(a, 0, 1).astype(alpha.dtype)
    return np.clip(np.rint(a), info.min, info.max).astype(alpha.dtype)


def _pipeline_inputs(spec: PipelineSpec, given: dict, shape: tuple, max_pixels) -> dict:
    unknown = set(given) - set(spec.inputs)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"input {name!r}: pipeline {spec.name!r} takes no such input; inputs: "
                         f"{', '.join(spec.inputs)}")
    values = {}
    for name, kind in spec.inputs.items():
        if name == "image":
            continue
        if name not in given or given[name] is None:
            raise InputError(f"{name}: pipeline {spec.name!r} needs input {name!r}")
        v = given[name]
        if shape is None and kind == "mask":
            raise ConfigError(f"input {name!r}: a mask input needs an image input to size it")
        if kind == "mask":
            v = (load_mask(v, shape=shape, max_pixels=max_pixels) if isinstance(v, (str, Path))
                 else as_mask(v, name=name, shape=shape))
        else:
            v = load_image(v, max_pixels=max_pixels) if isinstance(v, (str, Path)) else \
                as_image(v, name=name)
        values[("input", name)] = (v, kind)
    return values


def _stage_manifest(sr: StageRun, out: Path | None, memo: ArtifactMemo | None = None, *,
                    later: bool = False) -> dict:
    """A stage's manifest entry; ``later`` (keyword-only): its outputs' digests are left
    None and started on the memo's helper thread (:func:`_fill_digests` fills them in)."""
    cls = get_stage(sr.stage_id)
    memo = memo or ArtifactMemo()
    outputs = {}
    for port, value in sr.outputs.items():
        kind = cls.spec.outputs[port].kind
        if later:
            memo.digest_soon(kind, value)
        entry = {"kind": kind, "digest": None if later else memo.digest(kind, value),
                 "stats": memo.measure(kind, value)}
        if sr.folder is not None and out is not None:
            entry["files"] = sorted(str(f.relative_to(out)) for f in sr.folder.iterdir()
                                    if f.name.startswith(port + "."))
        outputs[port] = entry
    return {"name": sr.name, "stage": sr.stage_id, "params": sr.params, "seed": sr.seed,
            "cached": sr.cached, "seconds": round(sr.seconds, 4), "handoffs": sr.handoffs,
            "outputs": outputs, "report": sr.report, "warnings": sr.warnings, "notes": sr.notes}


def _fill_digests(manifest: dict, image_file, stage_runs: dict, memo: ArtifactMemo) -> None:
    """The digests :func:`_stage_manifest` left None (and the input's), from the memo:
    the same values as a run that hashed them at once."""
    if manifest["input"] is not None:
        manifest["input"]["digest"] = memo.digest("image", image_file.image)
    for entry in manifest["stages"]:
        for port, value in stage_runs[entry["name"]].outputs.items():
            rec = entry["outputs"][port]
            rec["digest"] = memo.digest(rec["kind"], value)


def _prepare_run_dir(out: Path, src_path: Path | None) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: run directory path exists and is not a directory")
    if src_path is not None and out.resolve() == src_path.resolve().parent / src_path.name:
        raise InputError(f"{out}: run directory would overwrite the input file")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{id(out)}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise InputError(f"{out}: cannot write the run directory ({e.strerror or e})") from None


def _check_requirements(spec: PipelineSpec) -> None:
    for decl in spec.stages:
        for mod in get_stage(decl.stage_id).spec.requires:
            if importlib.util.find_spec(mod) is None:
                raise ConfigError(f"stage '{decl.name}' ({decl.stage_id}) needs the Python "
                                  f"module {mod!r}; install the matching seamline extra")


def _platform() -> dict:
    return {"python": sys.version.split()[0], "system": platform.system(),
            "release": platform.release(), "machine": platform.machine()}


_VERSIONS: dict | None = None


def _versions() -> dict:
    global _VERSIONS
    if _VERSIONS is None:
        from importlib.metadata import PackageNotFoundError, version

        found = {}
        for name in MANIFEST_PACKAGES:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                continue
        _VERSIONS = found
    return dict(_VERSIONS)
