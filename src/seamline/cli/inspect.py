"""Read-only commands: ``report`` and ``diff`` (look at run directories), ``stages`` and
``pipelines`` (look at what is registered and built in)."""

from __future__ import annotations

import json
from pathlib import Path

from seamline.cli.common import check_html_output

__all__ = ["register"]


def register(sub) -> None:
    """Add the read-only commands to the ``seamline`` sub-command parser ``sub``."""
    p = sub.add_parser("report", help="write a run's self-contained HTML report")
    p.set_defaults(func=cmd_report)
    p.add_argument("run_dir", help="a run directory (with manifest.json)")
    p.add_argument("-o", "--output", help="HTML file (default: RUN_DIR/report.html)")
    p = sub.add_parser("diff", help="compare two runs: heat maps, metric deltas, config")
    p.set_defaults(func=cmd_diff)
    p.add_argument("run_a", help="a run directory")
    p.add_argument("run_b", help="another run directory, compared with RUN_A")
    p.add_argument("-o", "--output", help="also write an HTML page here")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")

    p = sub.add_parser("stages", help="list the registered stages and their parameters")
    p.set_defaults(func=cmd_stages)
    p = sub.add_parser("pipelines", help="list built-in pipelines, or print one")
    p.set_defaults(func=cmd_pipelines)
    p.add_argument("name", nargs="?", help="a built-in pipeline to print as YAML")


def cmd_stages(args, argv) -> int:
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


def cmd_pipelines(args, argv) -> int:
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



def cmd_report(args, argv) -> int:
    from seamline.reporting.report import write_report

    output = check_html_output(args.output, protect=_run_files(args.run_dir))
    path = write_report(args.run_dir, output)
    print(f"report: {path}")
    return 0


def cmd_diff(args, argv) -> int:
    from seamline.core.atomic import write_text_atomic
    from seamline.reporting.diff import compare_runs, render_diff, summary_text

    output = check_html_output(args.output,
                               protect=_run_files(args.run_a) + _run_files(args.run_b))
    d = compare_runs(args.run_a, args.run_b)
    if output:
        write_text_atomic(output, render_diff(args.run_a, args.run_b))
    print(json.dumps(d, indent=1, default=str) if args.json else summary_text(d))
    if args.output and not args.json:
        print(f"html: {args.output}")
    return 0


def _run_files(run_dir: str) -> tuple:
    """A run directory's manifest and the input it records: never an HTML page's target."""
    manifest = Path(run_dir) / "manifest.json"
    try:
        recorded = (json.loads(manifest.read_text(encoding="utf-8")).get("input") or {}).get("path")
    except (OSError, ValueError, AttributeError):
        recorded = None
    return (manifest, recorded if isinstance(recorded, str) else None)
