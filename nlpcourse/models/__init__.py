"""The networks the course builds: the BiLSTM, attention and Transformer blocks, task heads,
pooling, and ViT patches.
"""

from nlpcourse.models.attention import (
    EncoderBlock,
    MultiHeadAttention,
    TransformerClassifier,
    causal_mask,
    classifier_parameter_count,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    split_heads,
)
from nlpcourse.models.bilstm import (
    BiLSTMClassifier,
    bilstm_parameter_count,
    lstm_parameter_count,
)
from nlpcourse.models.heads import (
    EncoderClassifier,
)
from nlpcourse.models.lora import (
    add_lora,
    lora_parameters,
    merge_lora,
)
from nlpcourse.models.patches import (
    image_patches,
    plot_patches,
)
from nlpcourse.models.pooling import (
    capture_inputs,
    cls_pool,
    encode,
    mean_pool,
    topic_cosines,
)

__all__ = [
    "BiLSTMClassifier",
    "EncoderBlock",
    "EncoderClassifier",
    "MultiHeadAttention",
    "TransformerClassifier",
    "add_lora",
    "bilstm_parameter_count",
    "capture_inputs",
    "causal_mask",
    "classifier_parameter_count",
    "cls_pool",
    "encode",
    "image_patches",
    "lora_parameters",
    "lstm_parameter_count",
    "mean_pool",
    "merge_heads",
    "merge_lora",
    "padding_mask",
    "plot_patches",
    "scaled_dot_product_attention",
    "sinusoidal_positional_encoding",
    "split_heads",
    "topic_cosines",
]
