import pytest

from nlpcourse.plots.batching import draw_padded_and_packed, plot_length_histograms


def test_length_histograms_one_per_name():
    fig = plot_length_histograms({"a": [1, 2, 2, 3], "b": [5, 6]}, max_len=4)
    ax = fig.axes[0]
    assert len(ax.get_legend().get_texts()) == 2
    assert "n=4" in ax.get_legend().get_texts()[0].get_text()


def test_length_histograms_need_values():
    with pytest.raises(ValueError, match="non-empty"):
        plot_length_histograms({"a": []})


def test_packed_drawing_counts_real_positions():
    fig = draw_padded_and_packed([3, 1, 2], [["a", "b", "c"], ["d"], ["e", "f"]])
    left, right = fig.axes
    assert "3 × 3 = 9 positions, 6 real" in left.get_title()
    assert "batch_sizes = [3, 2, 1]" in right.get_title()
    assert [t.get_text() for t in right.get_yticklabels()] == ["row 0", "row 2", "row 1"]


def test_packed_drawing_rejects_empty_rows():
    with pytest.raises(ValueError, match="at least 1"):
        draw_padded_and_packed([2, 0])


def test_packed_drawing_shows_whole_words():
    words = [["unwatchable", "mess"], ["a", "charming", "film"]]
    fig = draw_padded_and_packed([2, 3], words)
    top, bottom = fig.axes
    shown = [t.get_text() for t in top.texts]
    assert set(shown) == {"unwatchable", "mess", "a", "charming", "film", "<pad>"}
    assert shown.count("<pad>") == 1
    packed = [t.get_text() for t in bottom.texts]  # time-step order, longest row first
    assert packed == ["a\n0", "unwatchable\n1", "charming\n2", "mess\n3", "film\n4"]
