import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from nlpcourse.plots.clip import (
    image_grid,
    plot_similarity,
    retrieval_grid,
    top_captions,
    wrap_caption,
)

matplotlib.use("Agg")


def images(n=5):
    rng = np.random.default_rng(0)
    out = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(n)]
    out[0] = Image.fromarray(rng.integers(0, 255, (8, 12), dtype=np.uint8))  # greyscale too
    return out


def test_top_captions_orders_by_score():
    text = top_captions(torch.tensor([0.1, 0.7, 0.2]), ["a", "b", "c"], k=2)
    assert text.splitlines() == ["0.70  b", "0.20  c"]
    assert len(top_captions([1.0, 2.0], ["x", "y"], k=5).splitlines()) == 2
    with pytest.raises(ValueError, match="one score per caption"):
        top_captions([1.0, 2.0], ["x"])
    with pytest.raises(ValueError, match="k must be"):
        top_captions([1.0], ["x"], k=0)


def test_plot_similarity_draws_a_heatmap_with_the_diagonal_boxed():
    import matplotlib.pyplot as plt

    labels = ["one", "two", "three"]
    ax = plot_similarity(torch.eye(3), labels, labels, title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert len(ax.patches) == 3  # one box per matching pair
    assert ax.get_title() == "t"
    plt.close(ax.figure)
    ax = plot_similarity(np.ones((2, 4)), annotate=False)
    assert len(ax.patches) == 2 and not ax.texts
    plt.close(ax.figure)


def test_plot_similarity_rejects_bad_shapes_and_labels():
    with pytest.raises(ValueError, match="2-D"):
        plot_similarity(np.ones(3))
    with pytest.raises(ValueError, match="2 row labels"):
        plot_similarity(np.ones((3, 3)), row_labels=["a", "b"])


def test_image_grid_lays_out_images_and_captions():
    import matplotlib.pyplot as plt

    fig = image_grid(images(5), [f"caption {i}\nsecond line" for i in range(5)], ncols=3)
    assert len(fig.axes) == 6  # 2 rows × 3 columns, the last one empty
    assert sum(len(ax.images) for ax in fig.axes) == 5
    assert "caption 4" in fig.axes[4].texts[0].get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one image"):
        image_grid([])
    with pytest.raises(ValueError, match="2 captions for 5 images"):
        image_grid(images(5), ["a", "b"])


def test_wrap_caption_keeps_lines_and_wraps_long_ones():
    wrapped = wrap_caption("0.90  a small red circle on the left\nshort", 16)
    lines = wrapped.splitlines()
    assert lines[-1] == "short" and len(lines) > 2
    assert all(len(line) <= 16 for line in lines)


def test_retrieval_grid_shows_the_best_images_per_query():
    import matplotlib.pyplot as plt

    scores = torch.tensor([[0.1, 0.9, 0.0, 0.3, 0.2], [0.5, 0.1, 0.2, 0.0, 0.9]])
    fig = retrieval_grid(["q1", "q2"], images(5), scores, k=2)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title() == "#1  0.90" and fig.axes[1].get_title() == "#2  0.30"
    assert fig.axes[0].get_ylabel() == "q1"
    plt.close(fig)
    with pytest.raises(ValueError, match="shape"):
        retrieval_grid(["q1"], images(5), scores)
    with pytest.raises(ValueError, match="k must be"):
        retrieval_grid(["q1", "q2"], images(5), scores, k=9)
