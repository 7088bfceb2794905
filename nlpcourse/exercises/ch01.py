"""Checks for notebook 01 (the Keras BiLSTM and its PyTorch twin)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nlpcourse.bilstm import bilstm_parameter_count, lstm_parameter_count
from nlpcourse.exercises import unanswered, verdict
from nlpcourse.training import predicted_labels


def check_lstm_parameters(keras_count: int | None, torch_count: int | None) -> bool:
    """Exercise 1: parameters of a bidirectional LSTM with 32 units on 64-dim embeddings."""
    if unanswered(keras_count, "give the Keras and the PyTorch parameter counts"):
        return False
    keras = 2 * lstm_parameter_count(64, 32, bias_vectors=1)
    pytorch = 2 * lstm_parameter_count(64, 32, bias_vectors=2)
    if (keras_count, torch_count) == (pytorch, keras):
        return verdict(False, "", "the two answers are swapped: which framework has two biases?")
    return verdict(
        (keras_count, torch_count) == (keras, pytorch),
        f"Keras {keras:,}, PyTorch {pytorch:,}: 2 directions × 4 gates × 32 extra biases apart.",
        "per direction: 4 gates × units × (inputs + units + biases); then two directions.",
    )


def check_frozen_trainable(count: int | None, vocab_size: int = 10_000) -> bool:
    """Exercise 2: trainable parameters of the PyTorch twin once its embedding is frozen."""
    if unanswered(count, "give the number of trainable parameters"):
        return False
    expected = bilstm_parameter_count(vocab_size) - vocab_size * 64
    if count == bilstm_parameter_count(vocab_size):
        return verdict(False, "", "that is every parameter: did requires_grad_(False) run?")
    return verdict(
        count == expected,
        f"{expected:,} parameters still learn; the {vocab_size * 64:,} embedding weights do not.",
        "freeze model.embedding.weight, then count parameters with requires_grad.",
    )


def check_accuracy_from_logits(
    accuracy: float | None, logits: torch.Tensor, labels: Sequence[int] | torch.Tensor
) -> bool:
    """Exercise 3: validation accuracy computed by hand from ``predict()``'s logits."""
    if unanswered(accuracy, "compute the accuracy as a number between 0 and 1"):
        return False
    logits = torch.as_tensor(logits).reshape(len(labels), -1)
    labels = torch.as_tensor(labels).reshape(-1)
    predicted = predicted_labels(logits)
    expected = (predicted == labels).float().mean().item()
    value = float(accuracy)
    if abs(value - 100 * expected) < 1e-6 and expected > 0:
        return verdict(False, "", "that is a percentage: give a fraction between 0 and 1.")
    hint = "a logit above 0 means positive (sigmoid(0) = 0.5); compare with the labels."
    if abs(value - (1 - expected)) < 1e-6:
        hint = "the threshold is reversed: a logit above 0 means the positive class (1)."
    return verdict(abs(value - expected) < 1e-6, f"accuracy {expected:.4f}.", hint)
