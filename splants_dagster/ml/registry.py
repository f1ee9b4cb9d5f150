"""Versioned model files, the "active" pointer, and the gate that decides whether a new model may become
active.

Layout under ``$SPLANTS_DATA_DIR/models/`` (:attr:`DataPaths.models_dir`; never committed)::

    <name>/v0001/model.joblib   the fitted PerformanceModel (joblib pickle: load only files you wrote)
    <name>/v0001/card.json      the model card (metrics, baselines, window, rows, importances, gate, ...)
    <name>/ACTIVE.json          {"version": "v0001", "activated_at": ..., "reason": ...}

Every trained model is kept as a version, deployed or not, so a rejected model can be inspected; only the
pointer decides which one predicts. Version folders are claimed with an exclusive ``mkdir`` and files are
written to a temporary name then renamed, so concurrent trainers never overwrite each other and a reader
never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from splants_dagster.paths import DataPaths

VERSION = re.compile(r"^v(\d{4,})$")
GATE_METRICS = ("mae_log", "mae")
REQUIRED_BASELINES = ("trailing_median", "deployed_model")
# the model must beat these baselines by more than luck: a one-sided paired test of its log errors
SIGNIFICANCE_BASELINES = ("trailing_median",)
ALPHA = 0.05


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str
    comparisons: list[dict[str, Any]] = field(default_factory=list)


def gate(
    model: Mapping[str, float | None],
    baselines: Mapping[str, Mapping[str, float | None]],
    metrics: Sequence[str] = GATE_METRICS,
    required: Sequence[str] = REQUIRED_BASELINES,
    p_values: Mapping[str, float | None] | None = None,
    alpha: float = ALPHA,
    significance: Sequence[str] = SIGNIFICANCE_BASELINES,
) -> GateDecision:
    """Pass only when the model's error is strictly lower than each required baseline's on every gate
    metric (on the newest fold). A required baseline that is absent (no deployed model yet) is skipped
    and said so; the trailing median must always be present.

    With ``p_values`` (per baseline: the one-sided paired test that the model's log errors are smaller,
    see ``evaluate.improvement_p_value``), the improvement over each baseline in ``significance`` must
    also have p < ``alpha``: on a small fold a model fitted to noise beats the trailing median by luck
    about one time in four; this keeps that to about one in twenty. The deployed model only has to be
    beaten on the metrics (it was refit on part of this fold, so it is already favoured)."""
    comparisons: list[dict[str, Any]] = []
    failures: list[str] = []
    beaten: list[str] = []
    skipped: list[str] = []
    for name in required:
        if name not in baselines:
            if name == "trailing_median":
                return GateDecision(False, "no trailing-median baseline was evaluated; cannot decide")
            skipped.append(name)
            continue
        parts = []
        ok = True
        for metric in metrics:
            ours, theirs = model.get(metric), baselines[name].get(metric)
            better = ours is not None and theirs is not None and ours < theirs
            comparisons.append({"baseline": name, "metric": metric, "model": ours, "baseline_value": theirs})
            parts.append(f"{metric} {_fmt(ours)} {'<' if better else '≥'} {_fmt(theirs)}")
            ok = ok and better
        if p_values is not None and name in significance:
            p = p_values.get(name)
            significant = p is not None and p < alpha
            comparisons.append({"baseline": name, "metric": "p_value", "model": p, "baseline_value": alpha})
            parts.append(f"p {_fmt(p)} {'<' if significant else '≥'} {alpha:g}")
            ok = ok and significant
        (beaten if ok else failures).append(f"{name} ({', '.join(parts)})")
    reason = ("does not beat " + "; ".join(failures)) if failures else ("beats " + " and ".join(beaten))
    if skipped:
        reason += "; no " + ", ".join(s.replace("_", " ") for s in skipped) + " to compare with yet"
    return GateDecision(not failures, reason, comparisons)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ModelRegistry:
    """The versions of one model family (e.g. ``engagement``) under a models directory."""

    def __init__(self, models_dir: str | Path, name: str = "engagement"):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise ValueError(f"model name {name!r} must be letters, digits, '_', '.' or '-'")
        self.root = Path(models_dir) / name
        self.name = name

    @classmethod
    def at(cls, paths: DataPaths | None = None, name: str = "engagement") -> ModelRegistry:
        return cls((paths or DataPaths.at()).models_dir, name)

    @property
    def pointer(self) -> Path:
        return self.root / "ACTIVE.json"

    def model_version(self, version: str) -> str:
        """The id used in the warehouse: ``<name>-<version>``."""
        return f"{self.name}-{version}"

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(VERSION.match(v).group(1)))  # type: ignore[union-attr]

    def _claim(self) -> tuple[str, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        existing = self.versions()
        n = int(existing[-1][1:]) + 1 if existing else 1
        while True:
            version = f"v{n:04d}"
            folder = self.root / version
            try:
                folder.mkdir()
                return version, folder
            except FileExistsError:
                n += 1

    def save(self, model: Any, card: Mapping[str, Any]) -> str:
        """Store a new version (never overwriting one); returns its version (``v0001``, ...)."""
        version, folder = self._claim()
        full_card = {
            **card,
            "name": self.name,
            "version": version,
            "model_version": self.model_version(version),
            "saved_at": _now(),
        }
        tmp = folder / f".model.{os.getpid()}.tmp"
        joblib.dump(model, tmp)
        os.replace(tmp, folder / "model.joblib")
        _write_atomic(folder / "card.json", json.dumps(full_card, indent=2, default=str).encode())
        return version

    def card(self, version: str) -> dict[str, Any]:
        return json.loads((self.root / version / "card.json").read_text())

    def load(self, version: str) -> Any:
        path = self.root / version / "model.joblib"
        if not path.exists():
            raise FileNotFoundError(f"no model file for {self.name} {version} ({path})")
        return joblib.load(path)

    def active_version(self) -> str | None:
        if not self.pointer.exists():
            return None
        version = json.loads(self.pointer.read_text()).get("version")
        return version if version in self.versions() else None

    def active(self) -> dict[str, Any] | None:
        """The pointer's content (version, activated_at, reason), or None."""
        return json.loads(self.pointer.read_text()) if self.active_version() else None

    def activate(self, version: str, reason: str = "") -> None:
        if version not in self.versions():
            raise FileNotFoundError(f"{self.name} has no version {version}")
        body = {"version": version, "model_version": self.model_version(version), "activated_at": _now()}
        _write_atomic(self.pointer, json.dumps({**body, "reason": reason}, indent=2).encode())

    def deactivate(self) -> None:
        """No model is active any more (every version's files are kept)."""
        if self.pointer.exists():
            self.pointer.unlink()

    def load_active(self) -> tuple[str, Any] | None:
        version = self.active_version()
        return (version, self.load(version)) if version else None


def model_is_demo(card: Mapping[str, Any]) -> bool:
    """Whether a model card's model learned from simulated (``is_demo``) engagement. Cards written before
    the ``demo`` field say it through their training set's ``notes.demo_rows``."""
    if "demo" in card:
        return bool(card["demo"])
    return int((card.get("notes") or {}).get("demo_rows") or 0) > 0


@dataclass(frozen=True)
class Registered:
    version: str
    model_version: str
    activated: bool
    active_version: str | None
    reason: str


def register(
    registry: ModelRegistry, model: Any, card: Mapping[str, Any], decision: GateDecision
) -> Registered:
    """Save ``model`` as a new version and move the active pointer to it only when the gate passed;
    otherwise the previous model stays active. The card records the decision either way."""
    full = {
        **card,
        "gate": {"passed": decision.passed, "reason": decision.reason},
        "deployed": decision.passed,
    }
    version = registry.save(model, full)
    if decision.passed:
        registry.activate(version, decision.reason)
    return Registered(
        version=version,
        model_version=registry.model_version(version),
        activated=decision.passed,
        active_version=registry.active_version(),
        reason=decision.reason,
    )
