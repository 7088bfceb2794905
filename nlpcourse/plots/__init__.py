"""Every figure helper, by topic. Plots take tensors, arrays and histories; they import no data,
text or training code.
"""

from nlpcourse.plots.attention import (
    plot_attention_heads,
    plot_attention_timings,
    plot_head_statistics,
    plot_masks,
    plot_multihead_diagram,
    plot_positional_encoding,
)
from nlpcourse.plots.batching import (
    draw_padded_and_packed,
    plot_length_histograms,
)
from nlpcourse.plots.clip import (
    image_grid,
    plot_similarity,
    retrieval_grid,
    top_captions,
    wrap_caption,
)
from nlpcourse.plots.finetune import (
    plot_cosine_histograms,
    plot_layer_rates,
    plot_recorded_losses,
    plot_schedules,
)
from nlpcourse.plots.lstm import (
    draw_lstm_cell,
    plot_gate_heatmaps,
)
from nlpcourse.plots.metrics import (
    plot_confusion_matrix,
)
from nlpcourse.plots.tokenize import (
    draw_tokenizer_pipeline,
)
from nlpcourse.plots.training import (
    plot_history,
    plot_runs,
)

__all__ = [
    "draw_lstm_cell",
    "draw_padded_and_packed",
    "draw_tokenizer_pipeline",
    "image_grid",
    "plot_attention_heads",
    "plot_attention_timings",
    "plot_confusion_matrix",
    "plot_cosine_histograms",
    "plot_gate_heatmaps",
    "plot_head_statistics",
    "plot_history",
    "plot_layer_rates",
    "plot_length_histograms",
    "plot_masks",
    "plot_multihead_diagram",
    "plot_positional_encoding",
    "plot_recorded_losses",
    "plot_runs",
    "plot_schedules",
    "plot_similarity",
    "retrieval_grid",
    "top_captions",
    "wrap_caption",
]
