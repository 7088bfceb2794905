import matplotlib.pyplot as plt
import pytest
import torch

from nlpcourse.models.attention import sinusoidal_positional_encoding
from nlpcourse.plots.attention import (
    plot_attention_heads,
    plot_attention_timings,
    plot_positional_encoding,
)

TOKENS = ["[CLS]", "a", "fine", "film", "[SEP]"]


def weights(heads=6, length=5):
    return torch.rand(heads, length, length).softmax(-1)


def test_heads_grid_has_one_panel_per_head_with_tokens_on_both_axes():
    fig = plot_attention_heads(weights(6), TOKENS, ncols=4, title="layer 0")
    image_axes = [ax for ax in fig.axes if ax.images and ax.get_title().startswith("head")]
    assert [ax.get_title() for ax in image_axes] == [f"head {h}" for h in range(6)]
    first = image_axes[0]
    assert [t.get_text() for t in first.get_xticklabels()] == TOKENS
    assert [t.get_text() for t in first.get_yticklabels()] == TOKENS
    hidden = [ax for ax in fig.axes if not ax.axison]
    assert len(hidden) == 2  # a 2 x 4 grid for 6 heads leaves two panels empty
    assert fig._suptitle.get_text() == "layer 0"
    plt.close(fig)


def test_heads_grid_accepts_a_batch_of_one_and_a_subset_of_heads(tmp_path):
    fig = plot_attention_heads(weights(4)[None], TOKENS, heads=[1, 3])
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["head 1", "head 3"]
    fig.savefig(tmp_path / "heads.png")
    assert (tmp_path / "heads.png").stat().st_size > 0
    plt.close(fig)


def test_heads_grid_rejects_bad_inputs():
    with pytest.raises(ValueError, match="4 tokens for attention over 5 positions"):
        plot_attention_heads(weights(), TOKENS[:4])
    with pytest.raises(ValueError, match="heads, L, L"):
        plot_attention_heads(torch.rand(5, 5), TOKENS)
    with pytest.raises(ValueError, match="heads must be indices below 6"):
        plot_attention_heads(weights(), TOKENS, heads=[6])
    with pytest.raises(ValueError, match="ncols"):
        plot_attention_heads(weights(), TOKENS, ncols=0)


def test_positional_encoding_plot():
    table = sinusoidal_positional_encoding(50, 64)
    fig = plot_positional_encoding(table)
    by_title = {ax.get_title(): ax for ax in fig.axes}
    heatmap, curves = by_title["sinusoidal positional encoding"], by_title["a few dimensions"]
    assert heatmap.images[0].get_array().shape == (64, 50)  # dimensions down, positions across
    assert [line.get_label() for line in curves.get_lines()] == [
        "dim 0",
        "dim 10",
        "dim 22",
        "dim 42",
    ]
    plt.close(fig)
    fig = plot_positional_encoding(table, dims=[1, 3, 999])
    curves = next(ax for ax in fig.axes if ax.get_title() == "a few dimensions")
    assert [line.get_label() for line in curves.get_lines()] == ["dim 1", "dim 3"]
    plt.close(fig)
    with pytest.raises(ValueError, match="positions, d_model"):
        plot_positional_encoding(torch.zeros(3))


def test_timings_plot():
    fig = plot_attention_timings([32, 64], {"hand": [1.0, 4.0], "fused": [0.5, 1.0]})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["hand", "fused"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match="2 lengths"):
        plot_attention_timings([32, 64], {"hand": [1.0]})
    with pytest.raises(ValueError, match="at least one"):
        plot_attention_timings([32], {})


def test_plot_masks_and_head_statistics():
    import matplotlib.pyplot as plt

    from nlpcourse.plots.attention import plot_head_statistics, plot_masks

    fig = plot_masks({"causal": torch.ones(4, 4, dtype=torch.bool).tril(), "all": torch.ones(4, 4)})
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        plot_masks({})
    with pytest.raises(ValueError, match="L_q, L_k"):
        plot_masks({"bad": torch.ones(1, 4, 4)})
    fig = plot_head_statistics(torch.rand(3, 4), torch.rand(3, 4), title="t")
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="layers, heads"):
        plot_head_statistics(torch.rand(3, 4), torch.rand(3, 5))


def test_multihead_diagram_draws_every_matrix_cell_and_names_the_steps():
    from matplotlib.patches import Rectangle

    from nlpcourse.plots.attention import plot_multihead_diagram

    fig = plot_multihead_diagram(tokens=3, d_model=4, num_heads=2)
    ax = fig.axes[0]
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    # x, Q, K, V, merge, output are 3 × 4 each; two heads are 3 × 2 each
    assert len(cells) == 6 * 3 * 4 + 2 * 3 * 2
    texts = " ".join(t.get_text() for t in ax.texts)
    for word in ("Q = x·W_q", "K = x·W_k", "V = x·W_v", "head 0", "head 1", "merge", "W_o"):
        assert word in texts
    plt.close(fig)
    with pytest.raises(ValueError, match="dividing d_model"):
        plot_multihead_diagram(d_model=5, num_heads=2)
