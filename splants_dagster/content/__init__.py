"""Content: prompts, the offline writer, the suite, scoring and A/B variants."""
