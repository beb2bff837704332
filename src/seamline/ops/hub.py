"""The local Hugging Face cache, read offline: repo ids, cached snapshots, the offline window.

seamline never downloads (see the design notes, "Offline by design"): a repo id is accepted
only when its snapshot is already in the local cache. The diffusion model loader and the
text-encoder loader both resolve repo ids through here, so the rule lives in one place.
``huggingface_hub`` is imported inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from seamline.errors import InputError

__all__ = ["REPO_ID_RE", "looks_like_repo_id", "offline", "cached_snapshot"]

#: ``org/name`` as the hub spells repo ids.
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def looks_like_repo_id(text: str) -> bool:
    """Whether ``text`` reads as a Hugging Face repo id (``org/name``), not a path."""
    return (text.count("/") == 1 and not text.startswith((".", "/", "~"))
            and bool(REPO_ID_RE.match(text)))


@contextlib.contextmanager
def offline():
    """huggingface_hub in offline mode for the duration: any HTTP request raises."""
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:  # pragma: no cover
        yield
        return
    old_env, old_flag = os.environ.get("HF_HUB_OFFLINE"), hub_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = old_flag
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env


def cached_snapshot(repo_id: str, *, what: str, allow_patterns: list[str] | None = None) -> Path:
    """The local snapshot folder of a cached repo; never downloads.

    Parameters
    ----------
    repo_id : str
        ``org/name``.
    what : str
        Prefix of the error message (``"model org/name"``, ``"encoder 'org/name'"``).
    allow_patterns : list of str, optional
        Only these files need to be present (e.g. the configs of a single-file checkpoint).

    Raises
    ------
    InputError
        huggingface_hub is missing, or the repo is not in the local cache (one line, with the
        command that fetches it).
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - diffusers and transformers depend on it
        raise InputError(f"{what}: huggingface_hub is not installed; give a local path") from None
    try:
        with offline():
            return Path(snapshot_download(repo_id, local_files_only=True,
                                          allow_patterns=allow_patterns))
    except Exception as e:  # LocalEntryNotFoundError, OfflineModeIsEnabled, bad repo id...
        raise InputError(f"{what}: not a local path and not in the local Hugging Face cache "
                         f"({type(e).__name__}); seamline never downloads: fetch it yourself "
                         f"(hf download {repo_id}) or give a folder") from None
