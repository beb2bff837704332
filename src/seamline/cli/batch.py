"""``seamline batch``: a folder of images through one pipeline, on local cores or Ray.

Wired into :mod:`seamline.cli` by :func:`register`; also runs on its own as
``python -m seamline.cli.batch ...`` (same arguments and behaviour as ``seamline batch``).

Exit codes: 0 every item ok (or unchanged since an earlier run, skipped); 1 some items failed
(see ``OUT_DIR/summary.csv``); 2 a user mistake, nothing run (one line on stderr); 130
interrupted with Ctrl-C (finished items kept; run the same command again to resume).
"""

from __future__ import annotations

import argparse
import json
import sys

from seamline.cli.common import POLICIES, Parser, add_common, dispatch

__all__ = ["register", "cmd_batch", "main"]

INTERRUPTED = ("seamline: interrupted; finished items are recorded in the output folder's "
               "batch-state.jsonl: run the same command again to resume")

EPILOG = """\
outputs: OUT_DIR/<stem>.png (or the input's extension with --keep-ext), OUT_DIR/summary.csv
and summary.json (status, seconds, QA, error per item), OUT_DIR/batch-state.jsonl (what
finished; a re-run skips unchanged items), OUT_DIR/runs/<stem>/ with --run-dirs.

exit codes: 0 all ok or skipped; 1 some items failed; 2 user mistake; 130 interrupted.

Ray: without --address a private Ray instance is started on this machine, bound to
127.0.0.1, and stopped at the end. To use a cluster, start it (`ray start --head` on the
head node, `ray start --address HEAD:6379` on the others, each with seamline installed in the
same Python environment) and pass --address HEAD:6379 (or ray://HEAD:10001 for Ray Client,
or auto on a cluster node); INPUT_DIR, OUT_DIR and --masks must be on a file system that
every node mounts at the same path.
"""


def register(sub) -> argparse.ArgumentParser:
    """Add the ``batch`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    p = sub.add_parser("batch", help="run a pipeline over a folder of images (resumable; "
                                     "local cores or Ray)",
                       description="Run every image in INPUT_DIR through a pipeline. A re-run "
                       "skips items whose input, mask, config and output are unchanged; a bad "
                       "image "
                       "is recorded as a failure and the batch goes on.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Ctrl-C while planning or writing the summary: what finished is journalled
    p.set_defaults(func=cmd_batch, interrupted=INTERRUPTED)
    p.add_argument("pipeline", help="pipeline YAML file, or a built-in name "
                                    "(remove-text, inpaint, ...)")
    p.add_argument("input_dir", metavar="INPUT_DIR", help="folder of images")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR",
                   help="output folder (not inside INPUT_DIR)")
    p.add_argument("--masks", metavar="MASK_DIR",
                   help="masks matched to images by file stem, for pipelines with a mask input")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: a process pool on this machine (default); ray: Ray actors")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes / actors (default: number of cores, at most one per "
                        "GiB of available memory; local: 0 runs in this process)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads per worker for ONNX Runtime/OpenCV/BLAS (default 1)")
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster address (HOST:PORT, ray://HOST:PORT or auto); default: "
                        "start a private local instance")
    p.add_argument("--num-gpus", type=float, default=None, metavar="G",
                   help="GPUs per Ray worker (default: 1 if a stage is set to a CUDA device, "
                        "else 0)")
    p.add_argument("--connect-timeout", type=float, default=15.0, metavar="S",
                   help="seconds to wait for a Ray address to answer (default 15)")
    p.add_argument("--seed", type=int, default=None,
                   help="batch seed (default: the pipeline's); each item's seed derives from "
                        "it and the item's path")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a stage parameter (repeatable)")
    p.add_argument("--policy", choices=POLICIES,
                   help="handoff policy (default: the pipeline's)")
    p.add_argument("--run-dirs", action="store_true",
                   help="keep a run directory (manifest, intermediates) per image under "
                        "OUT_DIR/runs/")
    p.add_argument("--recursive", action="store_true", help="also take images from sub-folders")
    p.add_argument("--keep-ext", action="store_true",
                   help="write outputs with the input's extension (default: .png)")
    p.add_argument("--force", action="store_true", help="re-run finished items too")
    p.add_argument("--json", action="store_true", help="print the summary counts as JSON")
    add_common(p)
    return p


def cmd_batch(args, argv) -> int:
    """Run the ``batch`` command; returns the exit code (see the module docstring)."""
    from seamline.batch import run_batch

    def on_record(rec: dict) -> None:
        if rec["status"] == "failed" and not args.quiet:
            _write_above_bar(f"seamline: {rec['item']}: failed: {rec['error']}")

    res = run_batch(args.pipeline, args.input_dir, args.out, masks=args.masks,
                    engine=args.engine, workers=args.workers, threads=args.threads,
                    address=args.address, num_gpus=args.num_gpus, seed=args.seed,
                    sets=args.sets, policy=args.policy, run_dirs=args.run_dirs,
                    recursive=args.recursive, keep_ext=args.keep_ext, force=args.force,
                    max_pixels=args.max_pixels, progress=not args.quiet,
                    connect_timeout=args.connect_timeout,
                    command=["seamline", *argv], on_record=on_record)
    if not args.quiet:
        for w in res.warnings:
            print(f"seamline: warning: {w}", file=sys.stderr)
    c = res.counts
    if res.interrupted:
        print(f"seamline: interrupted: {c['ok']} done, {c['failed']} failed, "
              f"{c['skipped']} skipped, {c['pending']} not run; run the same command again "
              "to resume", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps({"counts": c, "seconds": res.seconds, "exit_code": res.exit_code,
                          "summary": str(res.summary_json), "warnings": res.warnings,
                          "engine": res.info}, indent=1, default=str))
    elif not args.quiet:
        rate = res.info.get("images_per_s")
        print(f"seamline: {c['ok']} ok, {c['failed']} failed, {c['skipped']} skipped (unchanged) "
              f"in {res.seconds:.1f} s" + (f", {rate:.2f} images/s" if rate and c['ok'] else "")
              + f"; summary: {res.summary_csv}")
    return res.exit_code


def _write_above_bar(line: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    except ImportError:  # pragma: no cover - a core dependency
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """``seamline batch`` on its own: ``main(["remove-text", "in/", "-o", "out/"])``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = Parser(prog="seamline")
    register(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    return dispatch(parser, ["batch", *argv])


if __name__ == "__main__":
    sys.exit(main())
