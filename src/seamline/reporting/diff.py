"""Compare two runs of the same input through two configurations (``seamline diff A B``).

Per stage with the same name in both runs: image/mask difference heat maps, metric deltas,
parameter differences; plus the pipeline-level config differences. A text summary for the
terminal and a self-contained HTML page for detail.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from seamline.reporting.report import (CSS, flatten, load_run, png_data_uri, stage_arrays, svg_bars)


def heat(diff: np.ndarray) -> np.ndarray:
    """Absolute difference (HxW, >= 0) as an HxWx3 heat map: black = same, yellow = large.

    Scaled to the 99th percentile so a few outliers do not hide the structure of the rest.
    """
    top = float(np.percentile(diff, 99)) or float(diff.max()) or 1.0
    t = np.clip(diff / top, 0, 1)
    return np.stack([np.clip(2 * t, 0, 1), np.clip(2 * t - 0.6, 0, 1), t * 0.15], axis=-1
                    ).astype(np.float32)


def compare_runs(run_a: str | Path, run_b: str | Path) -> dict:
    """Differences between two run directories.

    Returns
    -------
    dict
        ``same_input`` (bool), ``config`` (list of ``{"key", "a", "b"}`` for pipeline-level and
        per-stage parameter differences), ``stages`` (per stage name present in both: per
        output port ``max_abs_diff``, ``mean_abs_diff``, ``changed_fraction``, or
        ``shape_a``/``shape_b`` when sizes differ), ``metrics`` (QA keys with ``a``, ``b``,
        ``delta``), ``only_in_a``/``only_in_b`` stage names.
    """
    da, ma = load_run(run_a)
    db, mb = load_run(run_b)
    config = []
    for key in ("policy", "seed", "name"):
        va, vb = ma.get("pipeline", {}).get(key), mb.get("pipeline", {}).get(key)
        if va != vb:
            config.append({"key": f"pipeline.{key}", "a": va, "b": vb})
    sa = {s["name"]: s for s in ma.get("stages", [])}
    sb = {s["name"]: s for s in mb.get("stages", [])}
    stages = {}
    for name in [n for n in sa if n in sb]:
        if sa[name]["stage"] != sb[name]["stage"]:
            config.append({"key": f"{name}.stage", "a": sa[name]["stage"],
                           "b": sb[name]["stage"]})
        pa, pb = flatten(sa[name].get("params", {})), flatten(sb[name].get("params", {}))
        for k in sorted(set(pa) | set(pb)):
            if pa.get(k) != pb.get(k):
                config.append({"key": f"{name}.{k}", "a": pa.get(k), "b": pb.get(k)})
        arrays_a, arrays_b = stage_arrays(da, sa[name]), stage_arrays(db, sb[name])
        ports = {}
        for port in [p for p in arrays_a if p in arrays_b]:
            a, b = arrays_a[port][1], arrays_b[port][1]
            if a.shape != b.shape:
                ports[port] = {"shape_a": list(a.shape), "shape_b": list(b.shape)}
                continue
            d = np.abs(a.astype(np.float32) - b.astype(np.float32))
            d = d.max(axis=-1) if d.ndim == 3 else d
            ports[port] = {"kind": arrays_a[port][0], "max_abs_diff": float(d.max()),
                           "mean_abs_diff": float(d.mean()),
                           "changed_fraction": float(np.mean(d > 0))}
        stages[name] = {"ports": ports,
                        "seconds_a": sa[name].get("seconds"), "seconds_b": sb[name].get("seconds")}
    qa_a = {k: v for k, v in flatten(ma.get("qa", {})).items() if _number(v)}
    qa_b = {k: v for k, v in flatten(mb.get("qa", {})).items() if _number(v)}
    metrics = {k: {"a": qa_a[k], "b": qa_b[k], "delta": qa_b[k] - qa_a[k]}
               for k in sorted(set(qa_a) & set(qa_b))}
    return {"run_a": str(da), "run_b": str(db),
            "same_input": (ma.get("input") or {}).get("digest") ==
            (mb.get("input") or {}).get("digest"),
            "config": config, "stages": stages, "metrics": metrics,
            "only_in_a": [n for n in sa if n not in sb], "only_in_b": [n for n in sb if n not in sa]}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def summary_text(d: dict) -> str:
    """A terminal summary of :func:`compare_runs`."""
    lines = [f"A {d['run_a']}", f"B {d['run_b']}"]
    if not d["same_input"]:
        lines.append("warning: the two runs had different inputs")
    lines.append("config differences:" if d["config"] else "config: identical")
    lines += [f"  {c['key']}: {c['a']!r} -> {c['b']!r}" for c in d["config"]]
    lines.append("stages:")
    for name, s in d["stages"].items():
        for port, p in s["ports"].items():
            if "shape_a" in p:
                lines.append(f"  {name}.{port}: sizes differ {p['shape_a']} vs {p['shape_b']}")
            else:
                same = "identical" if p["max_abs_diff"] == 0 else (
                    f"max |Δ| {p['max_abs_diff']:.4f}, mean {p['mean_abs_diff']:.5f}, "
                    f"{100 * p['changed_fraction']:.2f}% of pixels changed")
                lines.append(f"  {name}.{port}: {same}")
    if d["metrics"]:
        lines.append("QA (A -> B):")
        lines += [f"  {k}: {m['a']:.4g} -> {m['b']:.4g} ({m['delta']:+.4g})"
                  for k, m in d["metrics"].items() if m["delta"] != 0]
        if all(m["delta"] == 0 for m in d["metrics"].values()):
            lines.append("  all equal")
    for side in ("a", "b"):
        if d[f"only_in_{side}"]:
            lines.append(f"only in {side.upper()}: {', '.join(d[f'only_in_{side}'])}")
    return "\n".join(lines)


def render_diff(run_a: str | Path, run_b: str | Path) -> str:
    """The diff as one self-contained HTML page."""
    d = compare_runs(run_a, run_b)
    da, ma = load_run(run_a)
    db, mb = load_run(run_b)
    esc = html.escape
    sa = {s["name"]: s for s in ma["stages"]}
    sb = {s["name"]: s for s in mb["stages"]}
    rows = []
    for name in d["stages"]:
        arrays_a, arrays_b = stage_arrays(da, sa[name]), stage_arrays(db, sb[name])
        for port in d["stages"][name]["ports"]:
            a, b = arrays_a[port][1], arrays_b[port][1]
            cells = [png_data_uri(a, max_px=300), png_data_uri(b, max_px=300)]
            if a.shape == b.shape:
                diff = np.abs(a - b)
                cells.append(png_data_uri(heat(diff.max(axis=-1) if diff.ndim == 3 else diff),
                                          max_px=300))
            imgs = "".join(f'<td><img src="{c}" style="max-width:300px"></td>' for c in cells)
            rows.append(f"<tr><th>{esc(name)}.{esc(port)}</th>{imgs}</tr>")
    config = "".join(f"<tr><td>{esc(c['key'])}</td><td>{esc(json.dumps(c['a']))}</td>"
                     f"<td>{esc(json.dumps(c['b']))}</td></tr>" for c in d["config"])
    metrics = "".join(f"<tr><td>{esc(k)}</td><td>{m['a']:.5g}</td><td>{m['b']:.5g}</td>"
                      f"<td>{m['delta']:+.4g}</td></tr>" for k, m in d["metrics"].items())
    deltas = svg_bars([(k, m["delta"]) for k, m in d["metrics"].items() if m["delta"]][:16],
                      colour="#c0392b")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>seamline diff</title><style>{CSS}</style></head><body>
<header><h1>seamline diff</h1><div>A {esc(d['run_a'])} · B {esc(d['run_b'])}
{'' if d['same_input'] else ' · <b>different inputs</b>'}</div></header><main>
<section id="config"><h2>Config differences</h2><table><tr><th>key</th><th>A</th><th>B</th></tr>
{config or '<tr><td colspan=3>identical</td></tr>'}</table></section>
<section id="images"><h2>Per-stage outputs</h2><table><tr><th></th><th>A</th><th>B</th>
<th>|A - B| (heat)</th></tr>{''.join(rows)}</table></section>
<section id="metrics"><h2>QA metrics</h2>{deltas}<table><tr><th>metric</th><th>A</th><th>B</th>
<th>B - A</th></tr>{metrics}</table></section>
<section><h2>Summary</h2><pre>{esc(summary_text(d))}</pre></section></main></body></html>
"""
