"""The scikit-learn side of the predictor: the candidate pipelines (design columns → estimator).

Kept apart from :mod:`~splants_dagster.ml.models` so that importing the predictor (as the Dagster code
location does) does not import scikit-learn; only fitting and predicting do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

if TYPE_CHECKING:
    from splants_dagster.ml.features import FeatureSpec
    from splants_dagster.ml.models import Candidate

TEXT_COLUMN = "_text"


class _SafeSVD(BaseEstimator, TransformerMixin):
    """TruncatedSVD that copes with a vocabulary smaller than the number of components asked for."""

    def __init__(self, n_components: int = 20, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        k = min(self.n_components, max(0, X.shape[1] - 1), max(0, X.shape[0] - 1))
        self.svd_ = TruncatedSVD(k, random_state=self.random_state).fit(X) if k >= 1 else None
        return self

    def transform(self, X):
        if self.svd_ is None:
            return np.zeros((X.shape[0], 1))
        return self.svd_.transform(X)


class _SafeTfidf(BaseEstimator, TransformerMixin):
    """TF-IDF of word 1–2-grams that yields one all-zero column when the texts have no usable vocabulary
    (no text, or every term in fewer than ``min_df`` posts), so that an empty text column adds nothing
    instead of failing the fit."""

    def __init__(self, min_df: int = 2, max_features: int = 5000):
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        vectorizer = TfidfVectorizer(
            min_df=self.min_df, max_features=self.max_features, ngram_range=(1, 2), sublinear_tf=True
        )
        try:
            out = vectorizer.fit_transform(X)
        except ValueError:  # "empty vocabulary": nothing in the texts to learn from
            self.tfidf_ = None
            return sparse.csr_matrix((len(X), 1))
        self.tfidf_ = vectorizer
        return out

    def transform(self, X):
        if self.tfidf_ is None:
            return sparse.csr_matrix((len(X), 1))
        return self.tfidf_.transform(X)


def build_pipeline(
    candidate: Candidate, spec: FeatureSpec, numeric_inputs: list[str], random_state: int = 0
) -> Pipeline:
    """The scikit-learn pipeline (design columns → estimator) for one candidate."""
    dense = candidate.kind == "gbt"
    parts: list[tuple[str, Any, Any]] = []
    if spec.categorical:
        parts.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=not dense),
                list(spec.categorical),
            )
        )
    parts.append(
        (
            "numeric",
            make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                StandardScaler(),
            ),
            numeric_inputs,
        )
    )
    if spec.text:
        tfidf = _SafeTfidf(min_df=2, max_features=5000)
        text_step = make_pipeline(tfidf, _SafeSVD(20, random_state)) if dense else tfidf
        parts.append(("text", text_step, TEXT_COLUMN))
    params = dict(candidate.params)
    text_weight = float(params.get("text_weight", 1.0))
    weights = {"text": text_weight} if spec.text and text_weight != 1.0 else None
    columns = ColumnTransformer(parts, sparse_threshold=0.0 if dense else 0.3, transformer_weights=weights)
    if candidate.kind == "linear":
        estimator: Any = Ridge(alpha=params["alpha"])
    else:
        estimator = HistGradientBoostingRegressor(
            loss=params["loss"],
            max_depth=params["max_depth"],
            max_iter=params["max_iter"],
            learning_rate=params["learning_rate"],
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        )
    return Pipeline([("columns", columns), ("model", estimator)])
