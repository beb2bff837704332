"""What the ops layer contributes to stage handoffs, registered with the core on import.

- adapters (``seamline.core.adapters``): ``denoise`` and ``deblock`` (:mod:`seamline.ops.noise`), ``remove_specks``
  (:mod:`seamline.ops.masks`);
- on-demand image statistics a contract can ask for: ``graphic``, ``noise_sigma``,
  ``blockiness`` (the last two use the first: one colour count per artifact);
- the ``text-regions`` artifact codec (:class:`seamline.ops.text.TextRegion` <-> JSON).

``seamline.stages`` imports this module, so whoever can look a stage up has them. The
algorithms are imported when first used: registering costs nothing at ``import seamline``
(``seamline.ops.masks`` alone pulls in scipy.ndimage, ~1 s).
"""

from __future__ import annotations


import numpy as np

from seamline.core.adapters import register_adapter
from seamline.core.artifacts import register_codec, register_stat
from seamline.core.contracts import PortSpec


def remove_specks(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Drop mask components smaller than the port's ``min_component_px``."""
    from seamline.ops import masks

    out = masks.remove_specks(value, min_area_px=port.min_component_px)
    removed = int(np.count_nonzero(value > 0) - np.count_nonzero(out > 0))
    return out, {"min_area_px": port.min_component_px, "pixels_removed": removed}


def _expected_max(port: PortSpec, stat: str) -> float | None:
    return next((e.max for e in port.expects if e.stat == stat), None)


def denoise(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Denoise down to the noise level the receiving port declares (``noise_sigma`` max)."""
    from seamline.ops import noise

    target = _expected_max(port, "noise_sigma") or 0.0
    sigma = float(noise.estimate_noise(value))
    # aim below the limit so the re-measured value passes with some margin
    return noise.denoise(value, sigma=sigma, target_sigma=0.5 * target), {
        "sigma_in": sigma, "target_sigma": 0.5 * target}


def deblock(value: np.ndarray, port: PortSpec) -> tuple[np.ndarray, dict]:
    """Smooth JPEG 8x8 block boundaries for a receiver that declares a blockiness limit."""
    from seamline.ops import noise

    b = float(noise.estimate_blockiness(value))
    return noise.deblock(value), {"blockiness_in": b}


def graphic(image: np.ndarray) -> bool:
    """Whether an image is a graphic (statistic ``graphic``; :func:`seamline.ops.noise.is_graphic`).

    Measured once per artifact at the handoff and handed to the stages that read it
    (``PortSpec(measure=("graphic",))``): on a 15 MP page a colour count costs about a second.
    """
    from seamline.ops import noise

    return bool(noise.is_graphic(image))


def noise_sigma(image: np.ndarray, is_graphic: bool | None = None) -> float:
    """Estimated noise standard deviation of an image (statistic ``noise_sigma``).

    0 for graphics (few colours: palette, 1-bit, dither): their edges and dither are the
    picture, not noise, and denoising them is what ruined them (issue 14). ``is_graphic``:
    the ``graphic`` statistic if measured already (None: measured here).
    """
    from seamline.ops import noise

    if is_graphic is None:
        is_graphic = noise.is_graphic(image)
    return 0.0 if is_graphic else float(noise.estimate_noise(image))


def blockiness(image: np.ndarray, is_graphic: bool | None = None) -> float:
    """JPEG 8x8 blockiness of an image (statistic ``blockiness``); 0 for graphics, as above."""
    from seamline.ops import noise

    if is_graphic is None:
        is_graphic = noise.is_graphic(image)
    return 0.0 if is_graphic else float(noise.estimate_blockiness(image))


for _fn in (denoise, deblock, remove_specks):
    register_adapter(_fn.__name__, _fn)
register_stat("image", "graphic", graphic)
register_stat("image", "noise_sigma", noise_sigma, uses=("graphic",))
register_stat("image", "blockiness", blockiness, uses=("graphic",))
def _regions_from_json(data: list) -> list:
    from seamline.ops.text import TextRegion

    return [TextRegion.from_dict(d) for d in data]


register_codec("text-regions", lambda regions: [r.to_dict() for r in regions],
               _regions_from_json)
