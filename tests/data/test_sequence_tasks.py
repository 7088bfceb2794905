import pytest
import torch

from nlpcourse.data.sequence_tasks import (
    TASKS,
    sequence_task,
    source_positions,
    weight_on_source,
)


@pytest.mark.parametrize("kind", TASKS)
def test_targets_are_the_inputs_read_at_the_source_positions(kind):
    inputs, targets = sequence_task(kind, n=50, length=7, vocab_size=6, seed=3)
    assert inputs.shape == targets.shape == (50, 7)
    assert inputs.dtype == torch.long
    assert inputs.min() >= 1 and inputs.max() <= 5  # id 0 stays free for padding
    assert torch.equal(targets, inputs.gather(1, source_positions(kind, inputs)))


def test_each_task_means_what_it_says():
    inputs, copied = sequence_task("copy", 4, 5, 10)
    assert torch.equal(copied, inputs)
    inputs, reversed_ = sequence_task("reverse", 4, 5, 10)
    assert torch.equal(reversed_, inputs.flip(-1))
    inputs, sorted_ = sequence_task("sort", 4, 5, 10)
    assert torch.equal(sorted_, inputs.sort(-1).values)


def test_same_seed_same_data_other_seed_other_data():
    a = sequence_task("reverse", 8, 6, 12, seed=1)[0]
    assert torch.equal(a, sequence_task("reverse", 8, 6, 12, seed=1)[0])
    assert not torch.equal(a, sequence_task("reverse", 8, 6, 12, seed=2)[0])


def test_sort_sources_are_stable_for_ties():
    inputs = torch.tensor([[3, 1, 3, 1]])
    assert source_positions("sort", inputs).tolist() == [[1, 3, 0, 2]]


def test_weight_on_source_is_one_for_perfect_alignment_and_one_over_l_for_uniform():
    inputs, _ = sequence_task("reverse", 3, 5, 9)
    source = source_positions("reverse", inputs)  # (3, 5)
    perfect = torch.nn.functional.one_hot(source, 5).float()[:, None]  # (3, 1, 5, 5)
    uniform = torch.full((3, 1, 5, 5), 0.2)
    both = torch.cat([perfect, uniform], dim=1)  # (3, 2, 5, 5)
    torch.testing.assert_close(weight_on_source(both, source), torch.tensor([1.0, 0.2]))


def test_bad_arguments_get_one_clear_message():
    with pytest.raises(ValueError, match="kind must be one of"):
        sequence_task("shuffle", 2, 3, 4)
    with pytest.raises(ValueError, match="vocab_size"):
        sequence_task("copy", 2, 3, 1)
    with pytest.raises(ValueError, match="positive"):
        sequence_task("copy", 0, 3, 4)
    with pytest.raises(ValueError, match="kind must be one of"):
        source_positions("shuffle", torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="inputs must be"):
        source_positions("copy", torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="weights must be"):
        weight_on_source(torch.ones(2, 5, 5), torch.zeros(2, 5, dtype=torch.long))
