"""Batch planning: list and match the files, hash them, and decide what to run or skip.

Runs in the calling process before any worker starts; writes nothing but ``out_dir`` itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline._version import __version__
from seamline.batch.journal import STATE_FILE, read_state
from seamline.core.hashing import file_sha256, memo_sha256
from seamline.errors import ConfigError, InputError

__all__ = ["RUNS_DIR", "BatchItem", "BatchPlan", "list_images", "item_seed",
           "config_key", "resolve_pipeline", "plan_batch"]


RUNS_DIR = "runs"


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch, fully resolved before any work starts.

    Attributes
    ----------
    item : str
        Relative path of the input inside the input folder (POSIX separators); the item's id.
    image : str
        Absolute path of the input image.
    mask : str or None
        Absolute path of the matched mask (pipelines with a mask input).
    output : str
        Absolute path of the output image.
    run_dir : str or None
        Run directory (``--run-dirs``), else None: the run happens in memory.
    seed : int
        The pipeline seed for this item, see :func:`item_seed`.
    key : str
        Hash of input, mask, config, seamline version and output path: equal keys, equal work.
    input_sha256, mask_sha256 : str or None
        File hashes (None where a file is missing or unreadable).
    error : str or None
        Set when the item cannot run at all (missing mask...): it is recorded as failed
        without being sent to an engine.
    """

    item: str
    image: str
    mask: str | None
    output: str
    run_dir: str | None
    seed: int
    key: str
    input_sha256: str | None
    mask_sha256: str | None
    input_stat: tuple[int, int] | None = None
    mask_stat: tuple[int, int] | None = None
    error: str | None = None

    def task(self) -> dict:
        """The picklable job description an engine sends to a worker."""
        return {"item": self.item, "image": self.image, "mask": self.mask,
                "output": self.output, "run_dir": self.run_dir, "seed": self.seed,
                "key": self.key}


@dataclass
class BatchPlan:
    """What a batch will do: items to run, items to skip, and the settings they share.

    Attributes
    ----------
    todo : list of BatchItem
        Items to run (including those that fail up front, ``error`` set).
    skipped : list of dict
        Earlier records of items that are finished and unchanged (file stats refreshed).
    warnings : list of str
        Extra masks and similar oddities that do not stop the batch.
    previous : dict
        The state file's latest record per item when the plan was made.
    """

    spec_raw: dict
    spec_source: str
    pipeline: str
    config_key: str
    seed: int
    input_dir: Path
    out_dir: Path
    mask_dir: Path | None
    mask_input: str | None
    run_dirs: bool
    todo: list[BatchItem]
    skipped: list[dict]
    warnings: list[str]
    n_items: int
    previous: dict = field(default_factory=dict)


def list_images(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` sorted by relative path (hidden files and folders left out).

    Parameters
    ----------
    folder : str or Path
    recursive : bool, keyword-only
        Also look in sub-folders.

    Returns
    -------
    list of Path
        Files whose extension (any case) is one of a format seamline reads
        (:func:`seamline.io.image_extensions`), for images and masks alike.
    """
    from seamline.io import image_extensions

    readable = frozenset(image_extensions())
    folder = Path(folder)
    found = []
    walker = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for root, dirs, files in walker:
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # also prunes os.walk
        for name in files:
            p = Path(root) / name
            if (not name.startswith(".") and p.suffix.lower() in readable
                    and p.is_file()):
                found.append(p)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def item_seed(seed: int, relpath: str) -> int:
    """Per-item pipeline seed: a function of the batch seed and the item's relative path only.

    So results do not depend on listing order, worker count or engine.

    Parameters
    ----------
    seed : int
        Batch seed.
    relpath : str
        The item's path relative to the input folder, POSIX separators.

    Returns
    -------
    int
        In ``[0, 2**32)``.
    """
    return int(hashlib.sha256(f"{seed}:{relpath}".encode()).hexdigest()[:8], 16)


def config_key(spec) -> str:
    """Hash of everything about a pipeline that decides its output, besides the inputs.

    The resolved parameters of every stage (defaults filled in), stage versions, wiring,
    policies, seed, output port and the seamline version.

    Parameters
    ----------
    spec : PipelineSpec

    Returns
    -------
    str
        24 hex digits.
    """
    from seamline.stages import get_stage

    doc = {"seamline": __version__, "name": spec.name, "policy": spec.policy,
           "seed": spec.seed, "inputs": spec.inputs, "output": spec.output,
           "stages": [{"name": d.name, "stage": d.stage_id,
                       "version": get_stage(d.stage_id).version, "params": d.params_dict(),
                       "inputs": d.inputs, "policy": d.policy} for d in spec.stages]}
    blob = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def resolve_pipeline(pipeline: Any, *, sets: list[str] | dict | None = None,
                     policy: str | None = None, seed: int | None = None):
    """A :class:`~seamline.api.Pipeline` from a YAML path, a built-in name or a Pipeline.

    A name ending in ``.yaml``/``.yml`` or naming an existing file is read as a file; anything
    else is looked up among the built-ins. ``sets``, ``policy`` and ``seed`` are applied.
    """
    from seamline.api import Pipeline
    from seamline.core.pipeline import PipelineSpec

    if isinstance(pipeline, Pipeline):
        pipe = pipeline
    elif isinstance(pipeline, PipelineSpec):
        pipe = Pipeline(pipeline)
    else:
        name = str(pipeline)
        if Path(name).suffix.lower() in (".yaml", ".yml") or Path(name).exists():
            pipe = Pipeline.from_yaml(name)
        else:
            pipe = Pipeline.builtin(name)
    if sets:
        pipe = pipe.with_params(sets)
    if policy is not None:
        pipe = pipe.with_policy(policy)
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"seed: expected an integer, got {seed!r}")
        pipe = pipe.with_raw(seed=seed)
    return pipe


def plan_batch(pipeline: Any, input_dir: str | Path, out_dir: str | Path, *,
               masks: str | Path | None = None, sets: list[str] | dict | None = None,
               policy: str | None = None, seed: int | None = None, run_dirs: bool = False,
               recursive: bool = False, keep_ext: bool = False,
               force: bool = False) -> BatchPlan:
    """Check the arguments, list and match the files, and decide what to run.

    Nothing is written except ``out_dir`` itself (created if missing).

    Parameters
    ----------
    pipeline : str, Path, Pipeline or PipelineSpec
        A YAML file, a built-in name (``remove-text``, ``inpaint``...) or a pipeline object.
    input_dir, out_dir : str or Path
        Where the images are, where the outputs go. ``out_dir`` must not be inside
        ``input_dir`` (nor inside ``masks``).
    masks : str or Path, optional
        Folder of masks matched to images by relative path without extension; required when
        the pipeline has a mask input.
    sets : list of str or dict, optional
        ``stage.key=value`` overrides.
    policy : {"strict", "reconcile", "off"}, optional
        Override the pipeline's handoff policy.
    seed : int, optional
        Batch seed (default: the pipeline's ``seed``); each item's seed is derived from it.
    run_dirs : bool
        Keep a run directory (manifest and intermediates) per item under ``out_dir/runs``.
    recursive : bool
        Also take images from sub-folders; outputs mirror the sub-folders.
    keep_ext : bool
        Write each output with its input's extension (PNG where that format cannot be
        written); default: PNG.
    force : bool
        Run every item, finished or not.

    Returns
    -------
    BatchPlan

    Raises
    ------
    InputError, ConfigError
        Missing or empty input folder, output folder inside the input (or mask) folder,
        missing pipeline, bad overrides, masks given to a pipeline without a mask input (or
        missing for one with it), two images with the same stem.
    """
    from seamline.io import SUPPORTED_EXTENSIONS

    pipe = resolve_pipeline(pipeline, sets=sets, policy=policy, seed=seed)
    spec = pipe.spec
    in_dir = _existing_dir(input_dir, "input folder")
    out = Path(out_dir).expanduser()
    out_res = out.resolve()
    if out_res == in_dir or out_res.is_relative_to(in_dir):
        raise InputError(f"output folder {out}: is inside the input folder {input_dir}; "
                         "outputs would be read as inputs next time; choose a folder outside it")
    mask_input = _mask_input(spec, masks)
    mask_dir = None
    if masks is not None:
        mask_dir = _existing_dir(masks, "masks:")
        if mask_dir == in_dir:
            raise InputError(f"mask folder {masks}: is the input folder; keep masks in their "
                             "own folder")
        if out_res == mask_dir or out_res.is_relative_to(mask_dir):
            raise InputError(f"output folder {out}: is inside the mask folder {masks}; "
                             "outputs could overwrite masks")
        if recursive and mask_dir.is_relative_to(in_dir):
            raise InputError(f"recursive: the mask folder {masks} is inside the input folder; "
                             "listing it recursively would read the masks as images")
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out}: exists and is not a folder")
    if run_dirs:  # runs/ is written by every item: no input may live there
        runs = out_res / RUNS_DIR
        for d, what in ((in_dir, "input folder"), (mask_dir, "mask folder")):
            if d is not None and (d == out_res or d.is_relative_to(runs)):
                raise InputError(f"run_dirs: the {what} {d} is inside {runs}, where the run "
                                 "directories go; choose folders that do not overlap")

    try:
        images = list_images(in_dir, recursive=recursive)
    except OSError as e:
        raise InputError(f"input folder {input_dir}: cannot list it "
                         f"({e.strerror or e})") from None
    if not images:
        hint = ""
        if not recursive and any(p.is_dir() for p in in_dir.iterdir()):
            hint = "; it has sub-folders: pass recursive=True to take images from them"
        raise InputError(f"input folder {input_dir}: no images (no file named like a format "
                         f"seamline reads: .png, .jpg, .tif, .webp, .tga, ...){hint}")
    by_stem: dict[str, Path] = {}
    for p in images:
        stem = p.relative_to(in_dir).with_suffix("").as_posix()
        if stem in by_stem:
            raise InputError(f"input folder {input_dir}: {by_stem[stem].name} and {p.name} share "
                             f"the stem {stem!r} (outputs and masks are matched by stem); "
                             "rename or move one of them")
        by_stem[stem] = p
    if run_dirs:
        _check_run_dir_layout(by_stem, input_dir)

    mask_files: dict[str, list[Path]] = {}
    if mask_dir is not None:
        for m in list_images(mask_dir, recursive=recursive):
            mask_files.setdefault(m.relative_to(mask_dir).with_suffix("").as_posix(),
                                  []).append(m)
    warnings = []
    extra = sorted(s for s in mask_files if s not in by_stem)
    if extra:
        shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10
                                          else "")
        warnings.append(f"{len(extra)} mask(s) in {masks} match no image: {shown}")

    out.mkdir(parents=True, exist_ok=True)
    previous = read_state(out / STATE_FILE)
    ckey = config_key(spec)
    inputs_res = {p.resolve() for p in images} | {m.resolve() for ms in mask_files.values()
                                                   for m in ms}
    todo, skipped = [], []
    for stem, path in by_stem.items():
        rel = path.relative_to(in_dir).as_posix()
        ext = path.suffix.lower() if keep_ext and path.suffix.lower() in SUPPORTED_EXTENSIONS \
            else ".png"
        output = out_res / (stem + ext)
        if output in inputs_res:  # e.g. --masks pointing at the output folder
            raise InputError(f"output {output}: would overwrite an input or mask file")
        prev = previous.get(rel)
        error = None
        in_sha, in_stat = _hash_with_cache(path, prev, "input")
        mask_path, m_sha, m_stat = None, None, None
        if mask_input is not None:
            found = mask_files.get(stem, [])
            if not found:
                error = (f"no mask for {rel} in {masks} (looked for {stem} with the "
                         "extension of any format seamline reads)")
            elif len(found) > 1:
                error = (f"several masks for {rel} in {masks}: "
                         f"{', '.join(m.name for m in found)}; keep one")
            else:
                mask_path = found[0].resolve()
                m_sha, m_stat = _hash_with_cache(mask_path, prev, "mask")
        key_doc = [ckey, rel, in_sha, m_sha, output.relative_to(out_res).as_posix()]
        key = hashlib.sha256(json.dumps(key_doc).encode()).hexdigest()[:24]
        run_dir = out_res / RUNS_DIR / stem if run_dirs else None
        link = _link_below(out_res, output) or (run_dir and _link_below(out_res, run_dir))
        if link is not None and error is None:
            error = (f"output {link}: is a symbolic link; seamline never writes through a link "
                     "(it could point at an input or outside the output folder): remove it")
        item = BatchItem(item=rel, image=str(path.resolve()), mask=str(mask_path) if mask_path
                         else None, output=str(output),
                         run_dir=str(run_dir) if run_dir else None,
                         seed=item_seed(spec.seed, rel), key=key, input_sha256=in_sha,
                         mask_sha256=m_sha, input_stat=in_stat, mask_stat=m_stat, error=error)
        if (not force and error is None and prev is not None and prev.get("key") == key
                and prev.get("status") in ("ok", "skipped")
                and _output_unchanged(output, prev.get("output_sha256"))
                and (run_dir is None or (run_dir / "manifest.json").is_file())):
            skipped.append(dict(prev, input_stat=list(in_stat) if in_stat else None,
                                mask_stat=list(m_stat) if m_stat else None))
        else:
            todo.append(item)
    return BatchPlan(spec_raw=spec.raw, spec_source=spec.source, pipeline=spec.name,
                     config_key=ckey, seed=spec.seed, input_dir=in_dir, out_dir=out_res,
                     mask_dir=mask_dir, mask_input=mask_input, run_dirs=run_dirs, todo=todo,
                     skipped=skipped, warnings=warnings, n_items=len(by_stem),
                     previous=previous)


def _check_run_dir_layout(by_stem: dict[str, Path], input_dir) -> None:
    """With ``--run-dirs`` an item's run directory is ``runs/<stem>``: no item's output may land
    under ``runs/`` and no run directory may hold another (``a`` and ``a/b``), else one item's
    intermediates overwrite another's output."""
    for stem in by_stem:
        if stem.split("/")[0] == RUNS_DIR:
            raise InputError(f"run_dirs: {by_stem[stem].name} in the input folder {input_dir} is in "
                             f"a sub-folder named {RUNS_DIR!r}; its output would land among the "
                             "run directories: rename the sub-folder")
        head = stem.rpartition("/")[0]
        while head:
            if head in by_stem:
                raise InputError(f"run_dirs: {by_stem[head].name} and the sub-folder {head}/ of "
                                 f"the input folder {input_dir} share a name; their run "
                                 "directories would nest: rename one of them")
            head = head.rpartition("/")[0]


def _link_below(root: Path, path: Path) -> Path | None:
    """The first component of ``path`` below ``root`` that is a symbolic link, else None."""
    cur = root
    for part in path.relative_to(root).parts:
        cur = cur / part
        if cur.is_symlink():
            return cur
        if not cur.exists():
            return None
    return None


def _output_unchanged(output: Path, recorded: str | None) -> bool:
    """The output a finished record names is still there with the bytes it recorded.

    An output changed or deleted since (by hand, or by a run directory written over it) makes
    the item run again rather than be reported done.
    """
    if not recorded or output.is_symlink() or not output.is_file():
        return False
    return _sha256(output) == recorded


def _sha256(path: Path) -> str | None:
    """Hex SHA-256 of a file's bytes, None when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def _existing_dir(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{what} {path}: does not exist")
    if not p.is_dir():
        raise InputError(f"{what} {path}: is not a folder")
    return p.resolve()


def _mask_input(spec, masks) -> str | None:
    if "image" not in spec.inputs:
        raise ConfigError(f"pipeline {spec.name!r} takes no input image (inputs: "
                          f"{', '.join(spec.inputs) or 'none'}); a batch runs a pipeline per "
                          "image: use 'seamline run' for it")
    extra = {n: k for n, k in spec.inputs.items() if n != "image"}
    mask_names = [n for n, k in extra.items() if k == "mask"]
    others = [n for n, k in extra.items() if k != "mask"]
    if others or len(mask_names) > 1:
        raise ConfigError(f"pipeline {spec.name!r} takes inputs {', '.join(extra)}; a batch can "
                          "feed one image per item plus at most one mask (from the masks "
                          "folder)")
    if mask_names and masks is None:
        raise InputError(f"masks: pipeline {spec.name!r} needs a mask per image: give a folder "
                         "of masks (matched to images by file stem)")
    if not mask_names and masks is not None:
        raise InputError(f"masks: {masks}: pipeline {spec.name!r} takes no mask input")
    return mask_names[0] if mask_names else None


def _hash_with_cache(path: Path, prev: dict | None, which: str):
    """SHA-256 of a file, reused from the previous record when size and mtime are unchanged.

    Returns ``(sha, (size, mtime_ns))``, or ``(None, None)`` when the file cannot be read (the
    worker then reports the reader's own error).
    """
    try:
        return memo_sha256(path, prev.get(f"{which}_stat") if prev else None,
                           prev.get(f"{which}_sha256") if prev else None)
    except OSError:
        return None, None  # the worker's reader reports why


