"""The text pipeline: tokenizers, the vocabulary, numericalising, padding, bucketing and packing,
and Hugging Face tokenised batches.
"""

from nlpcourse.text.batching import (
    BucketBatchSampler,
    EncodedDataset,
    PadCollate,
    TextLoaders,
    encode_tokens,
    numericalize,
    pad_sequences,
    padding_mask,
    sst2_loaders,
    text_loader,
)
from nlpcourse.text.hf_batches import (
    check_num_labels,
    make_loader,
    tokenize_dataset,
    tokenized_batches,
)
from nlpcourse.text.tokenize import (
    regex_tokenize,
    subword_tokenizer_fn,
    tokenize_all,
    train_subword_tokenizer,
)
from nlpcourse.text.vocab import (
    Vocabulary,
)

__all__ = [
    "BucketBatchSampler",
    "EncodedDataset",
    "PadCollate",
    "TextLoaders",
    "Vocabulary",
    "check_num_labels",
    "encode_tokens",
    "make_loader",
    "numericalize",
    "pad_sequences",
    "padding_mask",
    "regex_tokenize",
    "sst2_loaders",
    "subword_tokenizer_fn",
    "text_loader",
    "tokenize_all",
    "tokenize_dataset",
    "tokenized_batches",
    "train_subword_tokenizer",
]
