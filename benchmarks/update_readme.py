"""Copy a short summary of each benchmark from benchmarks/results/ into the README.

The README holds markers ``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->``; the text between
them is replaced by a summary of ``benchmarks/results/NAME.md`` when that file exists: its
first paragraph, its first table, and a link to the full results. The long tables stay in
``benchmarks/results/`` (the README is a user's guide). Run by ``make bench`` after the
benchmarks, so the README shows the numbers measured today.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary(name: str, text: str) -> str:
    """First prose paragraph + first table of a results file, and a link to all of it. A
    benchmark that writes its own short summary (``NAME_readme.md``) gets that instead."""
    short = ROOT / "benchmarks" / "results" / f"{name}_readme.md"
    link = f"Full results: [`benchmarks/results/{name}.md`](benchmarks/results/{name}.md)."
    if short.is_file():
        return short.read_text(encoding="utf-8").strip() + "\n\n" + link
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    prose = next((b for b in blocks if not b.startswith(("#", "|", "!", "<"))), "")
    table = next((b for b in blocks if b.startswith("|")), "")
    return "\n\n".join(p for p in (prose, table, link) if p)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    for name in re.findall(r"<!-- bench:([\w-]+) -->", text):
        table = ROOT / "benchmarks" / "results" / f"{name}.md"
        if not table.is_file():
            continue
        body = summary(name, table.read_text(encoding="utf-8"))
        text = re.sub(rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)",
                      lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)
        print(f"README: {name} summary updated")
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
