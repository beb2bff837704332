"""One self-contained HTML page per run: look at every handoff instead of reading JSON.

``seamline report RUN_DIR`` (and every ``seamline run`` with a run directory) writes
``RUN_DIR/report.html``: the pipeline as a strip of stages with each intermediate state, mask
overlays, before/after sliders for each edit, the contract checks of every handoff (expected vs
found, adapters with numbers before and after) highlighted when they warned or failed,
histograms and QA metrics as plots, timings, and the full resolved config.

Everything is inline (images as base64 PNG, plots as SVG, a few lines of JavaScript for the
sliders): no CDN, no server, works from ``file://``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from seamline.errors import InputError

PREVIEW_PX = 720  # longest side of embedded previews: keeps a report a few MB at most
_CHANNELS = (("R", "#d62728"), ("G", "#2ca02c"), ("B", "#1f77b4"))


def load_run(run_dir: str | Path) -> tuple[Path, dict]:
    """Read a run directory's manifest; a one-line InputError when it is not a run directory."""
    d = Path(run_dir)
    if not d.is_dir():
        raise InputError(f"{d}: not a run directory (no such directory)")
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except FileNotFoundError:
        raise InputError(f"{d}: not a run directory (no manifest.json)") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{d}/manifest.json: unreadable ({e.__class__.__name__})") from None
    return d, manifest


def stage_arrays(run_dir: Path, stage: dict) -> dict[str, tuple[str, np.ndarray]]:
    """``{port: (kind, array)}`` for a stage's image and mask outputs saved in the run dir."""
    out = {}
    for port, entry in stage.get("outputs", {}).items():
        if entry.get("kind") not in ("image", "mask"):
            continue
        npy = next((inside_run(run_dir, f) for f in entry.get("files", [])
                    if isinstance(f, str) and f.endswith(".npy")), None)
        if npy is not None and npy.is_file():
            try:
                out[port] = (entry["kind"], np.load(npy, allow_pickle=False))
            except (OSError, ValueError):  # truncated or not an .npy: shown as missing
                continue
    return out


def shown_path(path: str | Path | None, base: str | Path | None = None) -> str:
    """``path`` as a page shows it: relative to ``base`` when one is given (the server shows
    paths relative to its RUNS_DIR, never where that lies on its disk; a path outside ``base``
    shows its file name only), else as recorded."""
    if base is None or path is None:
        return str(path)
    p = Path(path)
    try:
        return p.resolve().relative_to(Path(base).resolve()).as_posix()
    except (ValueError, OSError):
        return p.name


def inside_run(run_dir: Path, name: str) -> Path | None:
    """``run_dir / name`` when it stays inside the run directory (links resolved), else None:
    a crafted manifest must not make a report embed ``/home/...`` or ``../..`` files."""
    root = run_dir.resolve()
    path = (root / name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def input_array(run_dir: Path, manifest: dict) -> np.ndarray | None:
    """The run's input image, from its recorded path, only while its bytes still have the
    recorded SHA-256 (None when it moved, changed, was in memory, or the manifest names a file
    the run never read)."""
    from seamline.io import file_sha256, load_image

    rec = manifest.get("input") or {}
    path, sha = rec.get("path"), rec.get("sha256")
    if not isinstance(path, str) or not isinstance(sha, str) or not Path(path).is_file():
        return None
    try:
        if file_sha256(path) != sha:
            return None
        return load_image(path)
    except InputError:
        return None


# --------------------------------------------------------------------------- small renderers


def png_data_uri(array: np.ndarray, *, max_px: int = PREVIEW_PX) -> str:
    """An HxW or HxWx3 float array in [0, 1] as a base64 PNG data URI, downscaled to max_px."""
    from PIL import Image

    from seamline.io import to_uint8

    a = to_uint8(np.clip(array, 0, 1)) if array.ndim == 3 else \
        np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(a)
    scale = max_px / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                       Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _preview(array: np.ndarray, max_px: int = PREVIEW_PX) -> np.ndarray:
    """``array`` (HxW or HxWx3 float) area-downscaled so its longest side is at most
    ``max_px`` (float32; unchanged when it is that small already)."""
    import cv2

    h, w = array.shape[:2]
    scale = max_px / max(h, w)
    if scale >= 1:
        return array
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(np.asarray(array, np.float32), size, interpolation=cv2.INTER_AREA)


def overlay(image: np.ndarray, mask: np.ndarray, *, color=(1.0, 0.1, 0.1), opacity=0.55
            ) -> np.ndarray:
    """The image with the mask tinted over it (soft values tint partially)."""
    if image.shape[:2] != mask.shape:
        return image
    m = np.clip(mask, 0, 1)[..., None] * opacity
    return (image * (1 - m) + np.asarray(color, np.float32) * m).astype(np.float32)


def svg_histogram(image: np.ndarray, *, width=260, height=90, bins=64) -> str:
    """RGB histograms as one inline SVG (three translucent polylines)."""
    parts = [f'<svg class="hist" width="{width}" height="{height}" viewBox="0 0 {width} '
             f'{height}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" '
             f'fill="#fafafa"/>']
    image = image if image.ndim == 3 else image[..., None]  # grey: R = G = B
    hists = [np.histogram(image[..., min(c, image.shape[2] - 1)], bins=bins, range=(0, 1))[0]
             for c in range(3)]
    top = max(1, max(int(h.max()) for h in hists))
    for (name, colour), h in zip(_CHANNELS, hists):
        pts = " ".join(f"{i * width / (bins - 1):.1f},{height - 2 - (height - 6) * v / top:.1f}"
                       for i, v in enumerate(h))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'stroke-opacity="0.85" points="{pts}"><title>{name}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def svg_bars(items: list[tuple[str, float]], *, unit: str = "", width=420, bar_h=18,
             colour="#3a7bd5") -> str:
    """A horizontal bar chart (timings, metrics) as inline SVG."""
    if not items:
        return ""
    label_w, h = 150, bar_h * len(items) + 6
    top = max(abs(v) for _, v in items) or 1.0
    parts = [f'<svg class="bars" width="{width}" height="{h}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, v) in enumerate(items):
        y = 3 + i * bar_h
        w = (width - label_w - 70) * abs(v) / top
        parts.append(f'<text x="0" y="{y + bar_h - 5}" font-size="12">{html.escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 5}" '
                     f'fill="{colour}"/><text x="{label_w + w + 4:.1f}" y="{y + bar_h - 5}" '
                     f'font-size="12">{v:.4g}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; non-dict values (lists too) are leaves."""
    if not isinstance(d, dict):
        return {prefix[:-1]: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}."))
    return out


def _slider(before: str, after: str, label: str) -> str:
    return (f'<figure class="slider"><div class="cmp"><img src="{before}" alt="before">'
            f'<div class="after"><img src="{after}" alt="after"></div></div>'
            f'<input type="range" min="0" max="100" value="50" aria-label="{html.escape(label)}">'
            f'<figcaption>{html.escape(label)}: before | after (drag)</figcaption></figure>')


def _checks_table(stage: dict) -> str:
    rows = []
    for h in stage.get("handoffs", []):
        adapters = {a["stat"]: a for a in h.get("adapters", [])}
        for c in h.get("checks", []):
            a = adapters.get(c["stat"])
            status = "ok" if c["ok"] else ("adapted" if a else (
                "warn" if c.get("severity") == "warn" or h.get("policy") == "off" else "fail"))
            after = (f'{html.escape(str(a["after"]))} via <b>{html.escape(a["adapter"])}</b>'
                     if a else "")
            rows.append(f'<tr class="{status}"><td>{html.escape(h["from"])} &rarr; '
                        f'{html.escape(h["to"])}</td><td>{html.escape(c["stat"])}</td>'
                        f'<td>{html.escape(str(c["expected"]))}</td>'
                        f'<td>{html.escape(str(c["found"]))}</td><td>{after}</td>'
                        f'<td>{status}</td></tr>')
    if not rows:
        return ""
    counts = {k: sum(f'class="{k}"' in r for r in rows) for k in ("ok", "adapted", "warn", "fail")}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    # open when something needs a look; all-ok tables stay folded
    opened = " open" if len(rows) > counts["ok"] else ""
    return (f'<details class="checks"{opened}><summary>{len(rows)} checks: {summary}</summary>'
            '<table class="checks"><tr><th>handoff</th><th>statistic</th><th>expected</th>'
            '<th>found</th><th>after adapter</th><th>status</th></tr>' + "".join(rows)
            + "</table></details>")


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fff}
header{background:#1b5e8a;color:#fff;padding:14px 22px}header h1{margin:0;font-size:20px}
main{padding:10px 22px}section{margin:18px 0}h2{font-size:16px;border-bottom:1px solid #ddd}
.strip{display:flex;gap:10px;overflow-x:auto;padding-bottom:6px}
.card{flex:0 0 auto;border:1px solid #ccc;border-radius:6px;padding:8px;max-width:300px}
.card.warned{border-color:#e6a700;background:#fff8e1}.card.failed{border-color:#c62828}
.card img{max-width:280px;display:block;margin:4px 0;image-rendering:auto}
.card .name{font-weight:600}.card .meta{color:#666;font-size:12px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;
font-size:12px;text-align:left;vertical-align:top}tr.warn td{background:#fff3cd}
tr.fail td{background:#f8d7da}tr.adapted td{background:#e2f0fb}
.slider{display:inline-block;margin:6px 14px 6px 0}.cmp{position:relative;display:inline-block}
.cmp img{display:block;max-width:560px}.cmp .after{position:absolute;top:0;left:0;bottom:0;
width:50%;overflow:hidden;border-right:2px solid #fff}.cmp .after img{max-width:none}
.slider input{width:100%}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}
.warnings li{color:#8a5a00}.notes li{color:#555}.kv td:first-child{font-family:monospace}
"""

_JS = """
document.querySelectorAll('.slider').forEach(function(f){
  var r=f.querySelector('input'),a=f.querySelector('.after'),b=f.querySelector('.cmp>img'),
      ai=a.querySelector('img');
  function set(){a.style.width=r.value+'%';ai.style.width=b.clientWidth+'px';}
  r.addEventListener('input',set);window.addEventListener('load',set);set();
});
"""


def render_report(run_dir: str | Path, *, base: str | Path | None = None) -> str:
    """The HTML text of a run's report (see module docstring); paths shown relative to
    ``base`` when given (:func:`shown_path`)."""
    from seamline.core.artifacts import digest

    d, m = load_run(run_dir)
    esc = html.escape
    cards, sliders, hists = [], [], []
    # Every picture is drawn from a preview-sized copy made as soon as an array is read, and
    # "did this stage change the image" compares content digests: one full-size array at a
    # time (a 24 MP run's report held the input, each stage's outputs and a full-size mask
    # overlay at once: +1.3 GB).
    source = input_array(d, m)
    previous = None  # (digest, full shape, preview) of the last image shown
    if source is not None:
        cards.append(f'<div class="card"><div class="name">input</div><img src="'
                     f'{png_data_uri(source, max_px=280)}" alt="input"><div class="meta">'
                     f'{source.shape[1]}x{source.shape[0]}</div></div>')
        hists.append(f"<div><b>input</b><br>{svg_histogram(source)}</div>")
        previous = (digest("image", source), source.shape, _preview(source))
        source = previous[2]
    for s in m.get("stages", []):
        arrays = {}
        for port, (kind, arr) in stage_arrays(d, s).items():  # previews, one array at a time
            if kind == "image":
                hists.append(f'<div><b>{esc(s["name"])}.{esc(port)}</b><br>'
                             f'{svg_histogram(arr)}</div>')
                arrays[port] = (kind, _preview(arr), digest(kind, arr), arr.shape)
            else:
                arrays[port] = (kind, _preview(arr), None, arr.shape)
            del arr
        warned = bool(s.get("warnings"))
        failed_checks = any(not c["ok"] and not any(a["stat"] == c["stat"]
                                                    for a in h.get("adapters", []))
                            for h in s.get("handoffs", []) for c in h.get("checks", []))
        cls = "failed" if failed_checks else ("warned" if warned else "")
        imgs = []
        for port, (kind, arr, dig, shape) in arrays.items():
            shown = overlay(source, arr) if kind == "mask" and source is not None else arr
            imgs.append(f'<img src="{png_data_uri(shown, max_px=280)}" alt="{esc(s["name"])}.'
                        f'{esc(port)}" title="{esc(port)} ({kind})">')
            if kind == "image":
                if previous is not None and previous[1] == shape and previous[0] != dig:
                    sliders.append(_slider(png_data_uri(previous[2]), png_data_uri(arr),
                                           f'{s["name"]} ({s["stage"]})'))
                previous = (dig, shape, arr)
        adapters = sum(len(h.get("adapters", [])) for h in s.get("handoffs", []))
        meta = f'{s["seconds"]:.3f} s' + (" (cached)" if s.get("cached") else "")
        if adapters:
            meta += f" · {adapters} adapter(s)"
        if warned:
            meta += f' · {len(s["warnings"])} warning(s)'
        cards.append(f'<div class="card {cls}" id="stage-{esc(s["name"])}"><div class="name">'
                     f'{esc(s["name"])} <span class="meta">{esc(s["stage"])}</span></div>'
                     f'{"".join(imgs)}<div class="meta">{meta}</div></div>')

    qa = {k: v for k, v in flatten(m.get("qa", {})).items()
          if isinstance(v, (int, float)) and not isinstance(v, bool)}
    timings = [(s["name"], float(s.get("seconds", 0.0))) for s in m.get("stages", [])]
    checks = "".join(f'<h3>{esc(s["name"])}</h3>{_checks_table(s)}' for s in m.get("stages", [])
                     if s.get("handoffs"))
    warnings = "".join(f"<li>{esc(w)}</li>" for w in m.get("warnings", []))
    notes = "".join(f"<li>{esc(n)}</li>" for n in m.get("notes", []))
    qa_rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.6g}</td></tr>" for k, v in qa.items())
    config = {"pipeline": m.get("pipeline"), "stages": [
        {"name": s["name"], "stage": s["stage"], "params": s["params"], "seed": s.get("seed")}
        for s in m.get("stages", [])]}
    title = f'seamline run: {m.get("pipeline", {}).get("name", "?")}'
    status = m.get("status", "?")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{esc(title)}</title><style>{CSS}</style></head><body>
<header><h1>{esc(title)}</h1><div>status <b id="status">{esc(status)}</b> · input
{esc(shown_path((m.get("input") or {}).get("path"), base))} · {m.get("seconds", 0):.2f} s ·
seamline {esc(str(m.get("seamline")))} · {esc(str(m.get("created")))}</div></header><main>
<section id="strip"><h2>Pipeline</h2><div class="strip">{"".join(cards)}</div></section>
<section id="edits"><h2>Before / after</h2>{"".join(sliders) or "<p>no edits</p>"}</section>
<section id="checks"><h2>Handoff checks</h2>{checks or "<p>no checks</p>"}</section>
<section id="warnings"><h2>Warnings and notes</h2><ul class="warnings">{warnings}</ul>
<ul class="notes">{notes}</ul></section>
<section id="qa"><h2>QA</h2>{svg_bars(list(qa.items())[:16], colour="#6a4c93")}
<table class="kv">{qa_rows}</table></section>
<section id="histograms"><h2>Histograms</h2><div class="strip">{"".join(hists)}</div></section>
<section id="timings"><h2>Timings</h2>{svg_bars(timings, unit=" s")}</section>
<section id="config"><h2>Resolved config</h2><pre>{esc(json.dumps(config, indent=1))}</pre>
<details><summary>versions and platform</summary><pre>{esc(json.dumps(
        {"versions": m.get("versions"), "platform": m.get("platform"),
         "command": m.get("command")}, indent=1))}</pre></details></section>
</main><script>{_JS}</script></body></html>
"""


def write_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write ``report.html`` (atomically) into the run directory, or to ``output``."""
    from seamline.core.atomic import write_text_atomic

    d = Path(run_dir)
    text = render_report(d)
    path = Path(output) if output is not None else d / "report.html"
    write_text_atomic(path, text)
    return path
