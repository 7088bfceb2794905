import logging
import warnings

import pytest
import torch
from transformers import AlbertConfig, AlbertModel, BertConfig, BertModel

from nlpcourse.evaluate import efficiency
from tests.tiny_bert import tiny_bert


def small(config_class, **extra):
    return config_class(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        **extra,
    )


def test_training_memory_matches_a_real_adamw_step():
    model = tiny_bert()
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(p for p in model.parameters() if p.requires_grad)
    model(input_ids=torch.tensor([[2, 5, 6, 3]]), labels=torch.tensor([1])).loss.backward()
    optimizer.step()
    counted = efficiency.training_memory_bytes(model)
    assert counted["adamw_state"] == efficiency.optimizer_state_bytes(optimizer)
    grads = sum(p.grad.numel() * 4 for p in model.parameters() if p.grad is not None)
    assert counted["gradients"] == grads
    assert counted["weights"] == 4 * sum(p.numel() for p in model.parameters())
    assert counted["total"] == counted["weights"] + counted["gradients"] + counted["adamw_state"]


def test_meta_models_count_like_real_ones_and_albert_shares_its_state():
    bert_config = small(BertConfig)
    albert_config = small(AlbertConfig, embedding_size=8)
    bert = efficiency.meta_model(BertModel, bert_config)
    assert next(bert.parameters()).is_meta
    real = efficiency.training_memory_bytes(BertModel(bert_config))
    assert efficiency.training_memory_bytes(bert) == real
    albert = efficiency.training_memory_bytes(efficiency.meta_model(AlbertModel, albert_config))
    assert albert["adamw_state"] < real["adamw_state"] / 2
    deeper = small(AlbertConfig, embedding_size=8)
    deeper.num_hidden_layers = 12
    assert efficiency.training_memory_bytes(efficiency.meta_model(AlbertModel, deeper)) == albert


@pytest.fixture(scope="module")
def quantized_pair():
    model = tiny_bert(num_labels=3, hidden_size=64, intermediate_size=128)
    return model, efficiency.quantize_dynamic_int8(model)


def test_quantized_predictions_stay_close(quantized_pair):
    model, quantized = quantized_pair
    ids = torch.randint(5, 24, (16, 10), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(input_ids=ids).logits
        after = quantized(input_ids=ids).logits
    assert (before.argmax(1) == after.argmax(1)).float().mean() >= 0.9
    torch.testing.assert_close(after, before, atol=0.05, rtol=0.05)


def test_quantization_replaces_linears_shrinks_the_file_and_keeps_the_original(quantized_pair):
    model, quantized = quantized_pair
    assert efficiency.count_linear_layers(model)["int8"] == 0
    counts = efficiency.count_linear_layers(quantized)
    assert counts["float"] == 0 and counts["int8"] == efficiency.count_linear_layers(model)["float"]
    assert efficiency.saved_size_bytes(quantized) < efficiency.saved_size_bytes(model)
    assert type(model.classifier) is torch.nn.Linear  # the original is untouched


def test_quantization_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        efficiency.quantize_dynamic_int8(torch.nn.Sequential(torch.nn.Linear(4, 2)))


def test_torchao_int8_runs_on_the_cpu_quietly_and_keeps_the_original(caplog):
    model = tiny_bert(num_labels=3, hidden_size=64, intermediate_size=128)
    with caplog.at_level(logging.WARNING):
        quantized = efficiency.quantize_int8_torchao(model)
    assert not [r for r in caplog.records if r.name.startswith("torchao")]
    assert type(model.classifier.weight) is torch.nn.Parameter  # the original is untouched
    assert "Int8" in type(quantized.classifier.weight).__name__
    linear = efficiency.count_linear_layers(model)["float"]
    assert efficiency.count_linear_layers(quantized) == {"float": 0, "int8": linear}
    ids = torch.randint(5, 24, (16, 10), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before, after = model(input_ids=ids).logits, quantized(input_ids=ids).logits
    torch.testing.assert_close(after, before, atol=0.05, rtol=0.05)
