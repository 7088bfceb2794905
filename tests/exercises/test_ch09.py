import itertools
import math

import torch
import torch.nn.functional as F

from nlpcourse.exercises import ch09


def test_exact_splits_check(capsys):
    assert ch09.check_exact_splits(70, 1 / 70)
    assert not ch09.check_exact_splits(70, 0.05)
    assert not ch09.check_exact_splits(math.comb(8, 2), 1 / 28)
    assert not ch09.check_exact_splits(70, None)
    capsys.readouterr()
    assert ch09.check_exact_splits(None, None) is None
    assert ch09.check_exact_splits(..., None) is None
    assert capsys.readouterr().out == ""


def effect_size(x, y, a, b):
    x, y, a, b = (F.normalize(t, dim=1) for t in (x, y, a, b))
    s_x = (x @ a.T).mean(1) - (x @ b.T).mean(1)
    s_y = (y @ a.T).mean(1) - (y @ b.T).mean(1)
    return (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()


def test_weat_effect_size_check(capsys):
    assert ch09.check_weat_effect_size(effect_size)

    def unnormalised(x, y, a, b):
        s_x = (x @ a.T).mean(1) - (x @ b.T).mean(1)
        s_y = (y @ a.T).mean(1) - (y @ b.T).mean(1)
        return (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()

    assert not ch09.check_weat_effect_size(unnormalised)
    assert "normalise" in capsys.readouterr().out
    assert not ch09.check_weat_effect_size(lambda x, y, a, b: -effect_size(x, y, a, b))
    assert not ch09.check_weat_effect_size(lambda x, y, a, b: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    capsys.readouterr()
    assert ch09.check_weat_effect_size(None) is None
    assert capsys.readouterr().out == ""


def exact_p(s_x, s_y):
    scores = torch.cat([s_x, s_y])
    observed = s_x.sum() - s_y.sum()
    splits = list(itertools.combinations(range(len(scores)), len(s_x)))
    hits = sum(
        float(2 * scores[list(pick)].sum() - scores.sum()) >= float(observed) - 1e-12
        for pick in splits
    )
    return hits / len(splits)


def test_exact_p_value_check(capsys):
    assert ch09.check_exact_p_value(exact_p)
    assert not ch09.check_exact_p_value(lambda s_x, s_y: exact_p(s_x, s_y) - 1 / 70)  # no observed
    assert not ch09.check_exact_p_value(lambda s_x, s_y: 1 - exact_p(s_x, s_y))
    assert "combinations" in capsys.readouterr().out
    assert not ch09.check_exact_p_value(lambda s_x, s_y: s_x.foo)
    capsys.readouterr()
    assert ch09.check_exact_p_value(None) is None
    assert capsys.readouterr().out == ""
