"""The prompt corpus (``corpus.txt``, rebuilt byte for byte by ``make_corpus.py``) and the
prompt lists translation fits and evaluates on: reading, de-duplicating, seeded splits, and
the short hashes a map records of its training prompts.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from seamline.errors import InputError, first_line

__all__ = ["prompt_hash", "default_prompts_path", "load_prompts", "split_prompts"]


def prompt_hash(prompt: str) -> str:
    """8-hex-digit hash of a prompt (as stripped), recorded for a map's training prompts."""
    return hashlib.sha256(prompt.strip().encode("utf-8")).hexdigest()[:8]


def default_prompts_path() -> Path:
    """The prompt corpus shipped with seamline (``seamline/translate/prompts/corpus.txt``)."""
    return Path(__file__).resolve().parent / "corpus.txt"


def load_prompts(source=None) -> list[str]:
    """Prompts from a text file (one a line; blank lines and ``#`` comments skipped),
    de-duplicated in order. ``None`` reads the shipped corpus.
    """
    if source is None:
        source = default_prompts_path()
    if not isinstance(source, (str, os.PathLike)):
        return list(dict.fromkeys(str(p).strip() for p in source if str(p).strip()))
    path = Path(source)
    if not path.is_file():
        raise InputError(f"prompts file {path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"prompts file {path}: unreadable ({first_line(e)})") from None
    return list(dict.fromkeys(s.strip() for s in lines
                              if s.strip() and not s.lstrip().startswith("#")))


def split_prompts(prompts: Sequence[str], holdout: float, seed: int) -> tuple[list, list]:
    """Seeded split into (train, test); duplicates are removed first so none leaks across."""
    prompts = list(dict.fromkeys(prompts))
    if not 0 < holdout < 1:
        raise InputError(f"holdout must be between 0 and 1 (exclusive); got {holdout}")
    n_test = int(round(holdout * len(prompts)))
    if n_test < 2 or len(prompts) - n_test < 3:
        raise InputError(f"{len(prompts)} unique prompts with holdout {holdout} leave "
                         f"{len(prompts) - n_test} to fit and {n_test} to test; need >= 3 and "
                         ">= 2")
    perm = np.random.default_rng(seed).permutation(len(prompts))
    test = [prompts[i] for i in sorted(perm[:n_test])]
    train = [prompts[i] for i in sorted(perm[n_test:])]
    return train, test
