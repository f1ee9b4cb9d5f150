"""Predictor settings: how much data a model needs, which candidate grid to search, what history to learn
from and when new engagement is enough to retrain. Environment variables override the defaults (read
once, when the definitions load)."""

import os
from pathlib import Path

import dagster as dg
from pydantic import Field


class PredictorResource(dg.ConfigurableResource):
    """Settings of the performance predictor (see docs/ml.md)."""

    min_rows: int = Field(
        default=100,
        description="posts with a final outcome needed before a model is trained (SPLANTS_ML_MIN_ROWS)",
    )
    candidates: str = Field(
        default="full",
        description="candidate grid searched by cross-validation: 'full' (22) or 'small' (3) "
        "(SPLANTS_ML_CANDIDATES)",
    )
    include_external_history: bool = Field(
        default=True,
        description="also learn from posts published outside this system (imported exports, the demo "
        "simulator's history), not only our own published pieces",
    )
    trailing_window: int = Field(default=20, description="posts in the trailing platform median")
    retrain_new_posts: int = Field(
        default=100,
        description="new posts with a final outcome since the last training set that trigger a retrain "
        "(SPLANTS_ML_RETRAIN_NEW_POSTS)",
    )

    def candidate_grid(self):
        from splants_dagster.ml.models import CANDIDATE_GRIDS  # pandas/numpy: only when training

        if self.candidates not in CANDIDATE_GRIDS:
            raise ValueError(f"candidates must be one of {sorted(CANDIDATE_GRIDS)}, not {self.candidates!r}")
        return CANDIDATE_GRIDS[self.candidates]


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    """``data_dir`` is unused: model files live under the ``project`` resource's data dir."""
    settings: dict = {}
    for field, env, cast in (
        ("min_rows", "SPLANTS_ML_MIN_ROWS", int),
        ("candidates", "SPLANTS_ML_CANDIDATES", str),
        ("retrain_new_posts", "SPLANTS_ML_RETRAIN_NEW_POSTS", int),
    ):
        if os.environ.get(env, "").strip():
            settings[field] = cast(os.environ[env].strip())
    return {"predictor": PredictorResource(**settings)}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
