"""Tiny causal LMs (GPT-2 and Llama configs) and a BPE tokenizer trained offline, for tests."""

from __future__ import annotations

CORPUS = [
    "Classify each news story as World, Sports, Business or Technology.",
    "Text: the team won the match in the final minute",
    "Answer: Sports",
    "Text: stocks fell as oil prices rose on the market",
    "Answer: Business",
    "Text: leaders met at the summit to talk about the war",
    "Answer: World",
    "Text: a new chip makes computers and phones faster",
    "Answer: Technology",
    "the players scored goals and the coach smiled",
]


def tiny_bpe_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer with <s>, </s> and <pad>, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bpe.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def tiny_causal_lm(kind: str = "gpt2", vocab_size: int = 400, seed: int = 0):
    """A 2-layer GPT-2 or Llama with random weights (eval mode)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    if kind == "gpt2":
        config = GPT2Config(vocab_size=vocab_size, n_positions=256, n_embd=16, n_layer=2, n_head=2)
        return GPT2LMHeadModel(config).eval()
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
    )
    return LlamaForCausalLM(config).eval()
