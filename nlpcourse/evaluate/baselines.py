"""The statistical baseline the neural models must beat: TF-IDF features + logistic regression."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline


@dataclass
class BaselineResult:
    """A fitted TF-IDF + logistic-regression pipeline and what fitting it cost."""

    pipeline: Pipeline
    fit_seconds: float

    @property
    def parameters(self) -> int:
        """Learned weights: one per (class row, n-gram) plus the intercepts."""
        model = self.pipeline[-1]
        return int(model.coef_.size + model.intercept_.size)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted class ids for ``texts``."""
        return self.pipeline.predict(list(texts))


def tfidf_logreg(
    texts: Sequence[str],
    labels: Sequence[int],
    ngram_range: tuple[int, int] = (1, 2),
    min_df: int = 2,
    c: float = 1.0,
    seed: int = 0,
) -> BaselineResult:
    """Fit TF-IDF (word n-grams) + logistic regression on ``texts``; time the fit."""
    texts, labels = list(texts), list(labels)
    if not texts:
        raise ValueError("tfidf_logreg needs at least one training text.")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels.")
    if len(set(labels)) < 2:
        raise ValueError("A classifier needs at least two classes in the training labels.")
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=ngram_range, min_df=min(min_df, len(texts)), sublinear_tf=True),
        LogisticRegression(C=c, max_iter=1_000, random_state=seed),
    )
    start = time.perf_counter()
    pipeline.fit(texts, labels)
    return BaselineResult(pipeline, time.perf_counter() - start)
