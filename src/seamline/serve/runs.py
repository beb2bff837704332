"""Runs as the API and the inspector show them, and child runs (re-run from a stage).

A child run copies the parent's cached stages up to the re-run point (the runner verifies
each cached file against its digest and reuses it) and the parent's inputs; an edited mask
becomes a new pipeline input the later stages are rewired to, so the edit is in the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from seamline.errors import SeamlineError
from seamline.serve.store import (FINISHED, RunStore, copy_stages, read_manifest,
                                  stage_folder)
from seamline.serve.validate import (UPLOAD_FORMATS, ApiError, ServeConfig, param_error,
                                     parse_params, pipeline_source)


class Rerun(BaseModel):
    """Body of ``POST /v1/runs/{id}/rerun``."""

    from_stage: str | None = Field(None, description="re-run this stage and the later ones")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description='{"stage.key": value} overrides')
    mask_stage: str | None = Field(None, description="stage whose mask output is replaced")
    mask_png: str | None = Field(None, description="the edited mask, a PNG data URL")


# ------------------------------------------------------------------------------- helpers
def media_type(suffix: str) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff",
            ".json": "application/json", ".html": "text/html"}.get(suffix.lower(),
                                                                   "application/octet-stream")


def type_label(typ: Any) -> str:
    import types
    import typing

    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_label(a) for a in args)
    return getattr(typ, "__name__", str(typ))


def stage_params(stage_id: str, current: dict | None = None) -> list[dict]:
    """Editable parameters of a stage: name, type, default and current value."""
    from seamline.core.stage import param_fields
    from seamline.stages import get_stage

    fields = param_fields(get_stage(stage_id).Params)
    current = current or {}
    return [{"name": k, "type": type_label(t), "default": d, "value": current.get(k, d)}
            for k, (t, d) in fields.items()]


def pipeline_info(name: str) -> dict:
    from seamline.serve.worker import build_pipeline

    pipe = build_pipeline({"pipeline": pipeline_source(name)})
    return jsonable_encoder({
        "name": name, "description": pipe.spec.raw.get("description", ""),
        "inputs": dict(pipe.spec.inputs), "endpoint": f"/v1/pipelines/{name}/runs",
        "stages": [{"name": d.name, "stage": d.stage_id,
                    "params": stage_params(d.stage_id, d.params_dict())}
                   for d in pipe.spec.stages]})


def describe_run(store: RunStore, run_id: str, run_dir: Path) -> dict:
    m = read_manifest(run_dir)
    stages = []
    for s in m.get("stages", []):
        try:
            params = stage_params(s["stage"], s.get("params"))
        except SeamlineError:
            params = []
        files = {p: [f for f in o.get("files", []) if f.endswith(".png")]
                 for p, o in s.get("outputs", {}).items()}
        edited = run_dir / f"{edited_input(s['name'])}.png"
        if "mask" in files and edited.is_file():  # what the later stages read in this run
            files["mask"] = [edited.name] + files["mask"]
        stages.append({**s, "editable_params": params, "previews": files,
                       "mask_ports": [p for p, o in s.get("outputs", {}).items()
                                      if o.get("kind") == "mask"]})
    inputs = sorted(p.name for p in run_dir.iterdir() if p.is_file() and p.stem in
                    ("image", "mask", "reference") and p.suffix in UPLOAD_FORMATS.values())
    out = Path(m["output"]).name if m.get("output") else None
    children = [r["id"] for r in store.list_runs() if r.get("parent") == run_id]
    from seamline.reporting.report import shown_path

    # paths relative to RUNS_DIR: a client never learns where the server keeps its files
    shown = {k: v for k, v in m.items() if k != "stages"}
    if isinstance(shown.get("input"), dict) and shown["input"].get("path"):
        shown["input"] = {**shown["input"], "path": shown_path(shown["input"]["path"],
                                                               store.root)}
    if shown.get("output"):
        shown["output"] = shown_path(shown["output"], store.root)
    return jsonable_encoder({
        **store.summary(run_dir), "manifest": shown,
        "stages": stages, "job": store.read_job(run_dir), "inputs": inputs,
        "output_file": out if out and (run_dir / out).is_file() else None,
        "children": children})


def prepare_rerun(store: RunStore, cfg: ServeConfig, run_id: str, parent: Path, body) -> tuple:
    """Child run directory with the parent's cached stages up to the re-run point and the
    parent's inputs copied in.

    An edited mask does not touch the cache (the runner verifies every cached file against
    its recorded digest): it becomes a new pipeline input, ``edited_<stage>_mask``, and the
    later stages that read ``<stage>.mask`` are rewired to it. The child's manifest records
    that spec, so the edit is visible in the run and in the A/B config differences.
    """
    import base64
    import binascii
    import copy

    from seamline.io import load_mask

    m = read_manifest(parent)
    if m.get("status") not in FINISHED:
        raise ApiError(409, f"run {run_id!r}: only a finished run can be re-run; "
                            f"this one is {m.get('status') or 'unfinished'}")
    raw = (m.get("pipeline") or {}).get("spec")
    names = [s["name"] for s in m.get("stages", [])]
    params = parse_params(json.dumps(body.params))
    from seamline.serve.worker import build_pipeline

    src = {"raw": raw, "source": f"<run {run_id}>"}
    try:
        pipe = build_pipeline({"pipeline": src, "params": params})
    except SeamlineError as e:
        raise param_error(e) from None
    mask = None
    if body.mask_stage is not None or body.mask_png is not None:
        if body.mask_stage not in names:
            raise ApiError(400, f"mask_stage: {body.mask_stage!r} is not a stage of this run; "
                                f"stages: {', '.join(names)}", field="mask_stage")
        k = names.index(body.mask_stage)
        outputs = m["stages"][k].get("outputs", {})
        if outputs.get("mask", {}).get("kind") != "mask":
            raise ApiError(400, f"mask_stage: stage {body.mask_stage!r} has no mask output",
                           field="mask_stage")
        if k + 1 >= len(names):
            raise ApiError(400, f"mask_stage: {body.mask_stage!r} is the last stage; nothing "
                                "runs after it", field="mask_stage")
        data = body.mask_png or ""
        try:
            blob = base64.b64decode(data.split(",", 1)[1] if data.startswith("data:") else data,
                                    validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "mask_png: not base64 PNG data", field="mask_png") from None
        if len(blob) > cfg.max_bytes:
            raise ApiError(413, f"mask_png: larger than the limit of {cfg.max_bytes:,} bytes",
                           field="mask_png")
        old = np.load(stage_folder(parent, m, body.mask_stage) / "mask.npy", allow_pickle=False)
        tmp = store.temp_file(".png")
        try:
            tmp.write_bytes(blob)
            load_mask(tmp, shape=old.shape, max_pixels=cfg.max_pixels)  # validate it
        except SeamlineError as e:
            raise ApiError(400, str(e).replace(str(tmp), "mask_png"), field="mask_png") from None
        finally:
            tmp.unlink(missing_ok=True)
        mask = blob
        edited = edited_input(body.mask_stage)
        raw = copy.deepcopy(raw)
        raw.setdefault("inputs", {})[edited] = "mask"
        users = 0
        for sd in raw["stages"][k + 1:]:
            for port, ref in list((sd.get("inputs") or {}).items()):
                if ref in (f"{body.mask_stage}.mask", f"input.{edited}"):  # or edited before
                    sd["inputs"][port] = f"input.{edited}"
                    users += 1
        if not users:
            raise ApiError(400, f"mask_stage: no later stage reads {body.mask_stage}.mask",
                           field="mask_stage")
        src = {"raw": raw, "source": f"<run {run_id}, {body.mask_stage}.mask edited>"}
        try:
            pipe = build_pipeline({"pipeline": src, "params": params})
        except SeamlineError as e:
            raise param_error(e) from None
        from_index = k + 1
    elif body.from_stage is not None:
        if body.from_stage not in names:
            raise ApiError(400, f"from_stage: {body.from_stage!r} is not a stage of this run; "
                                f"stages: {', '.join(names)}", field="from_stage")
        from_index = names.index(body.from_stage)
    else:
        changed = [names.index(k.split(".")[0]) for k in params]
        if not changed:
            raise ApiError(400, "rerun: nothing to change; send params, an edited mask or "
                                "from_stage")
        from_index = min(changed)
    if body.mask_stage is None and any(names.index(k.split(".")[0]) < from_index
                                       for k in params):
        raise ApiError(400, "from_stage: a changed parameter belongs to an earlier stage",
                       field="from_stage")
    # the inputs: server runs keep them in the run directory; CLI runs name the file
    inputs = {}
    for key in pipe.spec.inputs:
        if mask is not None and key == edited_input(body.mask_stage):
            continue  # written below
        found = sorted(parent.glob(f"{key}.*"))
        found = [p for p in found if p.suffix in UPLOAD_FORMATS.values()]
        if found:
            inputs[key] = found[0]
        elif key == "image" and (m.get("input") or {}).get("path") and \
                Path(m["input"]["path"]).is_file():
            inputs[key] = Path(m["input"]["path"])
        else:
            raise ApiError(409, f"run {run_id!r}: its input {key!r} is not available any more")
    child_id, child = store.new_run(pipe.spec.name)
    try:
        copy_stages(parent, child, from_index)
        staged = {}
        for key, path in inputs.items():
            staged[key] = child / f"{key}{path.suffix.lower()}"
            shutil.copyfile(path, staged[key])
        if mask is not None:
            staged[edited] = child / f"{edited}.png"
            staged[edited].write_bytes(mask)
    except BaseException:
        shutil.rmtree(child, ignore_errors=True)
        raise
    task = {"task": "run", "pipeline": src, "params": params, "policy": None,
            "max_pixels": cfg.max_pixels, "image": str(staged["image"]), "out": str(child),
            "inputs": {k: str(p) for k, p in staged.items() if k != "image"},
            "from_stage": names[from_index]}
    record = {"pipeline": pipe.spec.name, "params": params, "parent": run_id,
              "from_stage": names[from_index], "edited_mask": body.mask_stage,
              "stages": names}
    return child_id, task, record, child


def edited_input(stage: str) -> str:
    """The pipeline input that carries an edited copy of ``stage``'s mask in a child run."""
    import re

    return "edited_" + re.sub(r"\W", "_", stage) + "_mask"


def mask_op_png(store: RunStore, path: Path, op: str, px: int, max_pixels: int) -> bytes:
    from seamline.engine.store import save as save_artifact
    from seamline.io import load_mask
    from seamline.ops.masks import grow, shrink

    mask = load_mask(path, max_pixels=max_pixels)
    out = (grow if op == "grow" else shrink)(mask, px)
    folder = store.temp_file("")
    try:
        save_artifact("mask", out, folder, "mask")
        return (folder / "mask.png").read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
