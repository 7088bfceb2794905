import numpy as np
import pytest
import torch

from nlpcourse.evaluate import counterfactual as cf
from tests.tiny_bert import tiny_bert, tiny_tokenizer


def test_fill_puts_names_and_pronouns_and_capitalises_at_sentence_start():
    template = "{name} said {subj} would sell {poss} shares. {subj} left."
    assert (
        cf.fill(template, "Amy", cf.PRONOUNS["female"])
        == "Amy said she would sell her shares. She left."
    )
    assert (
        cf.fill(template, "John", cf.PRONOUNS["male"])
        == "John said he would sell his shares. He left."
    )
    with pytest.raises(ValueError, match="no value"):
        cf.fill("{name} and {nickname}", "Amy", cf.PRONOUNS["female"])


def test_pairs_differ_only_in_the_group_words():
    texts_a, texts_b = cf.counterfactual_pairs(cf.NEWS_TEMPLATES, ["John", "Paul"], ["Amy", "Joan"])
    assert len(texts_a) == len(texts_b) == 2 * len(cf.NEWS_TEMPLATES)
    swap = {"John": "Amy", "Paul": "Joan", "he": "she", "him": "her", "his": "her", "He": "She"}
    for a, b in zip(texts_a, texts_b, strict=True):
        assert " ".join(swap.get(w, w) for w in a.split()) == b
    with pytest.raises(ValueError, match="pairs"):
        cf.counterfactual_pairs(cf.NEWS_TEMPLATES, ["John"], [])
    with pytest.raises(ValueError, match="has no"):
        cf.counterfactual_pairs(["no slot here"], ["John"], ["Amy"])


def toy_classifier(texts):
    """Says class 1 more when a text holds "she": a biased toy model."""
    probs = []
    for text in texts:
        p = 0.8 if " she " in f" {text.lower()} " else 0.3
        probs.append([1 - p, p])
    return np.array(probs)


def test_flip_rate_and_shift_on_a_toy_biased_model():
    texts_a = ["he won", "he left", "the market"]
    texts_b = ["she won", "she left", "the market"]
    result = cf.counterfactual_test(toy_classifier, texts_a, texts_b)
    assert result.n == 3
    assert result.flip_rate == pytest.approx(2 / 3)
    assert result.flips.tolist() == [True, True, False]
    assert result.shifts == pytest.approx([0.5, 0.5, 0.0])
    assert result.mean_shift == pytest.approx(1 / 3)
    assert result.class_shift == pytest.approx([-1 / 3, 1 / 3])


def test_an_unbiased_model_neither_flips_nor_shifts():
    texts_a, texts_b = cf.counterfactual_pairs(cf.NEWS_TEMPLATES[:2], ["John"], ["Amy"])
    result = cf.counterfactual_test(lambda t: np.full((len(t), 4), 0.25), texts_a, texts_b)
    assert result.flip_rate == 0.0 and result.mean_shift == 0.0


def test_on_a_tiny_bert_through_text_classifier():
    model, tokenizer = tiny_bert(num_labels=3), tiny_tokenizer()
    predict_proba = cf.text_classifier(model, tokenizer, max_len=16, batch_size=2)
    probs = predict_proba(["the cat sat", "the dog ran on the mat", "a new chip"])
    assert probs.shape == (3, 3)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    same = cf.counterfactual_test(predict_proba, ["the cat sat"] * 2, ["the cat sat"] * 2)
    assert same.flip_rate == 0.0 and same.mean_shift < 1e-6
    moved = cf.counterfactual_test(predict_proba, ["the cat sat"], ["stock market fell"])
    assert moved.mean_shift > 0


def test_logits_are_refused():
    with pytest.raises(ValueError, match="not logits"):
        cf.counterfactual_test(lambda t: np.full((len(t), 2), 3.0), ["a"], ["b"])
    with pytest.raises(ValueError, match="equally many"):
        cf.counterfactual_test(toy_classifier, ["a"], [])
