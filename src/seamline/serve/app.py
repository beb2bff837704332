"""The HTTP API and the inspector: :func:`create_app`.

Every request that carries an image goes the same way: the upload is streamed into RUNS_DIR's
scratch folder under a generated name (refused with 413 past ``max_bytes``), its header is
read (413 past ``max_pixels``, 415 for a type the reader does not accept) before anything is
decoded, then :func:`seamline.io.read_image` decodes it with the same limits as the CLI. Only
when everything is valid is a run directory created (generated name) and the files moved in,
so a refused request leaves nothing behind. Client file names are never used.

Errors are JSON: ``{"error": "one line naming the argument", "field": ...}``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from seamline._version import __version__
from seamline.errors import SeamlineError
from seamline.serve.jobs import Job, JobManager, QueueFull
from seamline.serve.store import (FINISHED, NotFound, RunStore, copy_stages, read_manifest,
                                  stage_folder)

#: The five one-click endpoints: ``/v1/<name>`` runs this pipeline.
ENDPOINTS = {"remove-text": "remove-text", "inpaint": "inpaint", "upscale": "upscale",
             "enhance": "enhance", "color-match": "color-match"}
#: ``color-match`` has no built-in YAML (the CLI calls the function): the same as a pipeline.
COLOR_MATCH_YAML = """\
pipeline: color-match
description: bring an image's colours back to a reference
policy: reconcile
seed: 0
inputs: {image: image, reference: image}
stages:
  - name: color
    stage: color-match
    inputs: {image: input.image, reference: input.reference}
output: color.image
"""
#: Formats the reader accepts that a client may upload, and the extension each is stored with.
UPLOAD_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "WEBP": ".webp", "TIFF": ".tif",
                  "GIF": ".gif", "BMP": ".bmp"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ServeConfig:
    """Server settings (``seamline serve`` options).

    Attributes
    ----------
    runs_dir : Path
        Every upload and result lives here, under generated names.
    workers : int
        Worker processes running jobs.
    queue_size : int
        Jobs that may wait for a worker; one more gets 429.
    max_bytes : int
        Largest upload, bytes (413 past it).
    max_pixels : int
        Largest image, pixels, checked from the header before decoding (413 past it).
    sync_max_pixels : int
        ``mode=auto`` answers synchronously up to this many pixels, with a job (202) above.
    token : str or None
        When set, every request must carry it (``Authorization: Bearer T``).
    """

    runs_dir: Path
    workers: int = 2
    queue_size: int = 16
    max_bytes: int = 32 * 1024 * 1024
    max_pixels: int = 40_000_000
    sync_max_pixels: int = 4_000_000
    token: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


class ErrorBody(BaseModel):
    error: str = Field(description="one line naming the argument or file and the value")
    field: str | None = None


class Rerun(BaseModel):
    """Body of ``POST /v1/runs/{id}/rerun``."""

    from_stage: str | None = Field(None, description="re-run this stage and the later ones")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description='{"stage.key": value} overrides')
    mask_stage: str | None = Field(None, description="stage whose mask output is replaced")
    mask_png: str | None = Field(None, description="the edited mask, a PNG data URL")


_ERRORS = {s: {"model": ErrorBody} for s in (400, 401, 404, 409, 413, 415, 429, 500)}
#: The run endpoints also answer 202 (a job) and, with ``format=image``, the image itself.
_RUN_RESPONSES = {**_ERRORS, 422: {"model": ErrorBody, "description": "invalid request, or "
                                   "the run failed on this input (the message says why)"},
                  202: {"description": "accepted as a job: poll status_url"},
                  200: {"description": "the result (JSON), or the image with format=image",
                        "content": {"application/json": {}, "image/png": {}, "image/tiff": {}}}}


def _error(status: int, message: str, field: str | None = None, headers=None) -> JSONResponse:
    body = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


# ------------------------------------------------------------------------------- uploads
class _Upload:
    """An upload checked and decoded in the scratch folder, waiting to move into a run."""

    def __init__(self, path: Path, ext: str, shape: tuple[int, int]):
        self.path, self.ext, self.shape = path, ext, shape

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _check_upload(store: RunStore, cfg: ServeConfig, upload: UploadFile, field: str,
                  *, mask: bool = False, shape: tuple | None = None) -> _Upload:
    """Copy one upload to scratch with the byte limit, check type and pixels from the header,
    then decode it with the project's reader (blocking: run in a thread)."""
    from PIL import Image, UnidentifiedImageError

    from seamline.io import load_mask, read_image

    tmp = store.temp_file(".upload")
    ok = False
    try:
        size = 0
        with open(tmp, "wb") as fh:
            while chunk := upload.file.read(_CHUNK):
                size += len(chunk)
                if size > cfg.max_bytes:
                    raise ApiError(413, f"{field}: upload larger than the limit of "
                                        f"{cfg.max_bytes:,} bytes", field=field)
                fh.write(chunk)
        if size == 0:
            raise ApiError(400, f"{field}: empty upload (0 bytes)", field=field)
        try:
            with Image.open(tmp) as im:  # reads the header only
                fmt, (w, h) = im.format, im.size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            fmt, w, h = None, 0, 0
        if fmt not in UPLOAD_FORMATS:
            raise ApiError(415, f"{field}: not an image type the reader accepts (PNG, JPEG, "
                                f"WebP, TIFF, GIF, BMP); got {fmt or 'unrecognised data'}",
                           field=field)
        if w * h > cfg.max_pixels:
            raise ApiError(413, f"{field}: {w}x{h} = {w * h:,} pixels exceeds the limit of "
                                f"{cfg.max_pixels:,} pixels", field=field)
        final = tmp.with_suffix(UPLOAD_FORMATS[fmt])
        tmp.rename(final)
        tmp = final
        try:
            if mask:
                arr = load_mask(tmp, shape=shape, max_pixels=cfg.max_pixels)
            else:
                arr = read_image(tmp, max_pixels=cfg.max_pixels).image
        except SeamlineError as e:  # the reader names the scratch path: name the field
            msg = str(e).replace(str(tmp), field)
            raise ApiError(400, msg if msg.startswith(field) else f"{field}: {msg}",
                           field=field) from None
        ok = True
        return _Upload(tmp, UPLOAD_FORMATS[fmt], arr.shape[:2])
    finally:
        if not ok:
            tmp.unlink(missing_ok=True)


def _parse_params(params: str | None) -> dict:
    if params is None or params.strip() == "":
        return {}
    try:
        value = json.loads(params)
    except ValueError:
        raise ApiError(400, f"params: expected a JSON object like {{\"inpaint.radius\": 5}}, "
                            f"got {params[:60]!r}", field="params") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"params: expected a JSON object, got {type(value).__name__}",
                       field="params")
    for key, v in value.items():
        # no client-supplied file-system paths: a parameter that names a file (a model
        # checkpoint, a translation map) is the server operator's business, not a client's
        if isinstance(v, str) and any(c in v for c in "/\\") or \
                isinstance(v, str) and v.startswith(("~", ".")):
            raise ApiError(400, f"params: {key}: file-system paths are not accepted by the "
                                f"server, got {v[:60]!r}", field=key)
    return value


def _pipeline_source(name: str) -> dict:
    if name == "color-match":
        return {"text": COLOR_MATCH_YAML, "name": "color-match"}
    return {"builtin": name}


def _builtin_names() -> list[str]:
    folder = resources.files("seamline.pipelines")
    return sorted([p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")]
                  + ["color-match"])


def _resolve_pipeline(name: str, params: dict, policy: str | None):
    """Build and validate the pipeline in the server process (fast): 404/400 before any run."""
    from seamline.serve.worker import build_pipeline

    if name not in _builtin_names():
        raise ApiError(404, f"pipeline {name!r}: no such pipeline; known: "
                            f"{', '.join(_builtin_names())}", field="name")
    if policy is not None and policy not in ("strict", "reconcile", "off"):
        raise ApiError(400, f"policy: expected one of strict, reconcile, off, got {policy!r}",
                       field="policy")
    try:
        return build_pipeline({"pipeline": _pipeline_source(name), "params": params,
                               "policy": policy})
    except SeamlineError as e:
        raise _param_error(e) from None


def _param_error(e: SeamlineError) -> ApiError:
    """A parameter error from :func:`seamline.core.pipeline.apply_overrides`, with the
    ``stage.key`` it is about as ``field`` (the inspector shows it next to that field)."""
    import re

    msg = str(e)
    m = (re.match(r"--set ([\w-]+\.[\w-]+):", msg)
         or re.search(r"stage '([\w-]+)' parameter '(\w+)'", msg)
         or re.search(r"stage '([\w-]+)': unknown parameter '(\w+)'", msg))
    field = None if m is None else (m.group(1) if m.lastindex == 1 else
                                    f"{m.group(1)}.{m.group(2)}")
    msg = re.sub(r"^--set:? ?", "params: ", msg)
    return ApiError(400, msg, field=field)


# --------------------------------------------------------------------------- the app
def create_app(config: ServeConfig, *, manager: JobManager | None = None) -> FastAPI:
    """The FastAPI application. Workers start with the app's lifespan and stop with it;
    jobs cut off by an earlier server's end are marked failed at start-up."""
    from contextlib import asynccontextmanager

    store = RunStore(config.runs_dir)
    jobs = manager or JobManager(store, workers=config.workers, queue_size=config.queue_size)

    @asynccontextmanager
    async def lifespan(app):
        app.state.recovered = store.recover()
        jobs.start()
        try:
            yield
        finally:
            await run_in_threadpool(jobs.stop)

    app = FastAPI(title="seamline", version=__version__, lifespan=lifespan,
                  description="Image pipelines with checked handoffs: one-click endpoints, "
                              "jobs, runs and the inspector.")
    app.state.store, app.state.jobs, app.state.config = store, jobs, config

    # ---------------------------------------------------------------- errors and auth
    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return _error(exc.status, exc.message, exc.field, exc.headers)

    @app.exception_handler(NotFound)
    async def _not_found(request, exc: NotFound):
        return _error(404, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        errs = jsonable_encoder(exc.errors(), custom_encoder={bytes: lambda b: repr(b[:40])})
        first = errs[0] if errs else {}
        where = ".".join(str(x) for x in first.get("loc", [])[1:]) or "request"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}",
                             "field": where, "detail": errs}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        if config.token:
            given = request.headers.get("authorization", "")
            given = given[7:] if given.lower().startswith("bearer ") else \
                request.headers.get("x-seamline-token") or request.cookies.get("seamline_token") \
                or request.query_params.get("token") or ""
            if not hmac.compare_digest(given.encode(), config.token.encode()):
                return _error(401, "token: missing or wrong (send Authorization: Bearer TOKEN)")
        length = request.headers.get("content-length")
        # multipart framing adds a little; a body far past the limit is refused unread
        if length and length.isdigit() and int(length) > 2 * config.max_bytes + 65536:
            return _error(413, f"request body of {int(length):,} bytes exceeds the upload "
                               f"limit of {config.max_bytes:,} bytes")
        response = await call_next(request)
        if config.token and request.query_params.get("token") and \
                response.headers.get("content-type", "").startswith("text/html"):
            response.set_cookie("seamline_token", config.token, httponly=True,
                                samesite="strict")
        return response

    # ----------------------------------------------------------------------- runs in
    async def submit_run(name: str, image: UploadFile, extra: dict[str, UploadFile | None],
                         params: str | None, policy: str | None, mode: str, fmt: str,
                         preflight: str | None):
        params_d = _parse_params(params)
        pipe = _resolve_pipeline(name, params_d, policy)
        wanted = [k for k in pipe.spec.inputs if k != "image"]
        for key in wanted:
            if extra.get(key) is None:
                raise ApiError(400, f"{key}: pipeline {name!r} needs a {key!r} upload "
                                    f"({pipe.spec.inputs[key]})", field=key)
        uploads: dict[str, _Upload] = {}
        run_dir = None
        try:
            uploads["image"] = await run_in_threadpool(_check_upload, store, config, image,
                                                       "image")
            for key in wanted:
                is_mask = pipe.spec.inputs[key] == "mask"
                uploads[key] = await run_in_threadpool(
                    _check_upload, store, config, extra[key], key, mask=is_mask,
                    shape=uploads["image"].shape if is_mask else None)
            h, w = uploads["image"].shape
            task = {"task": "run", "pipeline": _pipeline_source(name), "params": params_d,
                    "policy": policy, "max_pixels": config.max_pixels,
                    "image": str(uploads["image"].path),
                    "inputs": {k: str(u.path) for k, u in uploads.items() if k != "image"}}
            if preflight == "only":  # in a worker (warm detector), nothing stored
                job = _submit(f"preflight-{secrets.token_hex(6)}", dict(task, task="preflight"),
                              None, {})
                await asyncio.wrap_future(job.future)
                if job.status != "ok":
                    raise _job_error(job)
                return JSONResponse(jsonable_encoder(job.result))
            run_id, run_dir = store.new_run(name)
            for key, up in uploads.items():
                target = run_dir / f"{key}{up.ext}"
                shutil.move(up.path, target)
                up.path = target
        finally:
            if run_dir is None:
                for up in uploads.values():
                    up.discard()
        task.update(image=str(uploads["image"].path), out=str(run_dir),
                    inputs={k: str(u.path) for k, u in uploads.items() if k != "image"})
        record = {"pipeline": name, "params": params_d, "policy": policy,
                  "stages": [s.name for s in pipe.spec.stages], "width": w, "height": h}
        sync = mode == "sync" or (mode == "auto" and w * h <= config.sync_max_pixels)
        try:
            job = _submit(run_id, task, run_dir, record)
        except ApiError:
            shutil.rmtree(run_dir, ignore_errors=True)  # refused: leave nothing behind
            raise
        if not sync:
            return JSONResponse(_job_body(job), status_code=202,
                                headers={"Location": f"/v1/jobs/{job.id}"})
        await asyncio.wrap_future(job.future)
        if job.status != "ok":
            raise _job_error(job)
        if fmt == "image":
            out = run_dir / job.result["output"]
            return FileResponse(out, media_type=_media(out.suffix),
                                headers={"X-Seamline-Run": run_id})
        return JSONResponse(_result_body(run_id, run_dir))

    def _submit(job_id: str, task: dict, run_dir: Path | None, record: dict) -> Job:
        try:
            return jobs.submit(job_id, task, run_dir=run_dir, record=record)
        except QueueFull as e:
            raise ApiError(429, str(e), headers={"Retry-After": str(e.retry_after)}) from None

    def _job_error(job: Job) -> ApiError:
        if job.user_error:
            return ApiError(422, job.error or "the job failed")
        return ApiError(500, job.error or "the job failed")

    def _result_body(run_id: str, run_dir: Path) -> dict:
        m = read_manifest(run_dir)
        out = Path(m["output"]).name if m.get("output") else None
        return jsonable_encoder({
            "run_id": run_id, "status": m.get("status"),
            "pipeline": (m.get("pipeline") or {}).get("name"), "seconds": m.get("seconds"),
            "output_url": f"/v1/runs/{run_id}/files/{out}" if out else None,
            "inspector_url": f"/runs/{run_id}", "report_url": f"/runs/{run_id}/report",
            "qa": m.get("qa", {}), "warnings": m.get("warnings", []),
            "checks": [h for s in m.get("stages", []) for h in s.get("handoffs", [])]})

    def _job_body(job: Job) -> dict:
        stages = job.record.get("stages", [])
        done = []
        if job.run_dir is not None:
            for i, name in enumerate(stages):
                done.append((job.run_dir / "stages" / f"{i + 1:02d}-{name}" / "cache.json")
                            .is_file() or job.status == "ok")
        body = {"job_id": job.id, "run_id": job.id if job.run_dir else None,
                "status": job.status, "error": job.error,
                "stages": [{"name": n, "done": d} for n, d in zip(stages, done, strict=False)],
                "progress": f"{sum(done)}/{len(stages)}" if stages else None,
                "status_url": f"/v1/jobs/{job.id}",
                "inspector_url": f"/runs/{job.id}" if job.run_dir else None}
        if job.status == "ok" and job.run_dir is not None:
            body["result"] = _result_body(job.id, job.run_dir)
        return jsonable_encoder(body)

    mode_q = Query("auto", description="sync: wait and return the result; async: 202 + job; "
                                       "auto: sync up to sync_max_pixels")
    fmt_q = Query("json", description="sync result as JSON (QA, checks, URLs) or the image")
    pre_q = Query(None, description="'only': run detection, mask, normalisation and preflight "
                                    "and return their verdict, nothing stored")

    def _endpoint(name: str, extras: tuple[str, ...]):
        summary = f"Run the {name} pipeline on one upload"
        if extras == ("mask",):
            async def handler(image: UploadFile = File(...), mask: UploadFile | None = File(None),
                              params: str | None = Form(None), policy: str | None = Form(None),
                              mode: Literal["auto", "sync", "async"] = mode_q,
                              format: Literal["json", "image"] = fmt_q,
                              preflight: Literal["only"] | None = pre_q):
                return await submit_run(name, image, {"mask": mask}, params, policy, mode,
                                        format, preflight)
        elif extras == ("reference",):
            async def handler(image: UploadFile = File(...),
                              reference: UploadFile | None = File(None),
                              params: str | None = Form(None), policy: str | None = Form(None),
                              mode: Literal["auto", "sync", "async"] = mode_q,
                              format: Literal["json", "image"] = fmt_q):
                return await submit_run(name, image, {"reference": reference}, params, policy,
                                        mode, format, None)
        else:
            async def handler(image: UploadFile = File(...), params: str | None = Form(None),
                              policy: str | None = Form(None),
                              mode: Literal["auto", "sync", "async"] = mode_q,
                              format: Literal["json", "image"] = fmt_q,
                              preflight: Literal["only"] | None = pre_q):
                return await submit_run(name, image, {}, params, policy, mode, format,
                                        preflight)
        app.post(f"/v1/{name}", summary=summary, responses=_RUN_RESPONSES, tags=["one-click"],
                 operation_id=f"run_{name.replace('-', '_')}")(handler)

    _endpoint("remove-text", ())
    _endpoint("inpaint", ("mask",))
    _endpoint("upscale", ())
    _endpoint("enhance", ())
    _endpoint("color-match", ("reference",))

    @app.post("/v1/pipelines/{name}/runs", responses=_RUN_RESPONSES, tags=["pipelines"],
              summary="Run a built-in pipeline (extra inputs as uploads named after them)")
    async def pipeline_run(name: str, image: UploadFile = File(...),
                           mask: UploadFile | None = File(None),
                           reference: UploadFile | None = File(None),
                           params: str | None = Form(None), policy: str | None = Form(None),
                           mode: Literal["auto", "sync", "async"] = mode_q,
                           format: Literal["json", "image"] = fmt_q,
                           preflight: Literal["only"] | None = pre_q):
        return await submit_run(name, image, {"mask": mask, "reference": reference}, params,
                                policy, mode, format, preflight)

    @app.get("/v1/pipelines", tags=["pipelines"], summary="Built-in pipelines and parameters")
    async def pipelines():
        return [pipeline_info(n) for n in _builtin_names()]

    @app.get("/v1/pipelines/{name}", tags=["pipelines"], responses=_ERRORS)
    async def pipeline(name: str):
        if name not in _builtin_names():
            raise ApiError(404, f"pipeline {name!r}: no such pipeline; known: "
                                f"{', '.join(_builtin_names())}", field="name")
        return pipeline_info(name)

    # ------------------------------------------------------------------------- jobs
    @app.get("/v1/jobs/{job_id}", tags=["jobs"], responses=_ERRORS,
             summary="A job's status with stage-by-stage progress; the result once ok")
    async def job_status(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            run_dir = store.run_dir(job_id)  # a job of an earlier server: its record
            rec = store.read_job(run_dir)
            if rec is None:
                raise ApiError(404, f"job {job_id!r}: no such job")
            body = {"job_id": job_id, "run_id": job_id, "status": rec.get("status"),
                    "error": rec.get("error"), "stages": [], "progress": None,
                    "status_url": f"/v1/jobs/{job_id}", "inspector_url": f"/runs/{job_id}"}
            if rec.get("status") == "ok":
                body["result"] = _result_body(job_id, run_dir)
            return jsonable_encoder(body)
        return _job_body(job)

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"], responses=_ERRORS,
                summary="Cancel a queued or running job")
    async def job_cancel(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"job {job_id!r}: no such job (or not of this server)")
        if job.status not in ("queued", "running"):
            raise ApiError(409, f"job {job_id!r}: already {job.status}")
        await run_in_threadpool(jobs.cancel, job)
        return _job_body(job)

    @app.get("/v1/health", tags=["server"])
    async def health():
        return {"status": "ok", "version": __version__, **jobs.counts()}

    # ------------------------------------------------------------------------- runs
    @app.get("/v1/runs", tags=["runs"], summary="Runs under RUNS_DIR, newest first")
    async def runs(pipeline: str | None = None, status: str | None = None,
                   qa_warnings: bool | None = None):
        found = await run_in_threadpool(store.list_runs)
        if pipeline:
            found = [r for r in found if r["pipeline"] == pipeline]
        if status:
            found = [r for r in found if r["status"] == status]
        if qa_warnings is not None:
            found = [r for r in found if (r["qa_warnings"] > 0) == qa_warnings]
        return found

    @app.get("/v1/runs/{run_id}", tags=["runs"], responses=_ERRORS,
             summary="A run: manifest, stages, handoffs, QA, editable parameters")
    async def run_detail(run_id: str):
        run_dir = store.run_dir(run_id)
        return await run_in_threadpool(_run_detail, store, run_id, run_dir)

    @app.get("/v1/runs/{run_id}/files/{name:path}", tags=["runs"], responses=_ERRORS,
             response_class=Response, summary="A file of a run (images, JSON, the report)")
    async def run_file(run_id: str, name: str):
        path = store.file(run_id, name)
        return FileResponse(path, media_type=_media(path.suffix))

    @app.get("/v1/runs/{run_id}/compare/{other_id}", tags=["runs"], responses=_ERRORS,
             summary="A/B: config differences, per-stage pixel differences, metric deltas")
    async def run_compare(run_id: str, other_id: str):
        from seamline.reporting.diff import compare_runs

        a, b = store.run_dir(run_id), store.run_dir(other_id)
        try:
            return jsonable_encoder(await run_in_threadpool(compare_runs, a, b))
        except SeamlineError as e:
            raise ApiError(409, str(e).replace(str(store.root) + "/", "")) from None

    @app.post("/v1/runs/{run_id}/rerun", tags=["runs"], responses=_ERRORS, status_code=202,
              summary="Child run from a stage, with an edited mask and/or parameters")
    async def rerun(run_id: str, body: Rerun):
        parent = store.run_dir(run_id)
        child_id, task, record, child_dir = await run_in_threadpool(
            _prepare_rerun, store, config, run_id, parent, body)
        try:
            job = _submit(child_id, task, child_dir, record)
        except ApiError:
            shutil.rmtree(child_dir, ignore_errors=True)
            raise
        body_out = _job_body(job)
        body_out["compare_url"] = f"/runs/{run_id}/diff/{child_id}"
        return JSONResponse(body_out, status_code=202)

    @app.post("/v1/masks/{op}", tags=["masks"], responses=_ERRORS, response_class=Response,
              summary="Grow or shrink a mask by px pixels (the project's mask functions)")
    async def mask_op(op: Literal["grow", "shrink"], mask: UploadFile = File(...),
                      px: int = Query(2, ge=0, le=64)):
        up = await run_in_threadpool(_check_upload, store, config, mask, "mask", mask=True)
        try:
            data = await run_in_threadpool(_mask_op, store, up.path, op, px, config.max_pixels)
        finally:
            up.discard()
        return Response(data, media_type="image/png")

    # -------------------------------------------------------------------- inspector
    static = resources.files("seamline.serve") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse((static / "index.html").read_text())

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(run_id: str):
        store.run_dir(run_id)
        return HTMLResponse((static / "run.html").read_text())

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse, include_in_schema=False)
    async def run_report(run_id: str):
        from seamline.reporting.report import render_report

        run_dir = store.run_dir(run_id)
        if not (run_dir / "manifest.json").is_file():
            raise ApiError(404, f"run {run_id!r}: no manifest (the run did not finish)")
        return HTMLResponse(await run_in_threadpool(render_report, run_dir))

    @app.get("/runs/{run_id}/diff/{other_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def run_diff(run_id: str, other_id: str):
        from seamline.reporting.diff import render_diff

        a, b = store.run_dir(run_id), store.run_dir(other_id)
        try:
            page = await run_in_threadpool(render_diff, a, b)
        except SeamlineError as e:
            raise ApiError(409, str(e)) from None
        return HTMLResponse(page)

    return app


# ------------------------------------------------------------------------------- helpers
def _media(suffix: str) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff",
            ".json": "application/json", ".html": "text/html"}.get(suffix.lower(),
                                                                   "application/octet-stream")


def _type_label(typ: Any) -> str:
    import types
    import typing

    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_label(a) for a in args)
    return getattr(typ, "__name__", str(typ))


def stage_params(stage_id: str, current: dict | None = None) -> list[dict]:
    """Editable parameters of a stage: name, type, default and current value."""
    from seamline.core.stage import param_fields
    from seamline.stages import get_stage

    fields = param_fields(get_stage(stage_id).Params)
    current = current or {}
    return [{"name": k, "type": _type_label(t), "default": d, "value": current.get(k, d)}
            for k, (t, d) in fields.items()]


def pipeline_info(name: str) -> dict:
    from seamline.serve.worker import build_pipeline

    pipe = build_pipeline({"pipeline": _pipeline_source(name)})
    return jsonable_encoder({
        "name": name, "description": pipe.spec.raw.get("description", ""),
        "inputs": dict(pipe.spec.inputs), "endpoint": f"/v1/pipelines/{name}/runs",
        "stages": [{"name": d.name, "stage": d.stage_id,
                    "params": stage_params(d.stage_id, d.params_dict())}
                   for d in pipe.spec.stages]})


def _run_detail(store: RunStore, run_id: str, run_dir: Path) -> dict:
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
    return jsonable_encoder({
        **store.summary(run_dir), "manifest": {k: v for k, v in m.items() if k != "stages"},
        "stages": stages, "job": store.read_job(run_dir), "inputs": inputs,
        "output_file": out if out and (run_dir / out).is_file() else None,
        "children": children})


def _prepare_rerun(store: RunStore, cfg: ServeConfig, run_id: str, parent: Path, body) -> tuple:
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
    params = _parse_params(json.dumps(body.params))
    from seamline.serve.worker import build_pipeline

    src = {"raw": raw, "source": f"<run {run_id}>"}
    try:
        pipe = build_pipeline({"pipeline": src, "params": params})
    except SeamlineError as e:
        raise _param_error(e) from None
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
            raise _param_error(e) from None
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


def _mask_op(store: RunStore, path: Path, op: str, px: int, max_pixels: int) -> bytes:
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

