"""Which LLM providers and models serve a step: provider routing, fallbacks and the premium pair.

:class:`LLMRouter` holds the resolved LLM settings (secrets as plain strings, never in its ``repr``) and
decides, for a strategy, the primary provider, the fallbacks in order and the premium partner; it names
what generates the text for metadata, and gives the batch API of a provider. It is pure Python: a
configuration it cannot serve raises :class:`LLMConfigError` (a bad ``models.yaml`` raises
:class:`~splants_dagster.llm.pricing.ModelsConfigError`), which the Dagster ``llm`` resource turns into a
step failure with the same message. See docs/llm.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import Provider
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.pricing import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    ModelsConfig,
    ModelsConfigError,
    load_models,
    models_file,
)
from splants_dagster.paths import default_data_dir

if TYPE_CHECKING:
    from splants_dagster.llm.batch import AnthropicBatchAPI, OpenAIBatchAPI

PROVIDERS = ("auto", "offline", "openai", "anthropic", "openai_compatible")
# what switches each provider on, for the message when one is asked for by name but not configured
NEEDS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openai_compatible": "SPLANTS_LLM_BASE_URL",
}


class LLMConfigError(ValueError):
    """An LLM configuration that cannot serve a step: unknown strategy or provider, a provider asked for
    without its credentials, a model without a price, no batch API for a provider."""


@dataclass(frozen=True)
class LLMRouter:
    """The LLM settings of a step, resolved (see the ``llm`` resource for what each field means)."""

    provider: str = "auto"
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    compatible_api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    model: str | None = None
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    strategy: str = DEFAULT_STRATEGY
    timeout_s: float = 120.0
    fallback: bool = True
    premium: bool = True
    models_file: str | None = None

    def models(self, data_dir: str | Path | None = None) -> ModelsConfig:
        """``models.yaml``: this router's file, else the data dir's, else the repository's."""
        path = Path(self.models_file) if self.models_file else models_file(data_dir or default_data_dir())
        return load_models(path)

    def configured(self) -> list[str]:
        """The providers with credentials, in the order ``auto`` prefers them."""
        found = []
        if self.base_url:
            found.append("openai_compatible")
        if self.openai_api_key:
            found.append("openai")
        if self.anthropic_api_key:
            found.append("anthropic")
        return found

    def make(self, name: str, strategy: str, models: ModelsConfig) -> Provider:
        """Provider ``name`` with the model ``models.yaml`` gives it for ``strategy``."""
        try:
            if name == "openai_compatible":
                model = models.model_for(name, strategy, default=self.model)
            else:
                model = models.model_for(name, strategy)
        except ModelsConfigError as exc:
            hint = " (set SPLANTS_LLM_MODEL)" if name == "openai_compatible" else ""
            raise LLMConfigError(f"{exc}{hint}") from None
        price = models.price_of(model)
        if name != "openai_compatible" and price is None:
            raise LLMConfigError(
                f"models.yaml has no prices for {name} model {model!r}: add it under 'models'"
            )
        temperature = price.temperature if price else True
        if name == "anthropic":
            return AnthropicProvider(
                model=model,
                api_key=self.anthropic_api_key or "",
                base_url=self.anthropic_base_url,
                timeout_s=self.timeout_s,
            )
        if name == "openai":
            return OpenAIProvider(
                model=model,
                api_key=self.openai_api_key or "",
                base_url=self.openai_base_url,
                timeout_s=self.timeout_s,
                temperature=temperature,
            )
        return OpenAIProvider(
            name="openai_compatible",
            model=model,
            api_key=self.compatible_api_key or "not-needed",
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            json_mode=models.provider(name).json_mode,
            temperature=temperature,
        )

    def plan(
        self, strategy: str | None = None, data_dir: str | Path | None = None
    ) -> tuple[Provider, list[Provider], Provider | None]:
        """(primary provider, fallbacks in order, premium partner or None) for ``strategy``."""
        strategy = strategy or self.strategy
        if strategy not in STRATEGIES:
            raise LLMConfigError(f"LLM strategy {strategy!r}: must be one of {', '.join(STRATEGIES)}")
        if self.provider not in PROVIDERS:
            raise LLMConfigError(f"llm.provider = {self.provider!r}: must be one of {', '.join(PROVIDERS)}")
        configured = self.configured()
        if self.provider == "offline" or (self.provider == "auto" and not configured):
            return OfflineProvider(), [], None
        if self.provider != "auto" and self.provider not in configured:
            raise LLMConfigError(f"llm.provider = {self.provider!r} but {NEEDS[self.provider]} is not set")
        order = (
            configured
            if self.provider == "auto"
            else [self.provider] + [p for p in configured if p != self.provider]
        )
        premium = self.premium and strategy == "quality" and {"openai", "anthropic"} <= set(configured)
        if premium:
            # the two drafters first (the primary, openai unless chosen otherwise, also merges)
            pair = [p for p in order if p in ("openai", "anthropic")]
            order = pair + [p for p in order if p not in pair]
        models = self.models(data_dir)
        providers = [self.make(name, strategy, models) for name in order]
        partner = providers[1] if premium else None
        return providers[0], providers[1:] if self.fallback else [], partner

    def label(self, strategy: str | None = None, premium: bool | None = None) -> str:
        """What generates the text, for asset metadata and the UI (never a key). ``premium=False``: premium
        mode paused."""
        strategy = strategy or self.strategy
        primary, fallbacks, partner = self.plan(strategy)
        if premium is False:
            partner = None
        if primary.is_offline:
            return "offline (no LLM API key configured: deterministic template writer, not a language model)"
        parts = [f"{primary.name}/{primary.model} (strategy {strategy})"]
        if partner is not None:
            parts.append(
                f"premium: {primary.name}/{primary.model} and {partner.name}/{partner.model} draft, "
                f"{primary.name} merges"
            )
        if fallbacks:
            parts.append("fallback: " + ", ".join(f"{p.name}/{p.model}" for p in fallbacks))
        return "; ".join(parts)

    def batch_api(self, provider: str, timeout_s: float = 60.0) -> OpenAIBatchAPI | AnthropicBatchAPI:
        """The batch API of ``provider`` (openai | anthropic) with this router's key and endpoint."""
        # imported here: the batch module loads both SDKs, which only a batch route needs
        from splants_dagster.llm.batch import AnthropicBatchAPI, OpenAIBatchAPI

        if provider == "openai" and self.openai_api_key:
            return OpenAIBatchAPI(
                api_key=self.openai_api_key,
                base_url=self.openai_base_url,
                timeout_s=min(self.timeout_s, timeout_s),
            )
        if provider == "anthropic" and self.anthropic_api_key:
            return AnthropicBatchAPI(
                api_key=self.anthropic_api_key,
                base_url=self.anthropic_base_url,
                timeout_s=min(self.timeout_s, timeout_s),
            )
        raise LLMConfigError(f"no batch API for LLM provider {provider!r} (configured: {self.configured()})")
