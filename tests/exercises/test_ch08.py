import math

from nlpcourse.exercises import ch08


def test_embedding_savings(capsys):
    assert ch08.check_embedding_savings(30_000 * 4_096 - (30_000 * 128 + 128 * 4_096))
    assert not ch08.check_embedding_savings(30_000 * 4_096)
    capsys.readouterr()
    assert not ch08.check_embedding_savings(None)
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_exact_test_check():
    assert ch08.check_exact_test(70, 1 / 70)
    assert not ch08.check_exact_test(70, 0.05)
    assert not ch08.check_exact_test(math.comb(8, 2), 1 / 28)
    assert not ch08.check_exact_test(70, None)
    assert not ch08.check_exact_test(None, None)
