"""One-shot commands: one image (or one pipeline run) in, one output out.

``remove-text``, ``detect-text``, ``run``, ``inpaint``, ``mask normalize|check``, ``upscale``,
``enhance``, ``color-match``. Each validates its output path before reading anything and writes
it atomically at the end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from seamline.cli.common import Parser, POLICIES, add_common, add_pipeline_options, stage_choices

__all__ = ["register", "print_summary"]

_IMAGE_HELP = "input image (any still format Pillow reads; 8 or 16 bit)"
_OUTPUT_HELP = "output image (.png, .tif, .jpg, .webp; 16-bit input stays 16-bit in PNG/TIFF)"


def register(sub) -> None:
    """Add the one-shot commands to the ``seamline`` sub-command parser ``sub``."""
    from seamline.core.pipeline import builtin_names

    p = sub.add_parser("remove-text", help="detect text, mask the glyphs, inpaint, QA",
                       description="Remove text (captions, titles, watermarks) from a photo. "
                       "Pixels outside the mask stay bit-identical.")
    p.set_defaults(func=cmd_remove_text)
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    from seamline.ops.inpaint import BACKENDS

    p.add_argument("--backend", default="auto", choices=("auto", *BACKENDS),
                   help="fill for every text region; auto (default) chooses per region from "
                        "the context (diffusion on smooth context, frequency-selective over "
                        "texture or structure) and fills a smeared region again with the next "
                        "texture-keeping fill")
    p.add_argument("--radius", type=int, default=3, help="inpainting radius, px (default 3)")
    p.add_argument("--model", help="checkpoint for --backend lama (.safetensors, .pt, .pth)")
    p.add_argument("--fail-on-qa", action="store_true",
                   help="exit with code 3 when a text region is still visible or its fill "
                        "smeared after the last fill pass (the output is written either way, "
                        "and the region named)")
    add_pipeline_options(p, example="normalize.feather_px=2")

    p = sub.add_parser("detect-text", help="find text: polygons, recognised text, confidence")
    p.set_defaults(func=cmd_detect_text)
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--min-score", type=float, default=0.5, metavar="S",
                   help="keep text lines detected with confidence >= S, 0-1 (default 0.5)")
    p.add_argument("--no-recognize", action="store_true", help="detection only (faster)")
    add_common(p)

    p = sub.add_parser("run", help="run a pipeline (YAML file or built-in name)",
                       description="Run a declared pipeline. Re-run from a stage with --from; "
                       "earlier stages come from the run directory's cache.")
    p.set_defaults(func=cmd_run)
    p.add_argument("pipeline", help="pipeline YAML file, or a built-in name "
                                    f"({', '.join(builtin_names())})")
    p.add_argument("-i", "--input", help="input image (default with --from: the one recorded "
                                         "in the run directory's manifest)")
    p.add_argument("-o", "--out", required=True, help="run directory")
    p.add_argument("--mask", help="mask image, for pipelines that take one")
    p.add_argument("--from", dest="from_stage", metavar="STAGE",
                   help="re-run this stage and the ones after it")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a stage parameter, e.g. inpaint.radius=5 (repeatable)")
    p.add_argument("--policy", choices=POLICIES,
                   help="handoff policy (default: the pipeline's)")
    p.add_argument("--json", action="store_true", help="print the manifest summary as JSON")
    add_common(p)

    p = sub.add_parser("inpaint", help="fill a mask (texture-preserving backends, seam-free "
                       "compositing, QA)", description="Fill the white (1) part of MASK. Pixels "
                       "outside the mask (grown by --feather) stay bit-identical.")
    p.set_defaults(func=cmd_inpaint)
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("--mask", required=True, help="mask image: white/1 = fill, soft values = "
                                                  "partial edit; RGB or alpha masks accepted")
    p.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--backend", default="auto", choices=stage_choices("inpaint", "backend"),
                   help="auto (default): telea for thin strokes or smooth context, exemplar "
                        "for thicker holes in texture")
    p.add_argument("--model", help="checkpoint for --backend lama (.safetensors, .pt, .pth)")
    p.add_argument("--radius", type=int, default=3, metavar="PX",
                   help="inpainting radius for telea/ns, px (default 3)")
    p.add_argument("--feather", dest="feather_px", type=int, default=0, metavar="PX",
                   help="feathered transition band outside the mask")
    p.add_argument("--no-color-match", action="store_true",
                   help="do not reconcile the fill's colour to its context ring")
    add_pipeline_options(p, example="inpaint.radius=5")

    mask = sub.add_parser("mask", help="mask tools: normalize, check")
    mask.set_defaults(func=cmd_mask)
    msub = mask.add_subparsers(dest="mask_command", required=True, parser_class=Parser)
    p = msub.add_parser("normalize", help="clean a mask: specks, holes, grow/shrink, feather, "
                                          "latent-grid snap")
    p.add_argument("mask", help="mask image (white/1 = edit)")
    p.add_argument("-o", "--output", required=True, help="cleaned mask (PNG)")
    p.add_argument("--drop-specks", type=int, default=None, metavar="PX",
                   help="remove components smaller than PX pixels")
    p.add_argument("--fill-holes", type=int, default=None, metavar="PX",
                   help="fill enclosed holes up to PX pixels")
    p.add_argument("--grow", type=int, default=0, metavar="PX", help="dilate by PX pixels")
    p.add_argument("--shrink", type=int, default=0, metavar="PX", help="erode by PX pixels")
    p.add_argument("--feather", type=int, default=0, metavar="PX",
                   help="soft edge PX pixels wide outside the mask")
    p.add_argument("--snap", type=int, default=0, metavar="CELL",
                   help="snap to a latent grid of CELL px (max-pool, grow one cell); 8 for SD")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_common(p)
    p = msub.add_parser("check", help="preflight a mask against its image")
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("mask", help="mask image of the same size (white/1 = edit)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--max-coverage", type=float, default=0.35, metavar="F",
                   help="fail when the mask covers more than this fraction (default 0.35)")
    add_common(p)

    color_methods = stage_choices("color-match", "method")
    p = sub.add_parser("upscale", help="enlarge x2/x4 and reconcile colours to the input",
                       description="Upscale; noisy or JPEG-blocky input is denoised/deblocked "
                       "first when the backend declares it expects a clean input.")
    p.set_defaults(func=cmd_upscale)
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--scale", type=int, default=2, help="2 or 4 (default 2)")
    p.add_argument("--backend", default="auto",
                   choices=stage_choices("upscale", "backend"),
                   help="auto (default: seamline-sr, the bundled ONNX model, for photos; "
                        "nearest for graphics such as palette, 1-bit or dithered images), "
                        "seamline-sr, lanczos, bicubic, nearest, or spandrel with --model")
    p.add_argument("--model", help="checkpoint for --backend spandrel (Real-ESRGAN, ...)")
    p.add_argument("--tile", type=int, default=256, metavar="PX",
                   help="tile size for network backends, px (default 256)")
    p.add_argument("--color-match", default="auto", choices=color_methods,
                   help="reconcile colours to the input (default auto; none: off)")
    add_pipeline_options(p, example="upscale.tile=512")

    p = sub.add_parser("enhance", help="photo quality improver: deblock, denoise, upscale, "
                                       "colour reconciliation",
                       description="Deblock and denoise a photo when its measured noise and "
                       "JPEG blockiness call for it (graphics are left as they are), upscale "
                       "it and reconcile its colours.")
    p.set_defaults(func=cmd_enhance)
    p.add_argument("image", help=_IMAGE_HELP)
    p.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--scale", type=int, default=2, help="2 or 4 (default 2)")
    p.add_argument("--color-match", default="auto", choices=color_methods,
                   help="reconcile colours to the restored input (default auto; none: off)")
    add_pipeline_options(p, example="restore.max_noise_sigma=0.02")

    p = sub.add_parser("color-match", help="reconcile an image's colours to a reference")
    p.set_defaults(func=cmd_color_match)
    p.add_argument("image", help="the image whose colours drifted (e.g. an upscale)")
    p.add_argument("--reference", required=True, help="the colours to keep (e.g. pre-upscale)")
    p.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--method", default="auto", choices=[m for m in color_methods if m != "none"],
                   help="default auto")
    p.add_argument("--mask", help="fit only where this mask (reference size) is white")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_common(p)


def run_builtin(name: str, args, argv, sets: dict, inputs: dict | None = None,
                 extra: dict | None = None, check=None) -> int:
    """Run a built-in pipeline for a one-shot command: validate the output path first, write
    the output atomically at the end, print a summary (or JSON)."""
    from seamline.api import Pipeline
    from seamline.engine.runner import takes_grey
    from seamline.io import check_output_path, read_image

    t0 = time.perf_counter()
    given = [args.image, *[v for v in (inputs or {}).values() if v]]
    output = check_output_path(args.output, inputs=given)
    pipe = Pipeline.builtin(name).with_params(sets)
    if getattr(args, "sets", None):
        pipe = pipe.with_params(args.sets)
    if getattr(args, "policy", None):
        pipe = pipe.with_policy(args.policy)
    # a grey file stays one channel when a stage takes grey (upscale), else RGB as always
    image = read_image(args.image, max_pixels=args.max_pixels, grey=takes_grey(pipe.spec))
    if check is not None:  # what the command can refuse from the input's size alone
        check(image.image.shape)
    run = pipe.run(image, out=getattr(args, "run_dir", None), inputs=inputs or {},
                   output_path=output, progress=not args.quiet, max_pixels=args.max_pixels,
                   command=["seamline", *argv])
    seconds = time.perf_counter() - t0
    if args.json:
        doc = {"output": str(output), "seconds": round(seconds, 3), "qa": run.qa,
               "warnings": run.warnings, "notes": run.manifest["notes"],
               "adapters": [dict(a, to=h["to"]) for h in run.checks for a in h["adapters"]]}
        doc.update({k: fn(run) for k, fn in (extra or {}).items()})
        print(json.dumps(doc, indent=1, default=str))
    elif not args.quiet:
        print_summary(run, output, seconds)
    return 3 if getattr(args, "fail_on_qa", False) and run.manifest["status"] == "qa_failed" \
        else 0


def cmd_remove_text(args, argv) -> int:
    sets = {"inpaint.backend": args.backend, "inpaint.radius": args.radius}
    if args.model:
        sets["inpaint.model"] = args.model
    return run_builtin("remove-text", args, argv, sets)


def print_summary(run, output: Path, seconds: float, *, headline: bool = True) -> None:
    """Print a run's summary: what was found or made, the output, QA (a figure outside its
    normal range says so), adapters, notes, warnings. ``headline=False`` leaves out the
    size/time line for callers that print their own."""
    qa = run.qa
    detect = run.stage("detect").report if "detect" in run.stages else {}
    lines = []
    if detect:
        lines.append(f"seamline: {detect.get('regions', 0)} text regions "
                     f"({detect.get('words', 0)} words) in {seconds:.2f} s")
    elif headline and run.manifest.get("input"):
        w, h = run.manifest["input"]["width"], run.manifest["input"]["height"]
        H, W = run.output.shape[:2]
        size = f"{w}x{h}" + (f" -> {W}x{H}" if (W, H) != (w, h) else "")
        lines.append(f"seamline: {run.spec.name} {size} in {seconds:.2f} s")
    lines.append(f"  output      {output}")
    if "mask_coverage" in qa:
        lines.append(f"  mask        {100 * qa['mask_coverage']:.2f}% of the image")
    parts = []
    if "residual_words" in qa:
        parts.append(f"residual words {qa['residual_words']}/{qa['words_before']}")
    if "ghost_regions" in qa:
        clean = qa["ghost_regions"] - qa["ghost_flagged"]
        parts.append(f"ghost judge {clean}/{qa['ghost_regions']} regions clean after "
                     f"{qa.get('fill_passes', 1)} pass(es)")
    if qa.get("smear_regions"):
        parts.append(f"smear judge {qa['smear_regions'] - qa['smear_flagged']}/"
                     f"{qa['smear_regions']} fills clean")
    if qa.get("structure_regions"):
        parts.append(f"structure judge {qa['structure_regions'] - qa['structure_flagged']}/"
                     f"{qa['structure_regions']} fills carry the edges that cross them")
    if qa.get("surface_regions"):
        parts.append(f"surface {qa['surface_regions'] - qa['surface_flagged']}/"
                     f"{qa['surface_regions']} fills keep the grain around them")
    if qa.get("leftover_regions"):
        parts.append(f"leftover {qa['leftover_regions'] - qa['leftover_flagged']}/"
                     f"{qa['leftover_regions']} lines with no ink the mask missed")
    if qa.get("tint_regions"):
        parts.append(f"tint {qa['tint_regions'] - qa['tint_flagged']}/"
                     f"{qa['tint_regions']} lines with no letter filled towards the ink")
    from seamline.ops.metrics import qa_figures

    # seam, colour, texture, untouched pixels...: a figure outside its normal range says so
    parts += [text for _, _, text, _ in qa_figures(qa)]
    if parts:
        lines.append("  QA          " + " · ".join(parts))
    adapters = [f"{h['to']}:{a['adapter']}" for h in run.checks for a in h["adapters"]]
    if adapters:
        lines.append("  adapters    " + ", ".join(adapters))
    for n in run.manifest.get("notes", []):
        lines.append(f"  note        {n}")
    for w in run.warnings:
        lines.append(f"  warning     {w}")
    for f in qa.get("failed_regions", []):
        judges = f.get("judges", ["ghost"])
        what = ("is still visible" if "ghost" in judges else
                "has letters the mask missed" if "leftover" in judges else
                "still shows its letters as a tint" if "tint" in judges else
                "looks smeared" if "smear" in judges else
                "looks flat (the grain around it is lost)" if "surface" in judges else
                "has a broken edge")
        lines.append(f"  qa_failed   region {f['index']} {f['text']!r} {what}")
    if run.out is not None:
        lines.append(f"  run dir     {run.out} (manifest.json, stages/)")
    print("\n".join(lines))


def cmd_detect_text(args, argv) -> int:
    from seamline.io import load_image
    from seamline.ops.text import detect_text

    image = load_image(args.image, max_pixels=args.max_pixels)
    regions = detect_text(image, min_score=args.min_score, recognize=not args.no_recognize)
    if args.json:
        print(json.dumps([r.to_dict() for r in regions], indent=1))
        return 0
    if not regions:
        print(f"{args.image}: no text found")
    for r in regions:
        x0, y0 = r.polygon.min(axis=0)
        x1, y1 = r.polygon.max(axis=0)
        print(f"{r.score:5.3f}  box {int(x0)},{int(y0)}-{int(x1)},{int(y1)}  {r.text}")
    return 0


def cmd_run(args, argv) -> int:
    from seamline.api import Pipeline
    from seamline.errors import InputError

    name = args.pipeline
    if Path(name).suffix.lower() in (".yaml", ".yml") or Path(name).exists():
        pipe = Pipeline.from_yaml(name)
    else:
        pipe = Pipeline.builtin(name)
    if args.sets:
        pipe = pipe.with_params(args.sets)
    if args.policy:
        pipe = pipe.with_policy(args.policy)
    image = args.input
    if image is None and "image" in pipe.spec.inputs:
        image = _recorded_input(Path(args.out)) if args.from_stage else None
        if image is None:
            raise InputError("-i/--input: required (it can be left out only with --from, "
                             "when the run directory's manifest names the input)")
    inputs = {"mask": args.mask} if args.mask else {}
    t0 = time.perf_counter()
    run = pipe.run(image, out=args.out, inputs=inputs, from_stage=args.from_stage,
                   progress=not args.quiet, max_pixels=args.max_pixels,
                   command=["seamline", *argv])
    if args.json:
        print(json.dumps({"output": str(run.output_path), "qa": run.qa,
                          "stages": [{"name": s.name, "cached": s.cached,
                                      "seconds": round(s.seconds, 4)}
                                     for s in run.stages.values()],
                          "warnings": run.warnings}, indent=1, default=str))
    elif not args.quiet:
        reused = [s.name for s in run.stages.values() if s.cached]
        ran = [s.name for s in run.stages.values() if not s.cached]
        print(f"seamline: pipeline {pipe.spec.name!r} finished in "
              f"{time.perf_counter() - t0:.2f} s; ran: {', '.join(ran) or '-'}"
              + (f"; reused from cache: {', '.join(reused)}" if reused else ""))
        print_summary(run, run.output_path, time.perf_counter() - t0, headline=False)
    return 0


def _recorded_input(out: Path) -> str | None:
    try:
        return json.loads((out / "manifest.json").read_text())["input"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None



def cmd_inpaint(args, argv) -> int:
    sets = {"inpaint.backend": args.backend, "inpaint.radius": args.radius,
            "inpaint.feather_px": args.feather_px, "inpaint.model": args.model}
    if args.no_color_match:
        sets["inpaint.color_match"] = False
    backends = lambda run: [c.get("backend") for c in  # noqa: E731
                            run.stage("inpaint").report.get("crops", [])]
    return run_builtin("inpaint", args, argv, sets, inputs={"mask": args.mask},
                        extra={"backends": backends})


def _output_size_check(args):
    """Refuse an output over --max-pixels (or a scale out of range) before anything is
    allocated: x1000 tried to allocate 460 GB before failing."""
    from seamline.ops.upscale import check_upscale_size

    return lambda shape: check_upscale_size(shape, args.scale, max_pixels=args.max_pixels)


def cmd_upscale(args, argv) -> int:
    return run_builtin("upscale", args, argv, {
        "upscale.backend": args.backend, "upscale.scale": args.scale,
        "upscale.model": args.model, "upscale.tile": args.tile,
        "color.method": args.color_match}, check=_output_size_check(args))


def cmd_enhance(args, argv) -> int:
    return run_builtin("enhance", args, argv, {"upscale.scale": args.scale,
                                                 "color.method": args.color_match},
                       check=_output_size_check(args))


def cmd_color_match(args, argv) -> int:
    from seamline.ops.color import color_drift, match_colors
    from seamline.io import check_output_path, load_image, load_mask, read_image, write_image

    output = check_output_path(args.output, inputs=[args.image, args.reference])
    src = read_image(args.image, max_pixels=args.max_pixels)
    ref = load_image(args.reference, max_pixels=args.max_pixels)
    mask = load_mask(args.mask, shape=ref.shape[:2]) if args.mask else None
    report: dict = {}
    out = match_colors(src.image, ref, method=args.method, mask=mask, report=report)
    write_image(output, out, alpha=src.alpha, bit_depth=src.bit_depth
                if output.suffix.lower() in (".png", ".tif", ".tiff") else 8)
    report["drift_before"] = color_drift(src.image, ref)
    report["drift_after"] = color_drift(out, ref)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    elif not args.quiet:
        b, a = report["drift_before"], report["drift_after"]
        print(f"{output}: ΔE2000 vs reference {b['delta_e_mean']:.2f} -> {a['delta_e_mean']:.2f} "
              f"({report.get('method', args.method)})")
    return 0


def cmd_mask(args, argv) -> int:
    import numpy as np

    from seamline.ops import masks
    from seamline.io import check_output_path, load_image, load_mask, write_image

    if args.mask_command == "check":
        image = load_image(args.image, max_pixels=args.max_pixels)
        mask = load_mask(args.mask, shape=image.shape[:2], max_pixels=args.max_pixels)
        report = masks.preflight_mask(image, mask, max_coverage=args.max_coverage)
        if args.json:
            print(json.dumps(report, indent=1, default=str))
        else:
            print(f"{args.mask}: coverage {100 * report['coverage']:.2f}%, "
                  f"{report['n_components']} components, {report['n_slivers']} slivers, "
                  f"{report['n_border']} touching the border")
            for kind in ("notes", "warnings", "failures"):
                for line in report[kind]:
                    print(f"  {kind[:-1]:8s} {line}")
        return 1 if report["failures"] else 0
    output = check_output_path(args.output, inputs=[args.mask])
    mask = load_mask(args.mask, max_pixels=args.max_pixels)
    out, report = masks.normalize_mask(mask, min_area_px=args.drop_specks,
                                       max_hole_px=args.fill_holes, dilate_px=args.grow or 0)
    if args.shrink:
        out = masks.shrink(out, args.shrink)
    if args.snap:
        out = masks.snap_to_grid(out, cell=args.snap)
        report["snap_cell_px"] = args.snap
    if args.feather:
        out = masks.feather(out, args.feather)
        report["feather_px"] = args.feather
    report.update(shrink_px=args.shrink, coverage_out=float(np.mean(out >= 0.5)))
    write_image(output, np.repeat(out[..., None], 3, axis=2))
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    elif not args.quiet:
        print(f"{output}: coverage {100 * report['before']['coverage']:.2f}% -> "
              f"{100 * report['coverage_out']:.2f}%")
    return 0

