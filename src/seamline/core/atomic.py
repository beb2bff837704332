"""One atomic writer for every file seamline writes (images, manifests, caches, journals, maps).

A write goes to a fresh temporary file in the destination's directory, is flushed and fsynced,
renamed over the destination with :func:`os.replace`, and the directory is fsynced so the
rename itself survives a power cut. Readers therefore see the old file or the new one, never a
half-written one, and a failure (exception, full disk, Ctrl-C) leaves the old file untouched
and no temporary file behind.

The temporary name is random and created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: a file or
symlink planted at a guessable name can neither redirect the write nor be clobbered. (The
same guarantees as :func:`tempfile.mkstemp`, but created ``0o666`` minus the umask like any
ordinary new file, where ``mkstemp`` would leave it private ``0o600``.) ``os.replace`` swaps
the directory entry, so a symlink *at the destination* is replaced, not followed.

Text is always UTF-8, whatever the locale.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_open", "write_bytes_atomic", "write_text_atomic"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0)


def _create_temp(path: Path) -> tuple[int, Path]:
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            # 0o666: the umask applies, as for any newly created file.
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows, or a directory we may write into but not open
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise  # some file systems cannot fsync a directory; that is not a failed write
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` for writing so that it is replaced atomically when the block ends.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its directory must exist.
    mode : {"wb", "w"}
        Binary, or text (UTF-8, ``\\n`` line ends as written).

    Yields
    ------
    file object
        Write to it; on a normal exit it is flushed, fsynced and renamed over ``path``. On an
        exception the temporary file is removed, ``path`` is untouched and the exception
        propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode: must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_bytes_atomic(path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; see :func:`atomic_open`."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_text_atomic(path, text: str) -> None:
    """Replace ``path`` with ``text`` encoded as UTF-8, atomically; see :func:`atomic_open`."""
    with atomic_open(path, "w") as f:
        f.write(text)
