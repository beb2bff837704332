"""Reading user checkpoints without running their code: safetensors, or
``torch.load(weights_only=True)``. TorchScript archives and pickled objects are refused.

Shared by every loader of a user's model (LaMa inpainters, spandrel upscalers), so the rule
"never unpickle untrusted files" lives in one place.
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
        return _torch_load(p, who)
    if head[:1] == b"\x80":  # legacy (pre-1.6) torch.save pickle
        return _torch_load(p, who)
    if len(head) == 9 and head[8:9] == b"{" and 0 < struct.unpack("<Q", head[:8])[0] < 100_000_000:
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
    raise InputError(f"{who}: {p} is not a checkpoint (neither safetensors nor a torch.save file)")


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
