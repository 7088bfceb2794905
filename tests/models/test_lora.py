"""LoRA adapters on a tiny BERT: what trains, and merging them back changes no logit."""

import torch

from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.lora import add_lora, lora_parameters, merge_lora
from tests.tiny_bert import tiny_bert, tiny_tokenizer


def _batch():
    texts = ["the cat sat on the mat", "stock market fell"]
    return tiny_tokenizer()(texts, padding=True, return_tensors="pt")


def test_only_adapters_and_head_train():
    model = add_lora(EncoderClassifier(tiny_bert().bert, 3), rank=4, alpha=8)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or ".head." in n for n in trainable)
    assert any(".head." in n for n in trainable)
    # 2 layers x (query, value) x (A: 4 x 16 + B: 16 x 4)
    assert sum(p.numel() for p in lora_parameters(model)) == 2 * 2 * (4 * 16 + 16 * 4)


def test_merged_model_gives_the_adapter_models_logits():
    torch.manual_seed(0)
    model = add_lora(EncoderClassifier(tiny_bert().bert, 3), rank=4, alpha=8, dropout=0.0)
    with torch.no_grad():  # B starts at zero: make the adapters do something first
        for param in lora_parameters(model):
            param.normal_(0, 0.5)
    model.eval()
    batch = _batch()
    with torch.no_grad():
        adapted = model(**batch)  # (2, 3)
        base_only = model.get_base_model()
        with model.disable_adapter():
            without = model(**batch)
    assert not torch.allclose(adapted, without, atol=1e-3)  # the adapters matter
    merged = merge_lora(model).eval()
    assert merged is base_only and not any("lora_" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch), adapted, atol=1e-5, rtol=1e-5)
