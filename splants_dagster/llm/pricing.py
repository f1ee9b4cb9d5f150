"""Model tiers and prices from ``models.yaml`` (in the data dir; the repository's copy when it has none).

Cost of a call = the usage the provider reported × the model's per-million-token prices: uncached input at
``input``, prompt-cache reads at ``cached_input``, prompt-cache writes at ``cache_write`` (Anthropic) and
output at ``output``.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from splants_dagster.llm.base import Usage
from splants_dagster.paths import PROJECT_ROOT

STRATEGIES = ("economy", "balanced", "quality")
DEFAULT_STRATEGY = "balanced"


class ModelsConfigError(ValueError):
    pass


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    temperature: bool = Field(default=True, description="false for models that reject a temperature")

    def cost(self, usage: Usage) -> float:
        cached = usage.cached_tokens
        written = usage.cache_write_tokens
        fresh = max(0, usage.prompt_tokens - cached - written)
        total = (
            fresh * self.input
            + cached * (self.input if self.cached_input is None else self.cached_input)
            + written * (self.input if self.cache_write is None else self.cache_write)
            + usage.completion_tokens * self.output
        )
        return round(total / 1_000_000, 10)


class ProviderModels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategies: dict[str, str] = Field(default_factory=dict)
    json_mode: bool = True

    @model_validator(mode="after")
    def _known_strategies(self) -> ProviderModels:
        unknown = sorted(set(self.strategies) - set(STRATEGIES))
        if unknown:
            raise ValueError(f"unknown strategies {unknown}: use {', '.join(STRATEGIES)}")
        return self


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    providers: dict[str, ProviderModels] = Field(default_factory=dict)
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    def provider(self, name: str) -> ProviderModels:
        return self.providers.get(name, ProviderModels())

    def model_for(self, provider: str, strategy: str, default: str | None = None) -> str:
        """The model ``provider`` uses for ``strategy`` (``default`` when the file names none)."""
        if strategy not in STRATEGIES:
            raise ModelsConfigError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        chosen = self.provider(provider).strategies.get(strategy) or default
        if not chosen:
            raise ModelsConfigError(f"models.yaml names no {strategy!r} model for provider {provider!r}")
        return chosen

    def price_of(self, model: str) -> ModelPrice | None:
        """Prices of ``model``; a dated snapshot (``gpt-4.1-mini-2025-04-14``) falls back to its family."""
        if model in self.models:
            return self.models[model]
        prefixes = [m for m in self.models if model.startswith(m + "-")]
        return self.models[max(prefixes, key=len)] if prefixes else None

    def cost(self, provider: str, model: str, usage: Usage) -> float:
        price = self.price_of(model)
        return price.cost(usage) if price else 0.0


def models_file(data_dir: str | Path | None) -> Path:
    """``<data dir>/models.yaml`` when present, else the copy shipped in the repository's ``data/``."""
    if data_dir:
        candidate = Path(data_dir) / "models.yaml"
        if candidate.is_file():
            return candidate
    return PROJECT_ROOT / "data" / "models.yaml"


def load_models(path: Path) -> ModelsConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        # ValueError: undecodable text, or a value YAML can't build (e.g. the date 0000-00-00)
        raise ModelsConfigError(f"cannot read {path}: {exc}") from None
    try:
        return ModelsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ModelsConfigError(f"{path} is not a valid models file: {problems}") from None
