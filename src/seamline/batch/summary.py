"""Batch summaries: ``summary.json`` and ``summary.csv`` (one row per item)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline._version import __version__
from seamline.batch.journal import record_default
from seamline.batch.plan import BatchPlan
from seamline.core.atomic import write_text_atomic

__all__ = ["SUMMARY_JSON", "SUMMARY_CSV", "BatchResult", "flatten_record", "csv_cell",
           "write_summary"]

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"

# CSV columns that come first, in this order; QA columns follow, sorted.
_CSV_HEAD = ("item", "status", "seconds", "output", "error", "seed", "mask", "warnings")


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    records : list of dict
        One per item, in item order: this run's result, or the earlier one for skipped items.
    counts : dict
        ``{"ok": n, "failed": n, "skipped": n, "pending": n}`` (pending: not reached, after an
        interrupt).
    seconds : float
        Wall time of this run (planning included).
    interrupted : bool
        Ctrl-C stopped it; finished items are kept and a re-run resumes.
    """

    records: list[dict]
    counts: dict
    seconds: float
    out_dir: Path
    summary_json: Path
    summary_csv: Path
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0: every item ok or skipped; 1: some failed; 130: interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.counts.get("failed") else 0


def flatten_record(rec: dict) -> dict:
    """One CSV row: fixed columns, then ``qa.a.b`` for each nested QA value.

    Lists and other non-scalar values become JSON text; warnings are joined with ``"; "``.
    """
    row = {"item": rec.get("item"), "status": rec.get("status"),
           "seconds": rec.get("seconds"), "output": rec.get("output"),
           "error": rec.get("error") or "", "seed": rec.get("seed"), "mask": rec.get("mask") or "",
           "warnings": "; ".join(rec.get("warnings") or [])}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(f"{prefix}.{k}", sub)
        elif isinstance(v, (list, tuple)):
            row[prefix] = json.dumps(v, default=record_default)
        else:
            row[prefix] = record_default(v) if not isinstance(v, (str, int, float, bool,
                                                                  type(None))) else v

    walk("qa", rec.get("qa") or {})
    return row


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a string starting with ``= + - @``, tab or CR
    gets a leading apostrophe (OWASP's advice), so a file named ``=HYPERLINK(...).png`` is not
    run as a formula. Numbers (``-0.5``) are left as they are.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_summary(result: BatchResult, plan: BatchPlan, started: str) -> None:
    from seamline.core.artifacts import write_json

    doc = {"seamline": __version__, "pipeline": plan.pipeline, "config_key": plan.config_key,
           "seed": plan.seed, "input_dir": str(plan.input_dir),
           "mask_dir": str(plan.mask_dir) if plan.mask_dir else None,
           "out_dir": str(plan.out_dir), "started": started, "seconds": result.seconds,
           "interrupted": result.interrupted, "counts": result.counts, "engine": result.info,
           "warnings": result.warnings, "exit_code": result.exit_code,
           "items": [{k: v for k, v in r.items() if k not in ("input_stat", "mask_stat")}
                     for r in result.records]}
    write_json(plan.out_dir / SUMMARY_JSON, doc)
    rows = [{k: csv_cell(v) for k, v in flatten_record(r).items()} for r in result.records]
    qa_cols = sorted({k for r in rows for k in r if k not in _CSV_HEAD})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*_CSV_HEAD, *qa_cols], extrasaction="ignore",
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(plan.out_dir / SUMMARY_CSV, buf.getvalue())
