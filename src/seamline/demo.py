"""``make demo``: the main job on the embedded default, offline, on the CPU.

A real photo from scikit-image's bundled data gets a caption, a title and a semi-transparent
watermark drawn on it; the built-in ``remove-text`` pipeline then detects the text, builds a
mask that hugs the glyphs, normalises and preflights it, inpaints and measures the result.

Run: ``python -m seamline.demo [OUT_DIR]`` (default ``demo-output``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import seamline as sl
    from seamline.cli.run import print_summary as _print_summary
    from seamline.errors import SeamlineError
    from seamline.testing.demo_image import demo_image

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "demo-output")
    try:
        out.mkdir(parents=True, exist_ok=True)
        image, alpha = demo_image()
        input_path = sl.write_image(out / "input.png", image)
        t0 = time.perf_counter()
        run = sl.Pipeline.builtin("remove-text").run(
            input_path, out=out / "run", output_path=out / "clean.png", progress=True,
            command=["python", "-m", "seamline.demo", str(out)])
        seconds = time.perf_counter() - t0
    except SeamlineError as e:
        print(f"seamline demo: error: {e}", file=sys.stderr)
        return 2
    _print_summary(run, out / "clean.png", seconds)
    # the demo knows what it drew: how much of it the mask caught, and how close the result is
    # to the photo before the text was drawn
    from skimage import data

    from seamline.io import as_image
    from seamline.testing.demo_image import psnr_in_text_region

    drawn = alpha > 0.05
    covered = float(np.mean(run.stage("inpaint").outputs["mask"][drawn] >= 0.5))
    clean = as_image(data.coffee())
    print(f"  drawn text  {100 * covered:.1f}% of the drawn text pixels fall inside the mask; "
          f"PSNR in the text region {psnr_in_text_region(run.output, clean, alpha):.2f} dB "
          f"(input {psnr_in_text_region(image, clean, alpha):.2f} dB)")
    print(f"\ninput          {out / 'input.png'}\ncleaned image  {out / 'clean.png'}\n"
          f"manifest       {out / 'run' / 'manifest.json'}\n"
          f"report         {out / 'run' / 'report.html'} (open in a browser)\n"
          f"intermediates  {out / 'run' / 'stages'}/ (one folder per stage)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
