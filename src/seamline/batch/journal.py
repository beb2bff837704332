"""The batch state journal: one fsynced JSON line per finished item, read back on resume."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterable

from seamline.core.atomic import write_text_atomic
from seamline.errors import InputError

__all__ = ["STATE_FILE", "read_state", "Journal", "record_default"]

STATE_FILE = "batch-state.jsonl"



def read_state(path: Path) -> dict[str, dict]:
    """Latest record per item from the state journal; a torn last line is ignored."""
    records: dict[str, dict] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash: that item simply runs again
                if isinstance(rec, dict) and "item" in rec:
                    records[rec["item"]] = rec
    except FileNotFoundError:
        pass
    except OSError as e:
        raise InputError(f"{path}: cannot read the batch state ({e.strerror or e})") from None
    return records


class Journal:
    """Append-only JSON-lines state file, one fsynced line per finished item.

    An exclusive lock keeps two batches from writing to one output folder at once. At start
    the journal is compacted to the latest record per item, so it does not grow without bound
    over many resumes.
    """

    def __init__(self, path: Path, keep: Iterable[dict]):
        self.path = path
        self._f = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.close()
            raise InputError(f"output folder {path.parent}: another seamline batch is writing "
                             "to it") from None
        write_text_atomic(path, "".join(json.dumps(r, default=record_default) + "\n"
                                        for r in keep))
        # the lock stays with the old inode: reopen the new file and lock it too
        new = open(path, "a", encoding="utf-8")
        fcntl.flock(new, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._f.close()
        self._f = new

    def append(self, rec: dict) -> None:
        self._f.write(json.dumps(rec, default=record_default) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def record_default(o: Any) -> Any:
    """Like :func:`seamline.core.artifacts.json_default`, but a record never fails to serialise:
    anything else is written as its ``str``."""
    from seamline.core.artifacts import json_default

    try:
        return json_default(o)
    except TypeError:
        return str(o)


