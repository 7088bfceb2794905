import pytest

from nlpcourse.evaluate.baselines import tfidf_logreg

TEXTS = ["a great film", "great acting", "a dull film", "dull and slow", "great fun", "so slow"]
LABELS = [1, 1, 0, 0, 1, 0]


def test_tfidf_baseline_learns_words_and_counts_its_weights():
    result = tfidf_logreg(TEXTS, LABELS, ngram_range=(1, 1), min_df=1)
    assert list(result.predict(["great", "dull"])) == [1, 0]
    vocabulary = len(result.pipeline[0].vocabulary_)
    assert result.parameters == vocabulary + 1  # binary: one weight row and one intercept
    assert result.fit_seconds > 0


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [([], [], "at least one"), (TEXTS, LABELS[:2], "labels"), (TEXTS, [1] * 6, "two classes")],
)
def test_tfidf_baseline_rejects_bad_input(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        tfidf_logreg(texts, labels)
