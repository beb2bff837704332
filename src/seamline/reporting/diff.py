"""Compare two runs of the same input through two configurations (``seamline diff A B``).

Per stage with the same name in both runs: image/mask difference heat maps, metric deltas,
parameter differences; plus the pipeline-level config differences, including stage inputs
wired differently. A mask edit (the inspector's "re-run from here" makes the child read a
pipeline input, ``edited_<stage>_mask``, where the parent read ``<stage>.mask``) is one such
rewiring; it is shown with the stage whose mask was edited, the pixels added and removed,
and the XOR of the two masks over the image. A text summary for the terminal and a
self-contained HTML page for detail.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from seamline.reporting.report import (CSS, flatten, input_array, inside_run, load_run,
                                       png_data_uri, shown_path, stage_arrays, svg_bars)

#: Extensions a pipeline input kept in the run directory may have (the server stores uploads
#: and edited masks as ``<input name><ext>`` beside the manifest).
INPUT_EXTS = (".png", ".tif", ".tiff", ".webp", ".jpg", ".jpeg", ".bmp", ".gif")


def heat(diff: np.ndarray) -> np.ndarray:
    """Absolute difference (HxW, >= 0) as an HxWx3 heat map: black = same, yellow = large.

    Scaled to the 99th percentile so a few outliers do not hide the structure of the rest.
    """
    top = float(np.percentile(diff, 99)) or float(diff.max()) or 1.0
    t = np.clip(diff / top, 0, 1)
    return np.stack([np.clip(2 * t, 0, 1), np.clip(2 * t - 0.6, 0, 1), t * 0.15], axis=-1
                    ).astype(np.float32)


def compare_runs(run_a: str | Path, run_b: str | Path, *,
                 base: str | Path | None = None) -> dict:
    """Differences between two run directories.

    Parameters
    ----------
    run_a, run_b : str or Path
        Run directories (``manifest.json`` and ``stages/``).
    base : str or Path, optional
        ``run_a``/``run_b`` are reported relative to it (the server's RUNS_DIR).

    Returns
    -------
    dict
        ``same_input`` (bool), ``config`` (list of ``{"key", "a", "b"}`` for pipeline-level and
        per-stage parameter differences, pipeline inputs and stage inputs wired differently;
        a rewiring that is a mask edit carries ``"edit"``, a one-line description),
        ``mask_edits`` (see :func:`mask_edits`), ``stages`` (per stage name present in both:
        per output port ``max_abs_diff``, ``mean_abs_diff``, ``changed_fraction``, or
        ``shape_a``/``shape_b`` when sizes differ), ``metrics`` (QA keys with ``a``, ``b``,
        ``delta``), ``only_in_a``/``only_in_b`` stage names.
    """
    da, ma = load_run(run_a)
    db, mb = load_run(run_b)
    edits = mask_edits(da, ma, db, mb)
    config = []
    for key in ("policy", "seed", "name"):
        va, vb = ma.get("pipeline", {}).get(key), mb.get("pipeline", {}).get(key)
        if va != vb:
            config.append({"key": f"pipeline.{key}", "a": va, "b": vb})
    ia, ib = _spec(ma).get("inputs") or {}, _spec(mb).get("inputs") or {}
    for key in [k for k in {**ia, **ib} if ia.get(k) != ib.get(k)]:
        config.append({"key": f"pipeline.inputs.{key}", "a": ia.get(key), "b": ib.get(key)})
    ra, rb = input_refs(ma), input_refs(mb)
    for key in [k for k in ra if k in rb and ra[k] != rb[k]]:
        row = {"key": f"{key[0]}.inputs.{key[1]}", "a": ra[key], "b": rb[key]}
        edit = next((e for e in edits if (e["a"], e["b"]) == (ra[key], rb[key])), None)
        if edit is not None and not any(c.get("edit") == edit["summary"] for c in config):
            row["edit"] = edit["summary"]
        config.append(row)
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
    return {"run_a": shown_path(da, base), "run_b": shown_path(db, base),
            "same_input": (ma.get("input") or {}).get("digest") ==
            (mb.get("input") or {}).get("digest"),
            "config": config, "mask_edits": [{k: v for k, v in e.items() if k != "arrays"}
                                             for e in edits],
            "stages": stages, "metrics": metrics,
            "only_in_a": [n for n in sa if n not in sb], "only_in_b": [n for n in sb if n not in sa]}


def _spec(manifest: dict) -> dict:
    return (manifest.get("pipeline") or {}).get("spec") or {}


def input_refs(manifest: dict) -> dict[tuple[str, str], str]:
    """``{(stage, port): "source.port"}``: where each stage of a run read each input, from the
    spec its manifest recorded (``input.NAME`` for a pipeline input)."""
    return {(sd["name"], port): ref for sd in _spec(manifest).get("stages") or []
            if isinstance(sd, dict) and "name" in sd
            for port, ref in (sd.get("inputs") or {}).items() if isinstance(ref, str)}


def _input_mask(run_dir: Path, manifest: dict, name: str) -> np.ndarray | None:
    """Pipeline input ``name`` of kind mask, when the run directory keeps it as
    ``name<ext>`` (the server's uploads and edited masks); None otherwise."""
    from seamline.errors import SeamlineError
    from seamline.io import load_mask

    if (_spec(manifest).get("inputs") or {}).get(name) != "mask":
        return None
    for ext in INPUT_EXTS:
        path = inside_run(run_dir, name + ext)
        if path is not None and path.is_file():
            try:
                return load_mask(path)
            except SeamlineError:
                return None
    return None


def _ref_mask(run_dir: Path, manifest: dict, ref: str) -> np.ndarray | None:
    """The mask a stage read through ``ref`` (``stage.port`` or ``input.NAME``), or None."""
    src, _, port = ref.partition(".")
    if src == "input":
        return _input_mask(run_dir, manifest, port)
    stage = next((s for s in manifest.get("stages", []) if s.get("name") == src), None)
    found = stage_arrays(run_dir, stage).get(port) if stage is not None else None
    return found[1] if found is not None and found[0] == "mask" else None


def mask_edits(da: Path, ma: dict, db: Path, mb: dict) -> list[dict]:
    """Masks the two runs' stages read that differ because one run's mask was edited (or
    uploaded differently): per distinct pair of sources.

    Masks are compared as the 8-bit PNGs the editor paints on (a pixel counts as changed when
    its 8-bit value differs); "in the mask" is > 0.5.

    Returns
    -------
    list of dict
        ``a``/``b`` (where each run read it, ``stage.port`` or ``input.NAME``), ``read_by``
        (``stage.port`` of the readers), ``edited`` (``"preflight.mask"``: the stage output an
        edit replaced, or the input that differs), ``side`` (``"a"``/``"b"``: which run holds
        the edit; ``"both"`` for two different inputs), ``changed_px``, ``added_px``,
        ``removed_px`` (in the mask in B, not in A, and the reverse), ``changed_fraction``,
        ``mask_px_a``/``mask_px_b``, ``bbox_yx`` (``[y0, x0, y1, x1]`` of the changed pixels,
        end exclusive, or None), ``summary`` (one line), and ``arrays`` (the two masks, HxW
        float32 in [0, 1], for the HTML page; dropped from :func:`compare_runs`' result).
    """
    ra, rb = input_refs(ma), input_refs(mb)
    pairs: dict[tuple[str, str], list[str]] = {}
    for key in [k for k in ra if k in rb]:
        a, b = ra[key], rb[key]
        # the same input name can still hold different files (two edits of one stage)
        if a != b or (a.startswith("input.") and a != "input.image"):
            pairs.setdefault((a, b), []).append(f"{key[0]}.{key[1]}")
    out = []
    for (a, b), readers in pairs.items():
        mask_a, mask_b = _ref_mask(da, ma, a), _ref_mask(db, mb, b)
        if mask_a is None or mask_b is None or mask_a.shape != mask_b.shape:
            continue
        qa = np.rint(np.clip(mask_a, 0, 1) * 255).astype(np.uint8)
        qb = np.rint(np.clip(mask_b, 0, 1) * 255).astype(np.uint8)
        changed = qa != qb
        if a == b and not changed.any():
            continue
        ina, inb = qa > 127, qb > 127
        ys, xs = np.nonzero(changed)
        side = "b" if b.startswith("input.") and not a.startswith("input.") else (
            "a" if a.startswith("input.") and not b.startswith("input.") else "both")
        edited = a if side == "b" else (b if side == "a" else a.split(".", 1)[1])
        e = {"a": a, "b": b, "read_by": readers, "edited": edited, "side": side,
             "changed_px": int(changed.sum()), "added_px": int((inb & ~ina).sum()),
             "removed_px": int((ina & ~inb).sum()),
             "changed_fraction": float(changed.mean()),
             "mask_px_a": int(ina.sum()), "mask_px_b": int(inb.sum()),
             "bbox_yx": [int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1]
             if ys.size else None}
        who = {"a": "edited in A", "b": "edited in B", "both": "differs"}[side]
        e["summary"] = (f"{edited} {who} ({b if side == 'b' else a}): {e['changed_px']:,} px "
                        f"changed, {e['added_px']:,} added, {e['removed_px']:,} removed; read "
                        f"by {', '.join(readers)}")
        e["arrays"] = (mask_a, mask_b)
        out.append(e)
    return out


def xor_view(mask_a: np.ndarray, mask_b: np.ndarray,
             image: np.ndarray | None = None) -> np.ndarray:
    """Two masks over an image: in both = blue tint, only in B (added) = green, only in A
    (removed) = red, elsewhere the image dimmed to grey (black without one).

    Parameters
    ----------
    mask_a, mask_b : (H, W) float32 ndarray in [0, 1]
    image : (H, W, 3) float32 ndarray in [0, 1], optional

    Returns
    -------
    (H, W, 3) float32 ndarray in [0, 1]
    """
    ina, inb = mask_a > 0.5, mask_b > 0.5
    if image is not None and image.shape[:2] == mask_a.shape:
        grey = image.mean(axis=-1, keepdims=True) * 0.6
        out = np.repeat(grey, 3, axis=-1).astype(np.float32)
    else:
        out = np.zeros(mask_a.shape + (3,), np.float32)
    out[ina & inb] = 0.5 * out[ina & inb] + np.float32([0.1, 0.25, 0.5])
    out[inb & ~ina] = (0.15, 0.9, 0.2)
    out[ina & ~inb] = (0.95, 0.15, 0.1)
    return out


def _edit_cells(e: dict, image: np.ndarray | None) -> str:
    """HTML: the whole XOR view, then the changed region cropped (with a margin) as A, B and
    XOR, so a small stroke on a large image is visible."""
    mask_a, mask_b = e["arrays"]
    cells = [("A and B over the image (green: added in B, red: removed)",
              png_data_uri(xor_view(mask_a, mask_b, image), max_px=300))]
    if e["bbox_yx"] is not None:
        y0, x0, y1, x1 = e["bbox_yx"]
        m = max(8, (max(y1 - y0, x1 - x0)) // 4)
        box = (slice(max(0, y0 - m), y1 + m), slice(max(0, x0 - m), x1 + m))
        crop = image[box] if image is not None and image.shape[:2] == mask_a.shape else None
        for label, a, b in (("A (edited region)", mask_a, mask_a),
                            ("B (edited region)", mask_b, mask_b),
                            ("XOR (edited region)", mask_a, mask_b)):
            cells.append((label, png_data_uri(xor_view(a[box], b[box], crop), max_px=300)))
    return "".join(f'<td><figure><img src="{uri}" style="width:170px;image-rendering:'
                   f'pixelated"><figcaption>{html.escape(label)}</figcaption></figure></td>'
                   for label, uri in cells)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def summary_text(d: dict) -> str:
    """A terminal summary of :func:`compare_runs`."""
    lines = [f"A {d['run_a']}", f"B {d['run_b']}"]
    if not d["same_input"]:
        lines.append("warning: the two runs had different inputs")
    lines.append("config differences:" if d["config"] else "config: identical")
    lines += [f"  {c['key']}: {c['a']!r} -> {c['b']!r}" for c in d["config"]]
    if d.get("mask_edits"):
        lines.append("mask edits:")
        lines += [f"  {e['summary']}" + (f"; changed region y {e['bbox_yx'][0]}-"
                  f"{e['bbox_yx'][2]}, x {e['bbox_yx'][1]}-{e['bbox_yx'][3]}"
                  if e["bbox_yx"] else "") for e in d["mask_edits"]]
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


def render_diff(run_a: str | Path, run_b: str | Path, *,
                base: str | Path | None = None) -> str:
    """The diff as one self-contained HTML page (paths relative to ``base`` when given)."""
    d = compare_runs(run_a, run_b, base=base)
    da, ma = load_run(run_a)
    db, mb = load_run(run_b)
    esc = html.escape
    edits = mask_edits(da, ma, db, mb)
    image = input_array(db, mb) if edits else None
    if image is None and edits:
        image = input_array(da, ma)
    edit_rows = "".join(f"<tr><td>{esc(e['summary'])}</td>{_edit_cells(e, image)}</tr>"
                        for e in edits)
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
            note = "".join(f"<br><small>{'B' if e['side'] == 'b' else 'A'}'s later stages read "
                           f"the edited mask instead (Mask edits)</small>" for e in edits
                           if e["edited"] == f"{name}.{port}")
            rows.append(f"<tr><th>{esc(name)}.{esc(port)}{note}</th>{imgs}</tr>")
    config = "".join(f"<tr><td>{esc(c['key'])}</td><td>{esc(json.dumps(c['a']))}</td>"
                     f"<td>{esc(json.dumps(c['b']))}"
                     + (f"<br><b class=\"edit\">{esc(c['edit'])}</b>" if c.get("edit") else "")
                     + "</td></tr>" for c in d["config"])
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
{f'<section id="mask-edits"><h2>Mask edits</h2><table>{edit_rows}</table></section>'
 if edits else ''}
<section id="images"><h2>Per-stage outputs</h2><table><tr><th></th><th>A</th><th>B</th>
<th>|A - B| (heat)</th></tr>{''.join(rows)}</table></section>
<section id="metrics"><h2>QA metrics</h2>{deltas}<table><tr><th>metric</th><th>A</th><th>B</th>
<th>B - A</th></tr>{metrics}</table></section>
<section><h2>Summary</h2><pre>{esc(summary_text(d))}</pre></section></main></body></html>
"""
