"""A word-level vocabulary: special tokens first, then tokens by frequency (ties alphabetical)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD = "<pad>"
UNK = "<unk>"
SPECIALS: tuple[str, ...] = (PAD, UNK)  # <pad> = 0, <unk> = 1


class Vocabulary:
    """Map tokens to ids and back; unknown tokens map to ``<unk>``.

    The first ids belong to the special tokens (``<pad>`` = 0 and ``<unk>`` = 1 by default),
    then the corpus tokens follow from most to least frequent; tokens with the same count are
    ordered alphabetically, so the same corpus always gives the same ids.
    """

    def __init__(
        self, tokens: Sequence[str], specials: Sequence[str] = SPECIALS, unk_token: str = UNK
    ):
        specials = list(specials)
        if unk_token not in specials:
            raise ValueError(
                f"The specials {specials} must include the unknown token {unk_token!r}."
            )
        if len(set(specials)) != len(specials):
            raise ValueError(f"The special tokens must be distinct, got {specials}.")
        itos = specials + [token for token in tokens if token not in set(specials)]
        if len(set(itos)) != len(itos):
            raise ValueError("The vocabulary's tokens must be distinct (a token appears twice).")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {token: index for index, token in enumerate(itos)}
        self.specials: tuple[str, ...] = tuple(specials)
        self.unk_token = unk_token
        self.unk_id = self.stoi[unk_token]
        self.pad_token = specials[0]
        self.pad_id = 0  # the first special pads
        self.counts: dict[str, int] = {}  # corpus counts of the kept tokens (set by build)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int | None = None,
        min_freq: int = 1,
        specials: Sequence[str] = SPECIALS,
        unk_token: str = UNK,
    ) -> Vocabulary:
        """Count tokens and keep those seen ``min_freq`` times, at most ``max_size`` ids in all.

        ``max_size`` counts the special tokens too, like Keras's ``Embedding(10000, 64)``: a
        vocabulary of 10,000 ids holds ``<pad>``, ``<unk>`` and the 9,998 most frequent tokens.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, got {min_freq}.")
        if max_size is not None and max_size <= len(specials):
            raise ValueError(
                f"max_size={max_size} leaves no room for corpus tokens: the {len(specials)} "
                f"special tokens {list(specials)} take the first ids. Use max_size > "
                f"{len(specials)} (or None for no limit)."
            )
        if isinstance(token_lists, str):
            raise ValueError("Pass a list of token lists (one per text), not a single string.")
        counts: Counter[str] = Counter()
        n_texts = 0
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise ValueError(
                    "Each item must be a list of tokens, got a string: tokenise the texts first "
                    "(e.g. [regex_tokenize(t) for t in texts])."
                )
            counts.update(tokens)
            n_texts += 1
        if n_texts == 0:
            raise ValueError("Cannot build a vocabulary from an empty list of texts.")
        for special in specials:
            counts.pop(special, None)
        ranked = sorted(
            (token for token, count in counts.items() if count >= min_freq),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        vocab = cls(ranked, specials=specials, unk_token=unk_token)
        vocab.counts = {token: counts[token] for token in ranked}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        head = ", ".join(self.itos[:6])
        return f"Vocabulary(size={len(self)}, first ids: {head}, ...)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and (self.itos, self.unk_token) == (
            other.itos,
            other.unk_token,
        )

    __hash__ = None  # compared by content, so not hashable

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids of ``tokens`` (unknown tokens become ``unk_id``)."""
        if isinstance(tokens, str):
            raise ValueError("encode() takes a list of tokens; tokenise the string first.")
        return [self.stoi.get(token, self.unk_id) for token in tokens]

    def decode(self, ids: Iterable[int], skip_specials: bool = False) -> list[str]:
        """Tokens of ``ids`` (optionally without ``<pad>`` and the other special tokens)."""
        tokens = []
        for index in ids:
            index = int(index)
            if not 0 <= index < len(self.itos):
                raise ValueError(f"Id {index} is outside this vocabulary (0..{len(self) - 1}).")
            token = self.itos[index]
            if skip_specials and token in self.specials:
                continue
            tokens.append(token)
        return tokens

    def unknown_rate(self, token_lists: Iterable[Sequence[str]]) -> float:
        """Fraction of the tokens in ``token_lists`` that this vocabulary maps to ``<unk>``.

        A literal ``<unk>`` token (what a subword tokenizer emits for an unknown character)
        counts as unknown too.
        """
        total = unknown = 0
        for tokens in token_lists:
            total += len(tokens)
            unknown += sum(self.stoi.get(token, self.unk_id) == self.unk_id for token in tokens)
        if total == 0:
            raise ValueError("No tokens to measure: the texts are empty.")
        return unknown / total

    def to_dict(self) -> dict:
        """A JSON-ready description (tokens in id order, specials, unknown token)."""
        return {"itos": self.itos, "specials": list(self.specials), "unk_token": self.unk_token}

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        """The inverse of :meth:`to_dict`."""
        try:
            itos, specials, unk = data["itos"], data["specials"], data["unk_token"]
        except (KeyError, TypeError):
            raise ValueError(
                "Not a saved vocabulary: expected keys 'itos', 'specials' and 'unk_token'."
            ) from None
        if itos[: len(specials)] != specials:
            raise ValueError("A saved vocabulary must list its special tokens first.")
        return cls(itos[len(specials) :], specials=specials, unk_token=unk)

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON to ``path``; return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"No vocabulary file at {path}: run the notebook that saves it first.")
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
