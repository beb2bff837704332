"""Run directories under RUNS_DIR, as the server sees them.

A run is an ordinary run directory (``manifest.json``, ``stages/NN-name/``, ``report.html``)
anywhere under RUNS_DIR, up to :data:`MAX_DEPTH` folders deep, so runs made by the CLI and by
``batch --run-dirs`` show up beside the server's own. A run's id is its path relative to
RUNS_DIR with ``~`` for ``/`` (``batch1~runs~photo``): ids are names, never paths, and every
id and file name a client sends is checked against a strict pattern, then resolved and checked
to lie inside RUNS_DIR before anything is opened.

Runs the server starts get a generated name and a job record, ``serve-job.json`` (status,
timings, error, parent run), written only by the server process.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from seamline.core import artifacts

JOB_FILE = "serve-job.json"
MAX_DEPTH = 4
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_FILE = re.compile(r"^(stages/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/)?"
                   r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.(png|jpg|jpeg|webp|tif|tiff|json|html)$")
#: Job states; ``queued`` and ``running`` are the only unfinished ones.
UNFINISHED = ("queued", "running")
#: Run statuses of a run that went to the end and wrote its output.
FINISHED = ("ok", "qa_failed")


class NotFound(Exception):
    """An id or file that does not name anything inside RUNS_DIR (the message says which)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunStore:
    """Read and create run directories inside one RUNS_DIR."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = self.root / ".serve-tmp"

    # ------------------------------------------------------------------------ ids and paths
    def run_dir(self, run_id: str) -> Path:
        """The directory of run ``run_id``; :class:`NotFound` unless it is a run inside root."""
        parts = run_id.split("~") if isinstance(run_id, str) else []
        if not parts or len(parts) > MAX_DEPTH or not all(_SEGMENT.match(p) for p in parts):
            raise NotFound(f"run {run_id!r}: not a run id (letters, digits, '_', '-', '.', "
                           "'~' between folders)")
        path = self.root.joinpath(*parts)
        if not path.resolve().is_relative_to(self.root) or not path.is_dir() or not (
                (path / "manifest.json").is_file() or (path / JOB_FILE).is_file()):
            raise NotFound(f"run {run_id!r}: no such run")
        return path

    def run_id(self, path: Path) -> str:
        return "~".join(path.relative_to(self.root).parts)

    def file(self, run_id: str, name: str) -> Path:
        """A file inside a run (``output.png``, ``stages/03-normalize/mask.png``)."""
        folder = self.run_dir(run_id)
        if not isinstance(name, str) or not _FILE.match(name) or ".." in name:
            raise NotFound(f"file {name!r}: not a run file name")
        path = folder / name
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            raise NotFound(f"run {run_id!r}: no file {name!r}")
        return path

    def new_run(self, pipeline: str) -> tuple[str, Path]:
        """Create an empty run directory with a generated name; returns ``(id, path)``."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{pipeline}-{secrets.token_hex(4)}"
        path = self.root / name
        path.mkdir()
        return name, path

    def temp_file(self, suffix: str) -> Path:
        """A fresh file name in RUNS_DIR's scratch folder (the caller deletes it)."""
        self.tmp.mkdir(exist_ok=True)
        return self.tmp / f"{secrets.token_hex(8)}{suffix}"

    # ------------------------------------------------------------------------------- jobs
    def read_job(self, path: Path) -> dict | None:
        try:
            return json.loads((path / JOB_FILE).read_text())
        except (OSError, ValueError):
            return None

    def write_job(self, path: Path, record: dict) -> None:
        artifacts.write_json(path / JOB_FILE, record)

    def recover(self) -> list[str]:
        """Mark jobs cut off by a restart as failed; returns their ids. Finished runs are
        left as they are."""
        fixed = []
        for path in self._run_paths():
            rec = self.read_job(path)
            if rec and rec.get("status") in UNFINISHED:
                rec.update(status="failed", finished=now_iso(),
                           error="interrupted: the server stopped before this job finished")
                self.write_job(path, rec)
                fixed.append(self.run_id(path))
        shutil.rmtree(self.tmp, ignore_errors=True)  # scratch of a server that stopped mid-upload
        self.tmp.mkdir()
        return fixed

    # ----------------------------------------------------------------------------- listing
    def _run_paths(self) -> list[Path]:
        found, level = [], [self.root]
        for _ in range(MAX_DEPTH):
            nxt = []
            for folder in level:
                try:
                    children = sorted(p for p in folder.iterdir()
                                      if p.is_dir() and _SEGMENT.match(p.name)
                                      and p.name != "stages")
                except OSError:
                    continue
                for child in children:
                    if (child / "manifest.json").is_file() or (child / JOB_FILE).is_file():
                        found.append(child)
                    else:
                        nxt.append(child)
            level = nxt
        return found

    def summary(self, path: Path) -> dict:
        """One run as the runs list shows it."""
        manifest = read_manifest(path)
        job = self.read_job(path) or {}
        status = job.get("status") or manifest.get("status", "unknown")
        if status == "ok" and manifest.get("status"):  # the job finished; the run says how
            status = manifest["status"]  # (``qa_failed``: QA names regions still visible)
        qa_warnings = [w for w in manifest.get("warnings", []) if w.split(":")[0] in
                       _qa_stage_names(manifest)]
        return {
            "id": self.run_id(path),
            "pipeline": (manifest.get("pipeline") or {}).get("name") or job.get("pipeline"),
            "status": status,
            "created": manifest.get("created") or job.get("created"),
            "seconds": manifest.get("seconds"),
            "warnings": len(manifest.get("warnings", [])),
            "qa_warnings": len(qa_warnings),
            "parent": job.get("parent"),
            "error": job.get("error") or manifest.get("error"),
            "has_output": bool(manifest.get("output")) and status in FINISHED,
        }

    def list_runs(self) -> list[dict]:
        runs = [self.summary(p) for p in self._run_paths()]
        runs.sort(key=lambda r: r.get("created") or "", reverse=True)
        return runs


def read_manifest(path: Path) -> dict:
    try:
        return json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _qa_stage_names(manifest: dict) -> set[str]:
    return {s["name"] for s in manifest.get("stages", []) if s.get("name") in ("qa",)
            or str(s.get("stage", "")).endswith("qa")}


def stage_folder(run_dir: Path, manifest: dict, stage: str) -> Path:
    """``stages/NN-name`` of ``stage`` in a run."""
    names = [s["name"] for s in manifest.get("stages", [])]
    if stage not in names:
        raise NotFound(f"stage {stage!r}: not in this run; stages: {', '.join(names)}")
    return run_dir / "stages" / f"{names.index(stage) + 1:02d}-{stage}"


def copy_stages(parent: Path, child: Path, upto: int) -> None:
    """Copy the cached results of the first ``upto`` stages into a child run directory, so
    the runner's ``from_stage`` reuses them instead of recomputing."""
    src = parent / "stages"
    if not src.is_dir():
        return
    for folder in sorted(src.iterdir()):
        try:
            index = int(folder.name.split("-")[0])
        except ValueError:
            continue
        if index <= upto:
            shutil.copytree(folder, child / "stages" / folder.name)


def age_seconds(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return time.time() - datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=artifacts.json_default))
