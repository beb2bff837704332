"""Copy each benchmark's Markdown table from benchmarks/results/ into the README.

The README holds markers ``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->``; the text between
them is replaced by ``benchmarks/results/NAME.md`` when that file exists. Run by ``make bench``
after the benchmarks, so the README shows the numbers measured today.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    for name in re.findall(r"<!-- bench:([\w-]+) -->", text):
        table = ROOT / "benchmarks" / "results" / f"{name}.md"
        if not table.is_file():
            continue
        body = table.read_text().strip()
        text = re.sub(rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)",
                      lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)
        print(f"README: {name} table updated")
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
