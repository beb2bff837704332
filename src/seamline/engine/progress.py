"""One progress bar for long work (a run's stages, a batch's images): tqdm on a terminal,
nothing when it is switched off or stderr is not a terminal (logs, CI, captured output)."""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]


class _NullBar:
    """What a disabled bar is: every tqdm method the callers use, doing nothing."""

    def update(self, *_):
        pass

    def set_description(self, *_, **__):
        pass

    def set_postfix_str(self, *_, **__):
        pass

    def close(self):
        pass


def progress_bar(total: int, *, enabled: bool, unit: str, leave: bool = True):
    """A tqdm bar over ``total`` steps of ``unit``, or a no-op bar when disabled or empty."""
    if not enabled or total == 0:
        return _NullBar()
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal
    return tqdm(total=total, unit=unit, file=sys.stderr, leave=leave, dynamic_ncols=True,
                disable=None)
