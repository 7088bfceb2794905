import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlpcourse.text.vocab import PAD, UNK, Vocabulary

CORPUS = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat"], ["the", "end"]]


def test_specials_come_first_then_frequency():
    vocab = Vocabulary.build(CORPUS)
    assert vocab.itos[:2] == [PAD, UNK]
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.itos[2] == "the"  # 3 occurrences
    counts = [vocab.counts[token] for token in vocab.itos[2:]]
    assert counts == sorted(counts, reverse=True)


def test_ties_are_broken_alphabetically_whatever_the_input_order():
    vocab = Vocabulary.build(CORPUS)
    assert vocab.itos[2:] == ["the", "cat", "sat", "a", "dog", "end"]
    shuffled = Vocabulary.build([list(reversed(tokens)) for tokens in reversed(CORPUS)])
    assert shuffled.itos == vocab.itos


def test_max_size_counts_the_specials():
    vocab = Vocabulary.build(CORPUS, max_size=4)
    assert len(vocab) == 4
    assert vocab.itos == [PAD, UNK, "the", "cat"]


def test_min_freq_drops_rare_tokens():
    vocab = Vocabulary.build(CORPUS, min_freq=2)
    assert vocab.itos == [PAD, UNK, "the", "cat", "sat"]


def test_unknown_tokens_map_to_unk():
    vocab = Vocabulary.build(CORPUS, min_freq=2)
    assert vocab.encode(["the", "zebra", "cat"]) == [2, 1, 3]
    assert vocab["zebra"] == vocab.unk_id
    assert "zebra" not in vocab and "the" in vocab
    assert vocab.unknown_rate([["the", "zebra"], ["dog", "cat"]]) == 0.5
    assert vocab.unknown_rate([["<unk>", "the"]]) == 0.5


def test_decode_round_trip_and_skip_specials():
    vocab = Vocabulary.build(CORPUS)
    ids = [*vocab.encode(["a", "cat"]), vocab.pad_id, vocab.pad_id]
    assert vocab.decode(ids) == ["a", "cat", PAD, PAD]
    assert vocab.decode(ids, skip_specials=True) == ["a", "cat"]
    with pytest.raises(ValueError, match="outside this vocabulary"):
        vocab.decode([len(vocab)])


def test_specials_in_the_corpus_are_not_counted_twice():
    vocab = Vocabulary.build([["<unk>", "x"], ["x"]])
    assert vocab.itos == [PAD, UNK, "x"]


def test_save_and_load(tmp_path):
    vocab = Vocabulary.build(CORPUS, max_size=5)
    path = vocab.save(tmp_path / "sub" / "vocab.json")
    loaded = Vocabulary.load(path)
    assert loaded == vocab
    assert loaded.encode(["the", "dog"]) == vocab.encode(["the", "dog"])
    with pytest.raises(ValueError, match="No vocabulary file"):
        Vocabulary.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="Not a saved vocabulary"):
        Vocabulary.from_dict({"tokens": []})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_size": 2}, "leaves no room"),
        ({"max_size": 1}, "leaves no room"),
        ({"min_freq": 0}, "min_freq must be at least 1"),
    ],
)
def test_bad_sizes_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary.build(CORPUS, **kwargs)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="empty list of texts"):
        Vocabulary.build([])
    with pytest.raises(ValueError, match="tokenise the texts first"):
        Vocabulary.build(["the cat sat"])
    with pytest.raises(ValueError, match="tokenise the string first"):
        Vocabulary.build(CORPUS).encode("the cat")
    with pytest.raises(ValueError, match="unknown token"):
        Vocabulary(["a"], specials=["<pad>"])


@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=6), min_size=1, max_size=20))
def test_order_is_a_function_of_the_counts(token_lists):
    vocab = Vocabulary.build(token_lists)
    assert Vocabulary.build(list(reversed(token_lists))).itos == vocab.itos
    keys = [(-vocab.counts[t], t) for t in vocab.itos[2:]]
    assert keys == sorted(keys)
    assert len(set(vocab.itos)) == len(vocab)
