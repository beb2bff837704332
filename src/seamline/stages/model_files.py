"""The model files a stage's output depends on: checked before a run, part of its cache key.

Mixed into the stages that read a model file (before :class:`seamline.core.stage.Stage` in
their bases), each supplies the two hooks for it:

- :meth:`check_files`: the cheap check the runner's preflight makes before any stage runs
  (there, readable, the right format by its header; no weights read), so a missing or
  corrupt model is a one-line error naming it before detection and the other stages work;
- :meth:`cache_token`: the file's sha256 (:data:`seamline.core.hashing.model_sha256`,
  memoised by path, size and mtime), so a model replaced in place is not served from a run
  directory's stale cache.

The diffusion stages key on their weights through ``weights_hash``
(:mod:`seamline.stages.generate`); ``detect-text`` reads rapidocr's packaged models, whose
version is in every manifest, and keys on the packaged segmenter its tiled watermark search
reads (its own ``cache_token``, with :func:`file_token`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from seamline.errors import InputError


def file_token(path: Path) -> str:
    """sha256 of a model file for a cache key, memoised (a large checkpoint is hashed once
    per change, not on every run).

    Raises
    ------
    InputError
        The file cannot be read (it went away after the preflight checked it).
    """
    from seamline.core.hashing import model_sha256

    try:
        return model_sha256(path)
    except OSError as e:
        raise InputError(f"model: cannot read {path} ({e.strerror or e})") from None


class SegmenterFile:
    """``text-mask``: the seamline-textseg ONNX model (``model``; default the packaged one),
    read unless ``method`` is ``matting``."""

    @classmethod
    def check_files(cls, params) -> None:
        if params.method != "matting":
            from seamline.ops.text.segment import check_segmenter

            check_segmenter(params.model)

    @classmethod
    def cache_token(cls, params) -> str | None:
        if params.method == "matting":
            return None
        from seamline.ops.text.segment import segmenter_path

        return file_token(segmenter_path(params.model))


class CheckpointFile:
    """A user checkpoint named by ``model``, read by one backend: ``lama`` for ``inpaint``
    and ``fill-text``, ``spandrel`` for ``upscale`` (which sets the class attributes)."""

    #: The backend that reads ``model``, the name its messages use, and its file kinds.
    checkpoint_backend: ClassVar[str] = "lama"
    checkpoint_who: ClassVar[str] = "lama"
    checkpoint_kinds: ClassVar[str] = ".safetensors/.pt"

    @classmethod
    def check_files(cls, params) -> None:
        if params.backend == cls.checkpoint_backend:
            from seamline.ops.checkpoints import check_checkpoint

            check_checkpoint(params.model, who=cls.checkpoint_who, kinds=cls.checkpoint_kinds,
                             backend=cls.checkpoint_backend)

    @classmethod
    def cache_token(cls, params) -> str | None:
        if params.backend != cls.checkpoint_backend or not params.model:
            return None
        return file_token(Path(params.model).expanduser().resolve())
