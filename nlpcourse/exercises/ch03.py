"""Checks for notebook 03 (the Transformers quickstart)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import torch

from nlpcourse.config import get_profile
from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.exercises import raised, unanswered, verdict


@lru_cache(maxsize=2)
def _tokenizer(checkpoint: str):
    from transformers import AutoTokenizer

    return load_pretrained(AutoTokenizer, checkpoint)


SEP_PAIRS = (
    ("The movie was long.", "I loved every minute."),
    ("Dull.", "A tedious, overlong mess that never finds its rhythm."),
    ("Unbelievably charming!", "Yes."),
)


def check_sep_positions(find_seps: Callable[[str, str], Sequence[int]] | None) -> bool | None:
    """Exercise 1: ``find_seps(first, second)`` → the positions of ``[SEP]`` in the encoded pair.

    The function is run on pairs it has not seen, with the profile's tokenizer; the positions
    must be indices into ``input_ids`` of ``tokenizer(first, second)``.
    """
    if unanswered(find_seps, "write a function find_seps(first, second)"):
        return None
    if not callable(find_seps):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses after its name).",
            hint_zh="传入函数本身（函数名后不带括号）。",
        )
    tokenizer = _tokenizer(get_profile().bert)
    for first, second in SEP_PAIRS:
        encoded = tokenizer(first, second)
        ids = encoded["input_ids"]
        expected = [i for i, token in enumerate(ids) if token == tokenizer.sep_token_id]
        try:
            result = find_seps(first, second)
            if result is None:
                return verdict(
                    False,
                    "",
                    "find_seps returns None: return the list of positions",
                    hint_zh="find_seps 返回了 None：请返回位置的列表",
                )
            answer = [int(i) for i in result]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return raised(error)
        if answer == [i + 1 for i in expected]:
            return verdict(
                False,
                "",
                "off by one: positions count from 0, [CLS] is at 0.",
                hint_zh="差了一位：位置从 0 开始数，[CLS] 在位置 0。",
            )
        if answer == [len(ids) - 1]:
            return verdict(
                False,
                "",
                "a pair has two [SEP]: one closes each segment.",
                hint_zh="句子对里有两个 [SEP]：每个片段各由一个收尾。",
            )
        if answer != expected:
            return verdict(
                False,
                "",
                "encode the two texts in one call, tokenizer(first, second), and find "
                "tokenizer.sep_token_id in input_ids.",
                hint_zh=(
                    "用一次调用 tokenizer(first, second) 编码两段文本，再在 input_ids 中找 "
                    "tokenizer.sep_token_id。"
                ),
            )
    return verdict(
        True,
        "both separators found on every pair.",
        "",
        praise_zh="每个句子对里的两个分隔符都找到了。",
    )


HEAD_LABELS = 3
HEAD_IDS = ((2, 17, 45, 9, 3, 0, 0), (2, 60, 3, 33, 81, 12, 3))  # [CLS]=2 … [SEP]=3, [PAD]=0


def _tiny_bert_classifier(num_labels: int):
    """A small random BertForSequenceClassification (seeded), built from a config offline."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
        num_labels=num_labels,
    )
    torch.manual_seed(0)
    return BertForSequenceClassification(config).eval()


def check_cls_head(classifier_class: type | None) -> bool | None:
    """Exercise 2: ``classifier_class(body, num_labels)`` reproduces BertForSequenceClassification.

    The check builds a small random ``BertForSequenceClassification``, gives its ``BertModel``
    to ``classifier_class`` as ``body``, copies the reference head's weights into the new
    module's ``classifier`` Linear, and compares the logits of
    ``module(input_ids, attention_mask, token_type_ids)`` in eval mode on a padded batch.
    """
    if unanswered(classifier_class, "write a class ClsClassifier(body, num_labels)"):
        return None
    reference = _tiny_bert_classifier(HEAD_LABELS)
    input_ids = torch.tensor(HEAD_IDS)  # (2, 7)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": (input_ids != 0).long(),  # (2, 7)
        "token_type_ids": torch.zeros_like(input_ids),  # (2, 7)
    }
    try:
        mine = classifier_class(reference.bert, HEAD_LABELS)
        linear = getattr(mine, "classifier", None)
        if linear is None and not list(mine.children()):  # the empty skeleton
            return verdict(
                False,
                "",
                "fill in ClsClassifier's __init__ and forward",
                hint_zh="把 ClsClassifier 的 __init__ 和 forward 补完整",
            )
        if not isinstance(linear, torch.nn.Linear):
            return verdict(
                False,
                "",
                "keep the head as a torch.nn.Linear named self.classifier.",
                hint_zh="分类头要保持为名为 self.classifier 的 torch.nn.Linear。",
            )
        if linear.weight.shape != reference.classifier.weight.shape:
            return verdict(
                False,
                "",
                f"self.classifier has weight shape {tuple(linear.weight.shape)}, expected "
                f"(num_labels, hidden_size) = {tuple(reference.classifier.weight.shape)}.",
                hint_zh=(
                    f"self.classifier 的权重形状是 {tuple(linear.weight.shape)}，应为 (num_labels"
                    f", hidden_size) = {tuple(reference.classifier.weight.shape)}。"
                ),
            )
        linear.load_state_dict(reference.classifier.state_dict())  # the copied weights
        mine.eval()
        with torch.no_grad():
            logits = mine(**inputs)
            expected = reference(**inputs).logits  # (2, num_labels)
            cls_only = reference.classifier(reference.bert(**inputs).last_hidden_state[:, 0])
    except Exception as error:  # a student's bug: say what happened, no traceback
        return verdict(
            False,
            "",
            f"the class raised {type(error).__name__}: {error}",
            hint_zh=f"这个类抛出了 {type(error).__name__}：{error}",
        )
    logits = torch.as_tensor(getattr(logits, "logits", logits))
    if logits.shape != expected.shape:
        return verdict(
            False,
            "",
            f"logits of shape {tuple(logits.shape)}, expected {tuple(expected.shape)}.",
            hint_zh=f"logits 的形状是 {tuple(logits.shape)}，应为 {tuple(expected.shape)}。",
        )
    if torch.allclose(logits, cls_only, atol=1e-5):
        return verdict(
            False,
            "",
            "close: BertForSequenceClassification passes [CLS] through the pooler first.",
            hint_zh="很接近了：BertForSequenceClassification 会先让 [CLS] 经过池化层（pooler）。",
        )
    return verdict(
        torch.allclose(logits, expected, atol=1e-5),
        "the same logits as BertForSequenceClassification, from the copied weights.",
        "body(...) → the pooled [CLS] vector (pooler_output) → dropout → self.classifier.",
        praise_zh="用复制过来的权重，得到与 BertForSequenceClassification 相同的 logits。",
        hint_zh="body(...) → 池化后的 [CLS] 向量（pooler_output）→ dropout → self.classifier。",
    )


TOY_WORDS = {
    "playing": ["play", "##ing"],
    "played": ["play", "##ed"],
    "player": ["play", "##er"],
    "replay": ["re", "##play"],
    "replayed": ["re", "##play", "##ed"],
}
TOY_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def check_toy_wordpiece(vocab: dict[str, int] | None) -> bool | None:
    """Exercise 3: a WordPiece vocabulary (piece → id) that cuts ``TOY_WORDS`` as given.

    Built into ``BertTokenizer(vocab=vocab)``; the five special tokens plus the fewest pieces.
    """
    if unanswered(vocab, "build the vocabulary as a dict piece → id"):
        return None
    from transformers import BertTokenizer

    if not isinstance(vocab, dict):
        return verdict(
            False,
            "",
            f"give a dict piece → id, got {type(vocab).__name__}.",
            hint_zh=f"请给出一个 词片 → id 的 dict，得到的是 {type(vocab).__name__}。",
        )
    missing = [token for token in TOY_SPECIALS if token not in vocab]
    if missing:
        return verdict(
            False,
            "",
            f"the special tokens are part of the vocabulary: add {missing}.",
            hint_zh=f"特殊词元也是词表的一部分：请加上 {missing}。",
        )
    if sorted(vocab.values()) != list(range(len(vocab))):
        return verdict(
            False,
            "",
            "the ids must be 0, 1, 2, … with no gaps or repeats.",
            hint_zh="id 必须是 0, 1, 2, …，不能有空缺或重复。",
        )
    tokenizer = BertTokenizer(vocab=vocab)
    for word, expected in TOY_WORDS.items():
        pieces = tokenizer.tokenize(word)
        if pieces != expected:
            return verdict(
                False,
                "",
                f"{word!r} → {pieces}, wanted {expected}: WordPiece takes the longest piece it "
                "knows first, and ## marks a piece inside a word.",
                hint_zh=(
                    f"{word!r} → {pieces}，想要的是 {expected}：WordPiece 先取它认识的最长词片，#"
                    "# 标记词内部的词片。"
                ),
            )
    fewest = len(TOY_SPECIALS) + len({p for pieces in TOY_WORDS.values() for p in pieces})
    if len(vocab) > fewest:
        return verdict(
            False,
            "",
            f"it works, with {len(vocab)} entries: fewer will do.",
            hint_zh=f"能用，但有 {len(vocab)} 个条目：更少就够了。",
        )
    return verdict(
        True,
        "every word cut as wanted, with the fewest pieces.",
        "",
        praise_zh="每个词都按要求切分，词片也最少。",
    )
