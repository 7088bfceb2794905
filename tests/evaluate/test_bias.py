import math

import pytest
import torch

from nlpcourse.evaluate.bias import (
    association,
    bias_direction,
    project_out,
    weat_effect_size,
    weat_test,
)

E1, E2 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]


def test_association_on_constructed_vectors():
    words = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    s = association(words, [E1], [E2])
    torch.testing.assert_close(s, torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64))


def test_known_effect_size():
    # s = +1 for X (along A), -1 for Y (along B): means differ by 2, sample std sqrt(4/3)
    x = [[2.0, 0.0, 0.0], [0.5, 0.0, 0.0]]  # lengths do not matter: cosines
    y = [[0.0, 3.0, 0.0], [0.0, 1.0, 0.0]]
    assert weat_effect_size(x, y, [E1], [E2]) == pytest.approx(math.sqrt(3))
    assert weat_effect_size(x, y, [E2], [E1]) == pytest.approx(-math.sqrt(3))  # swap A and B
    assert weat_effect_size(y, x, [E1], [E2]) == pytest.approx(-math.sqrt(3))  # swap X and Y


def test_effect_size_with_mixed_scores():
    # scores s = cos(w, e1) - cos(w, e2) for w at angles: X -> (1, 0.6), Y -> (0, -0.6)
    def at(s):  # a unit vector in the e1-e2 plane whose s equals the given value
        c = (s + math.sqrt(2 - s * s)) / 2
        return [c, c - s, 0.0]

    x, y = [at(1.0), at(0.6)], [at(0.0), at(-0.6)]
    scores = torch.tensor([1.0, 0.6, 0.0, -0.6], dtype=torch.float64)
    expected = (scores[:2].mean() - scores[2:].mean()) / scores.std()
    assert weat_effect_size(x, y, [E1], [E2]) == pytest.approx(float(expected))


def test_exact_permutation_p_value():
    x = [[2.0, 0.0, 0.0], [1.0, 0.1, 0.0]]
    y = [[0.0, 3.0, 0.0], [0.1, 1.0, 0.0]]
    result = weat_test(x, y, [E1], [E2], n_permutations=1_000)
    assert result.exact and result.permutations == math.comb(4, 2)
    assert result.p_value == pytest.approx(1 / 6)  # the observed split is the most extreme of 6


def test_random_permutations_are_seeded_and_never_zero():
    torch.manual_seed(0)
    x = torch.randn(8, 5) + torch.tensor([3.0, 0, 0, 0, 0])
    y = torch.randn(8, 5) + torch.tensor([0, 3.0, 0, 0, 0])
    a, b = torch.eye(5)[:1], torch.eye(5)[1:2]
    first = weat_test(x, y, a, b, n_permutations=500, seed=1)
    assert not first.exact and first.permutations == 500
    assert first == weat_test(x, y, a, b, n_permutations=500, seed=1)
    assert first.p_value == pytest.approx(1 / 501)  # strongly separated: no re-split beats it
    assert first.effect_size > 1.5


def test_no_association_gives_a_large_p_value():
    torch.manual_seed(1)
    x, y = torch.randn(10, 6), torch.randn(10, 6)
    result = weat_test(x, y, torch.randn(4, 6), torch.randn(4, 6), n_permutations=2_000, seed=0)
    assert result.p_value > 0.05


def test_projection_removes_the_direction():
    torch.manual_seed(0)
    g = bias_direction([[1.0, 0.2, 0.0], [0.9, -0.1, 0.0]], [[-1.0, 0.2, 0.0], [-0.9, -0.1, 0.0]])
    torch.testing.assert_close(g, torch.tensor([1.0, 0.0, 0.0]))
    vectors = torch.randn(6, 3)
    projected = project_out(vectors, g)
    torch.testing.assert_close(projected @ g, torch.zeros(6), atol=1e-6, rtol=0)
    torch.testing.assert_close(projected.norm(dim=1), torch.ones(6))
    raw = project_out(vectors, g * 5, renormalize=False)
    torch.testing.assert_close(raw[:, 1:], vectors[:, 1:])


def test_projection_removes_an_association_that_lies_along_it():
    # X and Y differ only along e1, which is also what separates A from B
    x = [[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    y = [[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]
    a, b = [[1.0, 0.5, 0.5]], [[-1.0, 0.5, 0.5]]
    assert weat_effect_size(x, y, a, b) > 1.0
    g = torch.tensor([1.0, 0.0, 0.0])
    s = association(project_out(x, g), project_out(a, g), project_out(b, g))
    torch.testing.assert_close(s, torch.zeros(2, dtype=torch.float64), atol=1e-6, rtol=0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="dimensions differ"):
        association([[1.0, 0.0]], [E1], [E2])
    with pytest.raises(ValueError, match="zero vector"):
        association([[0.0, 0.0, 0.0]], [E1], [E2])
    with pytest.raises(ValueError, match="non-empty"):
        association(torch.zeros(0, 3), [E1], [E2])
    with pytest.raises(ValueError, match="n_permutations"):
        weat_test([E1, E2], [E2, E1], [E1], [E2], n_permutations=0)
    with pytest.raises(ValueError, match="identically"):
        weat_effect_size([E1, E1], [E1, E1], [E1], [E2])
    with pytest.raises(ValueError, match="line up"):
        bias_direction([E1, E2], [E1])
    with pytest.raises(ValueError, match="cancel"):
        bias_direction([E1], [E1])
    with pytest.raises(ValueError, match="direction"):
        project_out(torch.ones(2, 3), torch.ones(4))
