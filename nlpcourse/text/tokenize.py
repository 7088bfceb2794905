"""Tokenizers: a lower-casing regular expression, and a subword tokenizer trained on your text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from nlpcourse.text.vocab import PAD, UNK

# One token is: a word stem before "n't" ("do" in "don't"), the contraction pieces "n't" and
# "'s", "'re", ..., a word or number (hyphens inside are kept), or any single other non-space
# character (punctuation). Contractions split the way SST-2 and spaCy split them.
TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?=n't)|n't|'[a-z]+|[a-z0-9]+(?:-[a-z0-9]+)*|[^\sa-z0-9]")


def regex_tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words, contraction pieces and punctuation.

    ``"Don't"`` becomes ``["do", "n't"]`` and ``"it's"`` ``["it", "'s"]``, as in SST-2's text.
    """
    if not isinstance(text, str):
        raise ValueError(f"regex_tokenize takes a string, got {type(text).__name__}.")
    return TOKEN_PATTERN.findall(text.lower())


def tokenize_all(texts: Sequence[str], tokenize: Callable[[str], list[str]] = regex_tokenize):
    """Tokenise every text; raise a clear error for an empty list."""
    if isinstance(texts, str):
        raise ValueError("Pass a list of texts, not a single string.")
    if len(texts) == 0:
        raise ValueError("The list of texts is empty: check the split and the subset size.")
    return [tokenize(text) for text in texts]


def train_subword_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 10_000,
    min_frequency: int = 2,
    specials: Sequence[str] = (PAD, UNK),
    unk_token: str = UNK,
) -> Tokenizer:
    """Train a lower-casing WordPiece tokenizer on ``texts`` with the ``tokenizers`` library.

    The special tokens come first (``<pad>`` = 0, ``<unk>`` = 1, as in :class:`Vocabulary`).
    Words the training text never saw are split into known pieces (``"##"`` marks a piece that
    continues a word), so unknown tokens become rare.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("Cannot train a tokenizer on an empty list of texts.")
    if vocab_size <= len(specials):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room beside the special tokens {list(specials)}."
        )
    tokenizer = Tokenizer(models.WordPiece(unk_token=unk_token))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()  # split on spaces, punctuation
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(specials),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def subword_tokenizer_fn(tokenizer: Tokenizer) -> Callable[[str], list[str]]:
    """A ``text -> tokens`` function for a trained subword tokenizer (to use like the regex)."""

    def tokenize(text: str) -> list[str]:
        return tokenizer.encode(text, add_special_tokens=False).tokens

    return tokenize
