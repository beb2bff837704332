"""What every command group shares: the one-line-error parser, shared options, choices taken
from the stages' declared parameters, output-path checks, and the dispatcher.

CLI wording (``--flag`` names) lives here and in the command modules only: the library names
its Python arguments (``workers: ...``, ``sets: inpaint.radius: ...``) and :func:`dispatch`
shows them as the flag the user typed (``--workers: ...``, ``--set inpaint.radius: ...``). A
flag's ``dest`` is the name of the library argument it feeds (``--set`` -> ``sets``,
``--from`` -> ``from_stage``), so the mapping needs no table.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import typing
from pathlib import Path

from seamline.errors import InputError, SeamlineError

__all__ = ["Parser", "add_common", "add_pipeline_options", "stage_choices", "POLICIES",
           "check_html_output", "dispatch"]

#: Handoff policies, as the pipeline spec declares them.
from seamline.core.pipeline import POLICIES  # noqa: E402  (re-exported for the command modules)

INTERRUPTED = "seamline: interrupted; nothing was written for unfinished work"


class Parser(argparse.ArgumentParser):
    """argparse with the package's error convention: one line, exit 2."""

    def error(self, message: str):  # one line, exit 2, like every other user mistake
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_common(p: argparse.ArgumentParser) -> None:
    """``--max-pixels`` and ``--quiet``: options of every command that reads images."""
    p.add_argument("--max-pixels", type=int, default=None, metavar="N",
                   help="refuse images larger than N pixels (decompression-bomb guard; "
                        "default 100000000 or $SEAMLINE_MAX_PIXELS)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    p.set_defaults(reader_limit=True)  # dispatch makes --max-pixels the limit of every reader


def add_pipeline_options(p: argparse.ArgumentParser, *, example: str) -> None:
    """Options shared by the one-shot commands that run a built-in pipeline; ``example`` is a
    ``--set`` override that fits this command's pipeline (``inpaint.radius=5``)."""
    p.add_argument("--run-dir", help="also keep the manifest, report and every intermediate here")
    p.add_argument("--policy", choices=POLICIES,
                   help="handoff policy (default: the pipeline's, reconcile)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help=f"override a stage parameter, e.g. {example} (repeatable; "
                        "'seamline pipelines NAME' shows the stages)")
    p.add_argument("--json", action="store_true", help="print the QA summary as JSON")
    add_common(p)


def stage_choices(stage_id: str, param: str) -> tuple[str, ...]:
    """The values a stage declares for a ``Literal`` parameter, in declaration order.

    So a CLI flag offers exactly what the stage accepts, from one declaration.

    Parameters
    ----------
    stage_id : str
        Registered stage id (``upscale``, ``generate``...).
    param : str
        Name of a field of the stage's ``Params`` whose type is a ``Literal`` (optionally
        ``| None``).

    Returns
    -------
    tuple of str
    """
    from seamline.core.stage import param_fields
    from seamline.stages import get_stage

    typ = param_fields(get_stage(stage_id).Params)[param][0]
    if typing.get_origin(typ) is not typing.Literal:  # Literal[...] | None
        typ = next(a for a in typing.get_args(typ) if typing.get_origin(a) is typing.Literal)
    return tuple(typing.get_args(typ))


def check_html_output(path: str | None, *, protect: tuple = ()) -> Path | None:
    """Validate an HTML output path up front (images go through ``io.check_output_path``).

    Parameters
    ----------
    path : str or None
        The ``-o/--output`` value; None passes through.
    protect : tuple of path-like
        Files the output must not be (the run's manifest and recorded inputs).

    Raises
    ------
    InputError
        Not ``.html``/``.htm``, a folder, a missing parent folder, or one of ``protect``.
    """
    if path is None:
        return None
    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--output {p}: expected an .html file name")
    if p.is_dir():
        raise InputError(f"--output {p}: is a directory")
    if not p.parent.is_dir():
        raise InputError(f"--output {p}: folder {p.parent} does not exist")
    target = p.resolve()
    for q in protect:
        if q and Path(q).expanduser().resolve() == target:
            raise InputError(f"--output {p}: is {q}, an input of this command; choose another "
                             "path")
    return p


def _flag_wording(message: str, parser: argparse.ArgumentParser, args) -> str:
    """``workers: ...`` from the library becomes ``--workers: ...`` when the command has that
    flag, and ``sets: inpaint.radius: ...`` becomes ``--set inpaint.radius: ...`` (the value
    the message is about, when it has no space, follows the flag as the user typed it). Hints
    in the library's keyword syntax become flags: ``recursive=True`` -> ``--recursive`` (a
    switch), ``max_pixels=N`` -> ``--max-pixels N`` (an upper-case placeholder). The library
    names its arguments, the CLI the flags the user typed."""
    actions = [(a, [o for o in a.option_strings if o.startswith("--")])
               for a in _actions(parser, args)]
    for action, longs in actions:
        if not longs:
            continue
        switch = action.nargs == 0 and action.const is True  # store_true

        def as_flag(m: re.Match, flag: str = longs[0], switch: bool = switch) -> str:
            if m.group(1) == "True":
                return flag if switch else m.group(0)
            return f"{flag} {m.group(1)}"

        # not inside a dotted name: "inpaint.radius=5" stays as it is
        message = re.sub(rf"(?<![\w.-]){action.dest}=(True\b|[A-Z][A-Z_]*\b)", as_flag, message)
    head, sep, rest = message.partition(":")
    if not sep or " " in head.strip():
        return message
    for action, longs in actions:
        if longs and action.dest == head.strip():
            value, sep, more = rest.strip().partition(": ")
            if sep and value and " " not in value:
                return f"{longs[0]} {value}: {more}"
            return f"{longs[0]}:{rest}"
    return message


def _actions(parser: argparse.ArgumentParser, args):
    """The actions of the (sub-)parser that parsed ``args``, innermost last."""
    found = list(parser._actions)  # argparse keeps no public accessor for these
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            chosen = getattr(args, a.dest, None)
            if chosen in a.choices:
                found += _actions(a.choices[chosen], args)
    return found


def dispatch(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse ``argv`` and run the chosen command: the one place errors become exit codes.

    Returns
    -------
    int
        The command's exit code; 2 with one line on stderr for a user mistake
        (:class:`~seamline.errors.SeamlineError`); 130 after Ctrl-C (the command may set its own
        message with ``set_defaults(interrupted=...)``).
    """
    args = parser.parse_args(argv)
    limit = getattr(args, "max_pixels", None) if getattr(args, "reader_limit", False) else None
    old_limit = os.environ.get("SEAMLINE_MAX_PIXELS")
    try:
        if limit is not None:  # the flag is the limit everywhere in this command, stages and
            os.environ["SEAMLINE_MAX_PIXELS"] = str(limit)  # batch workers included
        return args.func(args, argv)
    except SeamlineError as e:
        print(f"seamline: error: {_flag_wording(str(e), parser, args)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(getattr(args, "interrupted", INTERRUPTED), file=sys.stderr)
        return 130
    finally:
        if limit is not None:
            if old_limit is None:
                os.environ.pop("SEAMLINE_MAX_PIXELS", None)
            else:
                os.environ["SEAMLINE_MAX_PIXELS"] = old_limit
