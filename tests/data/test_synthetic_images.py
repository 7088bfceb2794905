import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse.data import synthetic_images
from nlpcourse.data.synthetic_images import ShapeSpec


def arrays(samples):
    return [synthetic_images.image_to_array(sample.image) for sample in samples]


def test_same_seed_same_images_and_captions():
    first = synthetic_images.generate(40, seed=3, pair_fraction=0.3)
    second = synthetic_images.generate(40, seed=3, pair_fraction=0.3)
    assert [s.caption for s in first] == [s.caption for s in second]
    assert all(np.array_equal(a, b) for a, b in zip(arrays(first), arrays(second), strict=True))


def test_different_seeds_differ():
    first = synthetic_images.generate(20, seed=1)
    second = synthetic_images.generate(20, seed=2)
    assert [s.caption for s in first] != [s.caption for s in second]


def test_images_are_rgb_squares_of_the_requested_size():
    for sample in synthetic_images.generate(5, image_size=40, seed=0, pair_fraction=0.5):
        assert sample.image.mode == "RGB"
        assert synthetic_images.image_to_array(sample.image).shape == (40, 40, 3)


def test_every_combination_and_attribute_is_reachable():
    samples = synthetic_images.generate(1_500, seed=0)
    assert {s.combos[0] for s in samples} == set(synthetic_images.all_combos())
    assert {s.shapes[0].size for s in samples} == set(synthetic_images.SIZES)
    assert {s.shapes[0].position for s in samples} == set(synthetic_images.POSITIONS)
    assert len(synthetic_images.all_combos()) == len(synthetic_images.COLOURS) * len(
        synthetic_images.SHAPES
    )


def test_heldout_combinations_never_appear_in_training():
    train, heldout = synthetic_images.split_combos(6, seed=42)
    assert len(heldout) == 6 and set(train).isdisjoint(heldout)
    assert set(train) | set(heldout) == set(synthetic_images.all_combos())
    samples = synthetic_images.generate(2_000, train, seed=0, pair_fraction=0.5)
    seen = {combo for s in samples for combo in s.combos}
    assert seen.isdisjoint(heldout)
    assert seen == set(train)  # and every training pair does appear


def test_split_keeps_every_colour_and_shape_in_training():
    for seed in range(10):
        train, heldout = synthetic_images.split_combos(len(synthetic_images.COLOURS), seed=seed)
        assert {colour for colour, _ in train} == set(synthetic_images.COLOURS)
        assert {shape for _, shape in train} == set(synthetic_images.SHAPES)
        assert len({colour for colour, _ in heldout}) == len(heldout)  # one per colour


def test_split_is_deterministic_and_seed_dependent():
    assert synthetic_images.split_combos(4, seed=0) == synthetic_images.split_combos(4, seed=0)
    assert any(
        synthetic_images.split_combos(4, seed=s)[1] != synthetic_images.split_combos(4, seed=0)[1]
        for s in range(1, 6)
    )


def test_captions_describe_the_drawn_shapes():
    for sample in synthetic_images.generate(50, seed=5, pair_fraction=0.5):
        words = sample.caption.split()
        for spec in sample.shapes:
            assert spec.colour in words and spec.shape in words
        if len(sample.shapes) == 1:
            spec = sample.shapes[0]
            assert sample.caption == synthetic_images.single_caption(spec)
            assert spec.size in words and spec.position in words
        else:
            left, right = sample.shapes
            assert sample.caption in {
                synthetic_images.pair_caption(left, right, "left"),
                synthetic_images.pair_caption(left, right, "right"),
            }


def test_pair_captions_and_relation_swap():
    left, right = ShapeSpec("red", "circle"), ShapeSpec("blue", "square")
    assert synthetic_images.pair_caption(left, right) == "a red circle to the left of a blue square"
    assert (
        synthetic_images.pair_caption(left, right, "right")
        == "a blue square to the right of a red circle"
    )
    swapped = synthetic_images.swap_relation("a red circle to the left of a blue square")
    assert swapped == "a red circle to the right of a blue square"
    with pytest.raises(ValueError, match="left' or 'right"):
        synthetic_images.pair_caption(left, right, "above")
    with pytest.raises(ValueError, match="No 'left' or 'right'"):
        synthetic_images.swap_relation("a red circle in the middle")


def test_the_shape_is_drawn_where_the_caption_says():
    for position, (lo, hi) in {"left": (0, 12), "middle": (10, 22), "right": (20, 32)}.items():
        image = synthetic_images.draw([ShapeSpec("white", "square", "small", position)], 32)
        columns = np.nonzero(synthetic_images.image_to_array(image).sum(axis=(0, 2)) > 3 * 28 * 32)[
            0
        ]
        assert lo <= columns.mean() <= hi, position


def test_class_prompts_and_chance():
    prompts = synthetic_images.class_prompts(("red", "circle"))
    assert len(prompts) == len(synthetic_images.SIZES) * len(synthetic_images.POSITIONS)
    assert "a small red circle on the left" in prompts
    assert synthetic_images.class_prompts(("red", "circle"), ["a photo of a {}"]) == [
        "a photo of a red circle"
    ]
    assert synthetic_images.chance_accuracy(24) == pytest.approx(1 / 24)
    with pytest.raises(ValueError, match="'\\{\\}'"):
        synthetic_images.class_prompts(("red", "circle"), ["no slot"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 8), fraction=st.floats(0, 1))
def test_generate_is_a_pure_function_of_its_arguments(seed, n, fraction):
    first = synthetic_images.generate(n, seed=seed, pair_fraction=fraction)
    second = synthetic_images.generate(n, seed=seed, pair_fraction=fraction)
    assert len(first) == n
    assert [s.caption for s in first] == [s.caption for s in second]
    assert all(np.array_equal(a, b) for a, b in zip(arrays(first), arrays(second), strict=True))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ShapeSpec("teal", "circle"), "Unknown colour 'teal'"),
        (lambda: ShapeSpec("red", "star"), "Unknown shape 'star'"),
        (lambda: ShapeSpec("red", "circle", size="huge"), "Unknown size"),
        (lambda: synthetic_images.generate(-1), "non-negative"),
        (lambda: synthetic_images.generate(3, []), "combos is empty"),
        (
            lambda: synthetic_images.generate(3, [("red", "circle")], pair_fraction=0.5),
            "at least two",
        ),
        (lambda: synthetic_images.generate(3, pair_fraction=1.5), "pair_fraction"),
        (lambda: synthetic_images.split_combos(len(synthetic_images.COLOURS) + 1), "n_heldout"),
        (lambda: synthetic_images.draw([ShapeSpec("red", "circle")], image_size=8), "at least 16"),
        (lambda: synthetic_images.draw([], 32), "at least one"),
        (lambda: synthetic_images.chance_accuracy(0), "at least 1"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
