"""Where everything lives under the data directory (``SPLANTS_DATA_DIR``, default ``data/``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "SPLANTS_DATA_DIR"


def default_data_dir() -> Path:
    """``$SPLANTS_DATA_DIR`` if set, else the repository's ``data/`` folder."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(configured).expanduser().resolve() if configured else PROJECT_ROOT / "data"


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data directory. Inputs are edited by people; outputs are written by runs."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> DataPaths:
        return cls(Path(root).expanduser().resolve() if root else default_data_dir())

    # inputs
    @property
    def campaigns_dir(self) -> Path:
        return self.root / "campaigns"

    @property
    def brand_file(self) -> Path:
        return self.root / "brand.yaml"

    @property
    def models_config(self) -> Path:
        return self.root / "models.yaml"

    @property
    def engagement_inbox(self) -> Path:
        return self.root / "inbox" / "engagement"

    @property
    def reviews_dir(self) -> Path:
        return self.root / "reviews"

    # outputs
    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "splants.duckdb"

    @property
    def journal_dir(self) -> Path:
        return self.warehouse_dir / "journal"

    @property
    def analytics_db(self) -> Path:
        return self.root / "analytics.duckdb"

    @property
    def outbox_dir(self) -> Path:
        return self.root / "outbox"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def resolve_input(self, ref: str) -> Path:
        """A path from a brief (relative to the data dir unless absolute)."""
        path = Path(ref).expanduser()
        return path if path.is_absolute() else (self.root / path)
