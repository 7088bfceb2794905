import pytest

from nlpcourse.text.tokenize import (
    regex_tokenize,
    subword_tokenizer_fn,
    tokenize_all,
    train_subword_tokenizer,
)
from nlpcourse.text.vocab import PAD, UNK

TEXTS = [
    "It 's a charming and often affecting journey .",
    "The movie doesn't work, sadly!",
    "A well-made film; charming actors.",
    "charming charming charming film film movie",
] * 5


def test_regex_tokenize_lowercases_and_splits_punctuation():
    assert regex_tokenize("The Movie, Sadly!") == ["the", "movie", ",", "sadly", "!"]
    assert regex_tokenize("it 's fine ; does n't work") == [
        "it",
        "'s",
        "fine",
        ";",
        "does",
        "n't",
        "work",
    ]
    assert regex_tokenize("A well-made film isn't 90 minutes") == [
        "a",
        "well-made",
        "film",
        "is",
        "n't",
        "90",
        "minutes",
    ]
    # raw text and SST-2's pre-split text give the same tokens
    assert regex_tokenize("It's a film's end; I can't") == regex_tokenize(
        "it 's a film 's end ; i ca n't"
    )
    assert regex_tokenize("   ") == []


def test_tokenize_all_and_bad_inputs():
    assert tokenize_all(["A b", "c"]) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="empty"):
        tokenize_all([])
    with pytest.raises(ValueError, match="not a single string"):
        tokenize_all("a b")
    with pytest.raises(ValueError, match="takes a string"):
        regex_tokenize(None)


def test_subword_tokenizer_puts_specials_first_and_splits_unseen_words():
    tokenizer = train_subword_tokenizer(TEXTS, vocab_size=120, min_frequency=1)
    assert tokenizer.token_to_id(PAD) == 0
    assert tokenizer.token_to_id(UNK) == 1
    tokenize = subword_tokenizer_fn(tokenizer)
    tokens = tokenize("Charming FILM")
    assert tokens == ["charming", "film"]  # lower-cased, whole frequent words
    unseen = tokenize("charmingly")  # never seen: built from pieces, not <unk>
    assert UNK not in unseen and len(unseen) > 1
    assert all(piece.startswith("##") for piece in unseen[1:])
    assert tokenizer.get_vocab_size() <= 120


def test_subword_tokenizer_bad_inputs():
    with pytest.raises(ValueError, match="empty list"):
        train_subword_tokenizer([])
    with pytest.raises(ValueError, match="no room"):
        train_subword_tokenizer(TEXTS, vocab_size=2)
