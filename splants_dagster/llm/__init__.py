"""LLM providers, the call journal and the client assets use."""
