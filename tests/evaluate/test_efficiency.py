import pytest
import torch
from transformers import AlbertConfig, AlbertModel, BertConfig, BertModel

from nlpcourse.evaluate.efficiency import (
    albert_parameter_count,
    bert_parameter_count,
    compare_forward_seconds,
    component_of,
    count_parameters,
    forward_seconds,
    parameters_by_component,
    transformer_layer_parameters,
)


def bert_config(**sizes):
    base = dict(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=24,
    )
    return BertConfig(**{**base, **sizes})


def albert_config(**sizes):
    base = dict(
        vocab_size=50,
        embedding_size=4,
        hidden_size=8,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=24,
    )
    return AlbertConfig(**{**base, **sizes})


def test_layer_formula_by_hand():
    # H=8, I=16: attention 4·(64+8)=288, FFN 8·16+16+16·8+8=280, LayerNorms 2·2·8=32
    assert transformer_layer_parameters(8, 16) == 288 + 280 + 32


@pytest.mark.parametrize(
    "sizes",
    [
        {},
        {"num_hidden_layers": 1},
        {"hidden_size": 12, "num_attention_heads": 3},
        {"type_vocab_size": 4},
    ],
)
def test_bert_formula_matches_the_model(sizes):
    config = bert_config(**sizes)
    model = BertModel(config)
    assert bert_parameter_count(config) == count_parameters(model)
    assert bert_parameter_count(config, pooler=False) == count_parameters(
        BertModel(config, add_pooling_layer=False)
    )


def test_bert_small_config_by_hand():
    # (V+P+T)·H + 2H = (50+24+2)·8 + 16 = 624; 2 layers of 600; pooler 8·8+8 = 72
    assert bert_parameter_count(bert_config()) == 624 + 2 * 600 + 72


@pytest.mark.parametrize(
    "sizes",
    [
        {},
        {"num_hidden_layers": 1},
        {"num_hidden_groups": 3},
        {"inner_group_num": 2},
        {"embedding_size": 8},
    ],
)
def test_albert_formula_matches_the_model(sizes):
    config = albert_config(**sizes)
    assert albert_parameter_count(config) == count_parameters(AlbertModel(config))


def test_albert_small_config_by_hand():
    # (V+P+T)·E + 2E = 76·4 + 8 = 312; projection 4·8+8 = 40; one shared layer 600; pooler 72
    assert albert_parameter_count(albert_config()) == 312 + 40 + 600 + 72


def test_albert_depth_costs_no_parameters():
    counts = {
        depth: count_parameters(AlbertModel(albert_config(num_hidden_layers=depth)))
        for depth in (1, 4, 12)
    }
    assert len(set(counts.values())) == 1


def test_base_sizes_by_formula():
    bert_base = BertConfig()  # 30,522 × 768, 12 layers, 3,072 intermediate
    assert bert_parameter_count(bert_base) == 109_482_240
    albert_base = AlbertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072)
    assert albert_parameter_count(albert_base) == 11_683_584


def test_components_add_up_and_show_the_factorisation():
    bert, albert = BertModel(bert_config()), AlbertModel(albert_config())
    bert_parts, albert_parts = parameters_by_component(bert), parameters_by_component(albert)
    assert sum(bert_parts.values()) == count_parameters(bert)
    assert sum(albert_parts.values()) == count_parameters(albert)
    assert bert_parts["token embeddings"] == 50 * 8
    assert albert_parts["token embeddings"] == 50 * 4
    assert albert_parts["embedding projection E→H"] == 4 * 8 + 8
    assert "embedding projection E→H" not in bert_parts
    assert "other" not in bert_parts and "other" not in albert_parts
    assert component_of("bert.encoder.layer.3.output.dense.weight") == "transformer layers"
    assert component_of("classifier.weight") == "classifier head"


def test_count_trainable_only():
    model = BertModel(bert_config())
    model.embeddings.requires_grad_(False)
    frozen = sum(p.numel() for p in model.embeddings.parameters())
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - frozen


def test_forward_seconds_runs_in_eval_mode():
    model = BertModel(bert_config())
    model.train()
    seconds = forward_seconds(model, {"input_ids": torch.ones(2, 5, dtype=torch.long)}, repeats=2)
    assert seconds > 0 and not model.training
    with pytest.raises(ValueError, match="repeats"):
        forward_seconds(model, {"input_ids": torch.ones(1, 3, dtype=torch.long)}, repeats=0)


def test_bad_config_raises_a_clear_error():
    with pytest.raises(ValueError, match="AlbertConfig"):
        albert_parameter_count(bert_config())
    with pytest.raises(ValueError, match="positive"):
        transformer_layer_parameters(0, 4)


def test_compare_forward_seconds_times_every_model():
    inputs = {"input_ids": torch.ones(1, 4, dtype=torch.long)}
    models = {"bert": BertModel(bert_config()), "albert": AlbertModel(albert_config())}
    seconds = compare_forward_seconds(models, inputs, repeats=2)
    assert set(seconds) == {"bert", "albert"} and all(v > 0 for v in seconds.values())
    with pytest.raises(ValueError, match="at least one model"):
        compare_forward_seconds({}, inputs)
    with pytest.raises(ValueError, match="repeats"):
        compare_forward_seconds(models, inputs, repeats=0)


def test_median_seconds_calls_warmup_plus_repeats():
    from nlpcourse.evaluate.timing import median_seconds

    calls = []
    seconds = median_seconds(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and seconds >= 0
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda: None, repeats=0)
