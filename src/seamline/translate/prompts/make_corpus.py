"""Generate ``corpus.txt``: image-generation prompts for fitting embedding-translation maps.

The prompts are built from templates filled with subjects, styles, settings and lighting, in
the loose, comma-heavy language people type into text-to-image tools. The draw is seeded, so
the file is reproducible: ``python -m seamline.translate.prompts.make_corpus`` rewrites it byte for byte.

Why templates and not a scraped set: the corpus ships with the package (no data download), its
licence is ours, and the spread of subjects x styles x settings makes held-out prompts share
vocabulary with the fitting prompts without being copies of them.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from seamline.core.atomic import write_text_atomic

SEED = 20240607
DEFAULT_COUNT = 1000

SUBJECTS = [
    "an old fisherman mending a net", "a red fox in the snow", "a lighthouse on a cliff",
    "a cyberpunk street vendor", "a bowl of ramen", "a vintage motorcycle", "a sleeping cat",
    "an astronaut floating above the earth", "a medieval castle", "a bustling night market",
    "a young woman with freckles", "a dragon curled around a tower", "a cup of coffee",
    "a mountain lake", "a steam locomotive", "a field of sunflowers", "a robot gardener",
    "a samurai in the rain", "a cozy reading nook", "a hummingbird drinking nectar",
    "a futuristic city skyline", "an abandoned greenhouse", "a golden retriever puppy",
    "a bouquet of peonies", "a wizard casting a spell", "a desert caravan", "a koi pond",
    "a ballet dancer mid-leap", "a snowy village", "a sailing ship in a storm",
    "an owl on a branch", "a glass of red wine", "a jazz musician playing saxophone",
    "a waterfall in a jungle", "a knight in ornate armour", "a tiny house in the woods",
    "a portrait of an elderly man", "a neon-lit diner", "a stack of old books",
    "a hot air balloon festival", "a polar bear on an ice floe", "a sushi platter",
    "a child flying a kite", "a gothic cathedral interior", "a racing car",
    "a bioluminescent forest", "a fantasy elf archer", "a rustic farmhouse kitchen",
    "a city street after rain", "a majestic lion", "a space station orbiting a gas giant",
    "a pirate captain", "a cherry blossom tree", "a steampunk airship",
    "a bowl of fresh fruit", "a quiet library", "a tiger in tall grass",
    "a lone tree on a hill", "a chef plating a dessert", "a Victorian mansion",
    "a surfer riding a wave", "a mechanical owl", "an underwater coral reef",
    "a street musician", "a mountain monastery", "a fluffy white rabbit",
    "a cottage garden", "a giant mech in a ruined city", "a birthday cake with candles",
    "a viking longship", "a foggy harbour", "a fashion model in a red dress",
    "a scientist in a laboratory", "an ancient temple overgrown with vines",
    "a pair of worn leather boots", "a cat wearing a tiny crown", "a bridge over a river",
    "a deer in a misty forest", "a vintage typewriter", "a futuristic sports car",
]

STYLES = [
    "oil painting", "watercolor", "digital art", "concept art", "35mm film photo",
    "studio photograph", "pencil sketch", "ink drawing", "anime style", "pixel art",
    "3d render", "low poly", "isometric illustration", "ukiyo-e woodblock print",
    "art nouveau poster", "impressionist painting", "charcoal drawing", "claymation",
    "vaporwave", "synthwave", "baroque painting", "comic book panel", "children's book illustration",
    "stained glass", "matte painting", "polaroid", "cinematic still", "macro photograph",
    "tilt-shift photo", "gouache painting", "linocut", "surrealist painting",
    "minimalist vector art", "cel shaded", "hyperrealistic", "double exposure",
]

SETTINGS = [
    "in a misty forest", "on a rainy city street", "at the beach", "in the desert",
    "on a snowy mountain", "in a futuristic city", "in a medieval village", "underwater",
    "in outer space", "in a sunlit meadow", "inside a cozy cabin", "in a neon alley",
    "in an ancient ruin", "on a rooftop", "in a busy market", "by a calm lake",
    "in a dense jungle", "in a wheat field", "on a frozen lake", "in a candlelit hall",
    "at a train station", "in a greenhouse", "on a distant planet", "in a bamboo grove",
]

LIGHTING = [
    "golden hour", "soft morning light", "dramatic rim lighting", "moonlight",
    "neon glow", "overcast light", "harsh midday sun", "candlelight", "volumetric light",
    "backlit", "blue hour", "studio lighting", "foggy diffuse light", "sunset glow",
    "chiaroscuro", "bioluminescent glow", "firelight", "cold fluorescent light",
]

QUALIFIERS = [
    "highly detailed", "8k", "sharp focus", "trending on artstation", "intricate details",
    "masterpiece", "award winning", "ultra realistic", "bokeh", "wide angle",
    "close-up", "symmetrical composition", "muted colors", "vibrant colors", "pastel palette",
    "high contrast", "shallow depth of field", "rule of thirds", "film grain", "long exposure",
]

ARTISTS = [
    "in the style of Studio Ghibli", "inspired by Monet", "in the style of Hokusai",
    "inspired by Caravaggio", "in the style of Moebius", "inspired by Van Gogh",
    "in the style of Alphonse Mucha", "inspired by Edward Hopper",
]

# {s} subject, {st} style, {se} setting, {l} lighting, {q} qualifiers, {a} artist
TEMPLATES = [
    "{s}, {st}, {l}, {q}",
    "{st} of {s} {se}, {l}",
    "a {st} of {s}",
    "{s} {se}, {l}, {q}",
    "{s}",
    "{s} {se}",
    "photo of {s} {se}, {l}, {q}",
    "{s}, {a}, {q}",
    "beautiful {st} of {s} {se}, {a}",
    "{s} {se} during {l}, {st}",
    "close-up of {s}, {l}, {q}",
    "wide shot of {s} {se}, {st}, {q}",
    "{st}: {s}, {l}",
    "{q}, {s}, {st}",
    "an epic scene of {s} {se}, {l}, {st}, {q}",
    "{s} bathed in {l}",
    "illustration of {s}, {a}",
    "{s} {se}, {st}, {a}, {l}",
]


def _qualifiers(rng: random.Random) -> str:
    return ", ".join(rng.sample(QUALIFIERS, rng.randint(1, 3)))


def _article_fix(text: str) -> str:
    # "a oil painting" -> "an oil painting"; only the template-made article needs fixing.
    out = []
    words = text.split(" ")
    for i, w in enumerate(words):
        if w.lower() == "a" and i + 1 < len(words) and words[i + 1][:1].lower() in "aeiou":
            w = w[0] + "n"
        out.append(w)
    return " ".join(out)


def generate(count: int = DEFAULT_COUNT, *, seed: int = SEED) -> list[str]:
    """Draw ``count`` unique prompts, deterministically for a given ``seed``.

    Parameters
    ----------
    count : int
        Number of distinct prompts wanted.
    seed : int
        Seed of the draw; the same seed gives the same list.

    Returns
    -------
    list of str
        Unique prompts (case-insensitively distinct), in draw order.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    prompts: list[str] = []
    attempts = 0
    while len(prompts) < count:
        attempts += 1
        if attempts > count * 50:  # the pools are far larger than any sane count
            raise RuntimeError(f"could only draw {len(prompts)} unique prompts")
        text = rng.choice(TEMPLATES).format(
            s=rng.choice(SUBJECTS), st=rng.choice(STYLES), se=rng.choice(SETTINGS),
            l=rng.choice(LIGHTING), q=_qualifiers(rng), a=rng.choice(ARTISTS))
        text = _article_fix(" ".join(text.split()))
        key = text.lower()
        if key not in seen:
            seen.add(key)
            prompts.append(text)
    return prompts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=DEFAULT_COUNT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("-o", "--output", type=Path,
                    default=Path(__file__).resolve().parent / "corpus.txt")
    args = ap.parse_args(argv)
    text = "\n".join(generate(args.count, seed=args.seed)) + "\n"
    write_text_atomic(args.output, text)
    print(f"wrote {args.count} prompts to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
