"""The HTTP API and the inspector: :func:`create_app`.

Every request that carries an image goes the same way: each upload is checked and decoded in
RUNS_DIR's scratch folder (:mod:`seamline.serve.validate`); only when everything is valid is a
run directory created (generated name) and the files moved in, so a refused request leaves
nothing behind. Client file names are never used. The work runs in worker processes
(:mod:`seamline.serve.jobs`); runs and child runs are :mod:`seamline.serve.runs`.

Errors are JSON: ``{"error": "one line naming the argument", "field": ...}``.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import shutil
from importlib import resources
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from seamline._version import __version__
from seamline.errors import SeamlineError
from seamline.serve.jobs import Job, JobManager, QueueFull
from seamline.serve.runs import (Rerun, describe_run, mask_op_png, media_type, pipeline_info,
                                 prepare_rerun)
from seamline.serve.store import NotFound, RunStore, read_manifest
from seamline.serve.validate import (ERRORS, RUN_RESPONSES, ApiError, ServeConfig, Upload,
                                     builtin_names, check_upload, parse_params, pipeline_source,
                                     resolve_pipeline)


def _error(status: int, message: str, field: str | None = None, headers=None) -> JSONResponse:
    body = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------------------- the app
def create_app(config: ServeConfig, *, manager: JobManager | None = None) -> FastAPI:
    """The FastAPI application. Workers start with the app's lifespan and stop with it;
    jobs cut off by an earlier server's end are marked failed at start-up."""
    from contextlib import asynccontextmanager

    store = RunStore(config.runs_dir)
    jobs = manager or JobManager(store, workers=config.workers, queue_size=config.queue_size,
                                 max_jobs=config.worker_max_jobs,
                                 max_rss_mb=config.worker_max_rss_mb)

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
        params_d = parse_params(params)
        pipe = resolve_pipeline(name, params_d, policy)
        wanted = [k for k in pipe.spec.inputs if k != "image"]
        for key in wanted:
            if extra.get(key) is None:
                raise ApiError(400, f"{key}: pipeline {name!r} needs a {key!r} upload "
                                    f"({pipe.spec.inputs[key]})", field=key)
        uploads: dict[str, Upload] = {}
        run_dir = None
        try:
            uploads["image"] = await run_in_threadpool(check_upload, store, config, image,
                                                       "image")
            for key in wanted:
                is_mask = pipe.spec.inputs[key] == "mask"
                uploads[key] = await run_in_threadpool(
                    check_upload, store, config, extra[key], key, mask=is_mask,
                    shape=uploads["image"].shape if is_mask else None)
            h, w = uploads["image"].shape
            task = {"task": "run", "pipeline": pipeline_source(name), "params": params_d,
                    "policy": policy, "max_pixels": config.max_pixels,
                    "image": str(uploads["image"].path),
                    "inputs": {k: str(u.path) for k, u in uploads.items() if k != "image"}}
            if preflight == "only":  # in a worker (warm detector), nothing stored
                job = _submit(f"preflight-{secrets.token_hex(6)}", dict(task, task="preflight"),
                              None, {}, keep=False)
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
            job = _submit(run_id, task, run_dir, record, keep=not sync)
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
            return FileResponse(out, media_type=media_type(out.suffix),
                                headers={"X-Seamline-Run": run_id})
        body = _result_body(run_id, run_dir)
        body["timing"] = _timing(job)
        return JSONResponse(body)

    def _submit(job_id: str, task: dict, run_dir: Path | None, record: dict, *,
                keep: bool = True) -> Job:
        """Queue a job; ``keep=False`` for one this request waits on (sync, preflight): the
        manager forgets it once finished, so the server holds no finished results."""
        try:
            return jobs.submit(job_id, task, run_dir=run_dir, record=record, keep=keep)
        except QueueFull as e:
            raise ApiError(429, str(e), headers={"Retry-After": str(e.retry_after)}) from None

    def _job_error(job: Job) -> ApiError:
        if job.user_error:
            return ApiError(422, job.error or "the job failed")
        return ApiError(500, job.error or "the job failed")

    def _timing(job: Job) -> dict:
        """Where a job's time went: waiting for a worker, then in the worker (reading the
        upload, the run itself, the report)."""
        return {"queued_s": round((job.started or job.created) - job.created, 4),
                "worker_s": round((job.finished or job.started or job.created)
                                  - (job.started or job.created), 4),
                "run_s": (job.result or {}).get("run_seconds"),
                "worker_pid": (job.result or {}).get("worker_pid")}

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
        app.post(f"/v1/{name}", summary=summary, responses=RUN_RESPONSES, tags=["one-click"],
                 operation_id=f"run_{name.replace('-', '_')}")(handler)

    _endpoint("remove-text", ())
    _endpoint("inpaint", ("mask",))
    _endpoint("upscale", ())
    _endpoint("enhance", ())
    _endpoint("color-match", ("reference",))

    @app.post("/v1/pipelines/{name}/runs", responses=RUN_RESPONSES, tags=["pipelines"],
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
        return [pipeline_info(n) for n in builtin_names()]

    @app.get("/v1/pipelines/{name}", tags=["pipelines"], responses=ERRORS)
    async def pipeline(name: str):
        if name not in builtin_names():
            raise ApiError(404, f"pipeline {name!r}: no such pipeline; known: "
                                f"{', '.join(builtin_names())}", field="name")
        return pipeline_info(name)

    # ------------------------------------------------------------------------- jobs
    @app.get("/v1/jobs/{job_id}", tags=["jobs"], responses=ERRORS,
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

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"], responses=ERRORS,
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

    @app.get("/v1/runs/{run_id}", tags=["runs"], responses=ERRORS,
             summary="A run: manifest, stages, handoffs, QA, editable parameters")
    async def run_detail(run_id: str):
        run_dir = store.run_dir(run_id)
        return await run_in_threadpool(describe_run, store, run_id, run_dir)

    @app.get("/v1/runs/{run_id}/files/{name:path}", tags=["runs"], responses=ERRORS,
             response_class=Response, summary="A file of a run (images, JSON, the report)")
    async def run_file(run_id: str, name: str):
        path = store.file(run_id, name)
        return FileResponse(path, media_type=media_type(path.suffix))

    @app.get("/v1/runs/{run_id}/compare/{other_id}", tags=["runs"], responses=ERRORS,
             summary="A/B: config differences, per-stage pixel differences, metric deltas")
    async def run_compare(run_id: str, other_id: str):
        from seamline.reporting.diff import compare_runs

        a, b = store.run_dir(run_id), store.run_dir(other_id)
        try:
            return jsonable_encoder(await run_in_threadpool(compare_runs, a, b,
                                                            base=store.root))
        except SeamlineError as e:
            raise ApiError(409, str(e).replace(str(store.root) + "/", "")) from None

    @app.post("/v1/runs/{run_id}/rerun", tags=["runs"], responses=ERRORS, status_code=202,
              summary="Child run from a stage, with an edited mask and/or parameters")
    async def rerun(run_id: str, body: Rerun):
        parent = store.run_dir(run_id)
        child_id, task, record, child_dir = await run_in_threadpool(
            prepare_rerun, store, config, run_id, parent, body)
        try:
            job = _submit(child_id, task, child_dir, record)
        except ApiError:
            shutil.rmtree(child_dir, ignore_errors=True)
            raise
        body_out = _job_body(job)
        body_out["compare_url"] = f"/runs/{run_id}/diff/{child_id}"
        return JSONResponse(body_out, status_code=202)

    @app.post("/v1/masks/{op}", tags=["masks"], responses=ERRORS, response_class=Response,
              summary="Grow or shrink a mask by px pixels (the project's mask functions)")
    async def mask_op(op: Literal["grow", "shrink"], mask: UploadFile = File(...),
                      px: int = Query(2, ge=0, le=64)):
        up = await run_in_threadpool(check_upload, store, config, mask, "mask", mask=True)
        try:
            data = await run_in_threadpool(mask_op_png, store, up.path, op, px, config.max_pixels)
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
        return HTMLResponse(await run_in_threadpool(render_report, run_dir, base=store.root))

    @app.get("/runs/{run_id}/diff/{other_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def run_diff(run_id: str, other_id: str):
        from seamline.reporting.diff import render_diff

        a, b = store.run_dir(run_id), store.run_dir(other_id)
        try:
            page = await run_in_threadpool(render_diff, a, b, base=store.root)
        except SeamlineError as e:
            raise ApiError(409, str(e)) from None
        return HTMLResponse(page)

    return app
