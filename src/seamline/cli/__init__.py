"""The ``seamline`` command line: a thin layer over the Python API.

User mistakes (bad files, bad arguments, bad configs, failed contracts) print one line
``seamline: error: ...`` and exit with code 2; nothing partial is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from seamline.errors import SeamlineError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other user mistake
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-pixels", type=int, default=None, metavar="N",
                   help="refuse images larger than N pixels (decompression-bomb guard; "
                        "default 100000000 or $SEAMLINE_MAX_PIXELS)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the one-shot commands that run a built-in pipeline."""
    p.add_argument("--run-dir", help="also keep the manifest, report and every intermediate here")
    p.add_argument("--policy", choices=("strict", "reconcile", "off"),
                   help="handoff policy (default: the pipeline's, reconcile)")
    p.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a stage parameter, e.g. normalize.feather_px=2 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the QA summary as JSON")
    _add_common(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seamline", description="Image editing pipelines with checked, "
                     "reconciled and measured handoffs.")
    from seamline._version import __version__

    parser.add_argument("--version", action="version", version=f"seamline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("remove-text", help="detect text, mask the glyphs, inpaint, QA",
                       description="Remove text (captions, titles, watermarks) from a photo. "
                       "Pixels outside the mask stay bit-identical.")
    p.add_argument("image", help="input image (PNG, JPEG, WebP, TIFF; 8 or 16 bit)")
    p.add_argument("-o", "--output", required=True, help="output image path")
    p.add_argument("--backend", default="telea", choices=("telea", "ns"))
    p.add_argument("--radius", type=int, default=3, help="inpainting radius, px (default 3)")
    _add_pipeline_options(p)

    p = sub.add_parser("detect-text", help="find text: polygons, recognised text, confidence")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--min-score", type=float, default=0.5)
    p.add_argument("--no-recognize", action="store_true", help="detection only (faster)")
    _add_common(p)

    p = sub.add_parser("run", help="run a pipeline (YAML file or built-in name)",
                       description="Run a declared pipeline. Re-run from a stage with --from; "
                       "earlier stages come from the run directory's cache.")
    p.add_argument("pipeline", help="pipeline YAML file, or a built-in name "
                                    "(remove-text, inpaint)")
    p.add_argument("-i", "--input", help="input image (default with --from: the one recorded "
                                         "in the run directory's manifest)")
    p.add_argument("-o", "--out", required=True, help="run directory")
    p.add_argument("--mask", help="mask image, for pipelines that take one")
    p.add_argument("--from", dest="from_stage", metavar="STAGE",
                   help="re-run this stage and the ones after it")
    p.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE")
    p.add_argument("--policy", choices=("strict", "reconcile", "off"))
    p.add_argument("--json", action="store_true", help="print the manifest summary as JSON")
    _add_common(p)

    from seamline.ops.inpaint import BACKENDS

    p = sub.add_parser("inpaint", help="fill a mask (texture-preserving backends, seam-free "
                       "compositing, QA)", description="Fill the white (1) part of MASK. Pixels "
                       "outside the mask (grown by --feather) stay bit-identical.")
    p.add_argument("image")
    p.add_argument("--mask", required=True, help="mask image: white/1 = fill, soft values = "
                                                  "partial edit; RGB or alpha masks accepted")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--backend", default="auto", choices=("auto", *BACKENDS),
                   help="auto (default): telea for thin strokes or smooth context, exemplar "
                        "for thicker holes in texture")
    p.add_argument("--model", help="checkpoint for --backend lama (.safetensors, .pt, .pth)")
    p.add_argument("--radius", type=int, default=3)
    p.add_argument("--feather", type=int, default=0, metavar="PX",
                   help="feathered transition band outside the mask")
    p.add_argument("--no-color-match", action="store_true",
                   help="do not reconcile the fill's colour to its context ring")
    _add_pipeline_options(p)

    mask = sub.add_parser("mask", help="mask tools: normalize, check")
    msub = mask.add_subparsers(dest="mask_command", required=True, parser_class=_Parser)
    p = msub.add_parser("normalize", help="clean a mask: specks, holes, grow/shrink, feather, "
                                          "latent-grid snap")
    p.add_argument("mask")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--drop-specks", type=int, default=None, metavar="PX",
                   help="remove components smaller than PX pixels")
    p.add_argument("--fill-holes", type=int, default=None, metavar="PX",
                   help="fill enclosed holes up to PX pixels")
    p.add_argument("--grow", type=int, default=0, metavar="PX")
    p.add_argument("--shrink", type=int, default=0, metavar="PX")
    p.add_argument("--feather", type=int, default=0, metavar="PX")
    p.add_argument("--snap", type=int, default=0, metavar="CELL",
                   help="snap to a latent grid of CELL px (max-pool, grow one cell); 8 for SD")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_common(p)
    p = msub.add_parser("check", help="preflight a mask against its image")
    p.add_argument("image")
    p.add_argument("mask")
    p.add_argument("--json", action="store_true")
    p.add_argument("--max-coverage", type=float, default=0.35)
    _add_common(p)

    color_methods = ("auto", "histogram", "meanstd", "wavelet", "regression", "none")
    p = sub.add_parser("upscale", help="enlarge x2/x4 and reconcile colours to the input",
                       description="Upscale; noisy or JPEG-blocky input is denoised/deblocked "
                       "first when the backend declares it expects a clean input.")
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--scale", type=int, default=2, help="2 or 4 (default 2)")
    p.add_argument("--backend", default="seamline-sr",
                   choices=("seamline-sr", "lanczos", "bicubic", "spandrel"))
    p.add_argument("--model", help="checkpoint for --backend spandrel (Real-ESRGAN, ...)")
    p.add_argument("--tile", type=int, default=256, help="tile size for network backends")
    p.add_argument("--color-match", default="auto", choices=color_methods)
    _add_pipeline_options(p)

    p = sub.add_parser("enhance", help="photo quality improver: deblock, denoise, upscale, "
                                       "colour reconciliation")
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--scale", type=int, default=2, help="2 or 4 (default 2)")
    p.add_argument("--color-match", default="auto", choices=color_methods)
    _add_pipeline_options(p)

    p = sub.add_parser("color-match", help="reconcile an image's colours to a reference")
    p.add_argument("image")
    p.add_argument("--reference", required=True, help="the colours to keep (e.g. pre-upscale)")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--method", default="auto", choices=color_methods[:-1])
    p.add_argument("--mask", help="fit only where this mask (reference size) is white")
    p.add_argument("--json", action="store_true")
    _add_common(p)

    p = sub.add_parser("report", help="write a run's self-contained HTML report")
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="default: RUN_DIR/report.html")
    p = sub.add_parser("diff", help="compare two runs: heat maps, metric deltas, config")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("-o", "--output", help="also write an HTML page here")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stages", help="list the registered stages and their parameters")
    p = sub.add_parser("pipelines", help="list built-in pipelines, or print one")
    p.add_argument("name", nargs="?")
    # command groups that live in their own modules (parsing them imports no heavy library)
    for module in _COMMAND_MODULES:
        module.add_commands(sub, _Parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, argv)
    except SeamlineError as e:
        print(f"seamline: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("seamline: interrupted; nothing was written for unfinished work", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------------------------


def _run_builtin(name: str, args, argv, sets: dict, inputs: dict | None = None,
                 extra: dict | None = None) -> int:
    """Run a built-in pipeline for a one-shot command: validate the output path first, write
    the output atomically at the end, print a summary (or JSON)."""
    from seamline.api import Pipeline
    from seamline.io import check_output_path, read_image

    t0 = time.perf_counter()
    given = [args.image, *[v for v in (inputs or {}).values() if v]]
    output = check_output_path(args.output, inputs=given)
    image = read_image(args.image, max_pixels=args.max_pixels)
    pipe = Pipeline.builtin(name).with_params(sets)
    if getattr(args, "set", None):
        pipe = pipe.with_params(args.set)
    if getattr(args, "policy", None):
        pipe = pipe.with_policy(args.policy)
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
        _print_summary(run, output, seconds)
    return 0


def _cmd_remove_text(args, argv) -> int:
    return _run_builtin("remove-text", args, argv,
                        {"inpaint.backend": args.backend, "inpaint.radius": args.radius})


def _print_summary(run, output: Path, seconds: float) -> None:
    qa = run.qa
    detect = run.stage("detect").report if "detect" in run.stages else {}
    lines = []
    if detect:
        lines.append(f"seamline: {detect.get('regions', 0)} text regions "
                     f"({detect.get('words', 0)} words) in {seconds:.2f} s")
    lines.append(f"  output      {output}")
    if "mask_coverage" in qa:
        lines.append(f"  mask        {100 * qa['mask_coverage']:.2f}% of the image")
    parts = []
    if "residual_words" in qa:
        parts.append(f"residual words {qa['residual_words']}/{qa['words_before']}")
    if "seam_score" in qa:
        parts.append(f"seam {qa['seam_score']:.2f}")
    if "delta_e_inside_vs_ring" in qa:
        parts.append(f"ΔE2000 in/ring {qa['delta_e_inside_vs_ring']:.2f}")
    if "hf_ratio_hole_vs_ring" in qa:
        parts.append(f"texture in/ring {qa['hf_ratio_hole_vs_ring']:.2f}")
    oc = qa.get("outside_change", {})
    if oc:
        parts.append(f"changed outside mask {oc.get('changed_px', 0)} px")
    if parts:
        lines.append("  QA          " + " · ".join(parts))
    adapters = [f"{h['to']}:{a['adapter']}" for h in run.checks for a in h["adapters"]]
    if adapters:
        lines.append("  adapters    " + ", ".join(adapters))
    for n in run.manifest.get("notes", []):
        lines.append(f"  note        {n}")
    for w in run.warnings:
        lines.append(f"  warning     {w}")
    if run.out is not None:
        lines.append(f"  run dir     {run.out} (manifest.json, stages/)")
    print("\n".join(lines))


def _cmd_detect_text(args, argv) -> int:
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


def _cmd_run(args, argv) -> int:
    from seamline.api import Pipeline
    from seamline.errors import InputError

    name = args.pipeline
    if Path(name).suffix.lower() in (".yaml", ".yml") or Path(name).exists():
        pipe = Pipeline.from_yaml(name)
    else:
        pipe = Pipeline.builtin(name)
    if args.set:
        pipe = pipe.with_params(args.set)
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
        _print_summary(run, run.output_path, time.perf_counter() - t0)
    return 0


def _recorded_input(out: Path) -> str | None:
    try:
        return json.loads((out / "manifest.json").read_text())["input"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cmd_stages(args, argv) -> int:
    from seamline.stages import REGISTRY
    from seamline.core.stage import param_fields

    for sid in sorted(REGISTRY):
        cls = REGISTRY[sid]
        print(f"{sid}: {cls.spec.doc}")
        ins = ", ".join(f"{p}:{s.kind}{'?' if s.optional else ''}"
                        for p, s in cls.spec.inputs.items())
        outs = ", ".join(f"{p}:{s.kind}" for p, s in cls.spec.outputs.items())
        print(f"    inputs  {ins}\n    outputs {outs}")
        for name, (typ, default) in param_fields(cls.Params).items():
            tname = getattr(typ, "__name__", str(typ).replace("typing.", ""))
            print(f"    param   {name} = {default!r}  ({tname})")
    return 0


def _cmd_pipelines(args, argv) -> int:
    from importlib import resources

    from seamline.core.pipeline import builtin_names, builtin_spec

    if args.name:
        builtin_spec(args.name)  # validates the name
        print(resources.files("seamline.pipelines").joinpath(f"{args.name}.yaml").read_text(),
              end="")
        return 0
    for name in builtin_names():
        spec = builtin_spec(name)
        print(f"{name}: {spec.description} ({' -> '.join(s.name for s in spec.stages)})")
    return 0


def _cmd_inpaint(args, argv) -> int:
    sets = {"inpaint.backend": args.backend, "inpaint.radius": args.radius,
            "inpaint.feather_px": args.feather, "inpaint.model": args.model}
    if args.no_color_match:
        sets["inpaint.color_match"] = False
    backends = lambda run: [c.get("backend") for c in  # noqa: E731
                            run.stage("inpaint").report.get("crops", [])]
    return _run_builtin("inpaint", args, argv, sets, inputs={"mask": args.mask},
                        extra={"backends": backends})


def _cmd_upscale(args, argv) -> int:
    return _run_builtin("upscale", args, argv, {
        "upscale.backend": args.backend, "upscale.scale": args.scale,
        "upscale.model": args.model, "upscale.tile": args.tile,
        "color.method": args.color_match})


def _cmd_enhance(args, argv) -> int:
    return _run_builtin("enhance", args, argv, {"upscale.scale": args.scale,
                                                 "color.method": args.color_match})


def _cmd_color_match(args, argv) -> int:
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


def _cmd_mask(args, argv) -> int:
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


def _html_output(path: str | None) -> Path | None:
    """Validate an HTML output path up front (images go through check_output_path)."""
    from seamline.errors import InputError

    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise InputError(f"--output {p}: is a directory")
    if not p.parent.is_dir():
        raise InputError(f"--output {p}: folder {p.parent} does not exist")
    return p


def _cmd_report(args, argv) -> int:
    from seamline.reporting.report import write_report

    path = write_report(args.run_dir, _html_output(args.output))
    print(f"report: {path}")
    return 0


def _cmd_diff(args, argv) -> int:
    from seamline.core.atomic import write_text_atomic
    from seamline.reporting.diff import compare_runs, render_diff, summary_text

    output = _html_output(args.output)
    d = compare_runs(args.run_a, args.run_b)
    if output:
        write_text_atomic(output, render_diff(args.run_a, args.run_b))
    print(json.dumps(d, indent=1, default=str) if args.json else summary_text(d))
    if args.output and not args.json:
        print(f"html: {args.output}")
    return 0


_COMMANDS: dict = {"remove-text": _cmd_remove_text, "report": _cmd_report, "diff": _cmd_diff, "inpaint": _cmd_inpaint, "mask": _cmd_mask,
             "upscale": _cmd_upscale, "enhance": _cmd_enhance, "color-match": _cmd_color_match,
             "detect-text": _cmd_detect_text, "run": _cmd_run, "stages": _cmd_stages,
             "pipelines": _cmd_pipelines}


def _load_command_modules() -> list:
    from seamline.cli import batch as cli_batch
    from seamline.cli import diffusion as cli_diffusion
    from seamline.cli import serve as cli_serve
    from seamline.cli import translate as cli_translate

    modules = [cli_batch, cli_diffusion, cli_translate, cli_serve]
    for module in modules:
        _COMMANDS.update(module.COMMANDS)
    return modules


_COMMAND_MODULES = _load_command_modules()


if __name__ == "__main__":
    sys.exit(main())
