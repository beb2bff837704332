"""Import spandrel without torchvision.

Why this exists
---------------
spandrel (chaiNNer's model loader, used by :mod:`seamline.ops.upscale`) declares ``torchvision``
as a dependency, but only two of its ~45 architecture modules import it, both at module
level, and ``import spandrel`` imports every architecture (to build its registry). Installing
torchvision is not an option here: the PyPI wheel is built against a CUDA torch, pulls a
multi-GB build and does not import beside the CPU torch seamline pins. What those two modules
use (read from spandrel 0.4.2's source) is::

    spandrel/architectures/RestoreFormer/__init__.py
        from torchvision.transforms.functional import normalize as tv_normalize
        # called as tv_normalize(x, [0.5] * 3, [0.5] * 3) before the network runs
    spandrel/architectures/LaMa/__arch/LaMa.py
        from torchvision.transforms.functional import InterpolationMode, rotate
        # used only by LearnableSpatialTransformWrapper

The decision
------------
- ``normalize`` is re-implemented exactly, in plain torch (``(x - mean) / std`` per channel,
  the same argument checks and errors as torchvision's tensor path). It is tiny and fully
  specified, so an exact copy is honest.
- ``rotate`` is *not* re-implemented: it raises a :class:`NotImplementedError` that says why.
  spandrel never reaches it: its LaMa loader builds ``FFCResNetGenerator(in_nc, out_nc)``
  with ``spatial_transform_layers=None``, so no ``LearnableSpatialTransformWrapper`` exists in
  any model it loads. A look-alike rotation (torchvision's centre convention, its fill-mask
  compositing) cannot be checked against the real thing without torchvision, and a subtly
  wrong rotation would be worse than a clear error. ``InterpolationMode`` is provided as the
  same string enum, because ``LaMa.py`` imports the name.

How it is installed
-------------------
:func:`import_spandrel` is the only entry point. If a real torchvision imports, it is used and
nothing is shimmed. Otherwise (absent, or present but broken, e.g. built for another torch)
the shim modules are put into :data:`sys.modules` *only while spandrel's modules execute*
and removed right after: spandrel's modules keep the functions they bound with
``from ... import``, and every other library (transformers, diffusers, timm) that probes for
torchvision afterwards still sees the truth. An import of torchvision from another thread
during that window would see the shim; seamline imports spandrel from one place, under a lock.
"""

from __future__ import annotations

import enum
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types

__all__ = ["import_spandrel", "normalize", "rotate", "InterpolationMode", "SHIM_MODULES", "shim_used"]

# The module names the shim provides (torchvision's own package layout).
SHIM_MODULES = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
_MARK = "__seamline_torchvision_shim__"
_lock = threading.Lock()
_state = {"shim_used": None}  # None: spandrel not imported through here yet


class InterpolationMode(enum.Enum):
    """Same members and values as ``torchvision.transforms.InterpolationMode``."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def normalize(tensor, mean, std, inplace: bool = False):
    """``torchvision.transforms.functional.normalize`` for tensors, in plain torch.

    Parameters
    ----------
    tensor : torch.Tensor
        Float tensor ``(..., C, H, W)``.
    mean, std : sequence of float
        Per-channel mean and standard deviation (length ``C``, or 1 to broadcast).
    inplace : bool
        Write into ``tensor`` instead of a new tensor.

    Returns
    -------
    torch.Tensor
        ``(tensor - mean) / std`` with the statistics broadcast over the channel axis.

    Raises
    ------
    TypeError
        ``tensor`` is not a floating-point torch tensor (as torchvision).
    ValueError
        ``tensor`` has fewer than 3 dimensions, or ``std`` contains a zero (as torchvision).
    """
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(
            f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = {tensor.size()}"
        )
    if not inplace:
        tensor = tensor.clone()
    mean = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
    std = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)


def rotate(*args, **kwargs):
    """Not provided: see the module docstring. Always raises :class:`NotImplementedError`."""
    raise NotImplementedError(
        "torchvision.transforms.functional.rotate is not available: torchvision is not installed and "
        "seamline's shim does not emulate it (spandrel only uses it in LaMa's learnable spatial "
        "transform, which none of its loaders build); install a torchvision that matches your torch"
    )


def _shim_modules() -> dict:
    mods = {}
    for name in SHIM_MODULES:
        m = types.ModuleType(name, "seamline stand-in for torchvision (see seamline.ops.upscale._torchvision_shim)")
        # A spec, so importlib.util.find_spec() on it answers instead of raising ValueError.
        m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=name != SHIM_MODULES[-1])
        if name != SHIM_MODULES[-1]:
            m.__path__ = []
        setattr(m, _MARK, True)
        mods[name] = m
    tv, tr, fn = (mods[n] for n in SHIM_MODULES)
    tv.__version__ = "0.0.0+seamline.shim"
    tv.transforms = tr
    tr.functional = fn
    tr.InterpolationMode = InterpolationMode
    fn.InterpolationMode = InterpolationMode
    fn.normalize = normalize
    fn.rotate = rotate
    return mods


def _real_torchvision_works() -> bool:
    """True when a real torchvision imports (with the submodule spandrel needs)."""
    mod = sys.modules.get("torchvision")
    if mod is not None:
        return not getattr(mod, _MARK, False)
    try:
        if importlib.util.find_spec("torchvision") is None:
            return False
    except (ImportError, ValueError):
        return False
    try:
        importlib.import_module("torchvision.transforms.functional")
        return True
    except Exception:  # noqa: BLE001 - a broken torchvision fails in many ways (ImportError, RuntimeError, OSError)
        # Forget the half-imported package so the shim (and a later real import attempt) start clean.
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        return False


def import_spandrel():
    """Import and return :mod:`spandrel`, shimming torchvision if (and only while) needed.

    Returns
    -------
    module
        The ``spandrel`` package.

    Raises
    ------
    ImportError
        spandrel (or one of its pure-Python dependencies, einops / typing_extensions) is not
        installed.
    """
    with _lock:
        if "spandrel" in sys.modules and _state["shim_used"] is not None:
            return sys.modules["spandrel"]
        if _real_torchvision_works():
            import spandrel

            _state["shim_used"] = False
            return spandrel
        mods = _shim_modules()
        sys.modules.update(mods)
        try:
            import spandrel
        except ImportError as e:
            if (e.name or "").startswith("torchvision"):
                # A spandrel release newer than this shim imports more of torchvision.
                raise ImportError(
                    f"spandrel imports {e.name} ({e}), which seamline's torchvision shim does not provide "
                    f"(it covers spandrel 0.4.2): install spandrel==0.4.2, or a torchvision built for this torch"
                ) from e
            raise
        finally:
            for name, m in mods.items():  # remove ours only: never clobber a module set meanwhile
                if sys.modules.get(name) is m:
                    del sys.modules[name]
        _state["shim_used"] = True
        return spandrel


def shim_used():
    """Whether :func:`import_spandrel` imported spandrel through the shim (None: not imported yet)."""
    return _state["shim_used"]
