"""seamline: image pipelines whose handoffs are declared, checked, reconciled and measured.

>>> import seamline as sl                                             # doctest: +SKIP
>>> res = sl.remove_text(sl.load_image("photo.jpg"))                  # doctest: +SKIP
>>> sl.save_image("clean.png", res.image)                             # doctest: +SKIP
"""

from seamline._version import __version__ as __version__

# the stage registry, and with it every domain's registered adapters, statistics and pipeline
# keys (seamline.stages imports them): whatever part of seamline is used, they are there
import seamline.stages  # noqa: E402,F401

from seamline.api import Pipeline, TextRemoval, remove_text  # noqa: E402
from seamline.errors import (ConfigError, ContractError, InputError,  # noqa: E402
                             SeamlineError, StageError)
from seamline.io import (ImageFile, load_image, load_mask, read_image,  # noqa: E402
                         save_image, write_image)
from seamline.engine.runner import Run  # noqa: E402


def detect_text(image, **kwargs):
    """Find text regions (polygons, text, confidence); see :func:`seamline.ops.text.detect_text`."""
    from seamline.ops.text import detect_text as _detect

    return _detect(image, **kwargs)


__all__ = ["Pipeline", "Run", "TextRemoval", "remove_text", "detect_text", "load_image",
           "load_mask", "read_image", "save_image", "write_image", "ImageFile", "SeamlineError",
           "InputError", "ConfigError", "ContractError", "StageError"]
