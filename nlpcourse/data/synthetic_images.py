"""A seeded generator of captioned shape images, for training a small CLIP from scratch.

Each image shows one shape ("a small red circle on the left") or two shapes side by side ("a
red circle to the left of a blue square"). Colour×shape *combinations* can be split into a
training set and a held-out set, so that a model can be tested on pairs it never saw together.
The same seed always gives the same images and captions (Pillow draws without anti-aliasing).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 90, 230),
    "yellow": (235, 215, 40),
    "purple": (150, 60, 200),
    "white": (235, 235, 235),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond")
SIZES: dict[str, float] = {"small": 0.14, "large": 0.24}  # half-width as a fraction of the image
POSITIONS: dict[str, float] = {"left": 0.22, "middle": 0.5, "right": 0.78}  # x centre / width
POSITION_PHRASES: dict[str, str] = {
    "left": "on the left",
    "middle": "in the middle",
    "right": "on the right",
}
BACKGROUND = (28, 28, 28)

Combo = tuple[str, str]  # (colour, shape)


@dataclass(frozen=True)
class ShapeSpec:
    """One shape to draw: its colour, kind, size word and position word."""

    colour: str
    shape: str
    size: str = "large"
    position: str = "middle"

    def __post_init__(self) -> None:
        _check_word(self.colour, COLOURS, "colour")
        _check_word(self.shape, SHAPES, "shape")
        _check_word(self.size, SIZES, "size")
        _check_word(self.position, POSITIONS, "position")

    @property
    def combo(self) -> Combo:
        """The (colour, shape) pair."""
        return (self.colour, self.shape)


@dataclass(frozen=True)
class Sample:
    """A generated image with its caption and the shapes it shows (left to right)."""

    image: Image.Image
    caption: str
    shapes: tuple[ShapeSpec, ...]

    @property
    def combos(self) -> tuple[Combo, ...]:
        """The (colour, shape) pairs in the image."""
        return tuple(spec.combo for spec in self.shapes)


def _check_word(word: str, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    if word not in allowed:
        raise ValueError(f"Unknown {what} {word!r}; choose one of {', '.join(allowed)}.")


def all_combos() -> list[Combo]:
    """Every (colour, shape) pair, colours in order then shapes."""
    return list(itertools.product(COLOURS, SHAPES))


def single_caption(spec: ShapeSpec) -> str:
    """The caption of a one-shape image, e.g. ``"a small red circle on the left"``."""
    return f"a {spec.size} {spec.colour} {spec.shape} {POSITION_PHRASES[spec.position]}"


def pair_caption(left: ShapeSpec, right: ShapeSpec, relation: str = "left") -> str:
    """A true caption of a two-shape image, naming the ``left`` or ``right`` shape first."""
    if relation == "left":
        return f"a {left.colour} {left.shape} to the left of a {right.colour} {right.shape}"
    if relation == "right":
        return f"a {right.colour} {right.shape} to the right of a {left.colour} {left.shape}"
    raise ValueError(f"relation must be 'left' or 'right', got {relation!r}.")


def swap_relation(caption: str) -> str:
    """The same words with "left" and "right" exchanged: a false caption of the same image."""
    words = caption.split()
    if "left" not in words and "right" not in words:
        raise ValueError(f"No 'left' or 'right' in {caption!r} to swap.")
    swap = {"left": "right", "right": "left"}
    return " ".join(swap.get(word, word) for word in words)


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    raise ValueError(f"No polygon for shape {shape!r}.")


def _jitter_colour(rgb: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple:
    noise = rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(np.asarray(rgb) + noise, 0, 255))


def draw(
    specs: Sequence[ShapeSpec],
    image_size: int = 32,
    rng: np.random.Generator | None = None,
    shift: float = 0.0,
    colour_jitter: int = 20,
    size_jitter: float = 0.0,
) -> Image.Image:
    """Draw ``specs`` on a dark RGB square.

    ``rng`` moves each shape by up to ``shift`` × image_size pixels in x and y, changes each
    colour channel by up to ``colour_jitter`` levels and scales each shape by a factor in
    ``1 ± size_jitter``, so no two images are exactly alike.
    """
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}.")
    if not specs:
        raise ValueError("draw() needs at least one ShapeSpec.")
    if not 0.0 <= shift <= 0.2:
        raise ValueError(f"shift must be between 0 and 0.2 of the image size, got {shift}.")
    if not 0.0 <= size_jitter <= 0.4:
        raise ValueError(f"size_jitter must be between 0 and 0.4, got {size_jitter}.")
    rng = rng if rng is not None else np.random.default_rng(0)
    image = Image.new("RGB", (image_size, image_size), BACKGROUND)
    pen = ImageDraw.Draw(image)
    for spec in specs:
        r = SIZES[spec.size] * image_size
        dx, dy = rng.uniform(-shift, shift, size=2) * image_size
        if size_jitter > 0:  # no draw at 0: the images of earlier releases stay the same
            r *= rng.uniform(1 - size_jitter, 1 + size_jitter)
        cx = POSITIONS[spec.position] * image_size + dx
        cy = image_size / 2 + dy
        colour = _jitter_colour(COLOURS[spec.colour], rng, colour_jitter)
        if spec.shape == "circle":
            pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            pen.polygon(_polygon(spec.shape, cx, cy, r), fill=colour)
    return image


def split_combos(n_heldout: int, seed: int = 0) -> tuple[list[Combo], list[Combo]]:
    """Split the colour×shape pairs into (train, held-out).

    Each held-out pair has a different colour, and the shapes are spread evenly over them, so
    every colour and every shape still appears in training (only never *together* as held out).
    """
    n_colours, n_shapes = len(COLOURS), len(SHAPES)
    if not 0 <= n_heldout <= n_colours:
        raise ValueError(
            f"n_heldout must be between 0 and {n_colours} (one held-out pair per colour), "
            f"got {n_heldout}."
        )
    rng = np.random.default_rng(seed)
    colours = [list(COLOURS)[i] for i in rng.permutation(n_colours)]
    shapes = [SHAPES[i] for i in rng.permutation(n_shapes)]
    heldout = [(colours[i], shapes[i % n_shapes]) for i in range(n_heldout)]
    train = [combo for combo in all_combos() if combo not in heldout]
    return train, sorted(heldout, key=all_combos().index)


def generate(
    n: int,
    combos: Sequence[Combo] | None = None,
    image_size: int = 32,
    seed: int = 0,
    pair_fraction: float = 0.0,
    shift: float = 0.0,
    size_jitter: float = 0.0,
) -> list[Sample]:
    """``n`` captioned images drawn only from ``combos`` (default: all), deterministic in ``seed``.

    A fraction ``pair_fraction`` of them show two different shapes side by side, captioned
    with a spatial relation whose wording ("to the left of" / "to the right of") is random.
    ``shift`` moves shapes by up to that fraction of the image size and ``size_jitter`` scales
    them by up to ``1 ± size_jitter`` (see :func:`draw`): variation, so that fresh test images
    are not near-copies of training images.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}.")
    if not 0.0 <= pair_fraction <= 1.0:
        raise ValueError(f"pair_fraction must be between 0 and 1, got {pair_fraction}.")
    combos = list(combos) if combos is not None else all_combos()
    if not combos:
        raise ValueError("combos is empty: give at least one (colour, shape) pair.")
    for colour, shape in combos:
        ShapeSpec(colour, shape)  # validates the words
    if pair_fraction > 0 and len(combos) < 2:
        raise ValueError("Two-shape images need at least two different (colour, shape) pairs.")
    rng = np.random.default_rng(seed)
    sizes, positions = list(SIZES), list(POSITIONS)
    samples = []
    for _ in range(n):
        if rng.random() < pair_fraction:
            first, second = rng.choice(len(combos), size=2, replace=False)
            left = ShapeSpec(*combos[first], size="small", position="left")
            right = ShapeSpec(*combos[second], size="small", position="right")
            relation = "left" if rng.random() < 0.5 else "right"
            specs: tuple[ShapeSpec, ...] = (left, right)
            caption = pair_caption(left, right, relation)
        else:
            colour, shape = combos[rng.integers(len(combos))]
            spec = ShapeSpec(
                colour,
                shape,
                size=sizes[rng.integers(len(sizes))],
                position=positions[rng.integers(len(positions))],
            )
            specs = (spec,)
            caption = single_caption(spec)
        image = draw(specs, image_size, rng, shift, size_jitter=size_jitter)
        samples.append(Sample(image, caption, specs))
    return samples


def class_prompts(combo: Combo, templates: Sequence[str] | None = None) -> list[str]:
    """Captions for one (colour, shape) class: ``templates`` filled with "red circle" etc.

    The default templates are every size×position wording of the training captions, so
    averaging their text embeddings is CLIP's *prompt ensembling*.
    """
    if templates is None:
        templates = [
            f"a {size} {{}} {phrase}"
            for size, phrase in itertools.product(SIZES, POSITION_PHRASES.values())
        ]
    if not templates or any("{}" not in template for template in templates):
        raise ValueError("Every template needs a '{}' where the class name goes.")
    name = f"{combo[0]} {combo[1]}"
    return [template.format(name) for template in templates]


def chance_accuracy(n_classes: int) -> float:
    """The accuracy of guessing uniformly among ``n_classes`` classes."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}.")
    return 1.0 / n_classes


def image_to_array(image: Image.Image) -> np.ndarray:
    """The image as a ``uint8`` array of shape (height, width, 3)."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def nearest_copy_distance(samples: Sequence[Sample], reference: Sequence[Sample]) -> np.ndarray:
    """For each sample, the mean absolute pixel difference (0-255) to its closest reference image.

    Only reference images with the same caption are compared; a sample whose caption never
    occurs in ``reference`` gets ``inf``. Small values mean near-copies of training images.
    """
    by_caption: dict[str, list[np.ndarray]] = {}
    for sample in reference:
        by_caption.setdefault(sample.caption, []).append(image_to_array(sample.image))
    distances = []
    for sample in samples:
        candidates = by_caption.get(sample.caption)
        if not candidates:
            distances.append(np.inf)
            continue
        pixels = image_to_array(sample.image).astype(np.float32)
        stack = np.stack(candidates).astype(np.float32)  # (m, H, W, 3)
        distances.append(float(np.abs(stack - pixels).mean(axis=(1, 2, 3)).min()))
    return np.asarray(distances)
