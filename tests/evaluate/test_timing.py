import pytest
import torch
from torch import nn

from nlpcourse.evaluate.timing import compare_seconds, inference_throughput


def test_compare_seconds_runs_warmup_and_repeats_for_each():
    calls = {"a": 0, "b": 0}

    def make(name):
        def fn():
            calls[name] += 1

        return fn

    result = compare_seconds({"a": make("a"), "b": make("b")}, repeats=3, warmup=2)
    assert set(result) == {"a", "b"}
    assert calls == {"a": 5, "b": 5}
    assert all(value >= 0 for value in result.values())


def test_compare_seconds_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one"):
        compare_seconds({})
    with pytest.raises(ValueError, match="repeats"):
        compare_seconds({"a": lambda: None}, repeats=0)


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.seen = 0

    def forward(self, ids, lengths):
        self.seen += ids.shape[0]
        return ids.float().sum(-1, keepdim=True)


def test_inference_throughput_counts_samples_and_tokens():
    batches = [
        (torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 1]), torch.tensor([0, 1])),
        (torch.ones(1, 2, dtype=torch.long), torch.tensor([2]), torch.tensor([1])),
    ]
    model = Counter()
    result = inference_throughput({"m": model}, batches, repeats=2, warmup=1)["m"]
    assert model.seen == 3 * 3  # warm-up and two repeats over 3 samples
    assert not model.training
    assert result["samples_per_s"] * result["seconds"] == pytest.approx(3)
    assert result["tokens_per_s"] * result["seconds"] == pytest.approx(6)


def test_inference_throughput_needs_batches_and_models():
    with pytest.raises(ValueError, match="no batches"):
        inference_throughput({"m": Counter()}, [])
    with pytest.raises(ValueError, match="model"):
        inference_throughput({}, [(torch.ones(1, 1), torch.ones(1))])
