"""Bulk runs: every image of a folder through one pipeline, resumable, on local cores or Ray.

>>> from seamline.batch import run_batch                                  # doctest: +SKIP
>>> res = run_batch("remove-text", "photos/", "clean/", workers=2)        # doctest: +SKIP
>>> res.counts, res.exit_code, res.summary_json                           # doctest: +SKIP

What a batch does, in order:

1. **Plan** (:func:`plan_batch`, in the calling process): list the images (sorted by relative
   path, not recursive unless asked), match masks by stem, derive each item's seed from the
   batch seed and its relative path, hash every input and mask, and compute each item's key
   from those hashes, the resolved pipeline config and the seamline version. Items whose key
   matches a finished record in the state file (and whose output still exists) are skipped.
2. **Execute** on an engine: ``local`` (a ``spawn`` process pool; each worker builds the
   pipeline and loads its models once) or ``ray`` (a pool of actors doing the same), with a
   bounded number of items in flight so memory stays flat on large folders. Every item runs
   the same function, :func:`process_item`, so engines give identical results.
3. **Record**: each finished item is appended (flushed, fsynced) to ``OUT_DIR/batch-state.jsonl``
   the moment it finishes, so an interrupted batch keeps what it finished. ``summary.json`` and
   ``summary.csv`` (one row per item: status, seconds, flattened QA, error) are written
   atomically at the end, also after Ctrl-C or an engine failure.

Files in ``OUT_DIR``: ``<relpath stem>.png`` outputs (written atomically by the worker),
``runs/<relpath stem>/`` run directories with ``--run-dirs``, ``batch-state.jsonl``,
``summary.json``, ``summary.csv``.

Modules: :mod:`~seamline.batch.plan` (step 1), :mod:`~seamline.batch.worker` (what every
engine runs per item), :mod:`~seamline.batch.engines` (``local``, ``ray``; step 2),
:mod:`~seamline.batch.journal` and :mod:`~seamline.batch.summary` (step 3),
:mod:`~seamline.batch.driver` (:func:`run_batch`, tying them together).
"""

from seamline.batch.driver import run_batch
from seamline.batch.engines.ray import start_local_ray
from seamline.batch.plan import (BatchItem, BatchPlan, config_key, item_seed, list_images,
                                 plan_batch)
from seamline.batch.summary import BatchResult, flatten_record
from seamline.batch.worker import process_item

__all__ = ["BatchItem", "BatchPlan", "BatchResult", "list_images",
           "item_seed", "config_key", "plan_batch", "run_batch", "process_item",
           "start_local_ray", "flatten_record"]
