"""Reading user checkpoints without running their code: safetensors, or
``torch.load(weights_only=True)``. TorchScript archives and pickled objects are refused.

Shared by every loader of a user's model (LaMa inpainters, spandrel upscalers), so the rule
"never unpickle untrusted files" lives in one place. The cheap checks a stage makes of its
model files before a run (:func:`check_checkpoint`; :func:`onnx_metadata` for ONNX files)
live here too: they read headers, never the weights.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

from seamline.errors import InputError, StageError, first_line


def locate_checkpoint(path, device, *, who: str, torch, kinds: str) -> tuple[Path, tuple, Any]:
    """Check a checkpoint path and a torch device before anything is read.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (``~`` expanded).
    device : str
        A torch device string; ``cuda`` without an index becomes the current CUDA device.
    who : str
        Prefix for messages (``"lama"``, ``"upscaler"``).
    torch : module
        The imported torch module (the callers import it lazily).
    kinds : str
        The file kinds to suggest when ``path`` is a folder (``".safetensors/.pt"``).

    Returns
    -------
    (pathlib.Path, tuple, torch.device)
        The resolved path, a cache key ``(path, mtime_ns, size, device)`` that changes when
        the file does, and the device.

    Raises
    ------
    InputError
        Missing or unreadable file, a folder, a malformed device string.
    StageError
        A CUDA device on a torch without usable CUDA (said before reading the file).
    """
    p, st = _checkpoint_file(path, who=who, kinds=kinds)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{who}: device: not a torch device: {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():  # say so before reading a large file
            raise StageError(f"{who}: device {device!r} is not available (this torch has no "
                             "usable CUDA)")
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
    p = p.resolve()
    return p, (str(p), st.st_mtime_ns, st.st_size, str(dev)), dev


def read_checkpoint(p: Path, *, who: str) -> Any:
    """File -> whatever it holds (a dict of tensors, possibly nested), never running its code.

    The format is recognised from the first bytes, not the extension: a zip (``torch.save``;
    TorchScript archives are zips too and are refused), a legacy pickle (loaded with
    ``weights_only=True``), or safetensors.

    Parameters
    ----------
    p : Path
        The checkpoint.
    who : str
        Prefix for error messages (``"lama"``, ``"upscaler"``).

    Raises
    ------
    InputError
        Unreadable, damaged, TorchScript, a pickled object, or not a checkpoint at all.
    StageError
        torch/safetensors are not installed.
    """
    kind = checkpoint_format(p, who=who)
    if kind != "safetensors":
        return _torch_load(p, who)
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise StageError(f"{who}: reading checkpoints needs the torch extra: "
                         "pip install 'seamline[torch]'") from None
    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        msg = first_line(e)
        raise InputError(f"{who}: {p} is a damaged safetensors file ({msg})") from None


def checkpoint_format(p: Path, *, who: str) -> str:
    """What a checkpoint file is, from its first bytes (and a zip's list of names), without
    reading its tensors: how :func:`read_checkpoint` tells the formats apart, and the cheap
    check a stage makes before a run (:func:`check_checkpoint`).

    Returns
    -------
    {"zip", "pickle", "safetensors"}
        A ``torch.save`` zip (not TorchScript), a legacy pickle, or safetensors.

    Raises
    ------
    InputError
        Unreadable, a damaged zip, a TorchScript archive, or none of the three.
    """
    try:
        with open(p, "rb") as fh:
            head = fh.read(9)
    except OSError as e:
        raise InputError(f"{who}: cannot read checkpoint {p} ({e.strerror or e})") from None
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(p) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            raise InputError(f"{who}: {p} is not a checkpoint (damaged zip archive)") from None
        if any("/code/" in n or n.endswith("/constants.pkl") for n in names):
            raise InputError(
                f"{who}: {p} is a TorchScript archive; seamline does not run TorchScript or "
                "unpickle code from files; save the model's state_dict as .safetensors with a "
                "tool you trust")
        return "zip"
    if head[:1] == b"\x80":  # legacy (pre-1.6) torch.save pickle
        return "pickle"
    if len(head) == 9 and head[8:9] == b"{" and 0 < struct.unpack("<Q", head[:8])[0] < 100_000_000:
        return "safetensors"
    raise InputError(f"{who}: {p} is not a checkpoint (neither safetensors nor a torch.save file)")


def check_checkpoint(path, *, who: str, kinds: str, backend: str) -> None:
    """The cheap check of a checkpoint a stage names, made before a run (no tensor read, no
    torch import): a path given, an existing readable file, a format :func:`read_checkpoint`
    accepts. The full load (:func:`locate_checkpoint`, :func:`read_checkpoint`) stays where
    the model is used.

    Parameters
    ----------
    path : str, os.PathLike or None
        The ``model`` parameter; None is refused (seamline never downloads weights).
    who, kinds : str
        As for :func:`locate_checkpoint`.
    backend : str
        The backend that reads it (``lama``, ``spandrel``), named when ``path`` is missing.

    Raises
    ------
    InputError
        One line naming the file (or the missing ``model`` parameter).
    """
    if not path:
        raise InputError(f"model: the {backend} backend needs a checkpoint path (model=PATH); "
                         "seamline never downloads weights")
    checkpoint_format(_checkpoint_file(path, who=who, kinds=kinds)[0], who=who)


def _checkpoint_file(path, *, who: str, kinds: str) -> tuple[Path, os.stat_result]:
    """``path`` (``~`` expanded) and its stat, refused in one line when it is missing,
    unreadable or a folder."""
    p = Path(os.fspath(path)).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{who}: checkpoint {p} does not exist") from None
    except OSError as e:
        raise InputError(f"{who}: cannot read checkpoint {p} ({e.strerror or e})") from None
    if p.is_dir():
        raise InputError(f"{who}: checkpoint {p} is a directory; pass the {kinds} file inside "
                         "it")
    return p, st


def _torch_load(p: Path, who: str) -> Any:
    try:
        import torch
    except ImportError:
        raise StageError(f"{who}: reading checkpoints needs the torch extra: "
                         "pip install 'seamline[torch]'") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(p, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        m = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        what = f"a pickled Python object ({m.group(1)})" if m else "data that is not plain tensors"
        if not m and re.search(r"Unsupported operand|invalid load key", str(e)):
            raise InputError(f"{who}: {p} is not a checkpoint (damaged or not a torch.save "
                             "file)") from None
        raise InputError(
            f"{who}: {p} holds {what} that torch.load(weights_only=True) refuses; seamline never "
            "unpickles objects; save the state_dict alone (or as .safetensors) with a tool you "
            "trust") from None
    except (RuntimeError, OSError, EOFError, ValueError, KeyError) as e:
        msg = first_line(e)
        if "TorchScript" in msg:
            raise InputError(f"{who}: {p} is a TorchScript archive; seamline does not run "
                             "TorchScript") from None
        raise InputError(f"{who}: {p} is not a readable torch checkpoint ({msg[:160]})") from None


class ModelCache:
    """A small thread-safe LRU of loaded models, keyed by (path, mtime, size, device).

    Models are large (big-lama ~200 MB in float32), so each loader keeps only the last few;
    a changed file gets a new key and is loaded again.
    """

    def __init__(self, size: int):
        import threading
        from collections import OrderedDict

        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The cached model for ``key`` (now most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Any, model: Any) -> None:
        with self._lock:
            self._items[key] = model
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# ---------------------------------------------------------------------------------------------
# ONNX files, read as far as their header


def onnx_metadata(p: Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props``, read without parsing its graph or weights.

    Walks the top-level fields of the ``ModelProto`` protobuf, seeking over each one but the
    metadata entries (a few reads whatever the file's size). The fields must tile the file
    exactly and include ``ir_version`` and a graph: a truncated or foreign file fails here,
    before a run, instead of when onnxruntime loads it.

    Parameters
    ----------
    p : Path

    Returns
    -------
    dict of str to str

    Raises
    ------
    OSError
        The file cannot be read.
    ValueError
        It is not an ONNX model (or is cut short); the message says what was wrong.
    """
    size = p.stat().st_size
    meta, seen = {}, set()
    with open(p, "rb") as f:
        while f.tell() < size:
            tag = _varint(f)
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                _varint(f)
            elif wire == 2:
                n = _varint(f)
                if f.tell() + n > size:
                    raise ValueError("cut short")
                if field == 14:  # StringStringEntryProto {1: key, 2: value}
                    entry = _fields(f.read(n))
                    meta[entry.get(1, b"").decode("utf-8", "replace")] = \
                        entry.get(2, b"").decode("utf-8", "replace")
                else:
                    f.seek(n, os.SEEK_CUR)
            else:
                raise ValueError("not an ONNX model")
            seen.add(field)
    if not {1, 7} <= seen:  # ir_version and the graph
        raise ValueError("not an ONNX model (no graph)")
    return meta


def _varint(f) -> int:
    out, shift = 0, 0
    while True:
        b = f.read(1)
        if not b:
            raise ValueError("cut short")
        out |= (b[0] & 0x7F) << shift
        if b[0] < 0x80:
            return out
        shift += 7
        if shift > 63:
            raise ValueError("not an ONNX model")


def _fields(blob: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a small protobuf message (a metadata entry)."""
    import io

    f, out = io.BytesIO(blob), {}
    while f.tell() < len(blob):
        tag = _varint(f)
        if tag & 7 != 2:
            raise ValueError("not an ONNX model")
        n = _varint(f)
        out[tag >> 3] = f.read(n)
    return out
