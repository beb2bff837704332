"""Text: detection, masks of what text drew, the ghost judge and the removal loop.

========================  ==============================================================
:mod:`.detect`            rapidocr's bundled detector/recogniser: text lines as polygons
:mod:`.fragments`         ... a caption it broke into letters, read again round them
:mod:`.line_ends`         ... a whole letter a line's box left out past its end
:mod:`.glyph`             the colour-matting glyph mask (fill, outline, shadow, watermark)
:mod:`.outline`           ... outlined text: the fill only where the outline encloses it
:mod:`.unrimmed`          ... the light photo a fill + outline line's fill took
:mod:`.unconfirmed`       ... small pieces at a box edge the segmenter does not confirm
:mod:`.segment`           the seamline-textseg segmentation model on crops of text lines
:mod:`.watermark`         a watermark tiled across the photo: found by repetition, no box
:mod:`.watermark_lines`   ... or by the detector's lines that read the same word
:mod:`.unblend`           a tiled watermark taken off by inverting its alpha blend
:mod:`.tile_vote`         a tiled watermark's mask kept to the glyph pixels its copies share
:mod:`.tile_support`      ... its strokes at every copy, from the copies' own median
:mod:`.median_word`       ... the word's strokes in that median (shared with unblend)
:mod:`.geometry`          stroke width / text height per line, its hard-edge test
:mod:`.effects`           combining the two masks: the glyphs' effects the segmenter confirms
:mod:`.hard_shadow`       ... a hard drop shadow placed by its own edges (the glyphs moved)
:mod:`.rim`               the faint rim past a huge line's mask edge (the normaliser's cap)
:mod:`.ghost`             the ghost judge: can a person still read what was removed?
:mod:`.leftover`          ... its look for letters the mask missed
:mod:`.tint`              ... its look for letters filled towards the ink the rim kept
:mod:`.region_fill`       the removal's fill: per-region choice, crops, the first pass
:mod:`.tail`              a huge title's blurred shadow tail past its hole, taken into it
:mod:`.edge_unmix`        the text's rim just outside a hole, given back to the photo
:mod:`.regrow`            ... a re-mask's enclosed gaps of ink, joined to the refill
:mod:`.removal`           the closed loop: fill, judge, re-mask, refill
========================  ==============================================================
"""

from __future__ import annotations

from seamline.ops.text.detect import (TextRegion, detect_text, detect_text_in_boxes, get_engine,
                                      merge_boxes, warm_up)
from seamline.ops.text.glyph import GlyphMask, glyph_mask

__all__ = ["TextRegion", "GlyphMask", "detect_text", "detect_text_in_boxes", "glyph_mask",
           "get_engine", "merge_boxes", "warm_up"]
