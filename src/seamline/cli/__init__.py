"""The ``seamline`` command line: a thin layer over the Python API.

One parser; each command group is a module with a ``register(sub)`` function that adds its
sub-commands and sets ``func`` (and optionally ``interrupted``, the Ctrl-C message) on each:

==================  ==================================================================
module              commands
==================  ==================================================================
``cli.run``         remove-text, detect-text, run, inpaint, mask, upscale, enhance,
                    color-match (one image or run in, one output out)
``cli.inspect``     report, diff, stages, pipelines (read-only)
``cli.batch``       batch
``cli.diffusion``   calibrate, generate
``cli.translate``   translate fit|eval
``cli.serve``       serve (the HTTP API and inspector)
==================  ==================================================================

To add a command group, write its module and add it to :data:`GROUPS` (one line). Shared
options, the one-line-error parser and choices taken from the stages' declared parameters are
in :mod:`seamline.cli.common`.

User mistakes (bad files, bad arguments, bad configs, failed contracts) print one line
``seamline: error: ...`` and exit with code 2; nothing partial is written.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from seamline.cli.common import Parser, dispatch

__all__ = ["GROUPS", "build_parser", "main"]

#: Command-group modules, in the order their commands appear in ``seamline --help``. Imported
#: when the parser is built, not with this package: ``python -m seamline.cli.batch`` must find
#: its module not yet imported.
GROUPS = ("seamline.cli.run", "seamline.cli.inspect", "seamline.cli.batch",
          "seamline.cli.diffusion", "seamline.cli.translate", "seamline.cli.serve")


def build_parser() -> argparse.ArgumentParser:
    """The ``seamline`` parser with every group's commands registered."""
    from seamline._version import __version__

    parser = Parser(prog="seamline", description="Image editing pipelines with checked, "
                    "reconciled and measured handoffs.")
    parser.add_argument("--version", action="version", version=f"seamline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        importlib.import_module(group).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``seamline ARGV``; returns the exit code (0 ok, 1 some failed, 2 user mistake,
    130 interrupted)."""
    return dispatch(build_parser(), list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
