"""The code-writing exercises of notebooks 02 and 03, and their messages."""

from nlpcourse.exercises import ch02, ch03
from tests.conftest import needs_hub_cache


def sorted_greedy(lengths, max_tokens):
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, batch = [], []
    for index in order:
        if batch and lengths[index] * (len(batch) + 1) > max_tokens:
            batches.append(batch)
            batch = []
        batch.append(index)
    return [*batches, batch] if batch else batches


def test_token_budget_accepts_sorted_greedy(capsys):
    assert ch02.check_token_budget_batches(sorted_greedy) is True
    out = capsys.readouterr().out
    assert "Correct" in out and "512" not in out


def test_token_budget_rejects_wrong_answers(capsys):
    capsys.readouterr()
    assert ch02.check_token_budget_batches(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent
    assert ch02.check_token_budget_batches(lambda lengths, budget: None) is False
    assert "returns None" in capsys.readouterr().out
    assert ch02.check_token_budget_batches(sorted_greedy(list(range(5)), 3)) is False
    # an index missing
    assert ch02.check_token_budget_batches(lambda ls, b: sorted_greedy(ls, b)[1:]) is False
    assert "exactly once" in capsys.readouterr().out
    # one batch per text: within budget, every index once, but needlessly many batches
    assert ch02.check_token_budget_batches(lambda ls, b: [[i] for i in range(len(ls))]) is False
    assert "too many" in capsys.readouterr().out

    # unsorted chunks: over the budget or heavily padded
    def chunks(ls, b):
        return [list(range(i, min(i + 4, len(ls)))) for i in range(0, len(ls), 4)]

    assert ch02.check_token_budget_batches(chunks) is False
    # a crash is reported, not raised
    assert ch02.check_token_budget_batches(lambda ls, b: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_token_budget_rejects_over_budget(capsys):
    def everything(ls, b):
        return [list(range(len(ls)))]

    assert ch02.check_token_budget_batches(everything) is False
    assert "exceed" in capsys.readouterr().out


@needs_hub_cache
def test_sep_positions(capsys):
    from transformers import AutoTokenizer

    from nlpcourse.config import get_profile

    tokenizer = AutoTokenizer.from_pretrained(get_profile().bert)

    def find_seps(first, second):
        ids = tokenizer(first, second)["input_ids"]
        return [i for i, token in enumerate(ids) if token == tokenizer.sep_token_id]

    assert ch03.check_sep_positions(find_seps) is True
    assert "Correct" in capsys.readouterr().out
    assert ch03.check_sep_positions(lambda a, b: [i + 1 for i in find_seps(a, b)]) is False
    assert "off by one" in capsys.readouterr().out
    assert ch03.check_sep_positions(lambda a, b: find_seps(a, b)[-1:]) is False
    assert "two [SEP]" in capsys.readouterr().out
    assert ch03.check_sep_positions(lambda a, b: [0, 1]) is False
    capsys.readouterr()
    assert ch03.check_sep_positions(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent
    assert ch03.check_sep_positions(lambda a, b: None) is False
    assert "returns None" in capsys.readouterr().out
    assert ch03.check_sep_positions(lambda a, b: {}["x"]) is False
    assert "KeyError" in capsys.readouterr().out
