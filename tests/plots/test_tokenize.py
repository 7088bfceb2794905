import pytest

from nlpcourse.plots.tokenize import draw_tokenizer_pipeline


def test_pipeline_draws_every_stage_and_piece():
    stages = [
        ("normalise", "lower-case", ["hello world!"]),
        ("pre-tokenise", "split", ["hello", "world", "!"]),
        ("ids", "look up", ["101", "7592", "2088", "999", "102"]),
    ]
    fig = draw_tokenizer_pipeline(stages)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for name, note, items in stages:
        assert name in texts and note in texts
        assert all(item in texts for item in items)
    assert len(fig.axes[0].patches) == 9  # one box per piece


def test_pipeline_needs_pieces():
    with pytest.raises(ValueError, match="at least one"):
        draw_tokenizer_pipeline([("normalise", "x", [])])


def test_rows_of_equal_length_line_up():
    stages = [("tokens", "", ["[CLS]", "a", "[SEP]"]), ("ids", "", ["101", "1037", "102"])]
    boxes = draw_tokenizer_pipeline(stages).axes[0].patches
    tops, bottoms = boxes[:3], boxes[3:]
    assert [b.get_x() for b in tops] == [b.get_x() for b in bottoms]
    assert [b.get_width() for b in tops] == [b.get_width() for b in bottoms]
