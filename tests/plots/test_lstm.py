import matplotlib
import numpy as np
import pytest

from nlpcourse.plots.lstm import draw_lstm_cell, plot_gate_heatmaps

matplotlib.use("Agg")


def test_draw_lstm_cell_names_every_gate_and_both_states():
    fig = draw_lstm_cell()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for name in (
        "forget $f_t$",
        "input $i_t$",
        "candidate $g_t$",
        "output $o_t$",
        "$c_t$",
        "$h_t$",
    ):
        assert name in texts


def test_plot_gate_heatmaps_draws_one_panel_per_gate_and_the_prefix_curve():
    tokens = ["a", "fine", "film"]
    rng = np.random.default_rng(0)
    fig = plot_gate_heatmaps(
        {"forget f": rng.random((4, 3)), "cell c": rng.uniform(-1, 1, (4, 3))},
        tokens,
        probability=[0.4, 0.7, 0.9],
    )
    axes = [ax for ax in fig.axes if ax.get_ylabel()]  # the colour bars have no y label
    assert [ax.get_ylabel().split("\n")[0] for ax in axes] == ["forget f", "cell c", "P(positive"]
    assert len(fig.axes) == 5  # and one colour bar per heatmap
    assert [t.get_text() for t in axes[-1].get_xticklabels()] == tokens
    with pytest.raises(ValueError, match="expected"):
        plot_gate_heatmaps({"f": np.zeros((4, 2))}, tokens)
    with pytest.raises(ValueError, match="No panels"):
        plot_gate_heatmaps({}, tokens)
