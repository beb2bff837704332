"""Error types. Every user mistake becomes a :class:`SeamlineError` whose message is one line.

The CLI prints ``seamline: error: <message>`` and exits with code 2 for these; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class SeamlineError(Exception):
    """A user-facing error: bad input, bad argument, bad config. One line, names the culprit."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: a multi-line message would read as a traceback in a terminal.
        super().__init__(" ".join(str(message).split()))


class InputError(SeamlineError):
    """A file or argument given by the user is missing, unreadable or malformed."""


class ConfigError(SeamlineError):
    """A pipeline spec, stage id or parameter is wrong."""


class ContractError(SeamlineError):
    """An artifact failed a receiving stage's contract under the ``strict`` policy."""


class StageError(SeamlineError):
    """A stage could not do its work on valid input (for example: nothing to copy from)."""


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type
    name when the message is empty: how a library's error is quoted inside a one-line
    :class:`SeamlineError`."""
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:limit]
