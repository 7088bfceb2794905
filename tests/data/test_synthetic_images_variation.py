import numpy as np
import pytest

from nlpcourse.data import synthetic_images


def _arrays(samples):
    return [synthetic_images.image_to_array(s.image) for s in samples]


def test_no_jitter_keeps_the_earlier_images():
    plain = synthetic_images.generate(20, seed=4, pair_fraction=0.3)
    explicit = synthetic_images.generate(20, seed=4, pair_fraction=0.3, size_jitter=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(plain), _arrays(explicit), strict=True))


def test_size_jitter_changes_the_drawn_size_and_keeps_captions_true():
    spec = (synthetic_images.ShapeSpec("red", "square", "large", "middle"),)
    areas = set()
    for seed in range(8):
        rng = np.random.default_rng(seed)
        image = synthetic_images.image_to_array(
            synthetic_images.draw(spec, 48, rng, size_jitter=0.2, colour_jitter=0)
        )
        areas.add(int((image[..., 0] > 150).sum()))
    assert len(areas) > 3
    jittered = synthetic_images.generate(30, seed=1, shift=0.08, size_jitter=0.2, pair_fraction=0.3)
    for sample in jittered:
        if len(sample.shapes) == 1:
            assert sample.caption == synthetic_images.single_caption(sample.shapes[0])


def test_variation_moves_test_images_away_from_training_copies():
    train = synthetic_images.generate(300, seed=0)
    plain = synthetic_images.nearest_copy_distance(synthetic_images.generate(60, seed=1), train)
    varied_train = synthetic_images.generate(300, seed=0, shift=0.08, size_jitter=0.2)
    varied = synthetic_images.nearest_copy_distance(
        synthetic_images.generate(60, seed=1, shift=0.08, size_jitter=0.2), varied_train
    )
    finite = np.isfinite(plain) & np.isfinite(varied)
    assert finite.sum() > 10
    assert np.median(varied[finite]) > np.median(plain[finite])


def test_nearest_copy_distance_is_zero_for_a_copy_and_inf_without_caption():
    samples = synthetic_images.generate(5, seed=2)
    assert np.allclose(synthetic_images.nearest_copy_distance(samples, samples), 0.0)
    other = [s for s in synthetic_images.generate(50, seed=3) if s.caption != samples[0].caption]
    assert np.isinf(synthetic_images.nearest_copy_distance(samples[:1], other)[0])


def test_size_jitter_bounds():
    with pytest.raises(ValueError, match="size_jitter"):
        synthetic_images.generate(2, size_jitter=0.5)
